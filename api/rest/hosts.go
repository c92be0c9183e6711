package rest

import (
	"context"
	"fmt"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/routersetup"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// toHost shapes a host for the API; stale-after decides its stale flag.
func (s *Server) toHost(h store.Host) Host {
	return Host{Id: h.ID, Fqdn: h.FQDN, Enabled: h.Enabled, Ipv4Enabled: h.IPv4Enabled, Ipv6Enabled: h.IPv6Enabled,
		Ipv4: addrPtr(h.IPv4), Ipv6: addrPtr(h.IPv6), Ipv6Prefix: prefixPtr(h.Prefix),
		Ipv4UpdatedAt: utcPtr(h.IPv4UpdatedAt), Ipv4ChangedAt: utcPtr(h.IPv4ChangedAt),
		Ipv6UpdatedAt: utcPtr(h.IPv6UpdatedAt), Ipv6ChangedAt: utcPtr(h.IPv6ChangedAt), LastSeenAt: utcPtr(h.LastSeenAt),
		Notes: h.Notes, RecordCount: h.RecordCount, CreatedAt: h.CreatedAt.UTC(), UpdatedAt: h.UpdatedAt.UTC(),
		Stale: s.staleRule().Stale(h), StaleAfter: int64(h.EffectiveStaleAfter(s.staleAfter).Seconds()), StaleAfterDefault: h.StaleAfter == nil,
		Ipv4PrivateAllowed: h.PrivateIPv4Allowed,
		Ipv4Source:         h.Source.IPv4, Ipv6Source: h.Source.IPv6, Ipv6PrefixSource: h.Source.Prefix, Warnings: hostWarnings(h),
		OwnerId: h.OwnerID, Owner: ownerName(h.OwnerID, h.OwnerName)}
}

// hostWarnings explain why a host's addresses are not published as they
// are.
func hostWarnings(h store.Host) []Warning {
	w := []Warning{}
	if h.IPv4Enabled && netcalc.Private(h.IPv4) && !h.PrivateIPv4Allowed {
		w = append(w, Warning{Code: Ipv4Private, Field: "ipv4",
			Message: fmt.Sprintf("%s is a private or CGNAT address: the router is behind NAT, so its records send nothing for IPv4 "+
				"(their static addresses excepted). Allow private IPv4 addresses on the host to publish it (internal DNS), "+
				"or have the router report its public address", h.IPv4)})
	}
	return w
}

// ListHosts lists hosts by FQDN.
func (s *Server) ListHosts(ctx context.Context, req ListHostsRequestObject) (ListHostsResponseObject, error) {
	p := store.HostPage{Search: deref(req.Params.Q, ""), Enabled: req.Params.Enabled, Stale: req.Params.Stale,
		StaleRule: s.staleRule(), Limit: pageLimit(req.Params.Limit), OwnerID: deref(req.Params.OwnerId, 0)}
	if err := decodeCursor(req.Params.Cursor, &p.AfterFQDN, &p.AfterID); err != nil {
		return nil, err
	}
	limit := p.Limit
	p.Limit++
	rows, err := s.db(ctx).HostsPage(ctx, p)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, limit, func(h store.Host) []any { return []any{h.FQDN, h.ID} })
	return ListHosts200JSONResponse{Items: mapSlice(rows, s.toHost), NextCursor: next}, nil
}

