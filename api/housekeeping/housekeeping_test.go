package housekeeping_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/housekeeping"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

func TestPruneKeepsWhatIsYoungOrUnfinished(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	h, err := st.CreateHost(ctx, store.NewHost{FQDN: "r.example.com", SecretHash: "x", Enabled: true, IPv4Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := st.CreateService(ctx, store.NewService{Name: "s", Protocol: "dyndns2"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.CreateRecord(ctx, store.NewRecord{HostID: h.ID, ServiceID: svc.ID, FQDN: "r.example.com", IPv4Enabled: true, IPv4Netmask: 32,
		IPv4HostIdentifier: netip.MustParseAddr("0.0.0.0"), IPv6HostIdentifier: netip.MustParseAddr("::"), IPv6Netmask: 128})
	if err != nil {
		t.Fatal(err)
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := st.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	// 7000 old events (more than one batch), 3 young ones.
	exec(`INSERT INTO events (at, kind, message) SELECT now() - interval '100 days', 'test.old', 'old' FROM generate_series(1, 7000)`)
	exec(`INSERT INTO events (at, kind, message) SELECT now() - interval '1 day', 'test.young', 'young' FROM generate_series(1, 3)`)
	// Old finished, old but still pending, young finished deliveries.
	exec(`INSERT INTO deliveries (record_id, family, address, reason, state, finished_at) VALUES
		($1, 4, '192.0.2.1', 'update', 'delivered', now() - interval '100 days'),
		($1, 4, '192.0.2.2', 'update', 'superseded', now() - interval '100 days'),
		($1, 4, '192.0.2.3', 'update', 'delivered', now() - interval '1 day')`, r.ID)
	exec(`INSERT INTO deliveries (record_id, family, address, reason, state, created_at, next_attempt_at) VALUES
		($1, 4, '192.0.2.4', 'update', 'pending', now() - interval '100 days', now() - interval '100 days')`, r.ID)

	ev, dl, err := housekeeping.Prune(ctx, st, 90*24*time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ev != 7000 || dl != 2 {
		t.Fatalf("pruned %d events and %d deliveries, want 7000 and 2", ev, dl)
	}
	var events, deliveries int
	_ = st.Pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&events)
	_ = st.Pool.QueryRow(ctx, `SELECT count(*) FROM deliveries`).Scan(&deliveries)
	if events != 3 || deliveries != 2 {
		t.Fatalf("left %d events and %d deliveries, want 3 and 2 (young ones and the pending one)", events, deliveries)
	}
	if ev, dl, _ := housekeeping.Prune(ctx, st, 90*24*time.Hour, time.Now()); ev+dl != 0 {
		t.Fatalf("second prune removed %d more", ev+dl)
	}
}
