// Package worker is the one shape of DDnsBroker's background work: a step
// every interval until the context ends (flushing last-seen times and failed
// logins, pruning history, the drift check, renewing delivery leases), and,
// where a step holds work that must not be lost, one last step on the way
// out. One shape means one place that decides what a failed step does (it is
// logged and the next tick tries again) and how a stop waits.
package worker

import (
	"context"
	"log/slog"
	"time"
)

// StopTimeout bounds the last step after the context ended: long enough for
// one write to the database, short enough not to hold a shutdown.
const StopTimeout = 5 * time.Second

// Loop is a background worker.
type Loop struct {
	// What names the work in the warning a failed step logs.
	What string
	// Every is the time between two steps' starts (a slow step delays the
	// next; ticks are not queued).
	Every time.Duration
	// Eager runs the first step at once instead of after Every.
	Eager bool
	// Step is the work; an error is logged unless the context ended.
	Step func(ctx context.Context) error
	// Stop, when set, runs once after the context ended, with a context of
	// its own bounded by StopTimeout: the flush of what Step buffers.
	Stop func(ctx context.Context) error
	// Log receives failed steps (nil: discarded).
	Log *slog.Logger
}

// Run steps until ctx ends, then runs Stop.
func (l Loop) Run(ctx context.Context) {
	if l.Eager {
		l.step(ctx, l.Step)
	}
	t := time.NewTicker(l.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if l.Stop != nil {
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), StopTimeout)
				defer cancel()
				l.step(sctx, l.Stop)
			}
			return
		case <-t.C:
			l.step(ctx, l.Step)
		}
	}
}

func (l Loop) step(ctx context.Context, fn func(context.Context) error) {
	if err := fn(ctx); err != nil && ctx.Err() == nil && l.Log != nil {
		l.Log.Warn(l.What+" failed", "err", err)
	}
}
