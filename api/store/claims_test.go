package store_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// queueRecords adds n records of a new host at svc and queues a job per
// record and family (families: 4, 6 or both).
func queueRecords(t *testing.T, st *store.Store, svc store.Service, host string, n int, families ...int) []store.Record {
	t.Helper()
	ctx := context.Background()
	h := mustHost(t, st, host)
	var recs []store.Record
	var desires []store.Desire
	for i := 0; i < n; i++ {
		r, err := st.CreateRecord(ctx, newRecord(h, svc, fmt.Sprintf("r%03d.%s", i, host)))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
		for _, f := range families {
			a := netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", i%250+1))
			if f == 6 {
				a = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i+1))
			}
			desires = append(desires, store.Desire{RecordID: r.ID, Family: netcalc.Family(f), Address: a, Reason: store.ReasonUpdate})
		}
	}
	if err := st.InTx(ctx, func(q *store.Queries) error {
		_, err := q.Desire(ctx, desires)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

func claim(t *testing.T, st *store.Store, worker string, free, workers, perService int) map[int64][]store.Job {
	t.Helper()
	jobs, err := st.ClaimDeliveries(context.Background(), store.Claim{Worker: worker, Lease: time.Minute, Free: free,
		Workers: workers, PerService: perService})
	if err != nil {
		t.Fatal(err)
	}
	bySvc := map[int64][]store.Job{}
	for _, j := range jobs {
		bySvc[j.ServiceID] = append(bySvc[j.ServiceID], j)
	}
	return bySvc
}

// Claims share the workers between services: a service takes at most its
// limit (over every worker) and its share of this worker, and one share
// stays free for a service whose work arrives later, which starts at once.
func TestClaimsShareWorkersBetweenServices(t *testing.T) {
	st := storetest.New(t)
	a, b, c := mustService(t, st, "a"), mustService(t, st, "b"), mustService(t, st, "c")
	queueRecords(t, st, a, "a.example.com", 100, 4)

	// Alone with work, a takes its limit (32 of 64).
	if got := claim(t, st, "w1", 64, 64, 32); len(got[a.ID]) != 32 {
		t.Fatalf("a alone claimed %d, want 32", len(got[a.ID]))
	}
	if got := claim(t, st, "w1", 32, 64, 32); len(got) != 0 {
		t.Fatalf("a at its limit claimed more: %v", got)
	}
	// Another worker does not lift the limit: it counts over every worker.
	if got := claim(t, st, "w2", 64, 64, 32); len(got) != 0 {
		t.Fatalf("a second worker claimed %d jobs of a service at its limit", len(got[a.ID]))
	}

	// b's work arrives: its share is 64/3 = 21, one share stays free, so b
	// takes 32 - 21 = 11 of the 32 free workers.
	queueRecords(t, st, b, "b.example.com", 100, 4)
	got := claim(t, st, "w1", 32, 64, 32)
	if len(got[a.ID]) != 0 || len(got[b.ID]) != 11 {
		t.Fatalf("with a and b: a %d, b %d, want 0 and 11", len(got[a.ID]), len(got[b.ID]))
	}
	// c's work arrives: the share is 64/4 = 16. c's first job starts at
	// once; then services take turns, oldest job first, for what is left
	// above one share (21 - 16 = 5 in all): b's 1st, b's and c's 2nd, b's 3rd.
	queueRecords(t, st, c, "c.example.com", 3, 4)
	got = claim(t, st, "w1", 21, 64, 32)
	if len(got[a.ID]) != 0 || len(got[b.ID]) != 3 || len(got[c.ID]) != 2 {
		t.Fatalf("with a, b and c: a %d, b %d, c %d, want 0, 3 and 2", len(got[a.ID]), len(got[b.ID]), len(got[c.ID]))
	}
	// With fewer free workers than a share, only a service's first job may
	// start: nobody else's.
	queueRecords(t, st, mustService(t, st, "d"), "d.example.com", 3, 4)
	got = claim(t, st, "w1", 10, 64, 32)
	if n := len(got); n != 1 || len(got[a.ID])+len(got[b.ID])+len(got[c.ID]) != 0 {
		t.Fatalf("with 10 free workers: %v, want d's first job only", got)
	}
}

// One request at a time per (service, name): a record's second family waits
// until the first one's job ended, whichever worker claims.
func TestClaimsTakeOneJobPerName(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	svc := mustService(t, st, "s")
	recs := queueRecords(t, st, svc, "h.example.com", 3, 4, 6)
	first := claim(t, st, "w1", 64, 64, 32)[svc.ID]
	if len(first) != 3 {
		t.Fatalf("claimed %d jobs of 3 dual-stack records, want one per record", len(first))
	}
	for _, j := range first {
		if j.Family != 4 {
			t.Errorf("record %d: the AAAA job came first", j.RecordID)
		}
	}
	if got := claim(t, st, "w2", 64, 64, 32); len(got) != 0 {
		t.Fatalf("another worker claimed %v while the names were busy", got)
	}
	if held, err := st.FinishDelivery(ctx, first[0], "w1", store.Finish{Outcome: store.OutcomeDelivered, Message: "good"}); err != nil || !held {
		t.Fatalf("finish: %v %v", held, err)
	}
	next := claim(t, st, "w2", 64, 64, 32)[svc.ID]
	if len(next) != 1 || next[0].RecordID != first[0].RecordID || next[0].Family != 6 {
		t.Fatalf("after the A of %s ended: claimed %+v, want its AAAA", recs[0].FQDN, next)
	}
}

// A service that takes both families in one request gets a record's pair
// in one claim, counted as one request: with room for two requests (4
// workers, half of them for others), two records' pairs.
func TestClaimsTakeACombinedPairTogether(t *testing.T) {
	st := storetest.New(t)
	svc := mustService(t, st, "s")
	queueRecords(t, st, svc, "h.example.com", 4, 4, 6)
	jobs, err := st.ClaimDeliveries(context.Background(), store.Claim{Worker: "w", Lease: time.Minute, Free: 4,
		Workers: 4, PerService: 32, Together: func(store.Job) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	families := map[int64][]int{}
	for _, j := range jobs {
		families[j.RecordID] = append(families[j.RecordID], int(j.Family))
	}
	if len(jobs) != 4 || len(families) != 2 {
		t.Fatalf("claimed %v for 2 free workers, want both families of two records", families)
	}
}

// Jobs with one service, family, address and username form requests of up
// to Claim.Batch jobs, and a request counts once against PerService. Each
// job of a request finishes on its own: one whose lease was lost is
// dropped, the others are recorded.
func TestClaimsFormRequestsCountedOnce(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	svc := mustService(t, st, "s")
	h := mustHost(t, st, "h.example.com")
	var desires []store.Desire
	for i := 0; i < 7; i++ {
		r, err := st.CreateRecord(ctx, newRecord(h, svc, fmt.Sprintf("r%d.h.example.com", i)))
		if err != nil {
			t.Fatal(err)
		}
		desires = append(desires, store.Desire{RecordID: r.ID, Family: 4, Address: netip.MustParseAddr("192.0.2.1"), Reason: store.ReasonUpdate})
	}
	if err := st.InTx(ctx, func(q *store.Queries) error { _, err := q.Desire(ctx, desires); return err }); err != nil {
		t.Fatal(err)
	}
	claimBatch := func(worker string) map[int64][]store.Job {
		t.Helper()
		jobs, err := st.ClaimDeliveries(ctx, store.Claim{Worker: worker, Lease: time.Minute, Free: 64, Workers: 64, PerService: 2,
			Batch: func(store.Job) int { return 3 }})
		if err != nil {
			t.Fatal(err)
		}
		reqs := map[int64][]store.Job{}
		for _, j := range jobs {
			reqs[j.Request] = append(reqs[j.Request], j)
		}
		return reqs
	}

	first := claimBatch("w1")
	if len(first) != 2 {
		t.Fatalf("%d requests, want 2 (the per-service limit)", len(first))
	}
	var done []store.Job
	for lead, jobs := range first {
		if len(jobs) != 3 {
			t.Errorf("request %d carries %d jobs, want 3", lead, len(jobs))
		}
		done = jobs
	}
	// Another worker takes over one job of the first request (its lease
	// ran out): its outcome is dropped, the others' are recorded.
	if _, err := st.Pool.Exec(ctx, `UPDATE deliveries SET leased_by = 'w2' WHERE id = $1`, done[1].ID); err != nil {
		t.Fatal(err)
	}
	good := store.Finish{Outcome: store.OutcomeDelivered, Message: "good"}
	held, err := st.FinishDeliveries(ctx, "w1", done, []store.Finish{good, good, good})
	if err != nil || !held[0] || held[1] || !held[2] {
		t.Fatalf("finish a request: held %v, %v; want the taken-over job alone dropped", held, err)
	}
	// One request of two runs now (the taken-over job's, of worker w2,
	// and the other request): the limit leaves room for none.
	if got := claimBatch("w1"); len(got) != 0 {
		t.Fatalf("claimed %v beyond the limit", got)
	}
	if _, err := st.Pool.Exec(ctx, `UPDATE deliveries SET state = 'delivered', lease_until = NULL WHERE id = $1`, done[1].ID); err != nil {
		t.Fatal(err)
	}
	// One request runs: room for one more, the last record.
	if got := claimBatch("w1"); len(got) != 1 {
		t.Fatalf("claimed %d requests with one of two running, want 1", len(got))
	}
}
