package auth

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func newTestLimiter(r rate.Limit, burst, maxKeys int) (*KeyedLimiter, *fakeClock) {
	clock := newFakeClock()
	l := NewKeyedLimiter(r, burst, maxKeys)
	l.now = clock.Now
	return l, clock
}

func (l *KeyedLimiter) size(t *testing.T) int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lru.Len() != len(l.buckets) {
		t.Fatalf("indexes disagree: lru %d, map %d", l.lru.Len(), len(l.buckets))
	}
	return len(l.buckets)
}

func TestKeyedLimiterBurstThenRefuse(t *testing.T) {
	l, _ := newTestLimiter(rate.Every(10*time.Second), 3, 100)
	for i := range 3 {
		if ok, wait := l.Allow("1.2.3.4"); !ok || wait != 0 {
			t.Fatalf("call %d: ok=%v wait=%v, want allowed", i, ok, wait)
		}
	}
	ok, wait := l.Allow("1.2.3.4")
	if ok || wait != 10*time.Second {
		t.Fatalf("after burst: ok=%v wait=%v, want refused for 10s", ok, wait)
	}
	// Refused calls consume nothing: the wait does not grow.
	if ok, again := l.Allow("1.2.3.4"); ok || again != wait {
		t.Fatalf("second refusal: ok=%v wait=%v, want %v", ok, again, wait)
	}
	if ok, _ := l.Allow("5.6.7.8"); !ok {
		t.Fatal("other key limited")
	}
}

func TestKeyedLimiterRefill(t *testing.T) {
	l, clock := newTestLimiter(rate.Every(time.Minute), 2, 100)
	l.Allow("k")
	l.Allow("k")
	clock.Advance(40 * time.Second)
	ok, wait := l.Allow("k")
	if ok || wait != 20*time.Second {
		t.Fatalf("ok=%v wait=%v, want refused for 20s", ok, wait)
	}
	clock.Advance(wait)
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("refused after retryAfter elapsed")
	}
	if ok, wait := l.Allow("k"); ok || wait != time.Minute {
		t.Fatalf("ok=%v wait=%v, want refused for 1m", ok, wait)
	}
	// Long idleness refills to burst, not beyond.
	clock.Advance(time.Hour)
	for i := range 2 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("call %d refused after refill", i)
		}
	}
	if ok, _ := l.Allow("k"); ok {
		t.Fatal("bucket refilled beyond burst")
	}
}

func TestKeyedLimiterMaxKeys(t *testing.T) {
	l, _ := newTestLimiter(rate.Every(time.Minute), 1, 10)
	for i := range 1000 {
		l.Allow(fmt.Sprint("10.0.0.", i))
		if n := l.size(t); n > 10 {
			t.Fatalf("%d keys after %d inserts, bound is 10", n, i+1)
		}
	}
	// The most recent keys are the ones kept, and still drained.
	if ok, _ := l.Allow("10.0.0.999"); ok {
		t.Fatal("newest key lost its state")
	}
}

func TestKeyedLimiterEvictionOrder(t *testing.T) {
	l, clock := newTestLimiter(rate.Every(time.Minute), 2, 3)
	has := func(key string) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		_, ok := l.buckets[key]
		return ok
	}
	l.Allow("drained") // least recently used, empty until +2m
	l.Allow("drained")
	clock.Advance(time.Second)
	l.Allow("light") // full again at +1m1s
	clock.Advance(time.Second)
	l.Allow("other") // empty until +2m2s
	l.Allow("other")
	clock.Advance(88 * time.Second)

	// A full bucket goes first, even though a drained one is older.
	l.Allow("new")
	if has("light") || !has("drained") || !has("other") || !has("new") {
		t.Fatalf("after first eviction: light=%v drained=%v other=%v new=%v, want only light gone",
			has("light"), has("drained"), has("other"), has("new"))
	}
	l.mu.Lock()
	stillDrained := l.buckets["drained"].Value.(*bucket).tat.After(clock.Now())
	l.mu.Unlock()
	if !stillDrained {
		t.Fatal("drained key lost its state")
	}
	// With no full bucket left, the least recently used one goes.
	l.Allow("new2")
	if has("drained") || !has("other") || !has("new") || !has("new2") {
		t.Fatalf("after second eviction: drained=%v other=%v new=%v new2=%v, want only drained gone",
			has("drained"), has("other"), has("new"), has("new2"))
	}
}

func TestKeyedLimiterInfAndZero(t *testing.T) {
	l, _ := newTestLimiter(rate.Inf, 1, 10)
	for range 100 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatal("rate.Inf refused")
		}
	}
	l, clock := newTestLimiter(0, 2, 10)
	l.Allow("k")
	l.Allow("k")
	clock.Advance(24 * time.Hour)
	if ok, wait := l.Allow("k"); ok || wait < 300*24*time.Hour {
		t.Fatalf("zero rate: ok=%v wait=%v, want refused for about a year", ok, wait)
	}
}

func TestKeyedLimiterConcurrent(t *testing.T) {
	l, clock := newTestLimiter(rate.Every(time.Second), 5, 20)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				key := fmt.Sprint("k", (g+i)%30)
				if i%50 == 0 {
					clock.Advance(time.Millisecond)
				}
				if ok, _ := l.Allow(key); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if n := l.size(t); n > 20 {
		t.Fatalf("%d keys, bound is 20", n)
	}
	if allowed == 0 {
		t.Fatal("nothing allowed")
	}
}

func TestKeyedLimiterRefund(t *testing.T) {
	l, clock := newTestLimiter(rate.Every(10*time.Second), 2, 100)
	for i := range 2 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("call %d refused", i)
		}
	}
	if ok, _ := l.Allow("k"); ok {
		t.Fatal("third call allowed, want refused")
	}
	// A refunded token can be taken again, once.
	l.Refund("k")
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("refunded token not available")
	}
	if ok, wait := l.Allow("k"); ok || wait != 10*time.Second {
		t.Fatalf("after taking the refund: ok=%v wait=%v, want refused for 10s", ok, wait)
	}
	// Refunds never make a bucket hold more than its burst.
	clock.Advance(time.Hour)
	l.Refund("k")
	l.Refund("unknown")
	for i := range 2 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("after an hour, call %d refused", i)
		}
	}
	if ok, _ := l.Allow("k"); ok {
		t.Fatal("a refund of a full bucket raised its burst")
	}
}
