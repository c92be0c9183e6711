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
	Kind      string // address.changed, delivery.delivered, delivery.failed, auth.failed, config.changed, ...
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

// EventFilter narrows the history; Before pages backwards by id.
type EventFilter struct {
	HostID   int64
	RecordID int64
	Kind     string // exact kind or a prefix ending in "."
	Before   int64
	Limit    int
}

// Events lists history newest first.
func (q *Queries) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	var args []any
	cond := "true"
	add := func(c string, v any) {
		args = append(args, v)
		cond += " AND " + c + itoa(len(args))
	}
	if f.HostID != 0 {
		add("host_id = $", f.HostID)
	}
	if f.RecordID != 0 {
		add("record_id = $", f.RecordID)
	}
	if f.Kind != "" {
		if f.Kind[len(f.Kind)-1] == '.' {
			add("kind LIKE $", likeEscape(f.Kind)+"%")
		} else {
			add("kind = $", f.Kind)
		}
	}
	if f.Before != 0 {
		add("id < $", f.Before)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	args = append(args, f.Limit)
	rows, err := q.db.Query(ctx, `SELECT id, at, kind, host_id, record_id, service_id, actor, message, data FROM events
		WHERE `+cond+` ORDER BY id DESC LIMIT $`+itoa(len(args)), args...)
	return collect("events", rows, err, func(row rowScanner) (Event, error) {
		var e Event
		err := row.Scan(&e.ID, &e.At, &e.Kind, &e.HostID, &e.RecordID, &e.ServiceID, &e.Actor, &e.Message, &e.Data)
		return e, err
	})
}
