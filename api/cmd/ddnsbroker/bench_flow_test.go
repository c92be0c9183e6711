package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/delivery"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// machine describes where a benchmark ran, for its table.
func machine() string {
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if m := regexp.MustCompile(`MemTotal:\s+(\d+) kB`).FindSubmatch(b); m != nil {
			kb, _ := strconv.Atoi(string(m[1]))
			mem = fmt.Sprintf("%.0f GiB", float64(kb)/1024/1024)
		}
	}
	return fmt.Sprintf("%d cores, %s RAM, server in its own process, load generator on the same machine", runtime.NumCPU(), mem)
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkFanOut: one host with 50 records at an upstream that answers
// after 200 ms. Time from the router's request to its answer, and to the 50th
// delivery. Targets: answer < 20 ms, all 50 delivered < 600 ms.
func BenchmarkFanOut(b *testing.B) {
	if !firstRun(b) {
		return
	}
	const records, delay, runs = 50, 200 * time.Millisecond, 3
	dbURL := storetest.NewURL(b)
	var mu sync.Mutex
	done := map[string][]time.Time{} // address → completion times
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		ip, names := r.URL.Query().Get("myip"), strings.Split(r.URL.Query().Get("hostname"), ",")
		mu.Lock()
		for range names {
			done[ip] = append(done[ip], time.Now())
		}
		mu.Unlock()
		fmt.Fprint(w, strings.Repeat("good "+ip+"\n", len(names)))
	}))
	defer up.Close()
	var specs []recordSpec
	for i := 0; i < records; i++ {
		specs = append(specs, recordSpec{fmt.Sprintf("r%02d.fan.example", i), 32, "0.0.0.0", -1, "::", ""})
	}
	seed(b, dbURL, up.URL, "router.fan.example", "fan-secret", specs...)
	srv := serveProc(b, "server", map[string]string{"DDNSBROKER_DATABASE_URL": dbURL})
	send := func(ip string) (time.Duration, string) {
		req, _ := http.NewRequest("GET", srv.URL()+"/nic/update?myip="+ip, nil)
		req.SetBasicAuth("router.fan.example", "fan-secret")
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return time.Since(t0), string(body)
	}
	send("192.0.2.250") // warms the credential cache and the pool
	waitUntil(b, "warm-up deliveries", 30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(done["192.0.2.250"]) == records })
	var answers, all []time.Duration
	for r := 0; r < runs; r++ {
		ip := fmt.Sprintf("198.51.100.%d", r+1)
		start := time.Now()
		answer, body := send(ip)
		if !strings.HasPrefix(body, "good ") {
			b.Fatalf("answer %q", body)
		}
		waitUntil(b, "50 deliveries", 30*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(done[ip]) == records })
		mu.Lock()
		last := slices.MaxFunc(done[ip], func(a, b time.Time) int { return a.Compare(b) })
		mu.Unlock()
		answers = append(answers, answer)
		all = append(all, last.Sub(start))
	}
	fmt.Printf("\nfan-out: 1 host × %d records, upstream answers after %s, %s; median of %d runs\n", records, delay, machine(), runs)
	fmt.Printf("%-34s %10s %10s\n", "", "measured", "target")
	fmt.Printf("%-34s %10s %10s   runs %v\n", "router answered", medianDuration(answers).Round(100*time.Microsecond), "< 20ms", roundDurations(answers))
	fmt.Printf("%-34s %10s %10s   runs %v\n\n", "50th delivery completed", medianDuration(all).Round(time.Millisecond), "< 600ms", roundDurations(all))
}

func roundDurations(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(100 * time.Microsecond)
	}
	return out
}

