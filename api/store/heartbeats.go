package store

import (
	"context"
	"time"
)

// Heartbeat is a URL an uptime monitor watches: a host's (HostID) or the
// broker's (HostID nil). The URLs are sealed by secretbox: they hold the
// monitor's token.
type Heartbeat struct {
	ID         int64
	HostID     *int64
	URL        []byte
	URLKey     string
	URLShown   string
	FailURL    []byte // nil: URL + "/fail"
	FailURLKey string
	Every      time.Duration
	LastState  string // "ok", "fail"; "" before the first ping
	LastPingAt *time.Time
	LastError  string
}

const heartbeatColumns = `b.id, b.host_id, b.url, b.url_key, b.url_shown, b.fail_url, coalesce(b.fail_url_key, ''),
	b.every_seconds, b.last_state, b.last_ping_at, b.last_error`

func scanHeartbeat(row rowScanner) (Heartbeat, error) {
	var b Heartbeat
	var every int
	err := row.Scan(&b.ID, &b.HostID, &b.URL, &b.URLKey, &b.URLShown, &b.FailURL, &b.FailURLKey, &every, &b.LastState,
		&b.LastPingAt, &b.LastError)
	b.Every = time.Duration(every) * time.Second
	return b, err
}

// HeartbeatOf reads the heartbeat of a host, or the broker's when hostID
// is nil.
func (q *Queries) HeartbeatOf(ctx context.Context, hostID *int64) (Heartbeat, error) {
	b, err := scanHeartbeat(q.db.QueryRow(ctx, `SELECT `+heartbeatColumns+` FROM heartbeats b
		WHERE b.host_id IS NOT DISTINCT FROM $1`, hostID))
	return b, mapErr("heartbeat", err)
}

// SetHeartbeat creates or replaces the heartbeat of a host (nil: the
// broker's); a new URL starts it over (last state and ping forgotten).
func (q *Queries) SetHeartbeat(ctx context.Context, b Heartbeat) (Heartbeat, error) {
	if _, err := q.db.Exec(ctx, `DELETE FROM heartbeats WHERE host_id IS NOT DISTINCT FROM $1`, b.HostID); err != nil {
		return b, mapErr("set heartbeat", err)
	}
	out, err := scanHeartbeat(q.db.QueryRow(ctx, `INSERT INTO heartbeats AS b (host_id, url, url_key, url_shown, fail_url, fail_url_key, every_seconds)
		VALUES ($1, $2, $3, $4, $5, nullif($6, ''), $7) RETURNING `+heartbeatColumns,
		b.HostID, b.URL, b.URLKey, b.URLShown, b.FailURL, b.FailURLKey, int(b.Every/time.Second)))
	return out, mapErr("set heartbeat", err)
}

// DeleteHeartbeat removes the heartbeat of a host (nil: the broker's).
func (q *Queries) DeleteHeartbeat(ctx context.Context, hostID *int64) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM heartbeats WHERE host_id IS NOT DISTINCT FROM $1`, hostID)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	return mapErr("delete heartbeat", err)
}

// HeartbeatStatus is a heartbeat with what its monitor should hear now.
type HeartbeatStatus struct {
	Heartbeat
	// Failing: a record (of the host, or any) is failed or blocked.
	Failing bool
	// Delivered: a delivery succeeded (for the host, or any) since the
	// last ping.
	Delivered bool
}

// HeartbeatStatuses lists every heartbeat with its status.
func (q *Queries) HeartbeatStatuses(ctx context.Context) ([]HeartbeatStatus, error) {
	rows, err := q.db.Query(ctx, `SELECT `+heartbeatColumns+`,
			EXISTS (SELECT 1 FROM record_states s JOIN records r ON r.id = s.record_id
				WHERE s.state IN ('failed', 'blocked') AND (b.host_id IS NULL OR r.host_id = b.host_id)),
			EXISTS (SELECT 1 FROM events e WHERE e.kind = $1 AND e.at > coalesce(b.last_ping_at, b.created_at)
				AND (b.host_id IS NULL OR e.host_id = b.host_id))
		FROM heartbeats b ORDER BY b.id`, string(EventDeliveryDelivered))
	return collect("heartbeat statuses", rows, err, func(row rowScanner) (HeartbeatStatus, error) {
		var s HeartbeatStatus
		var every int
		err := row.Scan(&s.ID, &s.HostID, &s.URL, &s.URLKey, &s.URLShown, &s.FailURL, &s.FailURLKey, &every, &s.LastState,
			&s.LastPingAt, &s.LastError, &s.Failing, &s.Delivered)
		s.Every = time.Duration(every) * time.Second
		return s, err
	})
}

// ClaimHeartbeatPing takes the ping of a heartbeat last pinged at last
// (nil: never), so that one replica sends it; ok is false when another
// took it first.
func (q *Queries) ClaimHeartbeatPing(ctx context.Context, id int64, last *time.Time, state string) (ok bool, err error) {
	tag, err := q.db.Exec(ctx, `UPDATE heartbeats SET last_ping_at = now(), last_state = $3
		WHERE id = $1 AND last_ping_at IS NOT DISTINCT FROM $2`, id, last, state)
	return err == nil && tag.RowsAffected() == 1, mapErr("claim heartbeat ping", err)
}

// RecordHeartbeatPing notes why a ping failed ("" when it succeeded); a
// failed ping forgets the state it was to tell, so the next round sends it
// again.
func (q *Queries) RecordHeartbeatPing(ctx context.Context, id int64, message string) error {
	_, err := q.db.Exec(ctx, `UPDATE heartbeats SET last_error = $2,
		last_state = CASE WHEN $2 = '' THEN last_state ELSE '' END WHERE id = $1`, id, message)
	return mapErr("record heartbeat ping", err)
}
