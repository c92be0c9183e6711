package store

import (
	"context"
	"encoding/json"
	"net/netip"
	"time"
)

// Event is a line of history.
type Event struct {
	ID        int64
	At        time.Time
	Kind      EventKind
	HostID    *int64
	RecordID  *int64
	ServiceID *int64
	Actor     string
	Message   string
	Data      json.RawMessage
	// OwnerID is whose history the event is part of; when nil on writing,
	// the owner of its host, record or service (a trigger, migration 17).
	OwnerID *int64
	// Audit: the account, API token and source address of the request
	// that caused it; when nil on writing, the actor of the queries (As).
	ActorUserID  *int64
	ActorTokenID *int64
	Source       netip.Addr
	// XID is the writing transaction's id (xid8 as text), read only for
	// the live stream (EventPage.Stream).
	XID string
}

// EventsChannel is the LISTEN/NOTIFY channel on which every transaction
// that writes events announces its id (migration 000019).
const EventsChannel = "ddnsbroker_events"

// StreamCursor is a position in the live stream: every event of a
// transaction before XID, and of XID up to EventID, has been read. XID is
// an xid8 in its text form.
type StreamCursor struct {
	XID     string
	EventID int64
}

// StreamWindow is the part of the stream to read: after a cursor, up to a
// horizon (NotifierHorizon) before which nothing can still be written.
type StreamWindow struct {
	After   StreamCursor
	Horizon string
	// Seen, when set, is the snapshot at which a stream opened
	// (StreamStart): the events of the transactions it sees happened
	// before, even those after the cursor.
	Seen string
}

const insertEvent = `INSERT INTO events (kind, host_id, record_id, service_id, actor, message, data)
	VALUES ($1, $2, $3, $4, $5, $6, $7)`

// eventColumns are what ScanEvent reads, of the events table under alias e.
const eventColumns = `e.id, e.at, e.kind, e.host_id, e.record_id, e.service_id, e.actor, e.message, e.data,
	e.owner_id, e.actor_user_id, e.actor_token_id, e.source`

// ScanEvent reads the eventColumns of one row.
func ScanEvent(row interface{ Scan(dest ...any) error }) (Event, error) {
	var e Event
	var source *netip.Addr
	err := row.Scan(&e.ID, &e.At, &e.Kind, &e.HostID, &e.RecordID, &e.ServiceID, &e.Actor, &e.Message, &e.Data,
		&e.OwnerID, &e.ActorUserID, &e.ActorTokenID, &source)
	if source != nil {
		e.Source = *source
	}
	return e, err
}

// EventColumns are the columns ScanEvent reads, for queries of other
// packages over the events table aliased e.
func EventColumns() string { return eventColumns }