// CreateHost adds a host. Its secret is generated unless given, hashed,
// and returned in this response only.
func (s *Server) CreateHost(ctx context.Context, req CreateHostRequestObject) (CreateHostResponseObject, error) {
	b := req.Body
	if err := notHostScoped(ctx, "hosts"); err != nil {
		return nil, err
	}
	fqdn, _ := dnsname.Normalize(b.Fqdn) // validated by its tag
	n := store.NewHost{FQDN: fqdn, Enabled: deref(b.Enabled, true), IPv4Enabled: deref(b.Ipv4Enabled, true),
		IPv6Enabled: deref(b.Ipv6Enabled, true), Notes: deref(b.Notes, ""), PrivateIPv4Allowed: deref(b.Ipv4PrivateAllowed, false),
		StaleAfter: secondsPtr(b.StaleAfter)}
	if b.Ipv4 != nil && *b.Ipv4 != "" {
		n.IPv4, _ = parseHostAddr(*b.Ipv4, 4)
	}
	if b.Ipv6 != nil && *b.Ipv6 != "" {
		n.IPv6, _ = parseHostAddr(*b.Ipv6, 6)
	}
	if b.Ipv6Prefix != nil && *b.Ipv6Prefix != "" {
		n.Prefix, _ = parsePrefix6(*b.Ipv6Prefix)
	}
	broker, err := s.setupBroker(ctx, nil) // before anything is stored: the secret is shown only here
	if err != nil {
		return nil, err
	}
	secret, err := s.newSecret(b.Secret)
	if err != nil {
		return nil, err
	}
	if n.SecretHash, err = auth.HashPassword(s.params, secret); err != nil {
		return nil, err
	}
	var h store.Host
	err = s.tx(ctx, func(q *store.Queries) error {
		if n.OwnerID, err = ownerOf(ctx, q, b.OwnerId, "owner_id"); err != nil {
			return err
		}
		if err := admitOwned(ctx, q, &n.OwnerID, 1, 0); err != nil {
			return err
		}
		if h, err = q.CreateHost(ctx, n); err != nil {
			return err
		}
		id := h.ID
		return event(ctx, q, store.Event{Kind: store.EventHostCreated, HostID: &id, Message: fmt.Sprintf("host %s created", h.FQDN)}, nil)
	})
	if err != nil {
		return nil, err
	}
	var out HostCreated
	if err := convert(s.toHost(h), &out); err != nil {
		return nil, err
	}
	out.Secret = secret
	out.Setup = routerSetup(broker, h, secret)
	return CreateHost201JSONResponse(out), nil
}

// staleRule is the rule the store counts and filters stale hosts with, as
// of now: a host's own stale_after, or the server's stale-after.
func (s *Server) staleRule() store.StaleRule {
	return store.StaleRule{Now: time.Now(), After: s.staleAfter}
}

// secondsPtr is an API count of seconds (minimum and maximum checked by
// the schema) as a duration; nil stays nil.
func secondsPtr(n *int64) *time.Duration {
	if n == nil {
		return nil
	}
	d := time.Duration(*n) * time.Second
	return &d
}

// newSecret is the admin's secret or a generated one.
func (s *Server) newSecret(given *string) (string, error) {
	if given != nil {
		return *given, nil
	}
	return auth.NewSecret()
}

// GetHost reads a host.
func (s *Server) GetHost(ctx context.Context, req GetHostRequestObject) (GetHostResponseObject, error) {
	h, err := s.db(ctx).Host(ctx, req.Id)
	if err != nil {
		return nil, orNotFound(err, "host", req.Id)
	}
	return GetHost200JSONResponse(s.toHost(h)), nil
}

