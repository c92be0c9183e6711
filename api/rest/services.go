package rest

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// serviceSettings are the dyndns2 options kept in services.settings; the
// dispatcher reads the same keys. Unknown keys are kept on update.
type serviceSettings struct {
	URL            string `json:"url"`
	UsernameIsFQDN bool   `json:"username_is_fqdn"`
	Combined       bool   `json:"combined"`
	UseMyIPv6      bool   `json:"use_myipv6"`
}

func toService(s store.Service, hosts int) Service {
	var set serviceSettings
	_ = json.Unmarshal(s.Settings, &set) // unreadable settings show as empty
	return Service{Id: s.ID, Name: s.Name, Protocol: Protocol(s.Protocol), Url: set.URL, UsernameIsFqdn: set.UsernameIsFQDN,
		Combined: set.Combined, UseMyipv6: set.UseMyIPv6, RecordCount: s.RecordCount, HostCount: hosts,
		CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC()}
}

func (s *Server) serviceWithUsage(ctx context.Context, q *store.Queries, svc store.Service) (Service, error) {
	counts, err := q.ServiceHostCounts(ctx, []int64{svc.ID})
	if err != nil {
		return Service{}, err
	}
	return toService(svc, counts[svc.ID]), nil
}

// ListServices lists services by name.
func (s *Server) ListServices(ctx context.Context, req ListServicesRequestObject) (ListServicesResponseObject, error) {
	var afterName string
	var afterID int64
	if err := decodeCursor(req.Params.Cursor, &afterName, &afterID); err != nil {
		return nil, err
	}
	limit := pageLimit(req.Params.Limit)
	rows, err := s.store.ServicesPage(ctx, afterName, afterID, limit+1)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, limit, func(v store.Service) []any { return []any{v.Name, v.ID} })
	counts, err := s.store.ServiceHostCounts(ctx, mapSlice(rows, func(v store.Service) int64 { return v.ID }))
	if err != nil {
		return nil, err
	}
	return ListServices200JSONResponse{Items: mapSlice(rows, func(v store.Service) Service { return toService(v, counts[v.ID]) }),
		NextCursor: next}, nil
}

// CreateService adds a service.
func (s *Server) CreateService(ctx context.Context, req CreateServiceRequestObject) (CreateServiceResponseObject, error) {
	b := req.Body
	settings, _ := json.Marshal(serviceSettings{URL: b.Url, UsernameIsFQDN: deref(b.UsernameIsFqdn, false),
		Combined: deref(b.Combined, false), UseMyIPv6: deref(b.UseMyipv6, false)})
	var out Service
	err := s.store.InTx(ctx, func(q *store.Queries) error {
		svc, err := q.CreateService(ctx, store.NewService{Name: b.Name, Protocol: string(b.Protocol), Settings: settings})
		if err != nil {
			return err
		}
		id := svc.ID
		if err := event(ctx, q, store.Event{Kind: "service.created", ServiceID: &id,
			Message: fmt.Sprintf("service %s (%s) created", svc.Name, svc.Protocol)}, nil); err != nil {
			return err
		}
		out = toService(svc, 0)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return CreateService201JSONResponse(out), nil
}

// GetService reads a service.
func (s *Server) GetService(ctx context.Context, req GetServiceRequestObject) (GetServiceResponseObject, error) {
	svc, err := s.store.Service(ctx, req.Id)
	if err != nil {
		return nil, orNotFound(err, "service", req.Id)
	}
	out, err := s.serviceWithUsage(ctx, &s.store.Queries, svc)
	if err != nil {
		return nil, err
	}
	return GetService200JSONResponse(out), nil
}

// UpdateService changes a service. A change of how records are sent (URL,
// options) re-sends every record of the service, since the upstream or
// the request it gets is new.
func (s *Server) UpdateService(ctx context.Context, req UpdateServiceRequestObject) (UpdateServiceResponseObject, error) {
	b := req.Body
	var out Service
	err := s.store.InTx(ctx, func(q *store.Queries) error {
		old, err := q.Service(ctx, req.Id)
		if err != nil {
			return orNotFound(err, "service", req.Id)
		}
		settings := map[string]any{}
		_ = json.Unmarshal(old.Settings, &settings)
		var changed []string
		set := func(key string, v any, present bool) {
			if present && settings[key] != v {
				settings[key] = v
				changed = append(changed, key)
			}
		}
		set("url", deref(b.Url, ""), b.Url != nil)
		set("username_is_fqdn", deref(b.UsernameIsFqdn, false), b.UsernameIsFqdn != nil)
		set("combined", deref(b.Combined, false), b.Combined != nil)
		set("use_myipv6", deref(b.UseMyipv6, false), b.UseMyipv6 != nil)
		patch := store.ServicePatch{Name: b.Name}
		if len(changed) > 0 {
			if patch.Settings, err = json.Marshal(settings); err != nil {
				return err
			}
		}
		if b.Name != nil && *b.Name != old.Name {
			changed = append(changed, "name")
		}
		svc, err := q.UpdateService(ctx, req.Id, patch)
		if err != nil {
			return err
		}
		queued := 0
		if resend := len(changed) > 0 && !(len(changed) == 1 && changed[0] == "name"); resend {
			refs, err := q.ServiceRecords(ctx, svc.ID)
			if err != nil {
				return err
			}
			byHost := map[int64][]int64{}
			var hosts []int64
			for _, r := range refs {
				if byHost[r.HostID] == nil {
					hosts = append(hosts, r.HostID)
				}
				byHost[r.HostID] = append(byHost[r.HostID], r.ID)
			}
			for _, h := range hosts {
				n, err := s.broker.Reconcile(ctx, q, h, byHost[h], "config", true)
				if err != nil {
					return err
				}
				queued += n
			}
		}
		if len(changed) > 0 {
			id := svc.ID
			if err := event(ctx, q, store.Event{Kind: "service.updated", ServiceID: &id,
				Message: fmt.Sprintf("service %s changed (%d deliveries queued)", svc.Name, queued)},
				map[string]any{"fields": changed}); err != nil {
				return err
			}
		}
		out, err = s.serviceWithUsage(ctx, q, svc)
		return err
	})
	if err != nil {
		return nil, err
	}
	return UpdateService200JSONResponse(out), nil
}

// DeleteService removes a service no record uses.
func (s *Server) DeleteService(ctx context.Context, req DeleteServiceRequestObject) (DeleteServiceResponseObject, error) {
	err := s.store.InTx(ctx, func(q *store.Queries) error {
		svc, err := q.Service(ctx, req.Id)
		if err != nil {
			return orNotFound(err, "service", req.Id)
		}
		if svc.RecordCount > 0 {
			return conflict("the service is still used by %d %s; delete them or move them to another service first",
				svc.RecordCount, plural(svc.RecordCount, "record", "records"))
		}
		if err := q.DeleteService(ctx, svc.ID); err != nil {
			return err
		}
		return event(ctx, q, store.Event{Kind: "service.deleted", Message: fmt.Sprintf("service %s deleted", svc.Name)},
			map[string]any{"service_id": svc.ID, "name": svc.Name})
	})
	if err != nil {
		return nil, err
	}
	return DeleteService204Response{}, nil
}
