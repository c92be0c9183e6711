//go:build faults

package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// privateCluster starts a PostgreSQL cluster of this test's own (so that
// stopping it stops nobody else's tests) and returns its URL and a function
// that runs `db/cluster.sh start|stop` on it, returning how long that took.
func startPrivateCluster(t *testing.T) (url, dataDir string, control func(cmd string) time.Duration) {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	// Under /tmp and open to others: as root, the script runs PostgreSQL as
	// the postgres user, which must reach the directory.
	dir, err := os.MkdirTemp("", "ddnsbroker-faults-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	pg := filepath.Join(dir, "pg")
	run := func(cmd string) (string, time.Duration) {
		start := time.Now()
		c := exec.Command(filepath.Join(root, "db", "cluster.sh"), cmd, pg)
		c.Env = append(os.Environ(), "PG_FSYNC=off")
		out, err := c.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("db/cluster.sh %s: %v\n%s", cmd, err, stderr)
		}
		return strings.TrimSpace(string(out)), time.Since(start)
	}
	t.Cleanup(func() {
		c := exec.Command(filepath.Join(root, "db", "cluster.sh"), "stop", pg)
		_ = c.Run()
		_ = os.RemoveAll(dir)
	})
	url, took := run("start")
	t.Logf("private PostgreSQL cluster started in %s", took.Round(100*time.Millisecond))
	return url, filepath.Join(pg, "data"), func(cmd string) time.Duration { _, d := run(cmd); return d }
}

// freezeCluster stops (SIGSTOP) or resumes (SIGCONT) every process of the
// private cluster in dataDir: the postmaster and its children. A frozen
// database accepts TCP connections and answers nothing, as across a network
// partition.
func freezeCluster(t *testing.T, dataDir string, sig syscall.Signal) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	postmaster, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatal(err)
	}
	pids := []int{postmaster}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if ppid, _ := strconv.Atoi(f[1]); ppid == postmaster {
			pids = append(pids, pid)
		}
	}
	if sig == syscall.SIGSTOP {
		slices.Reverse(pids) // children first, so that none is forked meanwhile
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Errorf("signal %d: %v", pid, err)
		}
	}
}

// probe is one health or API request made during the outage test.
type probe struct {
	what       string
	start, end time.Time
	status     int
	ctype      string
	body       string
	err        error
}

// TestFaultDatabaseOutage: PostgreSQL is stopped for 20 s while routers
// update (and, in a second run, frozen for 20 s: it accepts connections and
// answers nothing, as across a network partition). Meanwhile dyndns2 answers
// 911 with HTTP 503 within 5 s (no hang, no panic), /readyz and the JSON API
// answer 503; after the database is back, updates succeed again within 5 s
// without a restart, and nothing that was acknowledged is lost.
func TestFaultDatabaseOutage(t *testing.T) {
	t.Run("stopped", func(t *testing.T) { databaseOutage(t, false) })
	t.Run("frozen", func(t *testing.T) { databaseOutage(t, true) })
}

