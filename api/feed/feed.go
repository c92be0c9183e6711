// Package feed tells this replica's live event streams (GET
// /api/v1/events/stream) when the history has grown, on whichever replica
// it was written. Every transaction that writes events announces its id on
// a PostgreSQL channel (migration 000019); one connection per replica
// LISTENs, waits until that transaction and every older one have ended
// (the horizon has passed it, so no event before it can still appear), and
// then wakes every stream with the new horizon. Each stream reads its own
// events through the store, with its caller's filters.
package feed

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// recheck is how often the horizon is asked again while an announced
// transaction waits for an older one to end.
const recheck = 100 * time.Millisecond

// Hub wakes the subscribed streams.
type Hub struct {
	store *store.Store
	log   *slog.Logger

	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	horizon uint64
}

// New builds a hub; Run makes it listen.
func New(st *store.Store, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Hub{store: st, log: log, subs: map[*Subscription]struct{}{}}
}

// Subscription is one stream's doorbell.
type Subscription struct {
	hub  *Hub
	wake chan struct{}
}

// Subscribe registers a stream; it is woken after every horizon move from
// now on. Close it when the stream ends.
func (h *Hub) Subscribe() *Subscription {
	s := &Subscription{hub: h, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Wake receives when the horizon moved (several moves may ring once).
func (s *Subscription) Wake() <-chan struct{} { return s.wake }

// Close unregisters the stream.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
}

// Subscribers is how many streams are open on this replica.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Horizon is the newest horizon the hub has seen (0: none yet): the events
// of transactions before it are final.
func (h *Hub) Horizon() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.horizon
}

// publish records a horizon and rings every subscriber.
func (h *Hub) publish(horizon uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.horizon = max(h.horizon, horizon)
	for s := range h.subs {
		select {
		case s.wake <- struct{}{}:
		default: // already rung, not yet answered
		}
	}
}

// Run listens until ctx ends, reconnecting after a lost connection.
func (h *Hub) Run(ctx context.Context) {
	for ctx.Err() == nil {
		err := h.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("listening for new events was interrupted; live streams wait", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (h *Hub) listen(ctx context.Context) error {
	pooled, err := h.store.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection stays out of the pool: it listens, and is closed
	// rather than handed back with a LISTEN on it.
	conn := pooled.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+store.EventsChannel); err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(ctx)
	announced := make(chan uint64, 64)
	stopped := make(chan error, 1)
	go func() {
		defer close(stopped)
		for {
			n, err := conn.WaitForNotification(lctx)
			if err != nil {
				stopped <- err
				return
			}
			x, err := strconv.ParseUint(n.Payload, 10, 64)
			if err != nil {
				continue
			}
			select {
			case announced <- x:
			case <-lctx.Done():
				return
			}
		}
	}()
	// The reader is done with the connection before it is closed.
	defer func() {
		cancel()
		for range stopped {
		}
	}()
	// Whatever was written while nobody listened: ring once now.
	waiting := uint64(1)
	tick := time.NewTicker(recheck)
	defer tick.Stop()
	for {
		if waiting != 0 {
			hz, err := h.store.NotifierHorizon(ctx)
			if err != nil {
				h.log.Debug("reading the event horizon failed", "err", err)
			} else if x, err := strconv.ParseUint(hz, 10, 64); err == nil && x > waiting {
				h.publish(x)
				waiting = 0
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-stopped:
			return err
		case x := <-announced:
			waiting = max(waiting, x)
		case <-tick.C:
		}
	}
}
