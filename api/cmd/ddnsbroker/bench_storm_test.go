package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// stormResult is one restart storm: every router sends one update.
type stormResult struct {
	all, p50, p99 time.Duration
	answered      int // good or nochg
	e911, other   int
	odd           []string // the first few other answers
}

// storm sends request(i) once for each of n routers, `clients` at a time,
// as routers do when a server comes back: each its own first update.
func storm(n, clients int, request func(i int) *http.Request) stormResult {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var next atomic.Int64
	var mu sync.Mutex
	var r stormResult
	var lat []time.Duration
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				resp, err := hc.Do(request(i))
				var body string
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					body = string(b)
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				switch {
				case err == nil && resp.StatusCode == 200 && (strings.HasPrefix(body, "good ") || strings.HasPrefix(body, "nochg ")):
					r.answered++
				case err == nil && strings.HasPrefix(body, "911"):
					r.e911++
				default:
					r.other++
					if len(r.odd) < 5 {
						r.odd = append(r.odd, fmt.Sprintf("%v %q", err, body))
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.all = time.Since(start)
	slices.Sort(lat)
	r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	return r
}

// BenchmarkRestartStorm: 2,000 distinct routers, 64 at a time, each sending
// its first update to a server that has just started, so that none of
// their secrets is in its credential cache. First on a database where no
// secret verifier is stored yet (every router costs an argon2id
// verification: how the broker behaved before the verifiers, and still does
// once after the upgrade), then, after a restart, with the verifiers the
// first round stored. Targets: all answered within 10 s, p99 < 3 s, 0 × 911.
func BenchmarkRestartStorm(b *testing.B) {
	if !firstRun(b) {
		return
	}
	const routers, clients = 2000, 64
	dbURL := storetest.NewURL(b)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		goodPerName(w, r)
	}))
	defer up.Close()
	hash, err := auth.HashPassword(auth.DefaultParams, "bench-secret")
	if err != nil {
		b.Fatal(err)
	}
	seedHosts(b, dbURL, routers, 1, up.URL+"/nic/update", hash)
	// Each router reports the address it had before the restart (nochg):
	// what is measured is getting through authentication.
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(), `UPDATE hosts SET ipv4 = ('10.' || (n / 256) || '.' || (n % 256) || '.1')::inet
		FROM (SELECT id, substring(fqdn from 2 for 5)::int AS n FROM hosts) h WHERE h.id = hosts.id`); err != nil {
		b.Fatal(err)
	}
	conn.Close(context.Background())
	p := newProc(b, buildServer(b), "storm", map[string]string{"DDNSBROKER_DATABASE_URL": dbURL})
	ip := func(i int) string { return fmt.Sprintf("10.%d.%d.1", i/256, i%256) }
	req := func(i int) *http.Request {
		r, _ := http.NewRequest("GET", fmt.Sprintf("%s/nic/update?myip=%s", p.URL(), ip(i)), nil)
		r.SetBasicAuth(fmt.Sprintf("h%05d.bench.example", i), "bench-secret")
		return r
	}
	p.start()
	cold := storm(routers, clients, req)
	fmt.Printf("no verifier stored: all in %s, p99 %s, %d × 911\n", cold.all.Round(10*time.Millisecond), cold.p99.Round(time.Millisecond), cold.e911)
	// Until each router has updated once (and so has its verifier stored),
	// those answered 911 come back, as routers do.
	for deadline := time.Now().Add(20 * time.Minute); ; {
		r := storm(routers, clients, req)
		if r.answered == routers {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("after 20 minutes %d routers are still answered 911 or worse: %q", routers-r.answered, r.odd)
		}
	}
	p.signal(syscall.SIGTERM)
	p.start()
	warm := storm(routers, clients, req)
	_, peak := p.memory()

	fmt.Printf("\nrestart storm: %d distinct routers, %d at a time, each one update right after the server started; argon2id m=%d KiB t=%d; %s\n",
		routers, clients, auth.DefaultParams.Memory, auth.DefaultParams.Time, machine())
	fmt.Printf("%-40s %10s %12s %10s %10s %6s %6s\n", "", "all in", "per second", "p50", "p99", "911", "other")
	row := func(name string, r stormResult) {
		fmt.Printf("%-40s %10s %12.0f %10s %10s %6d %6d\n", name, r.all.Round(10*time.Millisecond), float64(routers)/r.all.Seconds(),
			r.p50.Round(100*time.Microsecond), r.p99.Round(100*time.Microsecond), r.e911, r.other)
	}
	row("no verifier stored (argon2id each)", cold)
	row("after a restart (verifiers stored)", warm)
	fmt.Printf("%-40s %10s %12s %10s %10s %6s\n", "target", "< 10s", "≥ 200", "", "< 3s", "0")
	met := warm.all < 10*time.Second && warm.p99 < 3*time.Second && warm.e911 == 0 && warm.other == 0
	fmt.Printf("after a restart: %s (×%.1f the rate without verifiers); server RSS peak %.0f MB\n\n",
		metText(met), cold.all.Seconds()/warm.all.Seconds(), float64(peak)/1e6)
	if warm.other+cold.other > 0 {
		b.Errorf("%d answers neither good, nochg nor 911 (%q, %q); server log tail:\n%s", warm.other+cold.other, cold.odd, warm.odd,
			tail(p.log.String(), 3000))
	}
}
