package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

func TestWebhooks(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	w, err := st.CreateWebhook(ctx, store.NewWebhook{Name: "Alerts", URL: "https://hooks.example/x", Secret: []byte{1, 2},
		SecretKey: "k1", Events: []string{"delivery.failed"}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.CreateWebhook(ctx, store.NewWebhook{Name: "alerts", URL: "https://hooks.example/y", Events: []string{"host.stale"}})
	wantErr(t, "same name", err, store.ErrConflict)
	_, err = st.CreateWebhook(ctx, store.NewWebhook{Name: "bad", URL: "https://hooks.example/y", Events: []string{"drift.error"}})
	wantErr(t, "unknown event", err, store.ErrInvalid)
	_, err = st.CreateWebhook(ctx, store.NewWebhook{Name: "none", URL: "https://hooks.example/y", Events: []string{}})
	wantErr(t, "no event", err, store.ErrInvalid)
	other, err := st.CreateWebhook(ctx, store.NewWebhook{Name: "other", URL: "http://10.0.0.1/", Events: []string{"host.stale"}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}

	// Queue, claim, retry, deliver.
	for _, id := range []int64{w.ID, w.ID, other.ID} {
		if err := st.QueueWebhookDelivery(ctx, id, "delivery.failed", nil, []byte(`{"event":"delivery.failed"}`)); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := st.ClaimWebhookDeliveries(ctx, 10, time.Minute)
	if err != nil || len(jobs) != 3 || jobs[0].URL != w.URL || !slices.Equal(jobs[0].Secret, []byte{1, 2}) || jobs[0].Attempts != 1 {
		t.Fatalf("claimed %+v, %v", jobs, err)
	}
	if again, _ := st.ClaimWebhookDeliveries(ctx, 10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed leased jobs again: %+v", again)
	}
	status := 500
	past := time.Now().Add(-time.Second)
	if err := st.FinishWebhookDelivery(ctx, jobs[0], false, &status, "HTTP 500", &past); err != nil {
		t.Fatal(err)
	}
	ok := 204
	if err := st.FinishWebhookDelivery(ctx, jobs[1], true, &ok, "", nil); err != nil {
		t.Fatal(err)
	}
	retry, err := st.ClaimWebhookDeliveries(ctx, 10, time.Minute)
	if err != nil || len(retry) != 1 || retry[0].ID != jobs[0].ID || retry[0].Attempts != 2 {
		t.Fatalf("retry %+v, %v", retry, err)
	}
	if err := st.FinishWebhookDelivery(ctx, retry[0], false, nil, "no answer within 10s", nil); err != nil {
		t.Fatal(err)
	}
	got, err := st.Webhook(ctx, w.ID)
	if err != nil || got.LastAttemptAt == nil || got.LastSuccessAt == nil || got.LastStatusCode != nil || got.LastError != "no answer within 10s" {
		t.Fatalf("webhook after the attempts %+v, %v", got, err)
	}

	// A lease that ran out is taken over.
	if _, err := st.Pool.Exec(ctx, `UPDATE webhook_deliveries SET lease_until = now() - interval '1 second' WHERE id = $1`, jobs[2].ID); err != nil {
		t.Fatal(err)
	}
	if taken, _ := st.ClaimWebhookDeliveries(ctx, 10, time.Minute); len(taken) != 1 || taken[0].ID != jobs[2].ID || taken[0].Attempts != 2 {
		t.Fatalf("taken over %+v", taken)
	}

	// Disabling cancels what waits; deleting removes it all.
	if err := st.QueueWebhookDelivery(ctx, w.ID, "delivery.failed", nil, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	off := false
	name := "renamed"
	if got, err = st.UpdateWebhook(ctx, w.ID, store.WebhookPatch{Enabled: &off, Name: &name, ClearSecret: true}); err != nil ||
		got.Enabled || got.Secret != nil || got.SecretKey != "" || got.Name != name || !slices.Equal(got.Events, w.Events) {
		t.Fatalf("updated %+v, %v", got, err)
	}
	var states []string
	rows, _ := st.Pool.Query(ctx, `SELECT state FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id`, w.ID)
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		states = append(states, s)
	}
	rows.Close()
	if !slices.Equal(states, []string{"failed", "delivered", "cancelled"}) {
		t.Errorf("states %v", states)
	}
	if enabled, _ := st.EnabledWebhooks(ctx); len(enabled) != 1 || enabled[0].ID != other.ID {
		t.Errorf("enabled %+v", enabled)
	}
	page, err := st.WebhooksPage(ctx, "", 0, 1, false)
	if err != nil || len(page) != 1 || page[0].Name != "other" {
		t.Errorf("page %+v, %v", page, err)
	}

	// Pruning takes finished notifications only.
	if _, err := st.Pool.Exec(ctx, `UPDATE webhook_deliveries SET finished_at = now() - interval '100 days' WHERE finished_at IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if n, err := st.PruneWebhookDeliveries(ctx, time.Now().Add(-90*24*time.Hour), 100); err != nil || n != 3 {
		t.Errorf("pruned %d, %v", n, err)
	}
	wantErr(t, "delete", st.DeleteWebhook(ctx, 987654), store.ErrNotFound)
	if err := st.DeleteWebhook(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	var left int
	_ = st.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries`).Scan(&left)
	if left != 0 {
		t.Errorf("%d notifications left", left)
	}
}

func TestStaleHosts(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	a, b, c := mustHost(t, st, "a.example.com"), mustHost(t, st, "b.example.com"), mustHost(t, st, "c.example.com")
	if _, err := st.Pool.Exec(ctx, `UPDATE hosts SET created_at = now() - interval '3 days',
		last_seen_at = CASE id WHEN $1 THEN now() - interval '2 days' WHEN $2 THEN now() END`, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	cutoff := store.StaleRule{Now: time.Now(), After: 24 * time.Hour}
	// a: seen 2 days ago; b: seen now; c: never seen, created 3 days ago.
	if s, err := st.Status(ctx, cutoff); err != nil || s.StaleHosts != 2 || s.Hosts != 3 {
		t.Errorf("status: %d stale of %d hosts, %v", s.StaleHosts, s.Hosts, err)
	}
	ids := func(stale bool) []int64 {
		hs, err := st.HostsPage(ctx, store.HostPage{Stale: &stale, StaleRule: cutoff, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, h := range hs {
			out = append(out, h.ID)
		}
		return out
	}
	if got := ids(true); !slices.Equal(got, []int64{a.ID, c.ID}) {
		t.Errorf("stale %v", got)
	}
	if got := ids(false); !slices.Equal(got, []int64{b.ID}) {
		t.Errorf("not stale %v", got)
	}
	hosts, err := st.UnreportedStaleHosts(ctx, cutoff, 10)
	if err != nil || len(hosts) != 2 || !hosts[0].Seen || hosts[1].Seen {
		t.Fatalf("unreported %+v, %v", hosts, err)
	}
	if err := st.NoteStaleHostReported(ctx, hosts[0].ID, hosts[0].SeenAt); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.UnreportedStaleHosts(ctx, cutoff, 10); len(again) != 1 || again[0].ID != c.ID {
		t.Errorf("after reporting a: %+v", again)
	}
}

// TestStaleHostsOwnStaleAfter: a host's own stale_after replaces the global
// one in every stale test, in SQL and in StaleRule.Stale alike.
func TestStaleHostsOwnStaleAfter(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	hour, threeDays := time.Hour, 72*time.Hour
	// a: seen 2 days ago, silent after 3 days; b: seen 2 hours ago, silent
	// after 1 hour; c: seen 2 hours ago, the global 24 hours.
	a, err := st.CreateHost(ctx, store.NewHost{FQDN: "a.example.com", SecretHash: "x", Enabled: true, StaleAfter: &threeDays})
	if err != nil {
		t.Fatal(err)
	}
	b, c := mustHost(t, st, "b.example.com"), mustHost(t, st, "c.example.com")
	if b, err = st.UpdateHost(ctx, b.ID, store.HostPatch{SetStaleAfter: true, StaleAfter: &hour}); err != nil || b.StaleAfter == nil || *b.StaleAfter != hour {
		t.Fatalf("patched %+v, %v", b.StaleAfter, err)
	}
	if _, err := st.Pool.Exec(ctx, `UPDATE hosts SET created_at = now() - interval '3 days',
		last_seen_at = CASE id WHEN $1 THEN now() - interval '2 days' ELSE now() - interval '2 hours' END`, a.ID); err != nil {
		t.Fatal(err)
	}
	rule := store.StaleRule{Now: time.Now(), After: 24 * time.Hour}
	if s, err := st.Status(ctx, rule); err != nil || s.StaleHosts != 1 {
		t.Errorf("status: %d stale, %v", s.StaleHosts, err)
	}
	stale := true
	hs, err := st.HostsPage(ctx, store.HostPage{Stale: &stale, StaleRule: rule, Limit: 10})
	if err != nil || len(hs) != 1 || hs[0].ID != b.ID {
		t.Errorf("stale page %+v, %v", hs, err)
	}
	for _, id := range []int64{a.ID, b.ID, c.ID} {
		h, err := st.Host(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := rule.Stale(h); got != (id == b.ID) {
			t.Errorf("%s: StaleRule.Stale %v", h.FQDN, got)
		}
	}
	hosts, err := st.UnreportedStaleHosts(ctx, rule, 10)
	if err != nil || len(hosts) != 1 || hosts[0].ID != b.ID || hosts[0].StaleAfter != hour {
		t.Fatalf("unreported %+v, %v", hosts, err)
	}
	// Back to the global: b is no longer stale, a is.
	if _, err := st.UpdateHost(ctx, b.ID, store.HostPatch{SetStaleAfter: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateHost(ctx, a.ID, store.HostPatch{SetStaleAfter: true}); err != nil {
		t.Fatal(err)
	}
	if hosts, err := st.UnreportedStaleHosts(ctx, rule, 10); err != nil || len(hosts) != 1 || hosts[0].ID != a.ID || hosts[0].StaleAfter != 24*time.Hour {
		t.Errorf("after reset %+v, %v", hosts, err)
	}
	// Out of range is refused by the table too.
	if _, err := st.Pool.Exec(ctx, `UPDATE hosts SET stale_after = interval '30 seconds' WHERE id = $1`, a.ID); err == nil {
		t.Error("a stale_after of 30 s was stored")
	}
}
