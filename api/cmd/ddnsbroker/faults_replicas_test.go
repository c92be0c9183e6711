//go:build faults

package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// TestFaultTwoReplicas: two `serve` processes on one database behind a
// round-robin client (each router's consecutive requests alternate between
// them). Every delivery is done, none is lost, no upstream receives an older
// address after a newer one, and no (record, address) is delivered twice.
func TestFaultTwoReplicas(t *testing.T) {
	const (
		hosts   = 300
		clients = 12
		hot     = 6
		load    = 40 * time.Second
	)
	dbURL := storetest.NewURL(t)
	up := newFaultUpstream(t, slowGood(20*time.Millisecond, 80*time.Millisecond))
	f := seedFleet(t, dbURL, up.URL, hosts, "replicas.example")
	bin := buildServer(t)
	env := map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_LEASE": "10s",
		"DDNSBROKER_RETRY_BASE": "200ms", "DDNSBROKER_RETRY_MAX": "2s"}
	a, b := newProc(t, bin, "replica A", env), newProc(t, bin, "replica B", env)
	a.start()
	b.start()

	start := time.Now()
	l := runFleet(f, loadSpec{urls: []string{a.URL(), b.URL()}, clients: clients, hot: hot, hotPause: 50 * time.Millisecond,
		until: start.Add(load), grace: 30 * time.Second, pause: 200 * time.Millisecond, every: 20 * time.Millisecond})
	drain := waitOutboxEmpty(t, dbURL, 2*time.Minute)
	time.Sleep(time.Second)
	rep := verifyFleet(t, dbURL, l, up, nil, 0) // no fault: any duplicate is an error
	checkStatuses(t, l, http.StatusOK)
	for _, at := range l.attempts {
		if at.status == 0 {
			t.Errorf("a request failed: %s", at.code)
			break
		}
	}
	for _, p := range []*proc{a, b} {
		if !p.alive() {
			t.Errorf("%s died", p.name)
		}
		if logs := p.log.String(); containsPanic(logs) {
			t.Errorf("panic in the log of %s:\n%s", p.name, grepLines(logs, "panic", 20))
		}
	}

	// Who did the work: answers per replica, deliveries per worker.
	answers := [2]int{}
	for _, at := range l.attempts {
		if at.status == 200 {
			answers[at.target]++
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	perWorker := map[string]int{}
	rows, err := conn.Query(ctx, `SELECT coalesce(leased_by, ''), count(*) FROM deliveries WHERE state = 'delivered' GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var w string
		var n int
		if err := rows.Scan(&w, &n); err != nil {
			t.Fatal(err)
		}
		switch pid := func(p *proc) string { return fmt.Sprintf("/%d/", p.cmd.Process.Pid) }; {
		case strings.Contains(w, pid(a)):
			perWorker["A"] += n
		case strings.Contains(w, pid(b)):
			perWorker["B"] += n
		default:
			perWorker["?"] += n
		}
	}
	if perWorker["A"] == 0 || perWorker["B"] == 0 {
		t.Errorf("one replica delivered nothing: %v", perWorker)
	}
	ds := deliveryStates(t, dbURL)
	t.Logf("two replicas, one database: %d hosts × 3 records (%d updating every ~70 ms), %d+%d clients alternating between the replicas for %s",
		hosts, hot, clients, hot, load)
	t.Logf("  answers 200: A %d, B %d; deliveries done by A %d, by B %d; outbox %v, drained %s after the load",
		answers[0], answers[1], perWorker["A"], perWorker["B"], ds, drain.Round(100*time.Millisecond))
	t.Logf("  acknowledged updates %d (good %d, nochg %d): %d delivered, %d superseded, 0 lost; upstream applied %d, duplicates %d",
		rep.updates, rep.good, rep.nochg, rep.delivered, rep.superseded, rep.upstream, rep.duplicates)
}
