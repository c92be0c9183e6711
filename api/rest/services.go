package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// dyndns2Shorthands are the dyndns2 settings the Service schema carries as
// top-level fields too (the API had them before services had settings of
// their own; the web app and the README's walk-through use them).
var dyndns2Shorthands = []string{"url", "username_is_fqdn", "combined", "use_myipv6"}

// toService is the API's view of a service; settings that do not decode
// are logged and shown empty (see storedObject).
func (s *Server) toService(svc store.Service, hosts int) Service {
	stored, err := storedObject(svc.Settings, "service settings")
	if err != nil {
		s.log.Error("a service's settings are unreadable", "service_id", svc.ID, "err", err)
	}
	settings := ServiceSettings(stored)
	out := Service{Id: svc.ID, Name: svc.Name, Protocol: Protocol(svc.Protocol), Settings: settings,
		CredentialSet: svc.Credentials != nil, RecordCount: svc.RecordCount, HostCount: hosts,
		CreatedAt: svc.CreatedAt.UTC(), UpdatedAt: svc.UpdatedAt.UTC()}
	out.Url, _ = settings["url"].(string)
	if svc.Protocol == provider.ProtocolDyndns2 {
		out.UsernameIsFqdn, _ = settings["username_is_fqdn"].(bool)
		out.Combined, _ = settings["combined"].(bool)
		out.UseMyipv6, _ = settings["use_myipv6"].(bool)
	}
	return out
}

// settingsChange is what a request says about a service's settings: a
// whole new object and the dyndns2 shorthands, which win over it.
type settingsChange struct {
	settings   *ServiceSettings
	shorthands map[string]any // by settings key, only those sent
}

func newSettingsChange(settings *ServiceSettings, url *string, usernameIsFQDN, combined, useMyIPv6 *bool) settingsChange {
	c := settingsChange{settings: settings, shorthands: map[string]any{}}
	if url != nil {
		c.shorthands["url"] = *url
	}
	for key, v := range map[string]*bool{"username_is_fqdn": usernameIsFQDN, "combined": combined, "use_myipv6": useMyIPv6} {
		if v != nil {
			c.shorthands[key] = *v
		}
	}
	return c
}

// apply returns the settings after the change, from the stored ones (nil
// when creating). dyndns2 settings always hold their three options, as
// they did before services had settings, so the shorthands read the same.
func (c settingsChange) apply(protocol string, stored map[string]any) (map[string]any, []FieldError) {
	next := maps.Clone(stored)
	if c.settings != nil {
		next = maps.Clone(map[string]any(*c.settings))
	}
	if next == nil {
		next = map[string]any{}
	}
	if protocol != provider.ProtocolDyndns2 {
		var errs []FieldError
		for _, key := range dyndns2Shorthands {
			if _, ok := c.shorthands[key]; ok {
				errs = append(errs, fieldError(key, "is a dyndns2 setting; a %s service takes its settings in settings", protocol))
			}
		}
		return next, errs
	}
	maps.Copy(next, c.shorthands)
	for _, key := range dyndns2Shorthands[1:] {
		if _, ok := next[key]; !ok {
			next[key] = false
		}
	}
	return next, nil
}

// validateService checks settings and credential with the rules of the
// protocol's client. credential is the new one (nil: unchanged) and
// hasCredential whether the service will have one. When the request used
// only the shorthands, their errors carry the shorthands' names.
// newServiceSettings are the settings of a service that does not exist yet,
// checked alike whether it is created or only tested.
func (s *Server) newServiceSettings(protocol string, change settingsChange, credential *string) (map[string]any, error) {
	settings, errs := change.apply(protocol, nil)
	if len(errs) > 0 {
		return nil, invalid(errs...)
	}
	if err := s.validateService(protocol, settings, credential, credential != nil, change); err != nil {
		return nil, err
	}
	return settings, nil
}

