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
