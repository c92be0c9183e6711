package broker_test

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// queued is one waiting job as these tests compare them.
type queued struct {
	Family  netcalc.Family
	Address string
	Reason  store.Reason
}

type intents struct {
	t   *testing.T
	ctx context.Context
	st  *store.Store
	b   *broker.Broker
	svc store.Service
}

func newIntents(t *testing.T) *intents {
	st := storetest.New(t)
	ctx := context.Background()
	svc, err := st.CreateService(ctx, store.NewService{Name: "dyn", Protocol: "dyndns2", Settings: []byte(`{"url":"https://dyn.example/nic/update"}`)})
	if err != nil {
		t.Fatal(err)
	}
	return &intents{t: t, ctx: ctx, st: st, b: broker.New(st, slog.New(slog.NewTextHandler(io.Discard, nil))), svc: svc}
}

// host makes a host that reported 203.0.113.1 and 2001:db8:1::/64 (with
// nothing queued, no records yet).
func (f *intents) host(fqdn string, v6 bool) store.Host {
	f.t.Helper()
	h, err := f.st.CreateHost(f.ctx, store.NewHost{FQDN: fqdn, SecretHash: "x", Enabled: true, IPv4Enabled: true, IPv6Enabled: v6})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.b.Update(f.ctx, h, broker.Addresses{IPv4: netip.MustParseAddr("203.0.113.1"), IPv6: netip.MustParseAddr("2001:db8:1::1"),
		Prefix: netip.MustParsePrefix("2001:db8:1::/64")}, "test"); err != nil {
		f.t.Fatal(err)
	}
	h, err = f.st.Host(f.ctx, h.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

// record adds a record (/24 with identifier .42, /64 with ::42) without
// telling the broker.
func (f *intents) record(h store.Host, fqdn string) store.Record {
	f.t.Helper()
	var r store.Record
	f.tx(func(q *store.Queries) (err error) {
		r, err = q.CreateRecord(f.ctx, store.NewRecord{HostID: h.ID, ServiceID: f.svc.ID, FQDN: fqdn,
			IPv4Enabled: true, IPv4Netmask: 24, IPv4HostIdentifier: netip.MustParseAddr("0.0.0.42"),
			IPv6Enabled: true, IPv6Netmask: 64, IPv6HostIdentifier: netip.MustParseAddr("::42")})
		return err
	})
	return r
}

func (f *intents) tx(fn func(q *store.Queries) error) {
	f.t.Helper()
	if err := f.st.InTx(f.ctx, fn); err != nil {
		f.t.Fatal(err)
	}
}

// take returns the waiting jobs of a record and marks them delivered, as
// a dispatcher would after the upstream accepted them.
func (f *intents) take(r store.Record) []queued {
	f.t.Helper()
	rows, err := f.st.Pool.Query(f.ctx, `SELECT family, host(address), reason FROM deliveries
		WHERE record_id = $1 AND state = 'pending' ORDER BY family`, r.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []queued
	for rows.Next() {
		var q queued
		if err := rows.Scan(&q.Family, &q.Address, &q.Reason); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, q)
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.st.Pool.Exec(f.ctx, `WITH d AS (UPDATE deliveries SET state = 'delivered', attempts = 1, finished_at = now()
			WHERE record_id = $1 AND state = 'pending' RETURNING family, address)
		UPDATE record_states s SET state = 'delivered', delivered = d.address FROM d
		WHERE s.record_id = $1 AND s.family = d.family`, r.ID); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *intents) expect(what string, r store.Record, n int, err error, want ...queued) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
	got := f.take(r)
	if n != len(want) || len(got) != len(want) {
		f.t.Fatalf("%s: queued %d %v, want %v", what, n, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			f.t.Errorf("%s: job %d = %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

func v4(addr string, reason store.Reason) queued { return queued{netcalc.V4, addr, reason} }
func v6(addr string, reason store.Reason) queued { return queued{netcalc.V6, addr, reason} }

// TestIntents: each thing that can happen queues what it means and
// nothing more, against a real PostgreSQL.
func TestIntents(t *testing.T) {
	f := newIntents(t)
	h := f.host("router.example.com", true)
	r := f.record(h, "www.example.com")
	var n int
	var err error

	// RecordCreated: both families go out, with the host's addresses.
	f.tx(func(q *store.Queries) error { n, err = f.b.RecordCreated(f.ctx, q, h.ID, r.ID); return nil })
	f.expect("record created", r, n, err, v4("203.0.113.42", store.ReasonConfig), v6("2001:db8:1::42", store.ReasonConfig))

	// Update (a router reported): only what changed goes out; the same
	// report again queues nothing.
	_, err = f.b.Update(f.ctx, h, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.1")}, "router")
	f.expect("router reported a new IPv4", r, 1, err, v4("198.51.100.42", store.ReasonUpdate))
	res, err := f.b.Update(f.ctx, h, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.1")}, "router")
	f.expect("router reported the same", r, res.Queued, err)

	// RecordEdited: without resend only a changed address goes out.
	f.tx(func(q *store.Queries) error { n, err = f.b.RecordEdited(f.ctx, q, h.ID, r.ID, false); return nil })
	f.expect("record edited, nothing derived differently", r, n, err)
	f.tx(func(q *store.Queries) error {
		if _, err := q.UpdateRecord(f.ctx, r.ID, store.RecordPatch{IPv4HostIdentifier: ptr(netip.MustParseAddr("0.0.0.7"))}); err != nil {
			return err
		}
		n, err = f.b.RecordEdited(f.ctx, q, h.ID, r.ID, false)
		return nil
	})
	f.expect("record's identifier edited", r, n, err, v4("198.51.100.7", store.ReasonConfig))
	f.tx(func(q *store.Queries) error { n, err = f.b.RecordEdited(f.ctx, q, h.ID, r.ID, true); return nil })
	f.expect("record's name or credentials edited", r, n, err, v4("198.51.100.7", store.ReasonConfig), v6("2001:db8:1::42", store.ReasonConfig))

	// ResyncRequested: everything again, though the upstream holds it.
	f.tx(func(q *store.Queries) error { n, err = f.b.ResyncRequested(f.ctx, q, h.ID, nil); return nil })
	f.expect("host resync", r, n, err, v4("198.51.100.7", store.ReasonResync), v6("2001:db8:1::42", store.ReasonResync))

	// HostEdited: a family turned off cancels nothing delivered and queues
	// nothing; turned on again, it goes out.
	f.tx(func(q *store.Queries) error {
		if _, err := q.UpdateHost(f.ctx, h.ID, store.HostPatch{IPv6Enabled: ptr(false)}); err != nil {
			return err
		}
		n, err = f.b.HostEdited(f.ctx, q, h.ID)
		return nil
	})
	f.expect("host's IPv6 turned off", r, n, err)
	f.tx(func(q *store.Queries) error {
		if _, err := q.UpdateHost(f.ctx, h.ID, store.HostPatch{IPv6Enabled: ptr(true)}); err != nil {
			return err
		}
		n, err = f.b.HostEdited(f.ctx, q, h.ID)
		return nil
	})
	f.expect("host's IPv6 turned on again, the upstream still holds it", r, n, err)

	// ServiceChanged: every record of the service, on every host.
	h2 := f.host("other.example.com", false)
	r2 := f.record(h2, "mail.example.com")
	f.tx(func(q *store.Queries) error { n, err = f.b.ServiceChanged(f.ctx, q, f.svc.ID); return nil })
	if err != nil || n != 3 {
		t.Fatalf("service changed: %d %v, want 3", n, err)
	}
	f.expect("service changed (www)", r, 2, nil, v4("198.51.100.7", store.ReasonConfig), v6("2001:db8:1::42", store.ReasonConfig))
	f.expect("service changed (mail)", r2, 1, nil, v4("203.0.113.42", store.ReasonConfig))
	f.tx(func(q *store.Queries) error {
		if _, err := q.UpdateHost(f.ctx, h2.ID, store.HostPatch{IPv6Enabled: ptr(true)}); err != nil {
			return err
		}
		n, err = f.b.HostEdited(f.ctx, q, h2.ID)
		return nil
	})
	f.expect("host's IPv6 turned on for the first time", r2, n, err, v6("2001:db8:1::42", store.ReasonConfig))

	// DriftFound: the delivered address again; not when a newer one came.
	var ok bool
	f.tx(func(q *store.Queries) error {
		n, ok, err = f.b.DriftFound(f.ctx, q, r.ID, netcalc.V4, netip.MustParseAddr("198.51.100.7"))
		return nil
	})
	if !ok {
		t.Fatal("drift of the delivered address queued nothing")
	}
	f.expect("drift found", r, n, err, v4("198.51.100.7", store.ReasonDrift))
	f.tx(func(q *store.Queries) error {
		n, ok, err = f.b.DriftFound(f.ctx, q, r.ID, netcalc.V4, netip.MustParseAddr("198.51.100.8"))
		return nil
	})
	if ok {
		t.Error("drift of an address that is not the delivered one was queued")
	}
	f.expect("drift of a stale address", r, n, err)
}

// TestRecordImported: an imported record sends what the broker derives
// differently from what the original delivered, and nothing else.
func TestRecordImported(t *testing.T) {
	f := newIntents(t)
	h := f.host("router.example.com", true)
	var same, differs store.Record
	var n1, n2 int
	var err1, err2 error
	f.tx(func(q *store.Queries) error {
		imported := func(fqdn string, v4 string) store.Record {
			r, err := q.ImportRecord(f.ctx, store.ImportedRecord{NewRecord: store.NewRecord{HostID: h.ID, ServiceID: f.svc.ID, FQDN: fqdn,
				IPv4Enabled: true, IPv4Netmask: 24, IPv4HostIdentifier: netip.MustParseAddr("0.0.0.42"),
				IPv6Netmask: 64, IPv6HostIdentifier: netip.MustParseAddr("::42")},
				V4: store.ImportedState{Desired: netip.MustParseAddr(v4), Delivered: netip.MustParseAddr(v4), State: store.SyncDelivered}})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		same, differs = imported("same.example.com", "203.0.113.42"), imported("differs.example.com", "203.0.113.9")
		n1, err1 = f.b.RecordImported(f.ctx, q, h, same)
		n2, err2 = f.b.RecordImported(f.ctx, q, h, differs)
		return nil
	})
	f.expect("imported as the original delivered it", same, n1, err1)
	f.expect("imported with another address", differs, n2, err2, v4("203.0.113.42", store.ReasonImport))
}

func ptr[T any](v T) *T { return &v }

// TestOnlyTheBrokerDesires: no package but the broker (and the store's own
// tests) queues deliveries; the others say what happened through an intent.
func TestOnlyTheBrokerDesires(t *testing.T) {
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		rel, _ := filepath.Rel("..", path)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "broker/") || strings.HasPrefix(rel, "store/") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), ".Desire(") {
			t.Errorf("%s calls Desire; tell the broker what happened instead", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