// UpdateHost changes a host; turning a family on or off re-derives its
// records' addresses, queueing or cancelling their deliveries.
func (s *Server) UpdateHost(ctx context.Context, req UpdateHostRequestObject) (UpdateHostResponseObject, error) {
	b := req.Body
	p := store.HostPatch{Enabled: b.Enabled, IPv4Enabled: b.Ipv4Enabled, IPv6Enabled: b.Ipv6Enabled, Notes: b.Notes,
		PrivateIPv4Allowed: b.Ipv4PrivateAllowed, OwnerID: b.OwnerId, SetStaleAfter: b.StaleAfter.IsSpecified()}
	if b.StaleAfter.IsSpecified() && !b.StaleAfter.IsNull() {
		n := b.StaleAfter.MustGet()
		p.StaleAfter = secondsPtr(&n)
	}
	if b.Fqdn != nil {
		fqdn, _ := dnsname.Normalize(*b.Fqdn)
		p.FQDN = &fqdn
	}
	var h store.Host
	err := s.tx(ctx, func(q *store.Queries) error {
		old, err := q.LockHost(ctx, req.Id)
		if err != nil {
			return orNotFound(err, "host", req.Id)
		}
		if p.OwnerID != nil && (old.OwnerID == nil || *old.OwnerID != *p.OwnerID) {
			if err := reassign(ctx, q, p.OwnerID); err != nil {
				return err
			}
			cur, err := q.Host(ctx, old.ID) // with its record count
			if err != nil {
				return err
			}
			if err := admitOwned(ctx, q, p.OwnerID, 1, cur.RecordCount); err != nil {
				return err
			}
		}
		if h, err = q.UpdateHost(ctx, req.Id, p); err != nil {
			return err
		}
		var changed []string
		for _, f := range []struct {
			name string
			diff bool
		}{{"fqdn", old.FQDN != h.FQDN}, {"enabled", old.Enabled != h.Enabled}, {"ipv4_enabled", old.IPv4Enabled != h.IPv4Enabled},
			{"ipv6_enabled", old.IPv6Enabled != h.IPv6Enabled}, {"notes", old.Notes != h.Notes},
			{"ipv4_private_allowed", old.PrivateIPv4Allowed != h.PrivateIPv4Allowed},
			{"owner_id", !equalPtr(old.OwnerID, h.OwnerID)}, {"stale_after", !equalPtr(old.StaleAfter, h.StaleAfter)}} {
			if f.diff {
				changed = append(changed, f.name)
			}
		}
		if len(changed) == 0 {
			return nil
		}
		queued := 0
		if old.IPv4Enabled != h.IPv4Enabled || old.IPv6Enabled != h.IPv6Enabled || old.PrivateIPv4Allowed != h.PrivateIPv4Allowed {
			if queued, err = s.broker.HostEdited(ctx, q, h.ID); err != nil {
				return err
			}
		}
		id := h.ID
		return event(ctx, q, store.Event{Kind: store.EventHostUpdated, HostID: &id,
			Message: fmt.Sprintf("host %s changed (%d deliveries queued)", h.FQDN, queued)}, map[string]any{"fields": changed})
	})
	if err != nil {
		return nil, err
	}
	s.hostChanged(h.ID)
	return UpdateHost200JSONResponse(s.toHost(h)), nil
}

// DeleteHost removes a host without records.
func (s *Server) DeleteHost(ctx context.Context, req DeleteHostRequestObject) (DeleteHostResponseObject, error) {
	err := s.tx(ctx, func(q *store.Queries) error {
		if _, err := q.LockHost(ctx, req.Id); err != nil {
			return orNotFound(err, "host", req.Id)
		}
		h, err := q.Host(ctx, req.Id) // with its record count (one added meanwhile trips the foreign key)
		if err != nil {
			return err
		}
		if h.RecordCount > 0 {
			return conflict("the host still has %d %s; delete them first", h.RecordCount, plural(h.RecordCount, "record", "records"))
		}
		if err := q.DeleteHost(ctx, h.ID); err != nil {
			return err
		}
		return event(ctx, q, store.Event{Kind: store.EventHostDeleted, Message: fmt.Sprintf("host %s deleted", h.FQDN), OwnerID: h.OwnerID},
			map[string]any{"host_id": h.ID, "fqdn": h.FQDN})
	})
	if err != nil {
		return nil, err
	}
	s.hostChanged(req.Id)
	return DeleteHost204Response{}, nil
}

// RotateHostSecret replaces the update secret. Credential caches key on the
// stored hash, so the old secret stops working on every replica at once.
func (s *Server) RotateHostSecret(ctx context.Context, req RotateHostSecretRequestObject) (RotateHostSecretResponseObject, error) {
	var given *string
	if req.Body != nil {
		given = req.Body.Secret
	}
	broker, err := s.setupBroker(ctx, nil) // before anything is stored: the secret is shown only here
	if err != nil {
		return nil, err
	}
	secret, err := s.newSecret(given)
	if err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(s.params, secret)
	if err != nil {
		return nil, err
	}
	var h store.Host
	err = s.tx(ctx, func(q *store.Queries) error {
		if h, err = q.LockHost(ctx, req.Id); err != nil {
			return orNotFound(err, "host", req.Id)
		}
		if err := q.SetHostSecret(ctx, h.ID, hash); err != nil {
			return err
		}
		id := h.ID
		return event(ctx, q, store.Event{Kind: store.EventHostSecretRotated, HostID: &id, Message: fmt.Sprintf("update secret of %s replaced", h.FQDN)}, nil)
	})
	if err != nil {
		return nil, err
	}
	s.hostChanged(h.ID)
	return RotateHostSecret200JSONResponse{Secret: secret, Setup: routerSetup(broker, h, secret)}, nil
}

