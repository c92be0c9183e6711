package rest

import (
	"context"
	"encoding/json"

	"github.com/ddnsbroker/ddnsbroker/api/store"
)

func toEvent(e store.Event) Event {
	data := map[string]any{}
	_ = json.Unmarshal(e.Data, &data) // the column is a JSON object by construction
	return Event{Id: e.ID, At: e.At.UTC(), Kind: EventKind(e.Kind), HostId: e.HostID, RecordId: e.RecordID, ServiceId: e.ServiceID,
		Actor: e.Actor, Message: e.Message, Data: data}
}

// ListEvents lists the history, newest first.
func (s *Server) ListEvents(ctx context.Context, req ListEventsRequestObject) (ListEventsResponseObject, error) {
	f := req.Params
	p := store.EventPage{HostID: deref(f.HostId, 0), RecordID: deref(f.RecordId, 0), ServiceID: deref(f.ServiceId, 0),
		Kind: deref(f.Kind, ""), Since: f.Since, Until: f.Until}
	if err := decodeCursor(f.Cursor, &p.BeforeID); err != nil {
		return nil, err
	}
	limit := pageLimit(f.Limit)
	p.Limit = limit + 1
	rows, err := s.store.EventsPage(ctx, p)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, limit, func(e store.Event) []any { return []any{e.ID} })
	return ListEvents200JSONResponse{Items: mapSlice(rows, toEvent), NextCursor: next}, nil
}
