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