// GetHostSetup gives the router setup of a host, the secret as a placeholder.
func (s *Server) GetHostSetup(ctx context.Context, req GetHostSetupRequestObject) (GetHostSetupResponseObject, error) {
	broker, err := s.setupBroker(ctx, req.Params.Url)
	if err != nil {
		return nil, err
	}
	h, err := s.db(ctx).Host(ctx, req.Id)
	if err != nil {
		return nil, orNotFound(err, "host", req.Id)
	}
	return GetHostSetup200JSONResponse(routerSetup(broker, h, "")), nil
}

// setupBroker is the broker's URL for the router setup: the one asked for,
// else DDNSBROKER_PUBLIC_URL (checked at startup), else the scheme and host
// the request came in on.
func (s *Server) setupBroker(ctx context.Context, asked *string) (routersetup.Broker, error) {
	if asked != nil {
		b, err := routersetup.ParseBroker(*asked)
		if err != nil {
			return b, invalid(fieldError("url", "%s", err))
		}
		return b, nil
	}
	if s.publicURL != "" {
		return routersetup.ParseBroker(s.publicURL)
	}
	origin := infoFrom(ctx).origin
	b, err := routersetup.ParseBroker(origin)
	if err != nil {
		return b, invalid(fieldError("url", "the address this request came in on (%s) cannot serve as the broker's URL (%s); "+
			"give the URL, or set DDNSBROKER_PUBLIC_URL", origin, err))
	}
	return b, nil
}

// routerSetup renders every client's setup for h with secret ("": the
// placeholder).
func routerSetup(b routersetup.Broker, h store.Host, secret string) RouterSetup {
	items := routersetup.Items(b, routersetup.Host{FQDN: h.FQDN, IPv4: h.IPv4Enabled, IPv6: h.IPv6Enabled}, secret)
	out := RouterSetup{Url: b.String(), Items: make([]RouterSetupItem, len(items))}
	for i, it := range items {
		out.Items[i] = RouterSetupItem{Client: RouterSetupItemClient(it.Client), Title: it.Title,
			Format: RouterSetupItemFormat(it.Format), Text: it.Text}
		if it.Warning != "" {
			out.Items[i].Warning = &it.Warning
		}
	}
	return out
}

// SetHostAddresses sets a host's addresses by hand, through the broker,
// exactly like a router's update.
func (s *Server) SetHostAddresses(ctx context.Context, req SetHostAddressesRequestObject) (SetHostAddressesResponseObject, error) {
	b := req.Body
	var a broker.Addresses
	if v := deref(b.Ipv4, ""); v != "" {
		a.IPv4, _ = parseHostAddr(v, 4)
	}
	if v := deref(b.Ipv6, ""); v != "" {
		a.IPv6, _ = parseHostAddr(v, 6)
	}
	if v := deref(b.Ipv6Prefix, ""); v != "" {
		a.Prefix, _ = parsePrefix6(v)
	}
	var h store.Host
	err := s.tx(ctx, func(q *store.Queries) error {
		if _, err := s.broker.SetAddresses(ctx, q, req.Id, a, principal(ctx).Actor()); err != nil {
			return orNotFound(err, "host", req.Id)
		}
		var err error
		h, err = q.Host(ctx, req.Id)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.hostChanged(h.ID)
	return SetHostAddresses200JSONResponse(s.toHost(h)), nil
}

// ResyncHost re-sends every record of a host.
func (s *Server) ResyncHost(ctx context.Context, req ResyncHostRequestObject) (ResyncHostResponseObject, error) {
	var queued int
	err := s.tx(ctx, func(q *store.Queries) error {
		var err error
		if queued, err = s.broker.ResyncRequested(ctx, q, req.Id, nil); err != nil {
			return orNotFound(err, "host", req.Id)
		}
		h, err := q.Host(ctx, req.Id)
		if err != nil {
			return err
		}
		id := h.ID
		return event(ctx, q, store.Event{Kind: store.EventHostResync, HostID: &id,
			Message: fmt.Sprintf("resync of %s requested (%d deliveries queued)", h.FQDN, queued)}, nil)
	})
	if err != nil {
		return nil, err
	}
	return ResyncHost200JSONResponse{Queued: queued}, nil
}
