package store_test

import (
	"context"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// Migration 17 keeps every existing account an admin and gives existing
// hosts, services and webhooks, and the events about them, to the first
// admin; an account made with a role has it.
func TestOwnershipMigrationKeepsAdmins(t *testing.T) {
	ctx := context.Background()
	u := storetest.NewEmptyURL(t)
	m, err := store.NewMigrator(u)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	v, _, err := m.Version()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Down(int(v) - 16); err != nil { // the schema before owners (17)
		t.Fatal(err)
	}
	st, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	exec := func(sql string) {
		t.Helper()
		if _, err := st.Pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO users (username, password_hash) VALUES ('first', 'x'), ('second', 'x')`)
	exec(`INSERT INTO hosts (fqdn, secret_hash) VALUES ('old.example.net', 'x')`)
	exec(`INSERT INTO services (name, protocol) VALUES ('old', 'dyndns2')`)
	exec(`INSERT INTO events (kind, host_id, message) SELECT 'host.created', id, 'old' FROM hosts`)
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	var admins, users, hostOwner, svcOwner, eventOwner, first int64
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE role = 'admin'), count(*) FILTER (WHERE role = 'user'),
			(SELECT owner_id FROM hosts), (SELECT owner_id FROM services), (SELECT owner_id FROM events), min(id)
		FROM users`).Scan(&admins, &users, &hostOwner, &svcOwner, &eventOwner, &first); err != nil {
		t.Fatal(err)
	}
	if admins != 2 || users != 0 {
		t.Errorf("after the migration: %d admins and %d users, want 2 and 0", admins, users)
	}
	if hostOwner != first || svcOwner != first || eventOwner != first {
		t.Errorf("owners host %d, service %d, event %d; want the first admin %d", hostOwner, svcOwner, eventOwner, first)
	}
	if u, err := st.CreateAccount(ctx, "third", "x", store.RoleUser); err != nil || u.Role != store.RoleUser {
		t.Errorf("CreateAccount as a user: %+v %v", u, err)
	}
	// The API's first admin (and the command line's) is an admin.
	a, err := st.CreateUser(ctx, "cli", "x")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.User(ctx, a.ID); err != nil || got.Role != store.RoleAdmin {
		t.Errorf("CreateUser made %+v (%v), want an admin", got, err)
	}
}

// Queries made As a user see only that user's rows; the zero Access sees
// nothing.
func TestAccessFiltersInSQL(t *testing.T) {
	ctx := context.Background()
	st := storetest.New(t)
	a, _ := st.CreateUser(ctx, "a", "x")
	b, _ := st.CreateUser(ctx, "b", "x")
	ha, err := st.CreateHost(ctx, store.NewHost{FQDN: "a.example.net", SecretHash: "x", OwnerID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateHost(ctx, store.NewHost{FQDN: "b.example.net", SecretHash: "x", OwnerID: b.ID}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		access store.Access
		want   int
	}{
		{"admin", store.Access{All: true}, 2},
		{"owner a", store.Access{Owner: a.ID}, 1},
		{"a's token for b's host", store.Access{Owner: a.ID, Hosts: []int64{ha.ID + 1}}, 0},
		{"nobody", store.Access{}, 0},
	} {
		hosts, err := st.As(c.access, store.Actor{}).HostsPage(ctx, store.HostPage{Limit: 10})
		if err != nil || len(hosts) != c.want {
			t.Errorf("%s sees %d hosts (%v), want %d", c.name, len(hosts), err, c.want)
		}
	}
	if _, err := st.As(store.Access{Owner: b.ID}, store.Actor{}).Host(ctx, ha.ID); err == nil {
		t.Errorf("b reads a's host")
	}
	sql, args := st.As(store.Access{Owner: a.ID, Hosts: []int64{ha.ID}}, store.Actor{}).EventFilter("e", 3)
	if sql != "e.owner_id = $3 AND (e.host_id = ANY($4) OR e.record_id IN (SELECT id FROM records WHERE host_id = ANY($5)))" || len(args) != 3 {
		t.Errorf("EventFilter: %s %v", sql, args)
	}
}
