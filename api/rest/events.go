package rest

import (
	"context"
	"net/netip"

	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// toEvent is the API's view of an event; data that does not decode is
// logged and shown empty (see storedObject).
func (s *Server) toEvent(e store.Event) Event {
	data, err := storedObject(e.Data, "event data")
	if err != nil {
		s.log.Error("an event's data is unreadable", "event_id", e.ID, "err", err)
	}
	return Event{Id: e.ID, At: e.At.UTC(), Kind: EventKind(e.Kind), HostId: e.HostID, RecordId: e.RecordID, ServiceId: e.ServiceID,
		Actor: e.Actor, Message: e.Message, Data: data, OwnerId: e.OwnerID, ActorUserId: e.ActorUserID, ActorTokenId: e.ActorTokenID,
		Source: addrPtr(e.Source)}
}

// ListEvents lists the history, newest first.
func (s *Server) ListEvents(ctx context.Context, req ListEventsRequestObject) (ListEventsResponseObject, error) {
	f := req.Params
	p := store.EventPage{HostID: deref(f.HostId, 0), RecordID: deref(f.RecordId, 0), ServiceID: deref(f.ServiceId, 0),
		Kind: deref(f.Kind, ""), Since: f.Since, Until: f.Until, ActorUserID: deref(f.ActorUserId, 0), ActorTokenID: deref(f.ActorTokenId, 0)}
	if f.Source != nil && *f.Source != "" {
		a, err := netip.ParseAddr(*f.Source)
		if err != nil {
			return nil, invalid(fieldError("source", "is not an IP address"))
		}
		p.Source = a.Unmap()
	}
	if err := decodeCursor(f.Cursor, &p.BeforeID); err != nil {
		return nil, err
	}
	limit := pageLimit(f.Limit)
	p.Limit = limit + 1
	rows, err := s.db(ctx).EventsPage(ctx, p)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, limit, func(e store.Event) []any { return []any{e.ID} })
	return ListEvents200JSONResponse{Items: mapSlice(rows, s.toEvent), NextCursor: next}, nil
}