// pgbenchTPS measures the cluster's commit rate with pgbench -N (simple
// updates, no branch contention) in a scratch database: the ceiling beside
// which the broker's changed-address throughput is read.
func pgbenchTPS(b *testing.B, base string) float64 {
	bin := ""
	for _, p := range []string{"pgbench"} {
		if path, err := exec.LookPath(p); err == nil {
			bin = path
		}
	}
	if bin == "" {
		matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
		if len(matches) == 0 {
			b.Fatal("pgbench not found (it comes with the postgresql package)")
		}
		bin = matches[len(matches)-1]
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS pgbench_ceiling")
	if _, err := conn.Exec(ctx, "CREATE DATABASE pgbench_ceiling"); err != nil {
		b.Fatal(err)
	}
	conn.Close(ctx)
	u := strings.Replace(base, "/ddnsbroker?", "/pgbench_ceiling?", 1)
	if out, err := exec.Command(bin, "-i", "-q", "-s", "4", u).CombinedOutput(); err != nil {
		b.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-N", "-c", "16", "-j", "2", "-T", "10", u).CombinedOutput()
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("no tps in pgbench output:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	return tps
}

// BenchmarkChangedThroughput: 1,000 hosts × 5 records, every request a new
// address, a fast upstream: updates/s accepted, deliveries/s completed, time
// to drain the queue, beside the PostgreSQL commit rate of the same cluster
// (pgbench -N) and the ratio of the two; target ≥ 0.5.
func BenchmarkChangedThroughput(b *testing.B) {
	if !firstRun(b) {
		return
	}
	const hosts, perHost, clients, runs = 1000, 5, 64, 3
	const updates = 3000
	dbURL := storetest.NewURL(b)
	var delivered atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		delivered.Add(int64(len(strings.Split(r.URL.Query().Get("hostname"), ","))))
		goodPerName(w, r)
	}))
	defer up.Close()
	hash, err := auth.HashPassword(auth.DefaultParams, "bench-secret")
	if err != nil {
		b.Fatal(err)
	}
	seedHosts(b, dbURL, hosts, perHost, up.URL+"/nic/update", hash)
	srv := serveProc(b, "server", map[string]string{"DDNSBROKER_DATABASE_URL": dbURL})
	defer func() {
		n, sample := 0, ""
		for _, l := range strings.Split(srv.log.String(), "\n") {
			if strings.Contains(l, "delivery not done") || strings.Contains(l, "failed") {
				n++
				if sample == "" {
					sample = l
				}
			}
		}
		fmt.Printf("server warnings about deliveries: %d %s\n", n, sample)
	}()
	req := func(host int, ip string) *http.Request {
		r, _ := http.NewRequest("GET", fmt.Sprintf("%s/nic/update?myip=%s", srv.URL(), ip), nil)
		r.SetBasicAuth(fmt.Sprintf("h%05d.bench.example", host), "bench-secret")
		return r
	}
	// Warm the credential cache: one argon2id verification per host.
	warmUp(b, hosts, clients, func(i int) *http.Request { return req(i, fmt.Sprintf("10.0.%d.%d", i/256, i%256)) })
	deadline := time.Now().Add(120 * time.Second)
	for delivered.Load() < hosts*perHost {
		if time.Now().After(deadline) {
			var states string
			c, _ := pgx.Connect(context.Background(), dbURL)
			rows, _ := c.Query(context.Background(), `SELECT state || ':' || count(*) FROM record_states GROUP BY state`)
			for rows.Next() {
				var s string
				_ = rows.Scan(&s)
				states += s + " "
			}
			rows.Close()
			b.Fatalf("warm-up: %d of %d deliveries; record states: %s", delivered.Load(), hosts*perHost, states)
		}
		time.Sleep(50 * time.Millisecond)
	}

	type result struct {
		accepted, deliveries float64
		drain                time.Duration
		sent                 int64
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 30 * time.Second}
	pool, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close(context.Background())
	var results []result
	for r := 0; r < runs; r++ {
		base := delivered.Load()
		var next atomic.Int64
		start := time.Now()
		var cwg sync.WaitGroup
		var failures atomic.Int64
		for c := 0; c < clients; c++ {
			cwg.Add(1)
			go func() {
				defer cwg.Done()
				for {
					i := next.Add(1) - 1
					if i >= updates {
						return
					}
					ip := fmt.Sprintf("100.%d.%d.%d", 64+r, (i>>8)%256, i%256)
					resp, err := hc.Do(req(int(i)%hosts, ip))
					if err != nil {
						failures.Add(1)
						continue
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if !strings.HasPrefix(string(body), "good ") {
						failures.Add(1)
					}
				}
			}()
		}
		cwg.Wait()
		acceptedIn := time.Since(start)
		// A newer address of a host supersedes its older one that is still
		// queued, so the queue drains with fewer sends than updates × 3.
		waitUntil(b, "queue drained", 10*time.Minute, func() bool {
			var open int
			err := pool.QueryRow(context.Background(), `SELECT count(*) FROM deliveries WHERE state IN ('pending', 'running')`).Scan(&open)
			return err == nil && open == 0
		})
		total := time.Since(start)
		if failures.Load() > 0 {
			b.Errorf("%d updates failed", failures.Load())
		}
		sent := delivered.Load() - base
		results = append(results, result{accepted: updates / acceptedIn.Seconds(),
			deliveries: float64(sent) / total.Seconds(), drain: total - acceptedIn, sent: sent})
	}
	slices.SortFunc(results, func(a, b result) int { return int(a.accepted - b.accepted) })
	m := results[len(results)/2]
	tps := pgbenchTPS(b, storetest.URL(b))
	fmt.Printf("\nchanged-address throughput: %d hosts × %d records, %d updates per run, %d clients, %s; median of %d runs\n",
		hosts, perHost, updates, clients, machine(), runs)
	fmt.Printf("%-40s %10.0f /s\n", "updates accepted (answered good)", m.accepted)
	fmt.Printf("%-40s %10.0f /s   (%d sent; older queued addresses are superseded)\n", "deliveries completed", m.deliveries, m.sent)
	fmt.Printf("%-40s %10s\n", "queue drained after the last answer", m.drain.Round(time.Millisecond))
	fmt.Printf("%-40s %10.0f /s   (pgbench -N -c 16, same cluster)\n", "PostgreSQL commit rate, the ceiling", tps)
	fmt.Printf("%-40s %10.2f     target ≥ 0.50: %s\n\n", "updates accepted / pgbench", m.accepted/tps, metText(m.accepted >= tps/2))
}

// BenchmarkFanOutWide: one router's update fanning out to 1,000 records at
// one service whose upstream takes 200 ms per request, with the default
// workers and per-service concurrency. Time from the update to the last
// delivery, the requests the upstream got (the records share a login and an
// address, so up to 20 names go in one, hostname=a,b,c) and the most it saw
// at once (never more than the per-service limit). Target: all delivered
// < 2 s.
func BenchmarkFanOutWide(b *testing.B) {
	if !firstRun(b) {
		return
	}
	const records, delay = 1000, 200 * time.Millisecond
	dbURL := storetest.NewURL(b)
	var mu sync.Mutex
	done := map[string]int{}     // address → names updated to it
	requests := map[string]int{} // address → requests that carried it
	var inFlight, most atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(delay)
		inFlight.Add(-1)
		ip, names := r.URL.Query().Get("myip"), strings.Split(r.URL.Query().Get("hostname"), ",")
		mu.Lock()
		done[ip] += len(names)
		requests[ip]++
		mu.Unlock()
		fmt.Fprint(w, strings.Repeat("good "+ip+"\n", len(names)))
	}))
	defer up.Close()
	var specs []recordSpec
	for i := 0; i < records; i++ {
		specs = append(specs, recordSpec{fmt.Sprintf("r%04d.wide.example", i), 32, "0.0.0.0", -1, "::", ""})
	}
	seed(b, dbURL, up.URL, "router.wide.example", "wide-secret", specs...)
	srv := serveProc(b, "server", map[string]string{"DDNSBROKER_DATABASE_URL": dbURL,
		"DDNSBROKER_MAX_RECORDS_PER_HOST": fmt.Sprint(records)})
	send := func(ip string) string {
		req, _ := http.NewRequest("GET", srv.URL()+"/nic/update?myip="+ip, nil)
		req.SetBasicAuth("router.wide.example", "wide-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(body)
	}
	delivered := func(ip string) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return done[ip] == records }
	}
	send("192.0.2.250") // the credential cache, the pool, the first round of deliveries
	waitUntil(b, "warm-up deliveries", 5*time.Minute, delivered("192.0.2.250"))
	most.Store(0)
	start := time.Now()
	if body := send("198.51.100.1"); !strings.HasPrefix(body, "good ") {
		b.Fatalf("answer %q", body)
	}
	waitUntil(b, "1,000 deliveries", 5*time.Minute, delivered("198.51.100.1"))
	all := time.Since(start)
	limit := delivery.DefaultConfig().PerService
	fmt.Printf("\nwide fan-out: 1 host × %d records at one service, upstream answers after %s, default workers and per-service limit; %s\n",
		records, delay, machine())
	fmt.Printf("%-44s %10s %10s\n", "", "measured", "target")
	fmt.Printf("%-44s %10s %10s: %s\n", "all delivered after the update", all.Round(time.Millisecond), "< 2s", metText(all < 2*time.Second))
	mu.Lock()
	made := requests["198.51.100.1"]
	mu.Unlock()
	fmt.Printf("%-44s %10d\n", "requests made (up to 20 names each)", made)
	fmt.Printf("%-44s %10d %10s: %s\n", "most requests at the upstream at once", most.Load(), fmt.Sprintf("≤ %d", limit),
		metText(most.Load() <= int64(limit)))
	fmt.Printf("%-44s %10s\n\n", "floor at that limit (records × delay / (20 × limit))",
		(time.Duration((records+20*limit-1)/(20*limit)) * delay).Round(time.Millisecond))
	if most.Load() > int64(limit) {
		b.Errorf("the upstream saw %d requests at once, the per-service limit is %d", most.Load(), limit)
	}
}
