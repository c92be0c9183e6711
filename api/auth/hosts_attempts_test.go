package auth

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// Concurrent failing attempts get exactly the burst, not the burst plus
// however many started while the first ones were still verifying.
func TestAttemptLimiterConcurrentFailures(t *testing.T) {
	l := NewAttemptLimiter(NewKeyedLimiter(rate.Every(time.Hour), 3, 100))
	var verified, limited atomic.Int32
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			release, wait, err := l.reserve(context.Background(), "src")
			switch {
			case err != nil:
				t.Error(err)
			case release == nil:
				if wait <= 0 {
					t.Errorf("refused without a wait: %s", wait)
				}
				limited.Add(1)
			default:
				verified.Add(1)
				time.Sleep(20 * time.Millisecond) // the slow hash
				release(true)
			}
		}()
	}
	close(start)
	wg.Wait()
	if verified.Load() != 3 || limited.Load() != 7 {
		t.Fatalf("%d verified, %d refused; want 3 and 7", verified.Load(), limited.Load())
	}
	if len(l.pending) != 0 {
		t.Fatalf("reservations left behind: %v", l.pending)
	}
}

// Succeeding attempts give their token back: many at once from one key
// wait for each other instead of being refused.
func TestAttemptLimiterSuccessesAreNeverRefused(t *testing.T) {
	l := NewAttemptLimiter(NewKeyedLimiter(rate.Every(time.Hour), 2, 100))
	var refused atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, _, err := l.reserve(context.Background(), "nat")
			if err != nil || release == nil {
				refused.Add(1)
				return
			}
			time.Sleep(5 * time.Millisecond)
			release(false)
			release(false) // a second call is ignored
		}()
	}
	wg.Wait()
	if refused.Load() != 0 {
		t.Fatalf("%d succeeding attempts were refused", refused.Load())
	}
	// The bucket is full again: two failures are still allowed.
	for i := range 2 {
		release, _, _ := l.reserve(context.Background(), "nat")
		if release == nil {
			t.Fatalf("failure %d refused after only successes", i+1)
		}
		release(true)
	}
	if release, _, _ := l.reserve(context.Background(), "nat"); release != nil {
		t.Fatal("a third failure was allowed with a burst of 2")
	}
}

// A waiting attempt gives up when its request ends.
func TestAttemptLimiterWaitEndsWithContext(t *testing.T) {
	l := NewAttemptLimiter(NewKeyedLimiter(rate.Every(time.Hour), 1, 100))
	hold, _, _ := l.reserve(context.Background(), "k")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if release, _, err := l.reserve(ctx, "k"); release != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reserve while the only token is in flight: release %v, err %v; want the context's error", release != nil, err)
	}
	hold(false)
	if release, _, _ := l.reserve(context.Background(), "k"); release == nil {
		t.Fatal("the refunded token is not available")
	}
}

// Attempts waiting for a token are served in the order they came: each
// success hands its token to the longest-waiting attempt, and a newcomer
// queues behind them even when it arrives just as a token is handed on.
func TestAttemptLimiterServesWaitersInOrder(t *testing.T) {
	l := NewAttemptLimiter(NewKeyedLimiter(rate.Every(time.Hour), 1, 100))
	first, _, err := l.reserve(context.Background(), "nat")
	if err != nil || first == nil {
		t.Fatalf("first reservation: %v", err)
	}
	queued := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		if p := l.pending["nat"]; p != nil {
			return len(p.waiters)
		}
		return 0
	}
	const n = 8
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, _, err := l.reserve(context.Background(), "nat")
			if err != nil || release == nil {
				t.Errorf("attempt %d refused: %v", i, err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			release(false)
		}()
		for deadline := time.Now().Add(5 * time.Second); queued() != i+1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("attempt %d did not queue", i)
			}
		}
	}
	first(false)
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("served in order %v, want 0..%d", order, n-1)
		}
	}
	if len(order) != n || len(l.pending) != 0 {
		t.Fatalf("served %v, reservations left %v", order, l.pending)
	}
	// The token came back: a new attempt gets it at once.
	if again, _, err := l.reserve(context.Background(), "nat"); err != nil || again == nil {
		t.Fatalf("after the line: %v", err)
	}
}
