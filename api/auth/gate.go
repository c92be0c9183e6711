package auth

import (
	"context"
	"sync"
	"time"
)

// Gate limits how many slow hash verifications run at once, and shares
// them fairly between source groups. Each argon2id verification with
// DefaultParams holds about 20 MiB and tens of milliseconds of CPU, so a
// burst of requests (or an attack) must queue instead of exhausting memory;
// and one source group flooding the queue must not make everyone else wait
// behind it.
//
// Fairness has two parts. A slot that frees goes to the waiting group that
// holds the fewest (the longest-waiting of them on a tie), whatever the
// length of its queue: alone, a group may use every slot, but as soon as
// others wait the slots even out between them, and a newcomer waits for
// one verification at most. And calls from groups that have not been
// failing (Clean) go before the others: however many addresses an
// attacker brings, each competes with a router or an admin only until its
// first failure. Safe for concurrent use.
type Gate struct {
	slots int

	mu     sync.Mutex
	busy   int // slots held
	groups map[string]*gateGroup
	// turns are the groups with waiters, in the order they are served:
	// [Clean] before [Failing].
	turns [2][]*gateGroup
	// lag is how much later than asked a sleeping emulation wakes up, on
	// average (a busy machine wakes sleepers late; a hash that runs feels
	// no such delay): Emulate sleeps that much less.
	lag time.Duration
}

// Priorities of a call at the gate.
const (
	Clean   = 0 // its source group has no failures on record
	Failing = 1
)

type gateGroup struct {
	key     string
	active  int // turns held: slots, or emulated verifications (see Emulate)
	waiters [2][]*gateWaiter
	queued  [2]bool // in turns
}

// gateWaiter is a call in line; ch is closed when it is granted a slot.
type gateWaiter struct {
	ch      chan struct{}
	granted bool
}

// NewGate returns a gate admitting n concurrent calls; n below 1 means 1.
func NewGate(n int) *Gate {
	n = max(n, 1)
	return &Gate{slots: n, groups: map[string]*gateGroup{}}
}

// Do runs fn once a slot is free for group, at priority prio (Clean or
// Failing), and returns nil, or returns ctx.Err() without running fn when
// ctx is done first (client gone, request deadline).
func (g *Gate) Do(ctx context.Context, group string, prio int, fn func()) error {
	gg, err := g.acquire(ctx, group, prio)
	if err != nil {
		return err
	}
	defer g.release(gg, true)
	fn()
	return nil
}

// Emulate stands in for a verification that need not run, such as one for
// an account that does not exist: it waits for its turn exactly as Do
// would and holds the group's share for d, but gives the slot back at
// once, so it costs others no CPU. An observer of one group's answers sees
// the same queueing either way. It returns ctx's error when ctx ends while
// it waits for its turn.
func (g *Gate) Emulate(ctx context.Context, group string, prio int, d time.Duration) error {
	gg, err := g.acquire(ctx, group, prio)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.busy--
	g.dispatch()
	want := max(d-g.lag, 0)
	g.mu.Unlock()
	// Like a real hash, the wait is not cut short by ctx.
	t0 := time.Now()
	time.Sleep(want)
	late := time.Since(t0) - want
	g.mu.Lock()
	g.lag += (late - g.lag) / 8
	g.mu.Unlock()
	g.release(gg, false)
	return nil
}

func (g *Gate) acquire(ctx context.Context, group string, prio int) (*gateGroup, error) {
	// Checked first because select picks at random when both cases are ready.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	prio = min(max(prio, Clean), Failing)
	g.mu.Lock()
	gg := g.groups[group]
	if gg == nil {
		gg = &gateGroup{key: group}
		g.groups[group] = gg
	}
	// Nobody waits while a slot is free: dispatch hands out every one.
	if len(gg.waiters[Clean])+len(gg.waiters[Failing]) == 0 && g.busy < g.slots && gg.active < g.slots {
		g.busy++
		gg.active++
		g.mu.Unlock()
		return gg, nil
	}
	w := &gateWaiter{ch: make(chan struct{})}
	gg.waiters[prio] = append(gg.waiters[prio], w)
	if !gg.queued[prio] {
		gg.queued[prio] = true
		g.turns[prio] = append(g.turns[prio], gg)
	}
	g.mu.Unlock()
	select {
	case <-w.ch:
		return gg, nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if w.granted { // granted just now: hand it on
			g.busy--
			gg.active--
			g.dispatch()
			g.forget(gg)
			return nil, ctx.Err()
		}
		for i, x := range gg.waiters[prio] {
			if x == w {
				gg.waiters[prio] = append(gg.waiters[prio][:i], gg.waiters[prio][i+1:]...)
				break
			}
		}
		g.forget(gg)
		return nil, ctx.Err()
	}
}

// release ends a turn of gg, and frees its slot if it still holds one.
func (g *Gate) release(gg *gateGroup, slot bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if slot {
		g.busy--
	}
	gg.active--
	g.dispatch()
	g.forget(gg)
}

// dispatch hands free slots to waiting groups in turn, clean calls
// first; g.mu must be held.
func (g *Gate) dispatch() {
	for g.busy < g.slots && (g.serve(Clean) || g.serve(Failing)) {
	}
}

// serve grants a slot to the group in turns[prio] that holds the fewest,
// the first in line on a tie, and tells whether there was one. A group
// holds at most as many turns as there are slots, emulations included, so
// that its own calls queue the same whether they hash or not; g.mu must be
// held.
func (g *Gate) serve(prio int) bool {
	best := -1
	for i, gg := range g.turns[prio] {
		if len(gg.waiters[prio]) == 0 || gg.active >= g.slots {
			continue
		}
		if best < 0 || gg.active < g.turns[prio][best].active {
			best = i
		}
	}
	if best < 0 {
		return false
	}
	gg := g.turns[prio][best]
	w := gg.waiters[prio][0]
	gg.waiters[prio] = gg.waiters[prio][1:]
	w.granted = true
	close(w.ch)
	g.busy++
	gg.active++
	// This group's turn is over: it goes to the back, or leaves the line
	// when nobody of it waits any more.
	g.turns[prio] = append(g.turns[prio][:best], g.turns[prio][best+1:]...)
	if len(gg.waiters[prio]) > 0 {
		g.turns[prio] = append(g.turns[prio], gg)
	} else {
		gg.queued[prio] = false
	}
	return true
}

// forget drops a group nobody uses any more; g.mu must be held.
func (g *Gate) forget(gg *gateGroup) {
	if gg.active > 0 || len(gg.waiters[Clean])+len(gg.waiters[Failing]) > 0 {
		return
	}
	for prio := range gg.queued {
		if !gg.queued[prio] {
			continue
		}
		for i, x := range g.turns[prio] {
			if x == gg {
				g.turns[prio] = append(g.turns[prio][:i], g.turns[prio][i+1:]...)
				break
			}
		}
		gg.queued[prio] = false
	}
	if g.groups[gg.key] == gg {
		delete(g.groups, gg.key)
	}
}
