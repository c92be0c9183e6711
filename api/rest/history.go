package rest

import (
	"context"
	"encoding/json"

	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// GetHostHistory lists a host's address changes with their deliveries,
// newest first: the host page's timeline.
func (s *Server) GetHostHistory(ctx context.Context, req GetHostHistoryRequestObject) (GetHostHistoryResponseObject, error) {
	// The host itself first: a host the caller cannot see has no history.
	q := s.db(ctx)
	if _, err := q.Host(ctx, req.Id); err != nil {
		return nil, orNotFound(err, "host", req.Id)
	}
	var before int64
	if err := decodeCursor(req.Params.Cursor, &before); err != nil {
		return nil, err
	}
	limit := pageLimit(req.Params.Limit)
	rows, err := q.HostAddressChanges(ctx, req.Id, before, limit+1)
	if err != nil {
		return nil, err
	}
	rows, next := page(rows, limit, func(c store.AddressChange) []any { return []any{c.ID} })
	return GetHostHistory200JSONResponse{Items: mapSlice(rows, s.toAddressChange), NextCursor: next}, nil
}

// toAddressChange reads the addresses from the event's data (written by
// the broker: old_ipv4, new_ipv4, … with "" for none).
func (s *Server) toAddressChange(c store.AddressChange) AddressChange {
	var data map[string]any
	if err := json.Unmarshal(c.Data, &data); err != nil {
		s.log.Error("an address change's data is unreadable", "event_id", c.ID, "err", err)
	}
	text := func(key string) *string {
		if v, ok := data[key].(string); ok && v != "" {
			return &v
		}
		return nil
	}
	out := AddressChange{EventId: c.ID, At: c.At.UTC(), Actor: c.Actor,
		OldIpv4: text("old_ipv4"), NewIpv4: text("new_ipv4"), OldIpv6: text("old_ipv6"), NewIpv6: text("new_ipv6"),
		OldPrefix: text("old_prefix"), NewPrefix: text("new_prefix"), Deliveries: []ChangeDelivery{}}
	for _, d := range c.Deliveries {
		cd := ChangeDelivery{Id: d.ID, RecordId: d.RecordID, RecordFqdn: d.RecordFQDN, Family: ChangeDeliveryFamily(d.Family),
			Address: d.Address.String(), ServiceId: d.ServiceID, ServiceName: d.ServiceName, State: ChangeDeliveryState(d.State),
			Attempts: d.Attempts, Result: d.Result, Advice: d.Advice, FinishedAt: utcPtr(d.FinishedAt)}
		if d.FinishedAt != nil {
			cd.DurationMs = ptr(d.FinishedAt.Sub(c.At).Milliseconds())
		}
		out.Deliveries = append(out.Deliveries, cd)
	}
	return out
}