func databaseOutage(t *testing.T, frozen bool) {
	const (
		hosts    = 200
		clients  = 8
		outage   = 20 * time.Second
		maxHang  = 5 * time.Second
		recovery = 5 * time.Second
	)
	dbURL, dataDir, cluster := startPrivateCluster(t)
	up := newFaultUpstream(t, slowGood(10*time.Millisecond, 40*time.Millisecond))
	srv := newProc(t, buildServer(t), "server", map[string]string{"DDNSBROKER_DATABASE_URL": dbURL,
		"DDNSBROKER_LEASE": "3s", "DDNSBROKER_RETRY_BASE": "200ms", "DDNSBROKER_RETRY_MAX": "2s"})
	srv.start() // migrates the new database
	f := seedFleet(t, dbURL, up.URL, hosts, "outage.example")
	token := apiLogin(t, srv.URL(), "admin", "admin-password-for-tests")
	if token == "" {
		t.Fatal("cannot log in to the JSON API")
	}

	// Probes of /readyz and /api/v1/status every 250 ms, each on its own.
	var probes []probe
	var pmu sync.Mutex
	stopProbes := make(chan struct{})
	var probing sync.WaitGroup
	for _, what := range []string{"/readyz", "/api/v1/status"} {
		probing.Add(1)
		go func() {
			defer probing.Done()
			hc := &http.Client{Timeout: 30 * time.Second}
			for {
				req, _ := http.NewRequest("GET", srv.URL()+what, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				p := probe{what: what, start: time.Now()}
				resp, err := hc.Do(req)
				p.end, p.err = time.Now(), err
				if err == nil {
					p.status, p.ctype, p.body = resp.StatusCode, resp.Header.Get("Content-Type"), readAll(resp.Body)
					resp.Body.Close()
				}
				pmu.Lock()
				probes = append(probes, p)
				pmu.Unlock()
				select {
				case <-stopProbes:
					return
				case <-time.After(250 * time.Millisecond):
				}
			}
		}()
	}

	// The outage, 15 s into the load.
	start := time.Now()
	var stopBegin, stopEnd, startBegin, startEnd time.Time
	var stopTook, startTook time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(time.Until(start.Add(15 * time.Second)))
		stopBegin = time.Now()
		if frozen {
			freezeCluster(t, dataDir, syscall.SIGSTOP)
		} else {
			stopTook = cluster("stop")
		}
		stopEnd = time.Now()
		time.Sleep(time.Until(stopEnd.Add(outage)))
		startBegin = time.Now()
		if frozen {
			freezeCluster(t, dataDir, syscall.SIGCONT)
		} else {
			startTook = cluster("start")
		}
		startEnd = time.Now()
	}()
	l := runFleet(f, loadSpec{urls: []string{srv.URL()}, clients: clients, hot: 4, hotPause: 100 * time.Millisecond,
		until: start.Add(70 * time.Second), grace: 60 * time.Second, pause: 250 * time.Millisecond, every: 100 * time.Millisecond})
	<-done
	close(stopProbes)
	probing.Wait()
	drain := waitOutboxEmpty(t, dbURL, 2*time.Minute)
	time.Sleep(time.Second)

	// Every answer came within 5 s; during the outage each was 911 with 503.
	var during, slow []attempt
	var latDuring []time.Duration
	var maxLat time.Duration
	firstGood := time.Time{}
	failed := 0
	for _, a := range l.attempts {
		lat := a.end.Sub(a.start)
		maxLat = max(maxLat, lat)
		if a.status == 0 && failed < 5 {
			t.Errorf("an update got no answer: %s", a.code)
			failed++
		}
		if lat > maxHang {
			slow = append(slow, a)
		}
		if !a.start.Before(stopEnd) && !a.end.After(startBegin) {
			during = append(during, a)
			latDuring = append(latDuring, lat)
			if a.status != http.StatusServiceUnavailable || a.code != "911" {
				t.Errorf("during the outage an update was answered %d %q", a.status, a.code)
			}
		}
		if a.code == "good" && !a.start.Before(startEnd) && (firstGood.IsZero() || a.end.Before(firstGood)) {
			firstGood = a.end
		}
	}
	for i, a := range slow {
		if i < 10 {
			t.Errorf("an update took %s (started %s after the stop began): %d %q", a.end.Sub(a.start).Round(time.Millisecond),
				a.start.Sub(stopBegin).Round(time.Millisecond), a.status, a.code)
		}
	}
	if len(during) < clients {
		t.Errorf("only %d updates were tried during the outage", len(during))
	}
	if firstGood.IsZero() || firstGood.Sub(startEnd) > recovery {
		t.Errorf("first good answer %s after the database was back, want within %s", firstGood.Sub(startEnd), recovery)
	}

	// Readiness and the API follow the database, stopped or hanging, within
	// the same bound as dyndns2.
	firstOK := map[string]time.Time{}
	probeMax := map[string]time.Duration{}
	for _, p := range probes {
		lat := p.end.Sub(p.start)
		probeMax[p.what] = max(probeMax[p.what], lat)
		if limit := map[string]time.Duration{"/readyz": maxHang, "/api/v1/status": maxHang}[p.what]; p.err != nil || lat > limit {
			t.Errorf("%s at %s: %v after %s", p.what, p.start.Sub(start).Round(time.Millisecond), p.err, lat.Round(time.Millisecond))
			continue
		}
		if !p.start.Before(stopEnd) && !p.end.After(startBegin) {
			if p.status != http.StatusServiceUnavailable {
				t.Errorf("%s during the outage: %d %s", p.what, p.status, trunc(p.body, 200))
			}
			if p.what == "/api/v1/status" && !strings.HasPrefix(p.ctype, "application/problem+json") {
				t.Errorf("%s during the outage: content type %q, want problem+json", p.what, p.ctype)
			}
		}
		if p.status == 200 && !p.start.Before(startEnd) {
			if _, ok := firstOK[p.what]; !ok {
				firstOK[p.what] = p.end
			}
		}
	}
	for _, what := range []string{"/readyz", "/api/v1/status"} {
		if ok, seen := firstOK[what]; !seen || ok.Sub(startEnd) > recovery {
			t.Errorf("%s: 200 again %s after the database was back, want within %s", what, ok.Sub(startEnd), recovery)
		}
	}
	if srv.starts != 1 || !srv.alive() {
		t.Fatalf("the server was restarted or died (%d starts)", srv.starts)
	}
	if logs := srv.log.String(); containsPanic(logs) {
		t.Errorf("panic in the server log:\n%s", grepLines(logs, "panic", 20))
	}
	rep := verifyFleet(t, dbURL, l, up, []window{{stopBegin, startEnd}}, time.Second)
	checkStatuses(t, l, http.StatusOK, http.StatusServiceUnavailable)
	ds := deliveryStates(t, dbURL)
	how := "stopped"
	if frozen {
		how = "frozen (SIGSTOP)"
	}
	t.Logf("database outage: %d hosts × 3 records, %d+4 clients; PostgreSQL %s %s after the load began (stop took %s), down %s, start took %s",
		hosts, clients, how, stopBegin.Sub(start).Round(100*time.Millisecond), stopTook.Round(100*time.Millisecond),
		startBegin.Sub(stopEnd).Round(100*time.Millisecond), startTook.Round(100*time.Millisecond))
	t.Logf("  during the outage: %d updates, all 503 911; latency p50 %s, max %s; slowest update of the whole run %s",
		len(during), percentile(latDuring, 0.5).Round(time.Millisecond), percentile(latDuring, 1).Round(time.Millisecond), maxLat.Round(time.Millisecond))
	t.Logf("  slowest answer: /readyz %s, /api/v1/status %s", probeMax["/readyz"].Round(time.Millisecond),
		probeMax["/api/v1/status"].Round(time.Millisecond))
	t.Logf("  recovery after the database was back: first good %s, /readyz 200 %s, /api/v1/status 200 %s",
		firstGood.Sub(startEnd).Round(time.Millisecond), firstOK["/readyz"].Sub(startEnd).Round(time.Millisecond),
		firstOK["/api/v1/status"].Sub(startEnd).Round(time.Millisecond))
	t.Logf("  acknowledged updates %d (good %d, nochg %d): %d delivered, %d superseded, 0 lost; upstream applied %d, duplicates %d (%d in flight at the outage)",
		rep.updates, rep.good, rep.nochg, rep.delivered, rep.superseded, rep.upstream, rep.duplicates, rep.dupAtKill)
	t.Logf("  outbox %v, drained %s after the load; no restart", ds, drain.Round(100*time.Millisecond))
}
