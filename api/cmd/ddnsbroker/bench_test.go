package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// measured remembers which benchmarks ran: with -benchtime 1x the testing
// package calls each benchmark function twice, and these run for minutes.
var measured sync.Map

func firstRun(b *testing.B) bool {
	_, again := measured.LoadOrStore(b.Name(), true)
	return !again
}

// loadResult is one run of the load generator.
type loadResult struct {
	rps      float64
	p50, p99 time.Duration
	errors   int
}

// load sends requests from `clients` goroutines for d; next builds request
// number i. Every answer must be 200 with a body starting with want (if set).
func load(clients int, d time.Duration, next func(i int) *http.Request, want func(i int, body string) bool) loadResult {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var counter atomic.Int64
	var errs atomic.Int64
	lat := make([][]time.Duration, clients)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(counter.Add(1) - 1)
				t0 := time.Now()
				resp, err := hc.Do(next(i))
				if err != nil {
					errs.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat[c] = append(lat[c], time.Since(t0))
				if resp.StatusCode != 200 || (want != nil && !want(i, string(b))) {
					errs.Add(1)
				}
			}
		}(c)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	if len(all) == 0 {
		return loadResult{errors: int(errs.Load())}
	}
	return loadResult{rps: float64(len(all)) / elapsed.Seconds(), p50: all[len(all)/2], p99: all[len(all)*99/100], errors: int(errs.Load())}
}

// warmUp sends request(i) for i in [0, n) from `clients` goroutines until
// each is answered 200: the first update of each host pays for one argon2id
// verification, and while many wait for the hash queue some are answered
// 911 (come back later), as routers are after a restart.
func warmUp(b *testing.B, n, clients int, request func(i int) *http.Request) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, clients)
	var failed atomic.Int64
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			// Until a deadline rather than a number of tries: on a busy
			// machine the hash queue keeps answering 911 for minutes.
			for try, deadline := 0, time.Now().Add(10*time.Minute); time.Now().Before(deadline); try++ {
				resp, err := http.DefaultClient.Do(request(i))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 {
						return
					}
				}
				time.Sleep(time.Duration(100*min(try+1, 20)) * time.Millisecond)
			}
			failed.Add(1)
		}(i)
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("warm-up: %d hosts never answered 200", failed.Load())
	}
}

func median(rs []loadResult) loadResult {
	slices.SortFunc(rs, func(a, b loadResult) int { return int(a.rps - b.rps) })
	m := rs[len(rs)/2]
	for _, r := range rs {
		m.errors = max(m.errors, r.errors)
	}
	return m
}