// AddEvent appends to the history.
func (q *Queries) AddEvent(ctx context.Context, e Event) error {
	if e.Data == nil {
		e.Data = json.RawMessage(`{}`)
	}
	if e.ActorUserID == nil && e.ActorTokenID == nil && !e.Source.IsValid() {
		e.ActorUserID, e.ActorTokenID, e.Source = q.actor.UserID, q.actor.TokenID, q.actor.Source
	}
	var source *netip.Addr
	if e.Source.IsValid() {
		source = &e.Source
	}
	_, err := q.db.Exec(ctx, `INSERT INTO events (kind, host_id, record_id, service_id, actor, message, data,
			owner_id, actor_user_id, actor_token_id, source)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		e.Kind, e.HostID, e.RecordID, e.ServiceID, e.Actor, e.Message, e.Data, e.OwnerID, e.ActorUserID, e.ActorTokenID, source)
	return mapErr("add event", err)
}

// AddEvents appends many events in one statement, in order, each as
// AddEvent would.
func (q *Queries) AddEvents(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	kinds, actors, messages, data := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	hosts, records, services, owners, users, tokens := make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]*int64, n)
	sources := make([]*netip.Addr, n)
	for i := range events {
		e := events[i]
		if e.Data == nil {
			e.Data = json.RawMessage(`{}`)
		}
		if e.ActorUserID == nil && e.ActorTokenID == nil && !e.Source.IsValid() {
			e.ActorUserID, e.ActorTokenID, e.Source = q.actor.UserID, q.actor.TokenID, q.actor.Source
		}
		kinds[i], actors[i], messages[i], data[i] = string(e.Kind), e.Actor, e.Message, string(e.Data)
		hosts[i], records[i], services[i], owners[i], users[i], tokens[i] = e.HostID, e.RecordID, e.ServiceID, e.OwnerID, e.ActorUserID, e.ActorTokenID
		if e.Source.IsValid() {
			sources[i] = &e.Source
		}
	}
	_, err := q.db.Exec(ctx, `INSERT INTO events (kind, host_id, record_id, service_id, actor, message, data,
			owner_id, actor_user_id, actor_token_id, source)
		SELECT kind, host_id, record_id, service_id, actor, message, data::jsonb, owner_id, actor_user_id, actor_token_id, source
		FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[],
			$8::bigint[], $9::bigint[], $10::bigint[], $11::inet[])
			WITH ORDINALITY AS v(kind, host_id, record_id, service_id, actor, message, data, owner_id, actor_user_id, actor_token_id, source, i)
		ORDER BY i`,
		kinds, hosts, records, services, actors, messages, data, owners, users, tokens, sources)
	return mapErr("add events", err)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// AddressChange is one address.changed event of a host with the
// deliveries it queued.
type AddressChange struct {
	Event
	Deliveries []ChangeDelivery
}

// ChangeDelivery is a delivery an address change queued, with the names of
// its record and service.
type ChangeDelivery struct {
	Delivery
	RecordFQDN  string
	ServiceID   int64
	ServiceName string
}

// HostAddressChanges lists a host's address changes newest first, before
// the event beforeID when it is not 0. A change's deliveries are those of
// the host's records queued by the same transaction (the same now()) for
// an update.
func (q *Queries) HostAddressChanges(ctx context.Context, hostID, beforeID int64, limit int) ([]AddressChange, error) {
	events, err := q.EventsPage(ctx, EventPage{HostID: hostID,
		Kinds: []string{string(EventAddressChanged), string(EventAddressSetByHand)}, BeforeID: beforeID, Limit: limit})
	if err != nil || len(events) == 0 {
		return nil, err
	}
	changes := make([]AddressChange, len(events))
	at := make([]time.Time, len(events))
	byAt := make(map[time.Time][]int, len(events))
	for i, e := range events {
		changes[i].Event = e
		at[i] = e.At
		byAt[e.At.UTC()] = append(byAt[e.At.UTC()], i)
	}
	rows, err := q.db.Query(ctx, `SELECT d.id, d.record_id, d.family, d.address, d.reason, d.state, d.attempts, d.next_attempt_at,
			d.result, d.advice, d.created_at, d.updated_at, d.finished_at, r.fqdn, s.id, s.name
		FROM deliveries d JOIN records r ON r.id = d.record_id JOIN services s ON s.id = r.service_id
		WHERE r.host_id = $1 AND d.reason = 'update' AND d.created_at = ANY($2)
		ORDER BY r.fqdn, d.family, d.id`, hostID, at)
	deliveries, err := collect("host address changes", rows, err, func(row rowScanner) (ChangeDelivery, error) {
		var d ChangeDelivery
		err := row.Scan(&d.ID, &d.RecordID, &d.Family, &d.Address, &d.Reason, &d.State, &d.Attempts, &d.NextAttemptAt,
			&d.Result, &d.Advice, &d.CreatedAt, &d.UpdatedAt, &d.FinishedAt, &d.RecordFQDN, &d.ServiceID, &d.ServiceName)
		return d, err
	})
	if err != nil {
		return nil, err
	}
	for _, d := range deliveries {
		for _, i := range byAt[d.CreatedAt.UTC()] {
			changes[i].Deliveries = append(changes[i].Deliveries, d)
		}
	}
	return changes, nil
}
