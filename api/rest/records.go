package rest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

func toRecord(h store.Host, r store.Record) Record {
	out := Record{Id: r.ID, HostId: r.HostID, ServiceId: r.ServiceID, Fqdn: r.FQDN,
		Ipv4Enabled: r.IPv4Enabled, Ipv4Netmask: r.IPv4Netmask, Ipv4HostIdentifier: r.IPv4HostIdentifier.String(),
		Ipv6Enabled: r.IPv6Enabled, Ipv6Netmask: r.IPv6Netmask, Ipv6HostIdentifier: r.IPv6HostIdentifier.String(),
		Username: r.Username, PasswordSet: r.Password != nil, NeedsCredentials: r.PasswordClearedAt != nil,
		KeepOtherAddresses: r.KeepOtherAddresses, DropWhenStale: r.DropWhenStale,
		Ipv6SubnetId: subnetPtr(r.IPv6SubnetID),
		Ipv4Mode:     addressMode(r.IPv4Static), Ipv4StaticAddress: addrPtr(r.IPv4Static),
		Ipv6Mode: addressMode(r.IPv6Static), Ipv6StaticAddress: addrPtr(r.IPv6Static),
		EffectiveIpv4: addrPtr(broker.Effective(h, r, 4)), EffectiveIpv6: addrPtr(broker.Effective(h, r, 6)),
		Derivation: toDerivation(h, r),
		Status:     RecordStatus{Ipv4: toFamilyStatus(r.V4), Ipv6: toFamilyStatus(r.V6)},
		Warnings:   recordWarnings(h, r), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.IPv6HostMAC != nil {
		m := r.IPv6HostMAC.String()
		out.Ipv6HostMac = &m
	}
	return out
}

func toFamilyStatus(st store.RecordState) FamilyStatus {
	return FamilyStatus{State: SyncState(st.State), Address: addrPtr(st.Desired), DeliveredAddress: addrPtr(st.Delivered),
		Attempts: st.Attempts, LastAttemptAt: utcPtr(st.LastAttemptAt), LastSuccessAt: utcPtr(st.LastSuccessAt),
		NextAttemptAt: utcPtr(st.NextAttemptAt), Message: st.Message, Advice: st.Advice}
}

// recordWarnings explains why a record sends nothing, or sends something
// its owner may not expect.
func recordWarnings(h store.Host, r store.Record) []Warning {
	w := []Warning{}
	add := func(code WarningCode, field, format string, args ...any) {
		w = append(w, Warning{Code: code, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if r.PasswordClearedAt != nil {
		add(NeedsCredentials, "password", "the service's destination changed, so the password stored for the old one was removed: give it again (or \"\" to go on without one)")
	}
	if !h.Enabled {
		add(HostDisabled, "", "the host is disabled: its updates are refused")
	}
	if r.IPv4Enabled {
		static := r.IPv4Static.IsValid()
		switch {
		case !h.IPv4Enabled:
			add(HostIpv4Disabled, "ipv4_enabled", "IPv4 is turned off on the host: nothing is sent for IPv4")
		case static:
		case !h.IPv4.IsValid():
			add(NoIpv4Base, "ipv4_enabled", "the host has not reported an IPv4 address yet: nothing is sent for IPv4 until it does")
		case netcalc.Private(h.IPv4) && !h.PrivateIPv4Allowed:
			add(Ipv4Private, "ipv4_enabled", "%s: nothing is sent for IPv4", broker.Derive(h, r, netcalc.V4).Reason)
		}
		if !static && masked(r.IPv4HostIdentifier, r.IPv4Netmask) {
			add(IdentifierMasked, "ipv4_host_identifier", "the first %d bits of the host identifier are ignored: they come from the host's address", r.IPv4Netmask)
		}
	}
	if r.IPv6Enabled {
		static := r.IPv6Static.IsValid()
		switch {
		case !h.IPv6Enabled:
			add(HostIpv6Disabled, "ipv6_enabled", "IPv6 is turned off on the host: nothing is sent for IPv6")
		case static:
		case r.IPv6SubnetID != nil:
			if d := broker.Derive(h, r, netcalc.V6); !d.Result.IsValid() {
				add(Ipv6Subnet, "ipv6_subnet_id", "%s: nothing is sent for IPv6", d.Reason)
			}
		case !broker.Effective(h, r, 6).IsValid():
			add(NoIpv6Base, "ipv6_enabled", "the host has reported neither an IPv6 address nor a prefix covering /%d: nothing is sent for IPv6 until it does", r.IPv6Netmask)
		case netcalc.MixedBase6(h.Prefix, r.IPv6Netmask) && h.IPv6.IsValid():
			add(Ipv6MixedBase, "ipv6_netmask", "the netmask /%d is longer than the delegated prefix %s: bits %d to %d come from the router's WAN address, not from the prefix",
				r.IPv6Netmask, h.Prefix, h.Prefix.Bits()+1, r.IPv6Netmask)
		}
		if !static && masked(r.IPv6HostIdentifier, r.IPv6Netmask) {
			add(IdentifierMasked, "ipv6_host_identifier", "the first %d bits of the host identifier are ignored: they come from the host's address", r.IPv6Netmask)
		}
	}
	return w
}

// masked tells whether an identifier has bits under the netmask, which the
// arithmetic replaces by the host's.
func masked(id netip.Addr, bits int) bool {
	if !id.IsValid() || bits <= 0 {
		return false
	}
	p, err := id.Prefix(bits)
	return err == nil && !p.Addr().IsUnspecified()
}

// recordLimits bound the records of one host, and so the work of one
// router update, and of one service (DDNSBROKER_MAX_RECORDS_PER_HOST and
// _PER_SERVICE).
type recordLimits struct{ perHost, perService int }

// admit refuses, with 409 naming the limit, a record added to a host
// (toHost) or to a service that has as many records as its limit allows.
// It locks both until the transaction ends, so additions at once cannot
// pass the limit together.
func (l recordLimits) admit(ctx context.Context, q *store.Queries, hostID, serviceID int64, toHost bool) error {
	hosts, services, err := q.RecordCounts(ctx, hostID, serviceID)
	if err != nil {
		return err
	}
	if toHost && hosts >= l.perHost {
		return conflict("the host has %d records, its limit (DDNSBROKER_MAX_RECORDS_PER_HOST is %d)", hosts, l.perHost)
	}
	if services >= l.perService {
		return conflict("the service has %d records, its limit (DDNSBROKER_MAX_RECORDS_PER_SERVICE is %d)", services, l.perService)
	}
	return nil
}

// ListRecords lists records with their delivery status.
func (s *Server) ListRecords(ctx context.Context, req ListRecordsRequestObject) (ListRecordsResponseObject, error) {
	p := store.RecordPage{HostID: deref(req.Params.HostId, 0), ServiceID: deref(req.Params.ServiceId, 0),
		State: string(deref(req.Params.Status, "")), Search: deref(req.Params.Q, ""), Limit: pageLimit(req.Params.Limit)}
	if err := decodeCursor(req.Params.Cursor, &p.AfterFQDN, &p.AfterID); err != nil {
		return nil, err
	}
	limit := p.Limit
	p.Limit++
	rows, err := s.db(ctx).RecordsPage(ctx, p)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, limit, func(r store.Record) []any { return []any{r.FQDN, r.ID} })
	hosts, err := s.db(ctx).HostsByID(ctx, mapSlice(rows, func(r store.Record) int64 { return r.HostID }))
	if err != nil {
		return nil, err
	}
	return ListRecords200JSONResponse{Items: mapSlice(rows, func(r store.Record) Record { return toRecord(hosts[r.HostID], r) }),
		NextCursor: next}, nil
}

// CreateRecord adds a record and queues its first deliveries in the same
// transaction.
func (s *Server) CreateRecord(ctx context.Context, req CreateRecordRequestObject) (CreateRecordResponseObject, error) {
	b := req.Body
	n := store.NewRecord{HostID: b.HostId, ServiceID: b.ServiceId,
		IPv4Enabled: deref(b.Ipv4Enabled, true), IPv4Netmask: deref(b.Ipv4Netmask, 32),
		IPv6Enabled: deref(b.Ipv6Enabled, true), IPv6Netmask: deref(b.Ipv6Netmask, 128), Username: deref(b.Username, ""),
		KeepOtherAddresses: deref(b.KeepOtherAddresses, false), DropWhenStale: deref(b.DropWhenStale, false)}
	n.IPv4HostIdentifier, _ = parseIdentifier(deref(b.Ipv4HostIdentifier, "0.0.0.0"), 4)
	n.IPv6HostIdentifier, _ = parseIdentifier(deref(b.Ipv6HostIdentifier, "::"), 6)
	if b.Fqdn != nil {
		n.FQDN, _ = dnsname.Normalize(*b.Fqdn)
	}
	src, missing := sourceInput{mac: b.Ipv6HostMac, subnet: b.Ipv6SubnetId, mode4: b.Ipv4Mode, mode6: b.Ipv6Mode,
		static4: b.Ipv4StaticAddress, static6: b.Ipv6StaticAddress, identifier6: b.Ipv6HostIdentifier != nil,
		netmask6: b.Ipv6Netmask}.resolve(store.Sources{})
	if len(missing) > 0 {
		return nil, invalid(missing...)
	}
	n.Sources = src.Sources
	if src.identifier6 != nil {
		n.IPv6HostIdentifier = *src.identifier6
	}
	if src.netmask6 != nil {
		n.IPv6Netmask = *src.netmask6
	}
	if pw := deref(b.Password, ""); pw != "" {
		n.Password, n.PasswordKey = s.box.Seal(pw)
	}
	var out Record
	err := s.tx(ctx, func(q *store.Queries) error {
		h, err := q.Host(ctx, b.HostId)
		if errors.Is(err, store.ErrNotFound) {
			missing = append(missing, fieldError("host_id", "host %d does not exist", b.HostId))
		} else if err != nil {
			return err
		}
		// Held until the commit, so the password is stored for the
		// destination the service has now.
		if err := q.LockService(ctx, b.ServiceId); errors.Is(err, store.ErrNotFound) {
			missing = append(missing, fieldError("service_id", "service %d does not exist", b.ServiceId))
		} else if err != nil {
			return err
		}
		if err == nil {
			missing = append(missing, src.fitsHost(h)...)
		}
		if len(missing) > 0 {
			return invalid(missing...)
		}
		if err := s.limits.admit(ctx, q, h.ID, b.ServiceId, true); err != nil {
			return err
		}
		if err := admitOwned(ctx, q, h.OwnerID, 0, 1); err != nil {
			return err
		}
		if n.FQDN == "" {
			n.FQDN = h.FQDN
		}
		if err := s.admitSharedName(ctx, q, 0, h.ID, b.ServiceId, n.FQDN); err != nil {
			return err
		}
		r, err := q.CreateRecord(ctx, n)
		if err != nil {
			return err
		}
		queued, err := s.broker.RecordCreated(ctx, q, h.ID, r.ID)
		if err != nil {
			return err
		}
		hid, rid, sid := h.ID, r.ID, r.ServiceID
		if err := event(ctx, q, store.Event{Kind: store.EventRecordCreated, HostID: &hid, RecordID: &rid, ServiceID: &sid,
			Message: fmt.Sprintf("record %s created (%d deliveries queued)", r.FQDN, queued)}, nil); err != nil {
			return err
		}
		out, err = s.readRecord(ctx, q, r.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return CreateRecord201JSONResponse(out), nil
}

func (s *Server) readRecord(ctx context.Context, q *store.Queries, id int64) (Record, error) {
	r, err := q.Record(ctx, id)
	if err != nil {
		return Record{}, orNotFound(err, "record", id)
	}
	h, err := q.Host(ctx, r.HostID)
	if err != nil {
		return Record{}, err
	}
	return toRecord(h, r), nil
}

// GetRecord reads a record with its delivery status.
func (s *Server) GetRecord(ctx context.Context, req GetRecordRequestObject) (GetRecordResponseObject, error) {
	r, err := s.readRecord(ctx, s.db(ctx), req.Id)
	if err != nil {
		return nil, err
	}
	return GetRecord200JSONResponse(r), nil
}

// UpdateRecord changes a record. What the upstream cannot know about (name,
// service, credentials) re-sends the record; an address setting sends it
// when its address changes.
func (s *Server) UpdateRecord(ctx context.Context, req UpdateRecordRequestObject) (UpdateRecordResponseObject, error) {
	b := req.Body
	p := store.RecordPatch{ServiceID: b.ServiceId, IPv4Enabled: b.Ipv4Enabled, IPv4Netmask: b.Ipv4Netmask,
		IPv6Enabled: b.Ipv6Enabled, IPv6Netmask: b.Ipv6Netmask, Username: b.Username, KeepOtherAddresses: b.KeepOtherAddresses,
		DropWhenStale: b.DropWhenStale}
	if b.Fqdn != nil {
		fqdn, _ := dnsname.Normalize(*b.Fqdn)
		p.FQDN = &fqdn
	}
	if b.Ipv4HostIdentifier != nil {
		a, _ := parseIdentifier(*b.Ipv4HostIdentifier, 4)
		p.IPv4HostIdentifier = &a
	}
	if b.Ipv6HostIdentifier != nil {
		a, _ := parseIdentifier(*b.Ipv6HostIdentifier, 6)
		p.IPv6HostIdentifier = &a
	}
	if b.Password != nil {
		if *b.Password == "" {
			p.ClearPassword = true
		} else {
			p.Password, p.PasswordKey = s.box.Seal(*b.Password)
		}
	}
	in := sourceInput{mac: b.Ipv6HostMac, subnet: b.Ipv6SubnetId, mode4: b.Ipv4Mode, mode6: b.Ipv6Mode,
		static4: b.Ipv4StaticAddress, static6: b.Ipv6StaticAddress, identifier6: b.Ipv6HostIdentifier != nil,
		netmask6: b.Ipv6Netmask}
	var out Record
	err := s.tx(ctx, func(q *store.Queries) error {
		old, err := q.Record(ctx, req.Id)
		if err != nil {
			return orNotFound(err, "record", req.Id)
		}
		src, bad := in.resolve(old.Sources)
		if len(bad) == 0 && src.IPv6SubnetID != nil {
			h, err := q.Host(ctx, old.HostID)
			if err != nil {
				return err
			}
			bad = src.fitsHost(h)
		}
		if len(bad) > 0 {
			return invalid(bad...)
		}
		p.Sources = &src.Sources
		if src.identifier6 != nil {
			p.IPv6HostIdentifier = src.identifier6
		}
		if src.netmask6 != nil {
			p.IPv6Netmask = src.netmask6
		}
		service := old.ServiceID
		if b.ServiceId != nil {
			service = *b.ServiceId
		}
		// A password is only sent to the service it was entered for: moving
		// the record needs it again. The service is held until the commit,
		// so a password given now is stored for its destination as it is.
		if service != old.ServiceID || p.Password != nil {
			if err := q.LockService(ctx, service); errors.Is(err, store.ErrNotFound) {
				return invalid(fieldError("service_id", "service %d does not exist", service))
			} else if err != nil {
				return err
			}
			if service != old.ServiceID {
				if err := s.limits.admit(ctx, q, old.HostID, service, false); err != nil {
					return err
				}
			}
		}
		if service != old.ServiceID && old.Password != nil && b.Password == nil {
			return invalid(fieldError("password", "must be given again to move the record to another service: "+
				"a stored password is only sent to the service it was entered for (give \"\" to move it without one)"))
		}
		if fqdn := deref(p.FQDN, old.FQDN); service != old.ServiceID || fqdn != old.FQDN {
			if err := s.admitSharedName(ctx, q, old.ID, old.HostID, service, fqdn); err != nil {
				return err
			}
		}
		r, err := q.UpdateRecord(ctx, req.Id, p)
		if err != nil {
			return err
		}
		// A stale host's record that leaves or rejoins its shared name
		// changes what the other hosts' records of the name publish.
		if old.DropWhenStale != r.DropWhenStale {
			if err := s.resendSharers(ctx, q, r); err != nil {
				return err
			}
		}
		var resend, rederive []string // fields that need a forced send, or a recomputation
		rederive = append(rederive, sourcesChanged(old.Sources, r.Sources)...)
		for _, f := range []struct {
			name  string
			diff  bool
			force bool
		}{
			{"fqdn", old.FQDN != r.FQDN, true},
			{"service_id", old.ServiceID != r.ServiceID, true},
			{"username", old.Username != r.Username, true},
			{"password", p.Password != nil || (p.ClearPassword && old.Password != nil), true},
			{"ipv4_enabled", old.IPv4Enabled != r.IPv4Enabled, false},
			{"ipv4_netmask", old.IPv4Netmask != r.IPv4Netmask, false},
			{"ipv4_host_identifier", old.IPv4HostIdentifier != r.IPv4HostIdentifier, false},
			{"ipv6_enabled", old.IPv6Enabled != r.IPv6Enabled, false},
			{"ipv6_netmask", old.IPv6Netmask != r.IPv6Netmask, false},
			{"ipv6_host_identifier", old.IPv6HostIdentifier != r.IPv6HostIdentifier, false},
		} {
			switch {
			case f.diff && f.force:
				resend = append(resend, f.name)
			case f.diff:
				rederive = append(rederive, f.name)
			}
		}
		if len(resend)+len(rederive) > 0 {
			queued, err := s.broker.RecordEdited(ctx, q, r.HostID, r.ID, len(resend) > 0)
			if err != nil {
				return err
			}
			hid, rid, sid := r.HostID, r.ID, r.ServiceID
			if err := event(ctx, q, store.Event{Kind: store.EventRecordUpdated, HostID: &hid, RecordID: &rid, ServiceID: &sid,
				Message: fmt.Sprintf("record %s changed (%d deliveries queued)", r.FQDN, queued)},
				map[string]any{"fields": append(resend, rederive...)}); err != nil {
				return err
			}
		}
		out, err = s.readRecord(ctx, q, r.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return UpdateRecord200JSONResponse(out), nil
}

// DeleteRecord removes a record with its states and deliveries.
func (s *Server) DeleteRecord(ctx context.Context, req DeleteRecordRequestObject) (DeleteRecordResponseObject, error) {
	err := s.tx(ctx, func(q *store.Queries) error {
		r, err := q.Record(ctx, req.Id)
		if err != nil {
			return orNotFound(err, "record", req.Id)
		}
		if err := q.DeleteRecord(ctx, r.ID); err != nil {
			return err
		}
		// Other hosts' records of the name publish it without this one's
		// address from now on: they are sent again.
		if err := s.resendSharers(ctx, q, r); err != nil {
			return err
		}
		hid, sid := r.HostID, r.ServiceID
		return event(ctx, q, store.Event{Kind: store.EventRecordDeleted, HostID: &hid, ServiceID: &sid,
			Message: fmt.Sprintf("record %s deleted", r.FQDN)}, map[string]any{"record_id": r.ID, "fqdn": r.FQDN})
	})
	if err != nil {
		return nil, err
	}
	return DeleteRecord204Response{}, nil
}

// ResyncRecord re-sends a record, even what the upstream already holds, and
// lifts a failed or blocked state.
func (s *Server) ResyncRecord(ctx context.Context, req ResyncRecordRequestObject) (ResyncRecordResponseObject, error) {
	var queued int
	err := s.tx(ctx, func(q *store.Queries) error {
		r, err := q.Record(ctx, req.Id)
		if err != nil {
			return orNotFound(err, "record", req.Id)
		}
		if queued, err = s.broker.ResyncRequested(ctx, q, r.HostID, []int64{r.ID}); err != nil {
			return err
		}
		hid, rid, sid := r.HostID, r.ID, r.ServiceID
		return event(ctx, q, store.Event{Kind: store.EventRecordResync, HostID: &hid, RecordID: &rid, ServiceID: &sid,
			Message: fmt.Sprintf("resync of %s requested (%d deliveries queued)", r.FQDN, queued)}, nil)
	})
	if err != nil {
		return nil, err
	}
	return ResyncRecord200JSONResponse{Queued: queued}, nil
}

// ListRecordDeliveries lists a record's delivery jobs, newest first.
func (s *Server) ListRecordDeliveries(ctx context.Context, req ListRecordDeliveriesRequestObject) (ListRecordDeliveriesResponseObject, error) {
	var before int64
	if err := decodeCursor(req.Params.Cursor, &before); err != nil {
		return nil, err
	}
	if _, err := s.db(ctx).Record(ctx, req.Id); err != nil {
		return nil, orNotFound(err, "record", req.Id)
	}
	limit := pageLimit(req.Params.Limit)
	rows, err := s.db(ctx).DeliveriesPage(ctx, req.Id, before, limit+1)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, limit, func(d store.Delivery) []any { return []any{d.ID} })
	return ListRecordDeliveries200JSONResponse{Items: mapSlice(rows, toDelivery), NextCursor: next}, nil
}

func toDelivery(d store.Delivery) Delivery {
	return Delivery{Id: d.ID, RecordId: d.RecordID, Family: DeliveryFamily(d.Family), Address: d.Address.String(),
		Reason: DeliveryReason(d.Reason), State: DeliveryState(d.State), Attempts: d.Attempts,
		NextAttemptAt: d.NextAttemptAt.UTC(), Result: d.Result, Advice: d.Advice, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		FinishedAt: utcPtr(d.FinishedAt)}
}

// PreviewRecord computes what an unsaved record would point to now.
func (s *Server) PreviewRecord(ctx context.Context, req PreviewRecordRequestObject) (PreviewRecordResponseObject, error) {
	b := req.Body
	h, err := s.db(ctx).Host(ctx, b.HostId)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid(fieldError("host_id", "host %d does not exist", b.HostId))
	}
	if err != nil {
		return nil, err
	}
	r := store.Record{HostID: h.ID, IPv4Enabled: deref(b.Ipv4Enabled, true), IPv4Netmask: deref(b.Ipv4Netmask, 32),
		IPv6Enabled: deref(b.Ipv6Enabled, true), IPv6Netmask: deref(b.Ipv6Netmask, 128)}
	r.IPv4HostIdentifier, _ = parseIdentifier(deref(b.Ipv4HostIdentifier, "0.0.0.0"), 4)
	r.IPv6HostIdentifier, _ = parseIdentifier(deref(b.Ipv6HostIdentifier, "::"), 6)
	src, bad := sourceInput{mac: b.Ipv6HostMac, subnet: b.Ipv6SubnetId, mode4: b.Ipv4Mode, mode6: b.Ipv6Mode,
		static4: b.Ipv4StaticAddress, static6: b.Ipv6StaticAddress, identifier6: b.Ipv6HostIdentifier != nil,
		netmask6: b.Ipv6Netmask}.resolve(store.Sources{})
	if bad = append(bad, src.fitsHost(h)...); len(bad) > 0 {
		return nil, invalid(bad...)
	}
	r.Sources = src.Sources
	if src.identifier6 != nil {
		r.IPv6HostIdentifier = *src.identifier6
	}
	if src.netmask6 != nil {
		r.IPv6Netmask = *src.netmask6
	}
	return PreviewRecord200JSONResponse{EffectiveIpv4: addrPtr(broker.Effective(h, r, 4)),
		EffectiveIpv6: addrPtr(broker.Effective(h, r, 6)), Derivation: toDerivation(h, r), Warnings: recordWarnings(h, r)}, nil
}

// admitSharedName refuses, with 409 saying why, a record (recordID, 0 for
// a new one) of host that would publish fqdn through a service where
// another host's record already publishes it, when the service's protocol
// holds one address per name (dyndns2, HTTP templates): the two hosts
// would overwrite each other. Protocols that publish RRsets take it: the
// name holds the union of the hosts' addresses. A second record of the
// same host is left to the unique index.
func (s *Server) admitSharedName(ctx context.Context, q *store.Queries, recordID, hostID, serviceID int64, fqdn string) error {
	others, err := q.NameSharers(ctx, serviceID, fqdn, recordID)
	if err != nil {
		return err
	}
	var other *store.NameSharer
	for i := range others {
		if others[i].HostID != hostID {
			other = &others[i]
			break
		}
	}
	if other == nil {
		return nil
	}
	svc, err := q.Service(ctx, serviceID)
	if err != nil {
		return err
	}
	if p, ok := s.providers.Provider(svc.Protocol); ok && p.Describe().RRsets {
		return nil
	}
	return conflict("%s is already published through service %q by record %d of host %s, and its protocol (%s) sets one address per name: "+
		"the two hosts would overwrite each other's address. Publish the name through a service whose protocol holds several addresses "+
		"(rfc2136 or a provider's API), or use another name", fqdn, svc.Name, other.ID, other.HostFQDN, svc.Protocol)
}

// resendSharers re-sends the records of other hosts that publish r's name
// through r's service, so that the name's RRset loses r's address.
func (s *Server) resendSharers(ctx context.Context, q *store.Queries, r store.Record) error {
	others, err := q.NameSharers(ctx, r.ServiceID, r.FQDN, r.ID)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.HostID == r.HostID {
			continue
		}
		if _, err := s.broker.RecordEdited(ctx, q, o.HostID, o.ID, true); err != nil {
			return err
		}
	}
	return nil
}