// seedHosts creates n hosts sharing one secret hash, each with `records`
// records at svc, using COPY. The benchmarks' routers report addresses in
// 10/8 and 100.64/10 (there are not enough public test addresses), so the
// hosts publish private addresses (ipv4_private_allowed), as for internal
// DNS: otherwise their records would send nothing.
func seedHosts(b *testing.B, dbURL string, n, records int, svcURL string, hash string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var svc int64
	if err := conn.QueryRow(ctx, `INSERT INTO services (name, protocol, settings) VALUES ('bench', 'dyndns2', $1) RETURNING id`,
		fmt.Sprintf(`{"url": %q}`, svcURL)).Scan(&svc); err != nil {
		b.Fatal(err)
	}
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{fmt.Sprintf("h%05d.bench.example", i), hash, true}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"hosts"}, []string{"fqdn", "secret_hash", "ipv4_private_allowed"}, pgx.CopyFromRows(rows)); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `
		INSERT INTO records (host_id, service_id, fqdn, ipv4_netmask, ipv4_host_identifier, ipv6_enabled)
		SELECT h.id, $1, 'r' || k || '.' || h.fqdn, CASE WHEN k = 1 THEN 32 ELSE 24 END, ('0.0.0.' || k)::inet, false
		FROM hosts h, generate_series(1, $2) k`, svc, records); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO record_states (record_id, family) SELECT id, f FROM records, (VALUES (4), (6)) v(f)`); err != nil {
		b.Fatal(err)
	}
	// As after an import (which analyzes what it wrote) or once autovacuum
	// has seen the tables: the figures are of the steady state.
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkDyndns2Endpoint prints requests/s and latency of the dyndns2
// endpoint (nochg and changed-address paths, 1,000 hosts with 3 records)
// beside a bare Echo handler measured by the same load generator.
func BenchmarkDyndns2Endpoint(b *testing.B) {
	if !firstRun(b) {
		return
	}
	const hosts, clients, runs = 1000, 64, 3
	dur := 3 * time.Second
	dbURL := storetest.NewURL(b)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		goodPerName(w, r)
	}))
	defer upstream.Close()
	hash, err := auth.HashPassword(auth.DefaultParams, "bench-secret")
	if err != nil {
		b.Fatal(err)
	}
	seedHosts(b, dbURL, hosts, 3, upstream.URL+"/nic/update", hash)
	srv := serveProc(b, "server", map[string]string{"DDNSBROKER_DATABASE_URL": dbURL})

	bare := bareServer(b)

	req := func(base string, host int, ip string) *http.Request {
		r, _ := http.NewRequest("GET", fmt.Sprintf("%s/nic/update?hostname=h%05d.bench.example&myip=%s", base, host, ip), nil)
		r.SetBasicAuth(fmt.Sprintf("h%05d.bench.example", host), "bench-secret")
		return r
	}
	nochgIP := func(host int) string { return fmt.Sprintf("10.%d.%d.1", host/256, host%256) }
	// Warm-up: each host's first update verifies argon2id once (then the
	// credential cache answers) and sets the address the nochg run repeats.
	warmUp(b, hosts, clients, func(i int) *http.Request { return req(srv.URL(), i, nochgIP(i)) })
	var bareRuns, nochgRuns, changedRuns []loadResult
	var gen atomic.Int64
	only := os.Getenv("BENCH_ONLY") // bare, nochg or changed: one path (for profiling)
	for r := 0; r < runs && (only == "" || only == "bare"); r++ {
		bareRuns = append(bareRuns, load(clients, dur, func(i int) *http.Request { return req(bare, 0, "192.0.2.1") }, nil))
	}
	for r := 0; r < runs && (only == "" || only == "nochg"); r++ {
		nochgRuns = append(nochgRuns, load(clients, dur, func(i int) *http.Request { return req(srv.URL(), i%hosts, nochgIP(i%hosts)) },
			func(i int, body string) bool { return body == "nochg "+nochgIP(i%hosts)+"\n" }))
	}
	for r := 0; r < runs && (only == "" || only == "changed"); r++ {
		changedRuns = append(changedRuns, load(clients, dur, func(i int) *http.Request {
			g := gen.Add(1)
			return req(srv.URL(), i%hosts, fmt.Sprintf("100.%d.%d.%d", 64+(g>>16)%64, (g>>8)%256, g%256))
		}, func(_ int, body string) bool { return len(body) > 5 && body[:5] == "good " }))
	}
	if only != "" {
		for _, rs := range [][]loadResult{bareRuns, nochgRuns, changedRuns} {
			for _, r := range rs {
				fmt.Printf("%s: %.0f req/s p50 %s p99 %s errors %d\n", only, r.rps, r.p50, r.p99, r.errors)
			}
		}
		if log := srv.log.String(); len(log) > 0 {
			fmt.Println(log[max(0, len(log)-3000):])
		}
		return
	}
	bm, nm, cm := median(bareRuns), median(nochgRuns), median(changedRuns)
	w := os.Stdout
	fmt.Fprintf(w, "\ndyndns2 endpoint: %d hosts × 3 records, %d concurrent clients, %s, %s per run, median of %d runs\n",
		hosts, clients, machine(), dur, runs)
	fmt.Fprintf(w, "%-26s %10s %10s %10s %10s %7s\n", "path", "req/s", "p50", "p99", "vs bare", "errors")
	for _, row := range []struct {
		name string
		r    loadResult
	}{{"bare Echo handler", bm}, {"nochg", nm}, {"changed address (3 rec.)", cm}} {
		fmt.Fprintf(w, "%-26s %10.0f %10s %10s %9.0f%% %7d\n", row.name, row.r.rps, row.r.p50.Round(10*time.Microsecond),
			row.r.p99.Round(10*time.Microsecond), 100*row.r.rps/bm.rps, row.r.errors)
	}
	met := nm.rps >= bm.rps/2 && nm.p99 < 10*time.Millisecond
	fmt.Fprintf(w, "target: nochg ≥ 50%% of bare, p99 < 10ms: %s (nochg/bare = %.2f)\n\n", metText(met), nm.rps/bm.rps)
	if nm.errors+cm.errors > 0 {
		log := srv.log.String()
		b.Errorf("%d requests failed; server log tail:\n%s", nm.errors+cm.errors, log[max(0, len(log)-3000):])
	}
	st, _ := store.Open(context.Background(), dbURL)
	defer st.Close()
	q, _ := st.Queue(context.Background())
	fmt.Fprintf(w, "outbox after the runs: %d pending, %d running\n", q.Pending, q.Running)
}

func metText(met bool) string {
	if met {
		return "met"
	}
	return "NOT met"
}
