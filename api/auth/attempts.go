package auth

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/ratelimit"
)

// AttemptLimiter charges failed verifications to a KeyedLimiter without a
// race: an attempt reserves a token before it verifies and gives it back if
// it succeeds. While no token is free but reservations of the same key are
// in flight, an attempt waits for them instead of being refused, so that
// routers that succeed (many behind one NAT address, say, after a restart
// emptied the cache) are never turned away by each other. The waiting is
// first come, first served: an attempt that succeeds hands its token to
// the longest-waiting one, so none waits past its deadline while later
// ones pass.
type AttemptLimiter struct {
	lim     *KeyedLimiter
	mu      sync.Mutex
	pending map[string]*inFlight
}

// inFlight is a key's reservations and the attempts waiting for one.
type inFlight struct {
	n       int
	waiters []*waiter
}

// waiter is an attempt in line; ch is closed when it is handed a token
// (granted) or must look again (the key's reservations all ended).
type waiter struct {
	ch      chan struct{}
	granted bool
}

// NewAttemptLimiter charges the failures among attempts to l.
func NewAttemptLimiter(l *KeyedLimiter) *AttemptLimiter {
	return &AttemptLimiter{lim: l, pending: map[string]*inFlight{}}
}

// reserve takes a token of key. It returns release, to be called once with
// whether the attempt failed (a failure keeps the token); or a nil release
// and how long until a token is free when none is free and none is in
// flight; or ctx's error if ctx ends while it waits.
func (l *AttemptLimiter) reserve(ctx context.Context, key string) (release func(failed bool), retryAfter time.Duration, err error) {
	for {
		l.mu.Lock()
		p := l.pending[key]
		if p == nil || len(p.waiters) == 0 { // nobody in line before this attempt
			ok, wait := l.lim.Allow(key)
			if ok {
				if p == nil {
					p = &inFlight{}
					l.pending[key] = p
				}
				p.n++
				l.mu.Unlock()
				return l.releaser(key, p), 0, nil
			}
			if p == nil {
				l.mu.Unlock()
				return nil, wait, nil
			}
		}
		w := &waiter{ch: make(chan struct{})}
		p.waiters = append(p.waiters, w)
		l.mu.Unlock()
		select {
		case <-w.ch:
		case <-ctx.Done():
			l.mu.Lock()
			if w.granted { // handed a token just now: pass it on
				l.mu.Unlock()
				l.end(key, p, false)
				return nil, 0, ctx.Err()
			}
			if i := slices.Index(p.waiters, w); i >= 0 {
				p.waiters = slices.Delete(p.waiters, i, i+1)
			}
			l.mu.Unlock()
			return nil, 0, ctx.Err()
		}
		if w.granted {
			return l.releaser(key, p), 0, nil
		}
	}
}

func (l *AttemptLimiter) releaser(key string, p *inFlight) func(failed bool) {
	var once sync.Once
	return func(failed bool) { once.Do(func() { l.end(key, p, failed) }) }
}

// end closes a reservation. A success hands its token to the first attempt
// in line, or gives it back; a failure keeps it. When the last reservation
// ends, whoever still waits looks again (and is refused if failures used
// up the tokens).
func (l *AttemptLimiter) end(key string, p *inFlight, failed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !failed && len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		w.granted = true
		close(w.ch)
		return
	}
	if !failed {
		l.lim.Refund(key)
	}
	p.n--
	if p.n == 0 {
		for _, w := range p.waiters {
			close(w.ch)
		}
		delete(l.pending, key)
	}
}

// AttemptKey names one bucket of an AttemptLimiter.
type AttemptKey struct {
	Limiter *AttemptLimiter
	Key     string
}

// ReserveAttempt reserves a token of every key, in order, before a slow
// verification. It returns release, to be called once with whether the
// attempt failed (a failure keeps the tokens, a success gives them back); or
// a *ratelimit.Error when a key has none free (the tokens taken so far are
// given back); or ctx's error.
func ReserveAttempt(ctx context.Context, keys ...AttemptKey) (release func(failed bool), err error) {
	var taken []func(bool)
	releaseAll := func(failed bool) {
		for _, r := range taken {
			r(failed)
		}
	}
	for _, k := range keys {
		r, wait, err := k.Limiter.reserve(ctx, k.Key)
		if err == nil && r == nil {
			err = &ratelimit.Error{RetryAfter: wait}
		}
		if err != nil {
			releaseAll(false)
			return nil, err
		}
		taken = append(taken, r)
	}
	return releaseAll, nil
}