func (s *Server) validateService(protocol string, settings map[string]any, credential *string, hasCredential bool, c settingsChange) error {
	raw, err := json.Marshal(settings)
	if err != nil {
		return err
	}
	errs := s.providers.Validate(protocol, raw, provider.Has{Credential: hasCredential})
	if credential != nil && *credential != "" && !slices.ContainsFunc(errs, func(e provider.FieldError) bool { return e.Field == "credential" }) {
		errs = append(errs, s.providers.ValidateCredential(protocol, *credential)...)
	}
	if len(errs) == 0 {
		return nil
	}
	out := make([]FieldError, 0, len(errs))
	for _, e := range errs {
		field := e.Field
		if key, ok := strings.CutPrefix(field, "settings."); ok && c.settings == nil && slices.Contains(dyndns2Shorthands, key) {
			field = key
		}
		out = append(out, FieldError{Field: field, Message: e.Message})
	}
	return invalid(out...)
}

// changedKeys names the settings keys whose values differ.
func changedKeys(a, b map[string]any) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if v, ok := b[k]; !ok || !sameJSON(a[k], v) {
			out = append(out, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func (s *Server) serviceWithUsage(ctx context.Context, q *store.Queries, svc store.Service) (Service, error) {
	counts, err := q.ServiceHostCounts(ctx, []int64{svc.ID})
	if err != nil {
		return Service{}, err
	}
	return s.toService(svc, counts[svc.ID]), nil
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
	return ListServices200JSONResponse{Items: mapSlice(rows, func(v store.Service) Service { return s.toService(v, counts[v.ID]) }),
		NextCursor: next}, nil
}

// CreateService adds a service; its settings and credential are checked
// by the rules of the protocol's client, and the credential is sealed.
func (s *Server) CreateService(ctx context.Context, req CreateServiceRequestObject) (CreateServiceResponseObject, error) {
	b := req.Body
	protocol := string(b.Protocol)
	settings, err := s.newServiceSettings(protocol, newSettingsChange(b.Settings, b.Url, b.UsernameIsFqdn, b.Combined, b.UseMyipv6), b.Credential)
	if err != nil {
		return nil, err
	}
	n := store.NewService{Name: b.Name, Protocol: protocol}
	if n.Settings, err = json.Marshal(settings); err != nil {
		return nil, err
	}
	if b.Credential != nil {
		n.Credentials, n.CredentialsKey = s.box.Seal(*b.Credential)
	}
	var out Service
	err = s.store.InTx(ctx, func(q *store.Queries) error {
		svc, err := q.CreateService(ctx, n)
		if err != nil {
			return err
		}
		id := svc.ID
		if err := event(ctx, q, store.Event{Kind: store.EventServiceCreated, ServiceID: &id,
			Message: fmt.Sprintf("service %s (%s) created", svc.Name, svc.Protocol)}, nil); err != nil {
			return err
		}
		out = s.toService(svc, 0)
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

// UpdateService changes a service. A change of how records are sent
// (settings, credential) re-sends every record of the service, since the
// upstream or the request it gets is new.
//
// A stored secret only ever goes to the destination it was entered for: a
// change of the destination needs the service's own credential again, and
// removes its records' passwords unless the caller's password confirms
// that the new destination may have them.
func (s *Server) UpdateService(ctx context.Context, req UpdateServiceRequestObject) (UpdateServiceResponseObject, error) {
	b := req.Body
	change := newSettingsChange(b.Settings, b.Url, b.UsernameIsFqdn, b.Combined, b.UseMyipv6)
	// The password is checked first, outside the transaction: it is slow.
	confirmed := false
	if b.CurrentPassword != nil {
		if err := s.confirmPassword(ctx, *b.CurrentPassword); err != nil {
			return nil, err
		}
		confirmed = true
	}
	var out Service
	err := s.store.InTx(ctx, func(q *store.Queries) error {
		old, err := q.Service(ctx, req.Id)
		if err != nil {
			return orNotFound(err, "service", req.Id)
		}
		stored, err := storedObject(old.Settings, "service settings")
		if err != nil {
			return err
		}
		settings, errs := change.apply(old.Protocol, stored)
		if len(errs) > 0 {
			return invalid(errs...)
		}
		changed := changedKeys(stored, settings)
		patch := store.ServicePatch{Name: b.Name}
		if len(changed) > 0 {
			if patch.Settings, err = json.Marshal(settings); err != nil {
				return err
			}
		}
		hasCredential := old.Credentials != nil
		if c := b.Credential; c != nil {
			switch {
			case *c != "":
				patch.Credentials, patch.CredentialsKey = s.box.Seal(*c)
				hasCredential = true
				changed = append(changed, "credential")
			case hasCredential:
				patch.ClearCredentials, hasCredential = true, false
				changed = append(changed, "credential")
			}
		}
		if len(changed) > 0 {
			if err := s.validateService(old.Protocol, settings, b.Credential, hasCredential, change); err != nil {
				return err
			}
		}
		moved, err := s.destinationChange(old, settings, b.Credential, change)
		if err != nil {
			return err
		}
		// The drift check's settings change what is checked, not what is
		// sent: they alone resend nothing.
		resend := slices.ContainsFunc(changed, func(k string) bool { return k != "drift_resolver" && k != "drift_interval" })
		if b.Name != nil && *b.Name != old.Name {
			changed = append(changed, "name")
		}
		svc, err := q.UpdateService(ctx, req.Id, patch)
		if err != nil {
			return err
		}
		cleared := 0
		if moved && !confirmed {
			if cleared, err = q.ClearServicePasswords(ctx, svc.ID); err != nil {
				return err
			}
		}
		queued := 0
		if resend {
			if queued, err = s.broker.ServiceChanged(ctx, q, svc.ID); err != nil {
				return err
			}
		}
		if len(changed) > 0 {
			id := svc.ID
			msg := fmt.Sprintf("service %s changed (%d deliveries queued)", svc.Name, queued)
			data := map[string]any{"fields": changed}
			switch {
			case moved && confirmed:
				msg += "; its destination changed, and the records' passwords were kept (confirmed with a password)"
				data["destination_changed"], data["passwords_kept"] = true, true
			case moved:
				msg += fmt.Sprintf("; its destination changed, so the passwords of %d %s were removed", cleared, plural(cleared, "record", "records"))
				data["destination_changed"], data["passwords_cleared"] = true, cleared
			}
			if err := event(ctx, q, store.Event{Kind: store.EventServiceUpdated, ServiceID: &id, Message: msg}, data); err != nil {
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

// destinationChange tells whether the settings send the service's secrets
// somewhere else than the stored ones do, and refuses the change when the
// service has a credential of its own and the request does not give it
// again: it was entered for the old destination.
func (s *Server) destinationChange(old store.Service, settings map[string]any, credential *string, c settingsChange) (bool, error) {
	raw, err := json.Marshal(settings)
	if err != nil {
		return false, err
	}
	p, ok := s.providers.Provider(old.Protocol)
	if !ok || slices.Equal(p.Destinations(old.Settings), p.Destinations(raw)) {
		return false, nil
	}
	if old.Credentials == nil || credential != nil && *credential != "" {
		return true, nil
	}
	stored, err := storedObject(old.Settings, "service settings")
	if err != nil {
		return false, err
	}
	var errs []FieldError
	for _, key := range p.DestinationKeys() {
		if sameJSON(stored[key], settings[key]) {
			continue
		}
		field := "settings." + key
		if _, ok := c.shorthands[key]; ok && c.settings == nil {
			field = key
		}
		errs = append(errs, fieldError(field, "changes where the service's credential is sent: give the credential again in the same request"))
	}
	errs = append(errs, fieldError("credential", "is required again: a stored credential is only sent to the destination it was entered for"))
	return true, invalid(errs...)
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
		return event(ctx, q, store.Event{Kind: store.EventServiceDeleted, Message: fmt.Sprintf("service %s deleted", svc.Name)},
			map[string]any{"service_id": svc.ID, "name": svc.Name})
	})
	if err != nil {
		return nil, err
	}
	return DeleteService204Response{}, nil
}
