package auth

import (
	"context"
	"sync"
	"time"
)

// AttemptLimiter charges failed verifications to a KeyedLimiter without a
// race: an attempt reserves a token before it verifies and gives it back if
// it succeeds. While no token is free but reservations of the same key are
// in flight, an attempt waits for them instead of being refused, so that
// routers that succeed (many behind one NAT address, say, after a restart
// emptied the cache) are never turned away by each other.
type AttemptLimiter struct {
	lim     *KeyedLimiter
	mu      sync.Mutex
	pending map[string]*inFlight
}

// inFlight counts a key's reservations; done is closed whenever one ends.
type inFlight struct {
	n    int
	done chan struct{}
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
		ok, wait := l.lim.Allow(key)
		p := l.pending[key]
		if ok {
			if p == nil {
				p = &inFlight{done: make(chan struct{})}
				l.pending[key] = p
			}
			p.n++
			l.mu.Unlock()
			var once sync.Once
			return func(failed bool) { once.Do(func() { l.end(key, p, failed) }) }, 0, nil
		}
		if p == nil {
			l.mu.Unlock()
			return nil, wait, nil
		}
		done := p.done
		l.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

func (l *AttemptLimiter) end(key string, p *inFlight, failed bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !failed {
		l.lim.Refund(key)
	}
	p.n--
	close(p.done)
	if p.n == 0 {
		delete(l.pending, key)
	} else {
		p.done = make(chan struct{})
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
// a *RateLimitedError when a key has none free (the tokens taken so far are
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
			err = &RateLimitedError{RetryAfter: wait}
		}
		if err != nil {
			releaseAll(false)
			return nil, err
		}
		taken = append(taken, r)
	}
	return releaseAll, nil
}
