package auth

import (
	"container/list"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// KeyedLimiter is a token bucket per key (a source address, a host) with
// bounded memory, for limiting failed authentications and the check-IP
// endpoint. Safe for concurrent use.
//
// Each bucket is kept as the GCRA "theoretical arrival time": the instant its
// bucket would be full again. This is the same token bucket, but in integer
// durations, so refill is exact and a bucket that is full is recognisable
// (tat not after now) and can be forgotten without losing anything.
//
// At most maxKeys keys are tracked. When a new key arrives at the limit, full
// buckets go first, then the least recently used one. Under a flood of
// distinct keys an attacker can therefore push out a partly drained bucket;
// the per-host limit exists for that case.
type KeyedLimiter struct {
	interval time.Duration // time to earn one token; 0 means no limit
	window   time.Duration // interval * burst: how far tat may run ahead
	maxKeys  int
	now      func() time.Time // replaced in tests

	mu      sync.Mutex
	lru     *list.List // of *bucket, most recently used at the front
	buckets map[string]*list.Element
	// insertsSinceSweep spaces out full scans for full buckets so that a
	// flood of new keys costs amortised O(1) per key, not O(maxKeys).
	insertsSinceSweep int
}

type bucket struct {
	key string
	tat time.Time
}

// maxInterval stands in for "never refills" (r <= 0), keeping the arithmetic
// free of overflow.
const maxInterval = 365 * 24 * time.Hour

// NewKeyedLimiter returns a limiter allowing burst events at once per key,
// refilled at r per second. rate.Inf allows everything; r <= 0 refills once a
// year, i.e. practically never. burst and maxKeys below 1 mean 1.
func NewKeyedLimiter(r rate.Limit, burst int, maxKeys int) *KeyedLimiter {
	burst = max(burst, 1)
	var interval time.Duration
	switch {
	case r == rate.Inf:
		interval = 0
	case r <= 0 || 1/float64(r) >= maxInterval.Seconds():
		interval = maxInterval
	default:
		interval = max(time.Duration(math.Round(float64(time.Second)/float64(r))), 1)
	}
	window := time.Duration(math.MaxInt64 / 2)
	if interval > 0 && int64(burst) < int64(window/interval) {
		window = interval * time.Duration(burst)
	}
	return &KeyedLimiter{
		interval: interval,
		window:   window,
		maxKeys:  max(maxKeys, 1),
		now:      time.Now,
		lru:      list.New(),
		buckets:  make(map[string]*list.Element),
	}
}

// Allow consumes one token of key if one is available. Otherwise it consumes
// nothing and returns how long until one is.
func (l *KeyedLimiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l.interval == 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.touch(key, now)
	next, wait := l.take(b, now)
	if wait > 0 {
		return false, wait
	}
	b.tat = next
	return true, 0
}

// Refund gives back the token of an Allow that turned out not to count,
// such as the reservation for a verification that succeeded. A key that
// was evicted meanwhile is full already, and is left alone.
func (l *KeyedLimiter) Refund(key string) {
	if l.interval == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.buckets[key]; ok {
		b := el.Value.(*bucket)
		b.tat = b.tat.Add(-l.interval)
	}
}

// Charge records one event of key without ever refusing it, and returns
// how far the key's bucket now runs behind: 0 while it is within its burst,
// else the time its excess needs to drain (one interval per event over the
// burst). It measures pressure on a key that must not be refused, such as
// an account that is guessed at from many sources. The excess is capped at
// 100 bursts, so an attack long over is forgotten in bounded time.
func (l *KeyedLimiter) Charge(key string) (excess time.Duration) {
	if l.interval == 0 {
		return 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.touch(key, now)
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	limit := l.window
	if l.window < time.Duration(math.MaxInt64/200) {
		limit = l.window * 101
	}
	if ahead := tat.Sub(now); ahead < limit {
		tat = tat.Add(l.interval)
	}
	b.tat = tat
	return max(tat.Sub(now)-l.window, 0)
}

// Excess is what Charge would report without charging: how far key's
// bucket runs behind its burst (0 for an unknown key).
func (l *KeyedLimiter) Excess(key string) time.Duration {
	if l.interval == 0 {
		return 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	el, found := l.buckets[key]
	if !found {
		return 0
	}
	return max(el.Value.(*bucket).tat.Sub(now)-l.window, 0)
}

// Clean tells whether key has no events on record: its bucket is full.
func (l *KeyedLimiter) Clean(key string) bool {
	if l.interval == 0 {
		return true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	el, found := l.buckets[key]
	return !found || !el.Value.(*bucket).tat.After(now)
}

// Interval is the time the limiter takes to earn one token (0: no limit).
func (l *KeyedLimiter) Interval() time.Duration { return l.interval }

// take computes the bucket's tat after one more event at now, and how long
// the caller must wait first (0 when a token is available). It changes
// nothing.
func (l *KeyedLimiter) take(b *bucket, now time.Time) (next time.Time, wait time.Duration) {
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	next = tat.Add(l.interval)
	if ahead := next.Sub(now); ahead > l.window {
		return next, ahead - l.window
	}
	return next, 0
}

// touch is key's bucket, made the most recently used (a new, full one for a
// key not on record). The caller holds mu.
func (l *KeyedLimiter) touch(key string, now time.Time) *bucket {
	el, found := l.buckets[key]
	if found {
		l.lru.MoveToFront(el)
	} else {
		el = l.insert(key, now)
	}
	return el.Value.(*bucket)
}

// insert adds a full bucket for key, first making room if at maxKeys; l.mu
// must be held.
func (l *KeyedLimiter) insert(key string, now time.Time) *list.Element {
	if l.lru.Len() >= l.maxKeys {
		l.evict(now)
	}
	l.insertsSinceSweep++
	el := l.lru.PushFront(&bucket{key: key, tat: now})
	l.buckets[key] = el
	return el
}

// evict frees at least one slot: the least recently used bucket if it is
// full (the cheap usual case, since idle buckets refill), else every full
// bucket if no scan happened for a while, else the least recently used one.
func (l *KeyedLimiter) evict(now time.Time) {
	full := func(el *list.Element) bool { return !el.Value.(*bucket).tat.After(now) }
	back := l.lru.Back()
	if full(back) {
		l.remove(back)
		return
	}
	if l.insertsSinceSweep >= max(l.maxKeys/4, 1) {
		l.insertsSinceSweep = 0
		freed := false
		for el := back; el != nil; {
			prev := el.Prev()
			if full(el) {
				l.remove(el)
				freed = true
			}
			el = prev
		}
		if freed {
			return
		}
	}
	l.remove(l.lru.Back())
}

func (l *KeyedLimiter) remove(el *list.Element) {
	l.lru.Remove(el)
	delete(l.buckets, el.Value.(*bucket).key)
}
