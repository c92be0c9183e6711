package store

import (
	"context"
	"time"
)

// hostStale is true for a host of alias h that has not been seen since the
// cutoff (its one argument): its last update is older, or it never sent
// one and was created before. The API's Host.stale, its stale filter, the
// status count and the notifier's host.stale events all use this one rule.
const hostStale = `coalesce(h.last_seen_at, h.created_at) < $?`

// CountStaleHosts counts hosts not seen since cutoff.
func (q *Queries) CountStaleHosts(ctx context.Context, cutoff time.Time) (int, error) {
	var n int
	var c cond
	c.add(hostStale, cutoff)
	err := q.db.QueryRow(ctx, `SELECT count(*) FROM hosts h WHERE `+c.sql(), c.args...).Scan(&n)
	return n, mapErr("count stale hosts", err)
}
