package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// BenchmarkScale seeds 100,000 hosts and 300,000 records, then measures the
// nochg path beside the same at 1,000 hosts (target: within 2×), the API's
// record listings filtered by host and by status (target p99 < 50 ms), and
// the server's memory (target RSS < 200 MB). The server is the real binary
// in its own process, so its RSS is its own.
func BenchmarkScale(b *testing.B) {
	if !firstRun(b) {
		return
	}
	const clients, runs, active = 64, 3, 1000
	dur := 3 * time.Second
	bin := buildServer(b)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		goodPerName(w, r)
	}))
	defer up.Close()
	hash, err := auth.HashPassword(auth.DefaultParams, "bench-secret")
	if err != nil {
		b.Fatal(err)
	}
	type outcome struct {
		seed      time.Duration
		nochg     loadResult
		byHost    loadResult
		byStatus  loadResult // 3,000 of 300,000 records: the 1,000 active hosts'
		byIdle    loadResult // the other 297,000
		rss, peak int64
	}
	measure := func(hosts int, withAPI bool) outcome {
		var o outcome
		dbURL := storetest.NewURL(b)
		t0 := time.Now()
		seedHosts(b, dbURL, hosts, 3, up.URL+"/nic/update", hash)
		o.seed = time.Since(t0)
		p := newProc(b, bin, fmt.Sprintf("scale-%d", hosts), map[string]string{"DDNSBROKER_DATABASE_URL": dbURL})
		p.start()
		defer p.kill()
		// The same 1,000 routers are active in both databases, spread over
		// all of them: the difference is the size of the tables.
		host := func(i int) int { return (i % active) * (hosts / active) }
		ip := func(h int) string { return fmt.Sprintf("10.%d.%d.1", h/65536, (h/256)%256) }
		req := func(h int) *http.Request {
			r, _ := http.NewRequest("GET", fmt.Sprintf("%s/nic/update?myip=%s", p.URL(), ip(h)), nil)
			r.SetBasicAuth(fmt.Sprintf("h%05d.bench.example", h), "bench-secret")
			return r
		}
		warmUp(b, active, clients, func(i int) *http.Request { return req(host(i)) })
		var rs []loadResult
		for r := 0; r < runs; r++ {
			rs = append(rs, load(clients, dur, func(i int) *http.Request { return req(host(i)) },
				func(i int, body string) bool { return body == "nochg "+ip(host(i))+"\n" }))
		}
		o.nochg = median(rs)
		if withAPI {
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
			api := func(path string) *http.Request {
				r, _ := http.NewRequest("GET", p.URL()+path, nil)
				r.Header.Set("Authorization", "Bearer "+login.AccessToken)
				return r
			}
			rnd := rand.New(rand.NewPCG(1, 2))
			var mu sync.Mutex
			pick := func() int { mu.Lock(); defer mu.Unlock(); return rnd.IntN(hosts) + 1 }
			ok := func(_ int, body string) bool { return len(body) > 0 && body[0] == '{' }
			list := func(path func() string) loadResult {
				var rs []loadResult
				for r := 0; r < runs; r++ {
					rs = append(rs, load(8, dur, func(int) *http.Request { return api(path()) }, ok))
				}
				return median(rs)
			}
			o.byHost = list(func() string { return fmt.Sprintf("/api/v1/records?host_id=%d&limit=50", pick()) })
			o.byStatus = list(func() string { return "/api/v1/records?status=delivered&limit=50" })
			o.byIdle = list(func() string { return "/api/v1/records?status=idle&limit=50" })
		}
		o.rss, o.peak = p.memory()
		return o
	}
	small := measure(1000, false)
	large := measure(100_000, true)
	mb := func(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/1e6) }
	fmt.Printf("\nscale: 100,000 hosts × 3 records (seeded with COPY in %s) vs 1,000 hosts; %d active routers, %d clients, %s; median of %d runs of %s\n",
		large.seed.Round(100*time.Millisecond), active, clients, machine(), runs, dur)
	fmt.Printf("%-44s %10s %10s %10s %10s\n", "", "req/s", "p50", "p99", "target")
	row := func(name string, r loadResult, target string) {
		fmt.Printf("%-44s %10.0f %10s %10s %10s\n", name, r.rps, r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), target)
	}
	row("nochg, 1,000 hosts", small.nochg, "")
	row("nochg, 100,000 hosts", large.nochg, fmt.Sprintf("≥ %.0f/s", small.nochg.rps/2))
	fmt.Printf("%-44s %10.2f %21s %10s: %s\n", "nochg 100,000 / 1,000 hosts", large.nochg.rps/small.nochg.rps, "", "≥ 0.50",
		metText(large.nochg.rps >= small.nochg.rps/2))
	row("GET /api/v1/records?host_id=… (8 clients)", large.byHost, "p99 < 50ms")
	row("GET /api/v1/records?status=delivered (1 %)", large.byStatus, "p99 < 50ms")
	row("GET /api/v1/records?status=idle (99 %)", large.byIdle, "p99 < 50ms")
	fmt.Printf("%-44s %10s %10s\n", "server RSS after the runs (peak)", mb(large.rss), "("+mb(large.peak)+")")
	fmt.Printf("%-44s %10s: %s\n\n", "target", "< 200 MB", metText(large.peak < 200e6))
	if n := large.nochg.errors + large.byHost.errors + large.byStatus.errors + large.byIdle.errors + small.nochg.errors; n > 0 {
		b.Errorf("%d requests failed", n)
	}
}
