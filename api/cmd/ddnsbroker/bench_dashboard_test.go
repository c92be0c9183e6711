package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// BenchmarkDashboard seeds 100,000 hosts and 300,000 records (1 % of their
// (record, family) pairs in trouble, 2 % of the hosts stale, a day of
// delivery attempts: 300,000 finished jobs and a rollup row per minute),
// then measures GET /api/v1/status, everything the dashboard reads (target
// p99 < 100 ms). For comparison it times the queries that counted the
// tables before the counts were kept as tallies.
func BenchmarkDashboard(b *testing.B) {
	if !firstRun(b) {
		return
	}
	const hosts, runs = 100_000, 3
	dur := 3 * time.Second
	ctx := context.Background()
	hash, err := auth.HashPassword(auth.DefaultParams, "bench-secret")
	if err != nil {
		b.Fatal(err)
	}
	dbURL := storetest.NewURL(b)
	t0 := time.Now()
	// The upstream is never asked: nothing is due while the benchmark runs.
	seedHosts(b, dbURL, hosts, 3, "http://127.0.0.1:9/nic/update", hash)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		`UPDATE record_states SET state = (ARRAY['failed', 'retrying', 'blocked'])[1 + record_id % 3]
			WHERE family = 4 AND record_id % 50 = 0`,
		`UPDATE record_states SET state = 'delivered', desired = '10.0.0.1', delivered = '10.0.0.1'
			WHERE family = 4 AND record_id % 50 <> 0`,
		`UPDATE hosts SET created_at = now() - interval '30 days' WHERE id % 50 = 0`,
		`UPDATE hosts SET last_seen_at = now() WHERE id % 50 <> 0`,
		// A day of finished jobs, and a thousand waiting for tomorrow.
		`INSERT INTO deliveries (record_id, family, address, reason, state, attempts, result, created_at, finished_at)
			SELECT id, 4, '10.0.0.1', 'update', CASE WHEN id % 50 = 0 THEN 'failed' ELSE 'delivered' END, 1, 'good',
				now() - (id % 1440) * interval '1 minute', now() - (id % 1440) * interval '1 minute'
			FROM records`,
		`INSERT INTO deliveries (record_id, family, address, reason, next_attempt_at)
			SELECT id, 4, '10.0.0.2', 'update', now() + interval '1 day' FROM records WHERE id % 300 = 0`,
		`INSERT INTO delivery_minutes (minute, delivered, failed)
			SELECT date_trunc('minute', now()) - m * interval '1 minute', 200, 4 FROM generate_series(0, 1439) m`,
		`VACUUM ANALYZE`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			b.Fatalf("%s: %v", strings.Fields(sql)[0], err)
		}
	}
	seed := time.Since(t0)

	// What the status cost when it counted the tables.
	var counted []time.Duration
	for range 20 {
		t := time.Now()
		for _, sql := range []string{`SELECT count(*) FROM records`, `SELECT state, count(*) FROM record_states GROUP BY 1`,
			`SELECT state, count(*) FROM deliveries GROUP BY 1`} {
			rows, err := conn.Query(ctx, sql)
			if err != nil {
				b.Fatal(err)
			}
			rows.Close()
		}
		counted = append(counted, time.Since(t))
	}
	slices.Sort(counted)

	p := serveProc(b, "dashboard", map[string]string{"DDNSBROKER_DATABASE_URL": dbURL})
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": "admin-password-for-tests"})
	resp, err := http.Post(p.URL()+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if login.AccessToken == "" {
		b.Fatalf("login failed: %s", resp.Status)
	}
	status := func(int) *http.Request {
		r, _ := http.NewRequest("GET", p.URL()+"/api/v1/status", nil)
		r.Header.Set("Authorization", "Bearer "+login.AccessToken)
		return r
	}
	// The figures must be the seeded ones, or the latency means nothing.
	want := `"hosts":{"enabled":100000,"stale":2000,"total":100000}`
	ok := func(_ int, body string) bool {
		return strings.Contains(body, want) && strings.Contains(body, `"total":300000`)
	}
	measure := func(clients int) loadResult {
		var rs []loadResult
		for range runs {
			rs = append(rs, load(clients, dur, status, ok))
		}
		return median(rs)
	}
	one, four := measure(1), measure(4)

	fmt.Printf("\ndashboard: 100,000 hosts, 300,000 records, 300,000 finished deliveries (seeded in %s); %s; median of %d runs of %s\n",
		seed.Round(100*time.Millisecond), machine(), runs, dur)
	fmt.Printf("%-44s %10s %10s %10s %10s\n", "", "req/s", "p50", "p99", "target")
	row := func(name string, r loadResult) {
		fmt.Printf("%-44s %10.0f %10s %10s %10s\n", name, r.rps, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), "p99 < 100ms")
	}
	row("GET /api/v1/status (1 client)", one)
	row("GET /api/v1/status (4 clients)", four)
	fmt.Printf("%-44s %10s %10s %10s\n\n", "counting the tables instead (before)", "", counted[len(counted)/2].Round(10*time.Microsecond),
		counted[len(counted)-1].Round(10*time.Microsecond))
	if n := one.errors + four.errors; n > 0 {
		b.Errorf("%d requests failed or answered other figures than the seeded ones", n)
	}
}
