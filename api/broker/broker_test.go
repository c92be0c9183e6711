package broker

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

func hostWith(t *testing.T, st *store.Store, svc store.Service, fqdn string, records int) store.Host {
	t.Helper()
	ctx := context.Background()
	h, err := st.CreateHost(ctx, store.NewHost{FQDN: fqdn, SecretHash: "x", Enabled: true, IPv4Enabled: true, IPv6Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	storetest.SeedRecords(t, st.Pool, h.ID, svc.ID, fqdn, records)
	h.RecordCount = records
	return h
}

// Updates of hosts with many records take turns, whatever their number, and
// never make another host's update wait: one heavy update holds the only
// turn (stuck on its host's lock here); a second heavy one waits for it
// until its deadline; a small host's update goes through meanwhile.
func TestHeavyUpdatesTakeTurnsAndLeaveRoomForOthers(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	svc, err := st.CreateService(ctx, store.NewService{Name: "s", Protocol: "dyndns2", Settings: []byte(`{"url":"http://127.0.0.1/u"}`)})
	if err != nil {
		t.Fatal(err)
	}
	big1, big2 := hostWith(t, st, svc, "big1.example.com", 150), hostWith(t, st, svc, "big2.example.com", 150)
	small := hostWith(t, st, svc, "small.example.com", 3)
	b := New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	b.heavy = make(chan struct{}, 1)
	addr := func(s string) Addresses { return Addresses{IPv4: netip.MustParseAddr(s)} }

	hold, err := st.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx) //nolint:errcheck
	if _, err := hold.Exec(ctx, `SELECT 1 FROM hosts WHERE id = $1 FOR UPDATE`, big1.ID); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { _, err := b.Update(ctx, big1, addr("192.0.2.1"), "test"); first <- err }()
	for len(b.heavy) == 0 { // the first heavy update has its turn
		time.Sleep(5 * time.Millisecond)
	}

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = b.Update(short, big2, addr("192.0.2.2"), "test")
	cancel()
	if err == nil || !strings.Contains(err.Error(), "turn") {
		t.Fatalf("a second heavy update did not wait for its turn: %v", err)
	}
	if res, err := b.Update(ctx, small, addr("192.0.2.3"), "test"); err != nil || res.Queued != 3 {
		t.Fatalf("a small host's update beside a heavy one: %+v %v", res, err)
	}
	select {
	case err := <-first:
		t.Fatalf("the heavy update ended while its host was locked: %v", err)
	default:
	}
	if err := hold.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	res, err := b.Update(ctx, big2, addr("192.0.2.2"), "test")
	if err != nil || res.Queued != 150 {
		t.Fatalf("the second heavy update after its turn came: %+v %v", res, err)
	}
	// A host learnt to be heavy stays so when the caller does not know.
	big2.RecordCount = 0
	if !b.isHeavy(big2) {
		t.Fatalf("host %d with 150 records not known as heavy", big2.ID)
	}
}
