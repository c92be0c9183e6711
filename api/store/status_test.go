package store_test

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// countedStatus is what Status must say, counted from the tables
// themselves, as Status did before it read the tallies.
type countedStatus struct {
	hosts, enabled, stale int
	records               int
	states                map[string]int
	deliveries            map[string]int
	troubled              map[int64][3]int // failed, retrying, blocked
}

func countStatus(t *testing.T, st *store.Store) countedStatus {
	t.Helper()
	ctx := context.Background()
	c := countedStatus{states: map[string]int{}, deliveries: map[string]int{}, troubled: map[int64][3]int{}}
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM records`).Scan(&c.records); err != nil {
		t.Fatal(err)
	}
	if err := st.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE enabled),
		count(*) FILTER (WHERE coalesce(last_seen_at, created_at) < now() - interval '1 hour') FROM hosts`).Scan(
		&c.hosts, &c.enabled, &c.stale); err != nil {
		t.Fatal(err)
	}
	for sql, m := range map[string]map[string]int{
		`SELECT state, count(*) FROM record_states GROUP BY 1`: c.states,
		`SELECT state, count(*) FROM deliveries GROUP BY 1`:    c.deliveries,
	} {
		rows, err := st.Pool.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			m[k] = n
		}
		rows.Close()
	}
	rows, err := st.Pool.Query(ctx, `SELECT r.service_id, count(*) FILTER (WHERE s.state = 'failed'),
		count(*) FILTER (WHERE s.state = 'retrying'), count(*) FILTER (WHERE s.state = 'blocked')
		FROM record_states s JOIN records r ON r.id = s.record_id
		WHERE s.state IN ('failed', 'retrying', 'blocked') GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n [3]int
		if err := rows.Scan(&id, &n[0], &n[1], &n[2]); err != nil {
			t.Fatal(err)
		}
		c.troubled[id] = n
	}
	return c
}

// checkStatus compares Status with the counts of the tables.
func checkStatus(t *testing.T, st *store.Store, when string) store.Status {
	t.Helper()
	got, err := st.Status(context.Background(), store.StaleRule{Now: time.Now(), After: time.Hour})
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	want := countStatus(t, st)
	nonzero := func(m map[string]int) map[string]int {
		out := map[string]int{}
		for k, v := range m {
			if v != 0 {
				out[k] = v
			}
		}
		return out
	}
	if got.Hosts != want.hosts || got.EnabledHosts != want.enabled || got.StaleHosts != want.stale {
		t.Errorf("%s: hosts %d, %d enabled, %d stale; counted %d, %d, %d", when, got.Hosts, got.EnabledHosts, got.StaleHosts,
			want.hosts, want.enabled, want.stale)
	}
	if got.Records != want.records {
		t.Errorf("%s: %d records, counted %d", when, got.Records, want.records)
	}
	if !maps.Equal(nonzero(got.States), want.states) {
		t.Errorf("%s: states %v, counted %v", when, got.States, want.states)
	}
	if !maps.Equal(nonzero(got.Deliveries), want.deliveries) {
		t.Errorf("%s: deliveries %v, counted %v", when, got.Deliveries, want.deliveries)
	}
	troubled := map[int64][3]int{}
	for i, s := range got.Troubled {
		troubled[s.ServiceID] = [3]int{s.Failed, s.Retrying, s.Blocked}
		if i > 0 {
			prev := got.Troubled[i-1]
			if prev.Failed+prev.Retrying+prev.Blocked < s.Failed+s.Retrying+s.Blocked {
				t.Errorf("%s: services in trouble not the most first: %+v", when, got.Troubled)
			}
		}
	}
	if !maps.Equal(troubled, want.troubled) {
		t.Errorf("%s: services in trouble %v, counted %v", when, troubled, want.troubled)
	}
	return got
}

// tallyRows counts the rows of each tally table.
func tallyRows(t *testing.T, st *store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"host_tallies", "record_tallies", "record_state_tallies", "delivery_tallies", "delivery_minutes"} {
		var n int
		if err := st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

func compact(t *testing.T, st *store.Store) {
	t.Helper()
	if _, err := st.Pool.Exec(context.Background(), `SELECT tallies_compact()`); err != nil {
		t.Fatal(err)
	}
}

// finishAll claims up to n due jobs and ends them with the outcomes given
// in turn.
func finishAll(t *testing.T, st *store.Store, n int, outcomes ...store.Outcome) {
	t.Helper()
	ctx := context.Background()
	// One share of the workers stays free for other services: ask for twice n.
	jobs, err := st.ClaimDeliveries(ctx, store.Claim{Worker: "w", Lease: time.Minute, Free: 2 * n, Workers: 2 * n, PerService: n})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != n {
		t.Fatalf("claimed %d jobs, want %d", len(jobs), n)
	}
	for i, j := range jobs {
		f := store.Finish{Outcome: outcomes[i%len(outcomes)], Message: "answer", NextAttempt: time.Now().Add(time.Hour)}
		if held, err := st.FinishDelivery(ctx, j, "w", f); err != nil || !held {
			t.Fatalf("finish %d: %v, %v", j.ID, held, err)
		}
	}
}

// TestStatusFollowsEveryChange: the counts of the status come from tallies
// that triggers keep; whatever changes records, their states or the
// deliveries (creation, a router's update, claims, each outcome, a lease
// that expired, moving a record to another service, deletion, pruning),
// they equal what counting the tables gives, before and after the tallies
// are compacted.
func TestStatusFollowsEveryChange(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	a, b := mustService(t, st, "a"), mustService(t, st, "b")
	checkStatus(t, st, "empty")

	recs := queueRecords(t, st, a, "x.example.com", 20, 4, 6)
	checkStatus(t, st, "20 records queued")

	// 12 attempts: 3 delivered, 3 retried, 3 failed for good, 3 blocked.
	finishAll(t, st, 12, store.OutcomeDelivered, store.OutcomeRetry, store.OutcomeFailed, store.OutcomeBlocked)
	got := checkStatus(t, st, "12 attempts ended")
	if got.States["delivered"] != 3 || got.States["retrying"] != 3 || got.States["failed"] != 3 || got.States["blocked"] != 3 {
		t.Errorf("states after the attempts: %v", got.States)
	}
	minutes := func(s store.Status) (delivered, failed int) {
		for _, m := range s.Minutes {
			if m.Minute.After(s.Now) || !m.Minute.After(s.Now.Add(-24*time.Hour)) {
				t.Errorf("minute %s outside the day before %s", m.Minute, s.Now)
			}
			delivered, failed = delivered+m.Delivered, failed+m.Failed
		}
		return delivered, failed
	}
	if d, f := minutes(got); d != 3 || f != 9 {
		t.Errorf("attempts per minute: %d delivered, %d failed, want 3 and 9", d, f)
	}

	// A lease that expired ends its attempt too.
	jobs, err := st.ClaimDeliveries(ctx, store.Claim{Worker: "gone", Lease: time.Minute, Free: 4, Workers: 4, PerService: 2})
	if err != nil || len(jobs) != 2 {
		t.Fatalf("claim: %d jobs, %v", len(jobs), err)
	}
	checkStatus(t, st, "2 running")
	if _, err := st.Pool.Exec(ctx, `UPDATE deliveries SET lease_until = now() - interval '1 second' WHERE leased_by = 'gone' AND state = 'running'`); err != nil {
		t.Fatal(err)
	}
	if n, err := st.ReclaimExpired(ctx); err != nil || n != 2 {
		t.Fatalf("reclaimed %d, %v", n, err)
	}
	got = checkStatus(t, st, "2 leases expired")
	if d, f := minutes(got); d != 3 || f != 11 {
		t.Errorf("attempts per minute after the leases expired: %d delivered, %d failed, want 3 and 11", d, f)
	}

	// A router's new address supersedes what waits.
	var desires []store.Desire
	for i, r := range recs[:10] {
		desires = append(desires, store.Desire{RecordID: r.ID, Family: 4, Address: netip.MustParseAddr(fmt.Sprintf("198.51.100.%d", i+1)), Reason: "update"})
	}
	if err := st.InTx(ctx, func(q *store.Queries) error { _, err := q.Desire(ctx, desires); return err }); err != nil {
		t.Fatal(err)
	}
	checkStatus(t, st, "new addresses")

	// Records moved to b take their states along; the others stay with a.
	var moved []int64
	if err := st.Pool.QueryRow(ctx, `SELECT array_agg(DISTINCT record_id) FROM record_states
		WHERE state IN ('failed', 'retrying', 'blocked')`).Scan(&moved); err != nil || len(moved) < 2 {
		t.Fatalf("records in trouble %v, %v", moved, err)
	}
	for _, id := range moved[:len(moved)/2] {
		if _, err := st.UpdateRecord(ctx, id, store.RecordPatch{ServiceID: &b.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if got := checkStatus(t, st, "records in trouble moved to b"); len(got.Troubled) != 2 {
		t.Errorf("services in trouble %+v, want a and b", got.Troubled)
	}
	for _, r := range recs[15:] {
		if err := st.DeleteRecord(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	checkStatus(t, st, "5 records deleted")

	// Hosts: created, disabled, enabled again, one never seen and old
	// (stale), deleted.
	spare := mustHost(t, st, "spare.example.com")
	off := false
	if _, err := st.UpdateHost(ctx, spare.ID, store.HostPatch{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if got := checkStatus(t, st, "a host disabled"); got.Hosts != 2 || got.EnabledHosts != 1 {
		t.Errorf("hosts after one was disabled: %d, %d enabled", got.Hosts, got.EnabledHosts)
	}
	if _, err := st.Pool.Exec(ctx, `UPDATE hosts SET created_at = now() - interval '2 hours' WHERE id = $1`, spare.ID); err != nil {
		t.Fatal(err)
	}
	if got := checkStatus(t, st, "a host never seen"); got.StaleHosts != 1 {
		t.Errorf("stale hosts %d, want 1", got.StaleHosts)
	}
	on := true
	if _, err := st.UpdateHost(ctx, spare.ID, store.HostPatch{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	checkStatus(t, st, "the host enabled again")
	if err := st.DeleteHost(ctx, spare.ID); err != nil {
		t.Fatal(err)
	}
	if got := checkStatus(t, st, "the host deleted"); got.Hosts != 1 || got.EnabledHosts != 1 || got.StaleHosts != 0 {
		t.Errorf("hosts after the deletion: %+v", got)
	}

	if _, err := st.Pool.Exec(ctx, `UPDATE deliveries SET finished_at = now() - interval '100 days' WHERE finished_at IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if n, err := st.PruneDeliveries(ctx, time.Now().Add(-90*24*time.Hour), 1000); err != nil || n == 0 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	got = checkStatus(t, st, "finished deliveries pruned")
	// The minutes keep the attempts the pruned jobs made.
	if d, f := minutes(got); d != 3 || f != 11 {
		t.Errorf("attempts per minute after pruning: %d delivered, %d failed", d, f)
	}

	// Compacted: the same counts, one row per key, and minutes older than
	// a day gone.
	if _, err := st.Pool.Exec(ctx, `INSERT INTO delivery_minutes VALUES (now() - interval '26 hours', 5, 5)`); err != nil {
		t.Fatal(err)
	}
	if d, f := minutes(checkStatus(t, st, "a minute of yesterday")); d != 3 || f != 11 {
		t.Errorf("a minute older than a day was counted: %d delivered, %d failed", d, f)
	}
	compact(t, st)
	got = checkStatus(t, st, "compacted")
	if d, f := minutes(got); d != 3 || f != 11 {
		t.Errorf("attempts per minute after compaction: %d delivered, %d failed", d, f)
	}
	rows := tallyRows(t, st)
	var keys int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT DISTINCT service_id, state FROM record_states) k`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if rows["host_tallies"] != 1 || rows["record_tallies"] != 1 || rows["record_state_tallies"] != keys || rows["delivery_tallies"] != len(got.Deliveries) ||
		rows["delivery_minutes"] != len(got.Minutes) {
		t.Errorf("rows after compaction %v; %d (service, state) keys, %d delivery states, %d minutes", rows, keys,
			len(got.Deliveries), len(got.Minutes))
	}

	// Deleting everything leaves nothing to count, and nothing to keep.
	for _, r := range recs[:15] {
		if err := st.DeleteRecord(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	got = checkStatus(t, st, "all deleted")
	if got.Records != 0 || len(got.Troubled) != 0 {
		t.Errorf("status of an empty broker %+v", got)
	}
	compact(t, st)
	if rows := tallyRows(t, st); rows["host_tallies"] != 1 || rows["record_tallies"] != 0 || rows["record_state_tallies"] != 0 || rows["delivery_tallies"] != 0 {
		t.Errorf("rows left after compacting nothing: %v", rows)
	}
}

// TestStatusTalliesStaySmall: the triggers compact the tallies as they go
// (every 64th statement that writes one), so a busy broker's dashboard
// reads a few rows however long nobody looked.
func TestStatusTalliesStaySmall(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	svc := mustService(t, st, "a")
	recs := queueRecords(t, st, svc, "x.example.com", 10, 4)
	for i := 0; i < 300; i++ {
		r := recs[i%len(recs)]
		a := netip.MustParseAddr(fmt.Sprintf("198.51.%d.%d", i/250, i%250+1))
		if err := st.InTx(ctx, func(q *store.Queries) error {
			_, err := q.Desire(ctx, []store.Desire{{RecordID: r.ID, Family: 4, Address: a, Reason: "update"}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	checkStatus(t, st, "300 updates")
	// Each update writes up to 3 statements' deltas (superseded, queued,
	// state): at most 64 statements since the last compaction, plus one
	// row per key.
	for table, n := range tallyRows(t, st) {
		if n > 64*2+10 {
			t.Errorf("%s has %d rows after 300 updates", table, n)
		}
	}
}

// TestStatusTalliesUnderConcurrentWriters: writers that change the same
// records at once (routers' updates, dispatchers ending attempts) never
// lose a count, nor wait for each other on a counter.
func TestStatusTalliesUnderConcurrentWriters(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	svc := mustService(t, st, "a")
	recs := queueRecords(t, st, svc, "x.example.com", 30, 4, 6)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 4; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				var desires []store.Desire
				for k, r := range recs {
					if (k+i+w)%3 == 0 {
						desires = append(desires, store.Desire{RecordID: r.ID, Family: netcalc.Family(4 + 2*(k%2)),
							Address: netip.MustParseAddr(fmt.Sprintf("2001:db8::%x:%x", w, i)), Reason: "update"})
					}
				}
				for i := range desires {
					if desires[i].Family == 4 {
						desires[i].Address = netip.MustParseAddr(fmt.Sprintf("198.51.100.%d", w*25+i%25+1))
					}
				}
				if err := st.InTx(ctx, func(q *store.Queries) error { _, err := q.Desire(ctx, desires); return err }); err != nil {
					errs <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			worker := fmt.Sprintf("w%d", w)
			for i := 0; i < 25; i++ {
				jobs, err := st.ClaimDeliveries(ctx, store.Claim{Worker: worker, Lease: time.Minute, Free: 3, Workers: 3, PerService: 12})
				if err != nil {
					errs <- err
					return
				}
				for k, j := range jobs {
					outcome := []store.Outcome{store.OutcomeDelivered, store.OutcomeRetry, store.OutcomeFailed}[(k+i)%3]
					if _, err := st.FinishDelivery(ctx, j, worker, store.Finish{Outcome: outcome, Message: "m",
						NextAttempt: time.Now()}); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkStatus(t, st, "after the concurrent writers")
	compact(t, st)
	checkStatus(t, st, "compacted")
}
