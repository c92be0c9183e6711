package rest_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// TestStatusSummary: GET /status gives the dashboard every figure it shows
// (counts by state, the first page of the records in trouble with a cursor
// that continues in GET /records, the stale hosts, the services in trouble
// with the most first, the attempts per minute of the day) and they follow
// deletions and changes of state.
func TestStatusSummary(t *testing.T) {
	h := newHarness(t, func(cfg *config.Serve, _ *app.Options) { cfg.StaleAfter = time.Hour })
	tok, _ := h.login(adminName, adminPassword)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := h.st.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	alpha := create[rest.Service](h, tok, "/services", map[string]any{"name": "alpha", "protocol": "dyndns2", "url": "https://a.example/u"})
	beta := create[rest.Service](h, tok, "/services", map[string]any{"name": "beta", "protocol": "dyndns2", "url": "https://b.example/u"})
	home := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "home.example.net", "ipv4": "203.0.113.7"})
	office := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "office.example.net", "ipv4": "203.0.113.8"})
	gone := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "gone.example.net"})
	exec(`UPDATE hosts SET created_at = now() - interval '2 days' WHERE id = $1`, gone.Id)
	var recs []rest.Record
	for i := range 7 {
		svc, host := alpha.Id, home.Id
		if i >= 5 {
			svc, host = beta.Id, office.Id
		}
		recs = append(recs, create[rest.Record](h, tok, "/records", map[string]any{"host_id": host, "service_id": svc,
			"fqdn": fmt.Sprintf("r%d.example.net", i), "ipv4_netmask": 24, "ipv4_host_identifier": fmt.Sprintf("0.0.0.%d", i+1),
			"ipv6_enabled": false}))
	}
	state := func(rec rest.Record, s string) {
		t.Helper()
		exec(`UPDATE record_states SET state = $2 WHERE record_id = $1 AND family = 4`, rec.Id, s)
	}
	// alpha: 2 failed, 1 retrying; beta: 1 failed, 1 blocked.
	state(recs[0], "failed")
	state(recs[1], "failed")
	state(recs[2], "retrying")
	state(recs[5], "blocked")
	state(recs[6], "failed")
	// Attempts: 2 delivered and 1 not in this minute, 3 delivered ten
	// minutes ago, and a day and more ago some that no longer count.
	var now, before time.Time
	if err := h.st.Pool.QueryRow(ctx, `INSERT INTO delivery_minutes VALUES (date_trunc('minute', now()), 2, 1),
		(date_trunc('minute', now()) - interval '10 minutes', 3, 0), (date_trunc('minute', now()) - interval '25 hours', 9, 9)
		RETURNING (SELECT date_trunc('minute', now())), (SELECT date_trunc('minute', now()) - interval '10 minutes')`).Scan(&now, &before); err != nil {
		t.Fatal(err)
	}

	st := get[rest.Status](h, tok, "/status?limit=2")
	if st.Hosts.Total != 3 || st.Hosts.Stale != 1 || st.Records.Total != 7 {
		t.Errorf("hosts %+v, records %+v", st.Hosts, st.Records)
	}
	if s := st.Records.States; s.Failed != 3 || s.Retrying != 1 || s.Blocked != 1 || s.Pending != 2 {
		t.Errorf("states %+v", s)
	}
	fqdns := func(l rest.RecordList) []string {
		var out []string
		for _, r := range l.Items {
			out = append(out, r.Fqdn)
		}
		return out
	}
	if got := fqdns(st.Problems.Failed); !slices.Equal(got, []string{"r0.example.net", "r1.example.net"}) || st.Problems.Failed.NextCursor == nil {
		t.Errorf("failed records %v, next %v", got, st.Problems.Failed.NextCursor)
	} else {
		rest := get[rest.RecordList](h, tok, "/records?status=failed&limit=2&cursor="+url.QueryEscape(*st.Problems.Failed.NextCursor))
		if got := fqdns(rest); !slices.Equal(got, []string{"r6.example.net"}) || rest.NextCursor != nil {
			t.Errorf("the failed records' next page %v", got)
		}
	}
	if got := fqdns(st.Problems.Retrying); !slices.Equal(got, []string{"r2.example.net"}) || st.Problems.Retrying.NextCursor != nil {
		t.Errorf("retrying records %v", got)
	}
	if got := fqdns(st.Problems.Blocked); !slices.Equal(got, []string{"r5.example.net"}) {
		t.Errorf("blocked records %v", got)
	}
	if len(st.StaleHosts.Items) != 1 || st.StaleHosts.Items[0].Id != gone.Id {
		t.Errorf("stale hosts %+v", st.StaleHosts)
	}
	wantTrouble := []rest.ServiceTrouble{{ServiceId: alpha.Id, Name: "alpha", Failed: 2, Retrying: 1},
		{ServiceId: beta.Id, Name: "beta", Failed: 1, Blocked: 1}}
	if !slices.Equal(st.ServicesInTrouble, wantTrouble) {
		t.Errorf("services in trouble %+v, want %+v", st.ServicesInTrouble, wantTrouble)
	}
	pm := st.DeliveriesPerMinute
	if len(pm.Delivered) != 1440 || len(pm.Failed) != 1440 {
		t.Fatalf("%d and %d buckets", len(pm.Delivered), len(pm.Failed))
	}
	at := func(m time.Time) int { return int(m.Sub(pm.Start) / time.Minute) }
	if i, j := at(now), at(before); i < 1430 || i > 1439 || pm.Delivered[i] != 2 || pm.Failed[i] != 1 || j != i-10 || pm.Delivered[j] != 3 {
		t.Errorf("buckets %d and %d (start %s): %d/%d and %d", i, j, pm.Start, pm.Delivered[i], pm.Failed[i], pm.Delivered[max(j, 0)])
	}
	sum := func(s []int) (n int) {
		for _, v := range s {
			n += v
		}
		return n
	}
	if sum(pm.Delivered) != 5 || sum(pm.Failed) != 1 {
		t.Errorf("attempts of the day: %d delivered, %d failed", sum(pm.Delivered), sum(pm.Failed))
	}

	// A failed record deleted, a retrying one delivered, a blocked one
	// moved to alpha, the stale host deleted.
	h.do(request{method: "DELETE", path: fmt.Sprintf("/records/%d", recs[0].Id), token: tok}).expect(t, 204)
	state(recs[2], "delivered")
	h.do(request{method: "PATCH", path: fmt.Sprintf("/records/%d", recs[5].Id), token: tok,
		body: map[string]any{"service_id": alpha.Id}}).expect(t, 200)
	h.do(request{method: "DELETE", path: fmt.Sprintf("/hosts/%d", gone.Id), token: tok}).expect(t, 204)
	st = get[rest.Status](h, tok, "/status")
	if st.Hosts.Total != 2 || st.Hosts.Stale != 0 || len(st.StaleHosts.Items) != 0 || st.Records.Total != 6 {
		t.Errorf("after the changes: hosts %+v, stale %+v, records %d", st.Hosts, st.StaleHosts, st.Records.Total)
	}
	if s := st.Records.States; s.Failed != 2 || s.Retrying != 0 || s.Delivered != 1 || len(st.Problems.Retrying.Items) != 0 ||
		len(st.Problems.Failed.Items) != 2 {
		t.Errorf("after the changes: states %+v, failed %v", s, fqdns(st.Problems.Failed))
	}
	// Moving a record does not change its state; it sends the address
	// again, so it may be pending now: count what the service has.
	var blocked int
	if err := h.st.Pool.QueryRow(ctx, `SELECT count(*) FROM record_states WHERE record_id = $1 AND state = 'blocked'`,
		recs[5].Id).Scan(&blocked); err != nil {
		t.Fatal(err)
	}
	wantTrouble = []rest.ServiceTrouble{{ServiceId: alpha.Id, Name: "alpha", Failed: 1, Blocked: blocked},
		{ServiceId: beta.Id, Name: "beta", Failed: 1}}
	if !slices.Equal(st.ServicesInTrouble, wantTrouble) {
		t.Errorf("services in trouble after the changes %+v, want %+v", st.ServicesInTrouble, wantTrouble)
	}

	for _, bad := range []string{"0", "101", "many"} {
		p := h.do(request{method: "GET", path: "/status?limit=" + bad, token: tok}).expect(t, 422).problem(t)
		if f := fieldsOf(p); len(f) != 1 || f[0] != "limit" {
			t.Errorf("limit=%s: problem %+v", bad, p)
		}
	}
}
