// Package housekeeping prunes history that has outlived its retention, so
// the events and deliveries tables stay the size of the retention window.
package housekeeping

import (
	"context"
	"log/slog"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/worker"
)

// DefaultRetention is how long events and finished deliveries are kept
// unless DDNSBROKER_RETENTION says otherwise: 90 days.
const DefaultRetention = 90 * 24 * time.Hour

// lockKey names the advisory lock that lets one replica prune at a time.
const lockKey = 0x646462726f6b6572 // "ddbroker"

const batch = 5000

// Prune deletes events and finished deliveries (to DNS services and to
// webhooks, counted together) older than retention, in
// batches so that no long transaction holds up updates. It returns how many
// rows it removed; another replica pruning at the same time makes it skip.
func Prune(ctx context.Context, st *store.Store, retention time.Duration, now time.Time) (events, deliveries int, err error) {
	before := now.Add(-retention)
	for _, job := range []struct {
		total *int
		fn    func(*store.Queries) (int, error)
	}{
		{&events, func(q *store.Queries) (int, error) { return q.PruneEvents(ctx, before, batch) }},
		{&deliveries, func(q *store.Queries) (int, error) { return q.PruneDeliveries(ctx, before, batch) }},
		{&deliveries, func(q *store.Queries) (int, error) { return q.PruneWebhookDeliveries(ctx, before, batch) }},
	} {
		for {
			n := 0
			err := st.InTx(ctx, func(q *store.Queries) error {
				ok, err := q.TryLock(ctx, lockKey)
				if err != nil || !ok {
					return err
				}
				n, err = job.fn(q)
				return err
			})
			if err != nil {
				return events, deliveries, err
			}
			*job.total += n
			if n < batch {
				break
			}
		}
	}
	return events, deliveries, nil
}

// Run prunes once at start and then every interval until ctx ends.
func Run(ctx context.Context, st *store.Store, retention, interval time.Duration, log *slog.Logger) {
	worker.Loop{What: "housekeeping", Every: interval, Eager: true, Log: log, Step: func(ctx context.Context) error {
		ev, dl, err := Prune(ctx, st, retention, time.Now())
		if ev+dl > 0 {
			log.Info("housekeeping pruned old history", "events", ev, "deliveries", dl, "retention", retention.String())
		}
		return err
	}}.Run(ctx)
}
