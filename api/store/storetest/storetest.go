// Package storetest gives each test its own freshly migrated database on the
// real PostgreSQL named by DDNSBROKER_TEST_DATABASE_URL (make test starts
// one). Tests that need a database fail, never skip, without it.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/db"
)

// EnvURL names the variable holding the test cluster's URL.
const EnvURL = "DDNSBROKER_TEST_DATABASE_URL"

const template = "ddnsbroker_template"

// URL returns the test cluster's URL or fails the test.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which starts a PostgreSQL for them", EnvURL)
	}
	return u
}

// withDB returns base with its database name replaced.
func withDB(t testing.TB, base, name string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewURL creates an empty, migrated database for this test, dropped when the
// test ends, and returns its URL.
func NewURL(t testing.TB) string {
	t.Helper()
	base := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to test cluster: %v", err)
	}
	defer admin.Close(ctx)
	ensureTemplate(t, ctx, admin, base)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	// CREATE DATABASE … TEMPLATE needs the template to be idle; other test
	// processes may be copying it too, so retry briefly.
	for i := 0; ; i++ {
		_, err = admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template)
		if err == nil || i == 50 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return withDB(t, base, name)
}

// NewEmptyURL creates an empty database without migrations (for migration tests).
func NewEmptyURL(t testing.TB) string {
	t.Helper()
	base := URL(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to test cluster: %v", err)
	}
	defer admin.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "e_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	return withDB(t, base, name)
}

// New returns a store on a fresh database, closed when the test ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// ensureTemplate migrates the template database once per cluster and binary
// version; an advisory lock serialises the test processes of `go test ./...`.
func ensureTemplate(t testing.TB, ctx context.Context, admin *pgx.Conn, base string) {
	t.Helper()
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(4242)"); err != nil {
		t.Fatalf("lock: %v", err)
	}
	defer admin.Exec(ctx, "SELECT pg_advisory_unlock(4242)") //nolint:errcheck
	want := migrationsHash()
	var have *string
	err := admin.QueryRow(ctx, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", template).Scan(&have)
	switch {
	case err == nil && have != nil && *have == want:
		return
	case err == nil:
		if _, err := admin.Exec(ctx, "DROP DATABASE "+template+" WITH (FORCE)"); err != nil {
			t.Fatalf("drop stale template: %v", err)
		}
	case !errors.Is(err, pgx.ErrNoRows):
		t.Fatalf("look up template: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+template); err != nil {
		t.Fatalf("create template: %v", err)
	}
	m, err := store.NewMigrator(withDB(t, base, template))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Up(); err != nil {
		t.Fatalf("migrate template: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "COMMENT ON DATABASE "+template+" IS '"+want+"'"); err != nil {
		t.Fatal(err)
	}
}

// migrationsHash identifies the embedded migrations' exact content.
func migrationsHash() string {
	h := sha256.New()
	_ = fs.WalkDir(db.Migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(db.Migrations, path)
			fmt.Fprintf(h, "%s %d\n", path, len(b))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

// Execer runs a statement: a pool, a connection or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// SeedRecords adds n dual-stack records of a host at a service, named
// r<k>.<suffix>, and their state rows, straight in the database: for tests
// and benchmarks of hosts with hundreds of records, which the API would
// take long to create (and refuses past its limit).
func SeedRecords(t testing.TB, db Execer, hostID, serviceID int64, suffix string, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Exec(ctx, `
		INSERT INTO records (host_id, service_id, fqdn, ipv4_netmask, ipv4_host_identifier, ipv6_netmask, ipv6_host_identifier)
		SELECT $1, $2, 'r' || k || '.' || $3, 24, ('0.0.0.' || (k % 250 + 1))::inet, 64, ('::' || to_hex(k))::inet
		FROM generate_series(1, $4) k`, hostID, serviceID, suffix, n); err != nil {
		t.Fatalf("seed records: %v", err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO record_states (record_id, family)
		SELECT r.id, f FROM records r, (VALUES (4), (6)) v(f) WHERE r.host_id = $1 ON CONFLICT DO NOTHING`, hostID); err != nil {
		t.Fatalf("seed record states: %v", err)
	}
}
