//go:build faults

package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// TestFaultKill9: 1,000 routers update while the upstream is slow; the server
// process is killed with SIGKILL at three random moments and restarted. In
// the end every record's upstream holds the newest address of its host, every
// update answered good was delivered (or replaced by a newer acknowledged
// one before it was sent), no upstream ever received an older address after
// a newer one, and every duplicate delivery repeats one that was in flight
// when the server was killed.
func TestFaultKill9(t *testing.T) {
	const (
		hosts   = 1000
		clients = 24 // for hosts 10..999
		hot     = 10 // hosts 0..9 update every 100 ms, faster than deliveries finish
		load    = 80 * time.Second
		lease   = 3 * time.Second
	)
	dbURL := storetest.NewURL(t)
	up := newFaultUpstream(t, slowGood(50*time.Millisecond, 250*time.Millisecond))
	f := seedFleet(t, dbURL, up.URL, hosts, "kill.example")
	srv := newProc(t, buildServer(t), "server", map[string]string{"DDNSBROKER_DATABASE_URL": dbURL,
		"DDNSBROKER_LEASE": lease.String(), "DDNSBROKER_RETRY_BASE": "200ms", "DDNSBROKER_RETRY_MAX": "2s"})
	srv.start()

	// Three kills, one at a random moment in each of three windows.
	start := time.Now()
	var kills []time.Time
	var runningAtKill []int
	var restartTook []time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		for _, w := range [][2]time.Duration{{10 * time.Second, 25 * time.Second}, {32 * time.Second, 47 * time.Second},
			{54 * time.Second, 68 * time.Second}} {
			at := start.Add(w[0] + time.Duration(rand.Int64N(int64(w[1]-w[0]))))
			time.Sleep(time.Until(at))
			srv.kill()
			kills = append(kills, time.Now())
			var n int
			_ = conn.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE state = 'running'`).Scan(&n)
			runningAtKill = append(runningAtKill, n)
			t0 := time.Now()
			srv.start()
			restartTook = append(restartTook, time.Since(t0))
		}
	}()
	l := runFleet(f, loadSpec{urls: []string{srv.URL()}, clients: clients, hot: hot, hotPause: 100 * time.Millisecond,
		until: start.Add(load), grace: 60 * time.Second, pause: 200 * time.Millisecond})
	<-done
	if len(kills) != 3 {
		t.Fatalf("%d kills happened, want 3", len(kills))
	}
	drain := waitOutboxEmpty(t, dbURL, 3*time.Minute)
	time.Sleep(time.Second) // anything more would show now
	rep := verifyFleet(t, dbURL, l, up, instants(kills), time.Second)
	checkStatuses(t, l, http.StatusOK)
	if !srv.alive() {
		t.Fatal("the server is not running at the end")
	}
	if logs := srv.log.String(); containsPanic(logs) {
		t.Errorf("panic in the server log:\n%s", grepLines(logs, "panic", 20))
	}

	errs, statuses := 0, map[int]int{}
	for _, a := range l.attempts {
		if a.status == 0 {
			errs++
		} else {
			statuses[a.status]++
		}
	}
	ds := deliveryStates(t, dbURL)
	t.Logf("kill -9 × 3 under load: %d hosts × 3 deliveries each (%d of them updating every 100 ms), %d+%d clients for %s, upstream 50–250 ms, lease %s",
		hosts, hot, clients, hot, load, lease)
	t.Logf("  kills at %v after start; deliveries running at each kill %v; restart to healthy took %v",
		roundAll(sub(kills, start)), runningAtKill, roundAll(restartTook))
	t.Logf("  requests %d (transport errors %d, by status %v); acknowledged updates %d (good %d, nochg %d)",
		len(l.attempts), errs, statuses, rep.updates, rep.good, rep.nochg)
	t.Logf("  acknowledged good updates: %d delivered, %d superseded by a newer acknowledged address before sending, 0 lost",
		rep.delivered, rep.superseded)
	t.Logf("  upstream applied %d requests; duplicates %d, all %d caused by a kill during an in-flight request",
		rep.upstream, rep.duplicates, rep.dupAtKill)
	t.Logf("  outbox %v; drained %s after the load", ds, drain.Round(100*time.Millisecond))
}

func sub(ts []time.Time, base time.Time) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.Sub(base)
	}
	return out
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(100 * time.Millisecond)
	}
	return out
}
