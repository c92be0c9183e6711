package worker_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/worker"
)

// A loop steps until its context ends, logs failed steps by name, then runs
// its last step with a live context of its own.
func TestLoopStepsUntilCancelThenStops(t *testing.T) {
	var logs bytes.Buffer
	var steps atomic.Int32
	stopped := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		worker.Loop{What: "test flush", Every: time.Millisecond, Eager: true,
			Log: slog.New(slog.NewTextHandler(&logs, nil)),
			Step: func(context.Context) error {
				if steps.Add(1) == 3 {
					cancel()
				}
				return errors.New("boom")
			},
			Stop: func(ctx context.Context) error { stopped <- ctx.Err(); return nil },
		}.Run(ctx)
	}()
	<-done
	if n := steps.Load(); n < 3 {
		t.Errorf("%d steps, want at least 3", n)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("the last step's context was already done: %v", err)
		}
	default:
		t.Error("the last step did not run")
	}
	if !strings.Contains(logs.String(), "test flush failed") || !strings.Contains(logs.String(), "boom") {
		t.Errorf("failed steps not logged by name: %q", logs.String())
	}
}
