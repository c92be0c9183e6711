package store_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

func mustHost(t *testing.T, st *store.Store, fqdn string) store.Host {
	t.Helper()
	h, err := st.CreateHost(context.Background(), store.NewHost{FQDN: fqdn, SecretHash: "x", Enabled: true, IPv4Enabled: true, IPv6Enabled: true})
	if err != nil {
		t.Fatalf("create host %s: %v", fqdn, err)
	}
	return h
}

func mustService(t *testing.T, st *store.Store, name string) store.Service {
	t.Helper()
	s, err := st.CreateService(context.Background(), store.NewService{Name: name, Protocol: "dyndns2", Settings: []byte(`{"url":"http://127.0.0.1/nic/update"}`)})
	if err != nil {
		t.Fatalf("create service %s: %v", name, err)
	}
	return s
}

func newRecord(h store.Host, s store.Service, fqdn string) store.NewRecord {
	return store.NewRecord{HostID: h.ID, ServiceID: s.ID, FQDN: fqdn, IPv4Enabled: true, IPv4Netmask: 32,
		IPv4HostIdentifier: netip.MustParseAddr("0.0.0.0"), IPv6Enabled: true, IPv6Netmask: 128, IPv6HostIdentifier: netip.MustParseAddr("::")}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func TestUsersConstraints(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	u, err := st.CreateUser(ctx, "Admin", "hash")
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.CreateUser(ctx, "admin", "hash")
	wantErr(t, "duplicate username in other case", err, store.ErrConflict)
	_, err = st.CreateUser(ctx, "bad name", "hash")
	wantErr(t, "username with a space", err, store.ErrInvalid)
	_, err = st.CreateUser(ctx, "ok", "")
	wantErr(t, "empty hash", err, store.ErrInvalid)
	got, err := st.UserByName(ctx, "ADMIN")
	if err != nil || got.ID != u.ID {
		t.Fatalf("user by name in other case: %v %v", got, err)
	}
	if err := st.SetUserPassword(ctx, 999999, "h", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("set password of a missing user: %v", err)
	}
	if err := st.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = st.User(ctx, u.ID)
	wantErr(t, "deleted user", err, store.ErrNotFound)
	wantErr(t, "delete twice", st.DeleteUser(ctx, u.ID), store.ErrNotFound)
}

func TestHostsConstraints(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	h := mustHost(t, st, "router.example.com")
	_, err := st.CreateHost(ctx, store.NewHost{FQDN: "router.example.com", SecretHash: "x"})
	wantErr(t, "duplicate fqdn", err, store.ErrConflict)
	// The database refuses what the API must never store.
	for _, bad := range []string{"Router.Example.com", "router.example.org.", ""} {
		_, err := st.CreateHost(ctx, store.NewHost{FQDN: bad, SecretHash: "x"})
		wantErr(t, "fqdn "+bad, err, store.ErrInvalid)
	}
	_, err = st.CreateHost(ctx, store.NewHost{FQDN: "v4.example.com", SecretHash: "x", IPv4: netip.MustParseAddr("2001:db8::1")})
	wantErr(t, "IPv6 address as ipv4", err, store.ErrInvalid)
	_, err = st.CreateHost(ctx, store.NewHost{FQDN: "p.example.com", SecretHash: "x", Prefix: netip.MustParsePrefix("192.0.2.0/24")})
	wantErr(t, "IPv4 prefix", err, store.ErrInvalid)
	up := "ROUTER.example.com"
	lower := "router.example.com"
	_ = up
	other := mustHost(t, st, "other.example.com")
	_, err = st.UpdateHost(ctx, other.ID, store.HostPatch{FQDN: &lower})
	wantErr(t, "rename onto a taken fqdn", err, store.ErrConflict)

	a := store.HostAddresses{IPv4: netip.MustParseAddr("198.51.100.7"), Prefix: netip.MustParsePrefix("2001:db8:1:2::/64")}
	if err := st.SetHostAddresses(ctx, h.ID, a); err != nil {
		t.Fatal(err)
	}
	got, err := st.Host(ctx, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.IPv4 != a.IPv4 || got.Prefix != a.Prefix || got.IPv6.IsValid() {
		t.Fatalf("addresses round trip: %v %v %v", got.IPv4, got.IPv6, got.Prefix)
	}
	if got.IPv4ChangedAt == nil || got.IPv6ChangedAt == nil || got.LastSeenAt == nil {
		t.Fatalf("change times not stamped: %+v", got)
	}
	hosts, err := st.HostsPage(ctx, store.HostPage{Search: "ROUT", Limit: 10})
	if err != nil || len(hosts) != 1 || hosts[0].ID != h.ID {
		t.Fatalf("search: %v %v", hosts, err)
	}
	hosts, err = st.HostsPage(ctx, store.HostPage{Search: "%", Limit: 10})
	if err != nil || len(hosts) != 0 {
		t.Fatalf("a %% in the search must match literally: %v %v", hosts, err)
	}
}

func TestServiceAndHostInUseCannotBeDeleted(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	h := mustHost(t, st, "router.example.com")
	s := mustService(t, st, "he.net")
	_, err := st.CreateService(ctx, store.NewService{Name: "HE.NET", Protocol: "dyndns2"})
	wantErr(t, "duplicate service name", err, store.ErrConflict)
	_, err = st.CreateService(ctx, store.NewService{Name: "x", Protocol: "carrier-pigeon"})
	wantErr(t, "unknown protocol", err, store.ErrInvalid)
	r, err := st.CreateRecord(ctx, newRecord(h, s, "www.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if r.V4.State != "idle" || r.V6.State != "idle" {
		t.Fatalf("new record states: %q %q", r.V4.State, r.V6.State)
	}
	var ce *store.ConstraintError
	err = st.DeleteService(ctx, s.ID)
	wantErr(t, "delete used service", err, store.ErrConflict)
	if !errors.As(err, &ce) || ce.Constraint == "" {
		t.Fatalf("conflict does not name its constraint: %v", err)
	}
	wantErr(t, "delete used host", st.DeleteHost(ctx, h.ID), store.ErrConflict)
	if err := st.DeleteRecord(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteService(ctx, s.ID); err != nil {
		t.Fatalf("delete unused service: %v", err)
	}
	if err := st.DeleteHost(ctx, h.ID); err != nil {
		t.Fatalf("delete unused host: %v", err)
	}
}

func TestRecordConstraints(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	h := mustHost(t, st, "router.example.com")
	s := mustService(t, st, "he.net")
	s2 := mustService(t, st, "desec")
	if _, err := st.CreateRecord(ctx, newRecord(h, s, "www.example.com")); err != nil {
		t.Fatal(err)
	}
	_, err := st.CreateRecord(ctx, newRecord(h, s, "www.example.com"))
	wantErr(t, "same name twice at one service", err, store.ErrConflict)
	if _, err := st.CreateRecord(ctx, newRecord(h, s2, "www.example.com")); err != nil {
		t.Fatalf("same name at another service: %v", err)
	}
	cases := map[string]func(*store.NewRecord){
		"ipv4 netmask 33":      func(n *store.NewRecord) { n.IPv4Netmask = 33 },
		"ipv4 netmask -1":      func(n *store.NewRecord) { n.IPv4Netmask = -1 },
		"ipv6 netmask 129":     func(n *store.NewRecord) { n.IPv6Netmask = 129 },
		"ipv6 identifier v4":   func(n *store.NewRecord) { n.IPv6HostIdentifier = netip.MustParseAddr("1.2.3.4") },
		"ipv4 identifier v6":   func(n *store.NewRecord) { n.IPv4HostIdentifier = netip.MustParseAddr("::1") },
		"upper-case fqdn":      func(n *store.NewRecord) { n.FQDN = "WWW2.example.com" },
		"unknown host":         func(n *store.NewRecord) { n.HostID = 999999 },
		"unknown service":      func(n *store.NewRecord) { n.ServiceID = 999999 },
		"password without key": func(n *store.NewRecord) { n.Password = []byte("x") },
	}
	for name, mutate := range cases {
		n := newRecord(h, s, "r-"+name[:4]+".example.com")
		mutate(&n)
		_, err := st.CreateRecord(ctx, n)
		if !errors.Is(err, store.ErrInvalid) && !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: err = %v, want the database to refuse it", name, err)
		}
	}
	bad := 129
	r, err := st.RecordsPage(ctx, store.RecordPage{HostID: h.ID, Limit: 10})
	if err != nil || len(r) != 2 {
		t.Fatalf("records of host: %d %v", len(r), err)
	}
	_, err = st.UpdateRecord(ctx, r[0].ID, store.RecordPatch{IPv6Netmask: &bad})
	wantErr(t, "patch to netmask 129", err, store.ErrInvalid)
	_, err = st.UpdateRecord(ctx, 999999, store.RecordPatch{})
	wantErr(t, "patch missing record", err, store.ErrNotFound)
}

func TestEventsAreListedNewestFirstAndFiltered(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	h := mustHost(t, st, "router.example.com")
	for _, k := range []string{"address.changed", "delivery.delivered", "auth.failed"} {
		if err := st.AddEvent(ctx, store.Event{Kind: store.EventKind(k), HostID: &h.ID, Message: k}); err != nil {
			t.Fatal(err)
		}
	}
	err := st.AddEvent(ctx, store.Event{Kind: "Bad Kind", Message: "x"})
	wantErr(t, "malformed kind", err, store.ErrInvalid)
	all, err := st.EventsPage(ctx, store.EventPage{Limit: 100})
	if err != nil || len(all) != 3 || all[0].Kind != "auth.failed" {
		t.Fatalf("events: %v %v", all, err)
	}
	deliveries, err := st.EventsPage(ctx, store.EventPage{Kind: "delivery.", Limit: 100})
	if err != nil || len(deliveries) != 1 {
		t.Fatalf("kind prefix: %v %v", deliveries, err)
	}
	page, err := st.EventsPage(ctx, store.EventPage{BeforeID: all[0].ID, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != all[1].ID {
		t.Fatalf("paging: %v %v", page, err)
	}
}

func TestMigrationsDownToZeroAndUpAgain(t *testing.T) {
	u := storetest.NewEmptyURL(t)
	m, err := store.NewMigrator(u)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for round := 0; round < 2; round++ {
		if err := m.Up(); err != nil {
			t.Fatalf("up (round %d): %v", round, err)
		}
		v, dirty, err := m.Version()
		if err != nil || dirty || v != store.LatestVersion() {
			t.Fatalf("after up: v=%d dirty=%v err=%v", v, dirty, err)
		}
		if err := m.Down(0); err != nil {
			t.Fatalf("down (round %d): %v", round, err)
		}
		v, _, err = m.Version()
		if err != nil || v != 0 {
			t.Fatalf("after down: v=%d err=%v", v, err)
		}
	}
	st, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := st.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("tables left after down: %d %v", n, err)
	}
}

// A down migration that refuses (migration 3 will not drop protocols still
// in use) changes nothing and leaves the version clean, so the binary keeps
// working and up goes back to the latest.
func TestRefusedMigrationLeavesTheVersionClean(t *testing.T) {
	u := storetest.NewURL(t)
	st, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Pool.Exec(context.Background(),
		`INSERT INTO services (name, protocol, settings) VALUES ('bind', 'rfc2136', '{}')`); err != nil {
		t.Fatal(err)
	}
	m, err := store.NewMigrator(u)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	err = m.Down(0)
	if err == nil || !strings.Contains(err.Error(), "cannot migrate below version 3: services use the protocol(s) rfc2136") {
		t.Fatalf("down: %v", err)
	}
	if v, dirty, err := m.Version(); err != nil || dirty || v != 3 {
		t.Fatalf("after the refused step: version %d dirty %v err %v, want 3 clean", v, dirty, err)
	}
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	if v, dirty, err := m.Version(); err != nil || dirty || v != store.LatestVersion() {
		t.Fatalf("up again: version %d dirty %v err %v", v, dirty, err)
	}
}

// Within makes code written for the pool one transaction: its InTx calls
// are savepoints (a failed one is undone alone), and the whole is kept
// only when fn succeeds.
func TestWithinNestsTransactions(t *testing.T) {
	st := storetest.New(t)
	ctx := context.Background()
	errStop := errors.New("stop")
	hosts := func() int {
		var n int
		if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM hosts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	err := st.Within(ctx, func(tx *store.Store) error {
		mustHost(t, tx, "one.example.net")
		if err := tx.InTx(ctx, func(q *store.Queries) error {
			if _, err := q.CreateHost(ctx, store.NewHost{FQDN: "two.example.net", SecretHash: "x"}); err != nil {
				return err
			}
			return errStop
		}); !errors.Is(err, errStop) {
			t.Fatalf("inner transaction: %v", err)
		}
		// The outer transaction goes on after the savepoint was undone,
		// and the pool does not see its rows yet.
		mustHost(t, tx, "three.example.net")
		if n := hosts(); n != 0 {
			t.Errorf("the pool sees %d hosts of an open transaction", n)
		}
		return errStop
	})
	if !errors.Is(err, errStop) || hosts() != 0 {
		t.Fatalf("a failed Within kept %d hosts (%v)", hosts(), err)
	}
	if err := st.Within(ctx, func(tx *store.Store) error {
		mustHost(t, tx, "one.example.net")
		return tx.InTx(ctx, func(q *store.Queries) error {
			_, err := q.CreateHost(ctx, store.NewHost{FQDN: "two.example.net", SecretHash: "x"})
			return err
		})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.HostByFQDN(ctx, "two.example.net"); err != nil || hosts() != 2 {
		t.Fatalf("after Within: %d hosts (%v)", hosts(), err)
	}
}
