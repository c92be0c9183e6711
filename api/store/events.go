package store

import (
	"context"
	"encoding/json"
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
}

const insertEvent = `INSERT INTO events (kind, host_id, record_id, service_id, actor, message, data)
	VALUES ($1, $2, $3, $4, $5, $6, $7)`

// AddEvent appends to the history.
func (q *Queries) AddEvent(ctx context.Context, e Event) error {
	if e.Data == nil {
		e.Data = json.RawMessage(`{}`)
	}
	_, err := q.db.Exec(ctx, insertEvent, e.Kind, e.HostID, e.RecordID, e.ServiceID, e.Actor, e.Message, e.Data)
	return mapErr("add event", err)
}
