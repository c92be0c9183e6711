package store

import (
	"context"
	"time"
)

// PruneEvents deletes up to batch events older than before and returns how
// many it deleted; call it until it returns fewer than batch.
func (q *Queries) PruneEvents(ctx context.Context, before time.Time, batch int) (int, error) {
	tag, err := q.db.Exec(ctx, `DELETE FROM events WHERE id IN (
		SELECT id FROM events WHERE at < $1 ORDER BY at LIMIT $2)`, before, batch)
	return int(tag.RowsAffected()), mapErr("prune events", err)
}

// PruneDeliveries deletes up to batch finished deliveries (delivered,
// failed, superseded, cancelled) that ended before before.
func (q *Queries) PruneDeliveries(ctx context.Context, before time.Time, batch int) (int, error) {
	tag, err := q.db.Exec(ctx, `DELETE FROM deliveries WHERE id IN (
		SELECT id FROM deliveries WHERE state IN ('delivered', 'failed', 'superseded', 'cancelled')
			AND finished_at < $1 LIMIT $2)`, before, batch)
	return int(tag.RowsAffected()), mapErr("prune deliveries", err)
}

// TryLock takes a session-less advisory lock for the transaction, so that
// one replica at a time does a periodic job; false when another holds it.
func (q *Queries) TryLock(ctx context.Context, key int64) (bool, error) {
	var ok bool
	err := q.db.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, key).Scan(&ok)
	return ok, mapErr("try lock", err)
}
