package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGateLimitsConcurrency(t *testing.T) {
	const n, callers = 3, 20
	g := NewGate(n)
	var active, peak, done atomic.Int32
	entered := make(chan struct{}, callers)
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			err := g.Do(context.Background(), fmt.Sprint("group", i), Clean, func() {
				cur := active.Add(1)
				for {
					old := peak.Load()
					if cur <= old || peak.CompareAndSwap(old, cur) {
						break
					}
				}
				entered <- struct{}{}
				<-release
				active.Add(-1)
				done.Add(1)
			})
			if err != nil {
				t.Errorf("Do: %v", err)
			}
		})
	}
	for range n {
		<-entered
	}
	// The other callers have had time to start; none may have got in.
	time.Sleep(20 * time.Millisecond)
	if got := active.Load(); got != n {
		t.Fatalf("%d running, want %d", got, n)
	}
	close(release)
	wg.Wait()
	if got := peak.Load(); got != n {
		t.Fatalf("peak concurrency %d, want %d", got, n)
	}
	if got := done.Load(); got != callers {
		t.Fatalf("%d calls ran, want %d", got, callers)
	}
}

func TestGateCancellation(t *testing.T) {
	g := NewGate(1)
	release := make(chan struct{})
	holding := make(chan struct{})
	go func() {
		_ = g.Do(context.Background(), "g", Clean, func() { close(holding); <-release })
	}()
	<-holding

	ran := false
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- g.Do(ctx, "g", Clean, func() { ran = true }) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting Do after cancel: %v, want context.Canceled", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := g.Do(ctx, "g", Clean, func() { ran = true }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do past deadline: %v, want context.DeadlineExceeded", err)
	}
	close(release)

	// A free slot does not override an already cancelled context.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	for range 100 {
		if err := g.Do(ctx, "g", Clean, func() { ran = true }); !errors.Is(err, context.Canceled) {
			t.Fatalf("Do with cancelled context: %v", err)
		}
	}
	if ran {
		t.Fatal("fn ran although Do returned an error")
	}
	// The slot was released: a normal call goes through.
	if err := g.Do(context.Background(), "g", Clean, func() { ran = true }); err != nil || !ran {
		t.Fatalf("Do after release: err=%v ran=%v", err, ran)
	}
}

func TestGateReleasesOnPanic(t *testing.T) {
	g := NewGate(1)
	func() {
		defer func() { _ = recover() }()
		_ = g.Do(context.Background(), "g", Clean, func() { panic("boom") })
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := g.Do(ctx, "g", Clean, func() {}); err != nil {
		t.Fatalf("slot not released after panic: %v", err)
	}
}
