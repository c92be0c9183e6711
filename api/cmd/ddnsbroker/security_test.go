package main

// The attacks of issue 14 against the real binary, on loopback, with the
// sources of requests set through a trusted proxy's X-Forwarded-For (the
// server believes 127.0.0.1). TestSecurityUnderAttack runs a small plan in
// `make test`; TestFaultSecurityUnderAttack (faults_security_test.go) the
// figures of the acceptance in `make test-faults`.

import (
	"context"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// attackPlan sizes the attacks.
type attackPlan struct {
	guesses   int           // wrong passwords for admin, and wrong secrets for the routers
	rate      int           // the attacker's attempts per second
	sources   int           // addresses guessing at the routers
	every     time.Duration // how often the admin logs in and a router updates meanwhile
	flood     time.Duration // how long unknown host names flood /nic/update
	floodRate int           // their requests per second
	timing    int           // tries each of unknown host and wrong secret, compared
	// strict asserts the acceptance's figure: a router is answered within
	// 1 s during the flood (reported only in the quick plan, whose
	// machine may be busy with other tests).
	strict bool
}

// quickPlan runs in make test in about a minute, beside other tests (so
// gently: the machine is busy, and no latency is asserted).
var quickPlan = attackPlan{guesses: 300, rate: 100, sources: 20, every: 250 * time.Millisecond, flood: 6 * time.Second, floodRate: 50,
	timing: 60}

const (
	adminPassword = "admin-password-for-tests" // newProc's DDNSBROKER_ADMIN_PASSWORD
	routerSecret  = "router-secret-1234"
)

func TestSecurityUnderAttack(t *testing.T) { securityUnderAttack(t, quickPlan) }

func securityUnderAttack(t *testing.T, plan attackPlan) {
	bin := buildServer(t)
	t.Run("admin login while guessed at", func(t *testing.T) { adminUnderGuessing(t, bin, plan) })
	t.Run("routers while guessed at", func(t *testing.T) { routersUnderGuessing(t, bin, plan) })
	t.Run("unknown host flood", func(t *testing.T) { unknownHostFlood(t, bin, plan) })
}

// attackServer starts a fresh server (nothing cached) behind a trusted
// proxy on a fresh database with routers r0..r<n-1>.<domain>, all with
// routerSecret.
func attackServer(t *testing.T, bin string, routers int, domain string) (*proc, string) {
	t.Helper()
	dbURL := storetest.NewURL(t)
	if routers > 0 {
		hash, err := auth.HashPassword(auth.DefaultParams, routerSecret)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `INSERT INTO hosts (fqdn, secret_hash) SELECT 'r' || i || '.' || $1, $2 FROM generate_series(0, $3 - 1) i`,
			domain, hash, routers); err != nil {
			t.Fatal(err)
		}
	}
	srv := newProc(t, bin, "server", map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_TRUSTED_PROXIES": "127.0.0.1/32"})
	srv.start()
	return srv, dbURL
}

// attackClient sends many requests through one loopback connection pool.
var attackClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// answer is what one request got.
type answer struct {
	status     int
	body       string
	retryAfter string
	took       time.Duration
	err        error
}

// loginAs tries a login as if from source.
func loginAs(base, source, user, password string) answer {
	body := fmt.Sprintf(`{"username": %q, "password": %q}`, user, password)
	req, _ := http.NewRequest("POST", base+"/api/v1/auth/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return send(req, source)
}

// updateAs sends a dyndns2 update as if from source.
func updateAs(base, source, user, secret, myip string) answer {
	req, _ := http.NewRequest("GET", base+"/nic/update?myip="+myip, nil)
	req.SetBasicAuth(user, secret)
	return send(req, source)
}

func send(req *http.Request, source string) answer {
	req.Header.Set("X-Forwarded-For", source)
	t0 := time.Now()
	resp, err := attackClient.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(t0)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return answer{status: resp.StatusCode, body: string(b), retryAfter: resp.Header.Get("Retry-After"), took: time.Since(t0)}
}

// paced calls fn(i) for i < n at rate per second from a few goroutines.
func paced(n, rate int, fn func(i int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 128 {
		wg.Go(func() {
			for i := range jobs {
				fn(i)
			}
		})
	}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// counts tallies an attacker's answers.
type counts struct {
	mu                            sync.Mutex
	verified, refused, unexpected int
	noRetryAfter                  int
	// overloaded are answers that the server could not check in time
	// (503, 911 on /nic/update): more guesses than it hashes, or a
	// database busy with other tests; nothing was verified.
	overloaded      int
	firstUnexpected string
}

func (c *counts) add(a answer, verifiedBody, refusedBody string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case a.err == nil && a.status == 401 && strings.Contains(a.body, verifiedBody):
		c.verified++
	case a.err == nil && a.status == 429 && strings.Contains(a.body, refusedBody):
		c.refused++
		if a.retryAfter == "" {
			c.noRetryAfter++
		}
	case a.err == nil && a.status == 503:
		c.overloaded++
	default:
		c.unexpected++
		if c.firstUnexpected == "" {
			c.firstUnexpected = fmt.Sprintf("%d %q %v", a.status, a.body, a.err)
		}
	}
}

// owners judges the answers the admin or the routers got while attacked:
// each must be a success. Only in the quick plan, which runs in make test
// beside other tests on a machine that may be starved of CPU, may a few (a
// fifth at most) be the server's "not in time" (503): the attack is not
// their cause there, the machine is (the old code answered them 429).
type owners struct{ late []string }

func (o *owners) check(t *testing.T, plan attackPlan, a answer, what string) {
	t.Helper()
	if !plan.strict && a.err == nil && a.status == http.StatusServiceUnavailable {
		o.late = append(o.late, fmt.Sprintf("%s after %s", what, a.took.Round(time.Millisecond)))
		return
	}
	t.Errorf("%s: %d %q %v", what, a.status, a.body, a.err)
}

func (o *owners) done(t *testing.T, plan attackPlan, total int, what string) {
	t.Helper()
	if len(o.late)*5 > total {
		t.Errorf("%d of %d of %s were answered 503: %v", len(o.late), total, what, o.late)
	} else if len(o.late) > 0 {
		t.Logf("the machine is busy: %d of %d of %s were answered 503 (not in time)", len(o.late), total, what)
	}
}

// whileRunning calls fn every interval until done is closed.
func whileRunning(done <-chan struct{}, every time.Duration, fn func(n int)) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case <-t.C:
				fn(n)
			}
		}
	})
	return &wg
}

// Defect 1: one address sends wrong passwords for admin while the admin
// logs in from another: every login of the admin succeeds, the attacker
// is refused with 429 and Retry-After, and the hashes computed for it stay
// within the (user, source) burst plus its refill.
func adminUnderGuessing(t *testing.T, bin string, plan attackPlan) {
	srv, _ := attackServer(t, bin, 0, "")
	limits := struct{ burst, every int }{5, 30} // rest.DefaultLoginLimits: per (user, source) 5, then 1 per 30 s
	var attack counts
	done := make(chan struct{})
	var mu sync.Mutex
	var logins []answer
	owner := whileRunning(done, plan.every, func(int) {
		a := loginAs(srv.URL(), "198.51.100.10", "admin", adminPassword)
		mu.Lock()
		logins = append(logins, a)
		mu.Unlock()
	})
	t0 := time.Now()
	paced(plan.guesses, plan.rate, func(i int) {
		attack.add(loginAs(srv.URL(), "203.0.113.66", "admin", fmt.Sprint("guess-", i)), "wrong user name or password", "too many")
	})
	elapsed := time.Since(t0)
	close(done)
	owner.Wait()
	failed := 0
	var took []time.Duration
	var busy owners
	for _, a := range logins {
		if a.err != nil || a.status != 200 {
			failed++
			busy.check(t, plan, a, "the admin's login")
		}
		took = append(took, a.took)
	}
	busy.done(t, plan, len(logins), "the admin's logins")
	maxHashed := limits.burst + int(elapsed.Seconds())/limits.every + 1
	if attack.verified > maxHashed || attack.unexpected > 0 || attack.noRetryAfter > 0 {
		t.Errorf("attacker: %d hashed (at most %d allowed), %d refused (%d without Retry-After), %d unexpected (%s)",
			attack.verified, maxHashed, attack.refused, attack.noRetryAfter, attack.unexpected, attack.firstUnexpected)
	}
	if len(logins) < 3 {
		t.Errorf("the admin logged in only %d times during the attack", len(logins))
	}
	t.Logf("%d wrong passwords for admin from one address in %s: %d hashed, %d refused (429 + Retry-After); the admin logged in %d times meanwhile from another address, %d refused, %s",
		plan.guesses, elapsed.Round(100*time.Millisecond), attack.verified, attack.refused, len(logins), failed, spread(took))
}

// Defect 2: wrong secrets for the routers' host names from many other
// addresses, on a fresh process (nothing cached): every update of the
// routers, with their right secret, answers good or nochg. (A router's
// first check after a start competes with the first guess of each new
// address, which cannot be told from it; later ones, with none.)
func routersUnderGuessing(t *testing.T, bin string, plan attackPlan) {
	const routers = 5
	sources := plan.sources
	srv, _ := attackServer(t, bin, routers, "guessed.example")
	var attack counts
	done := make(chan struct{})
	var mu sync.Mutex
	var updates []answer
	owner := whileRunning(done, plan.every, func(n int) {
		k := n % routers
		a := updateAs(srv.URL(), fmt.Sprint("203.0.113.", 10+k), fmt.Sprintf("r%d.guessed.example", k), routerSecret,
			fmt.Sprintf("192.0.2.%d", 1+n%200))
		mu.Lock()
		updates = append(updates, a)
		mu.Unlock()
	})
	t0 := time.Now()
	paced(plan.guesses, plan.rate, func(i int) {
		a := updateAs(srv.URL(), fmt.Sprintf("198.18.%d.%d", i%sources/200, i%sources%200), fmt.Sprintf("r%d.guessed.example", i%routers),
			"wrong", "192.0.2.1")
		attack.add(a, "badauth", "abuse")
	})
	elapsed := time.Since(t0)
	close(done)
	owner.Wait()
	bad := 0
	var took []time.Duration
	var busy owners
	for _, a := range updates {
		took = append(took, a.took)
		if a.err != nil || a.status != 200 || !strings.HasPrefix(a.body, "good ") && !strings.HasPrefix(a.body, "nochg ") {
			bad++
			busy.check(t, plan, a, "a router's update with its right secret")
		}
	}
	busy.done(t, plan, len(updates), "the routers' updates")
	// Per source 10 failures, then 1 per 30 s (auth.DefaultHostLimits).
	maxHashed := sources * (10 + int(elapsed.Seconds())/30 + 1)
	// The attackers bring more guesses than the server hashes: some wait
	// too long and are answered 911, which is fine; the routers go first.
	if attack.verified > maxHashed || attack.unexpected > 0 || attack.noRetryAfter > 0 {
		t.Errorf("attackers: %d hashed (at most %d allowed), %d refused (%d without Retry-After), %d unexpected (%s)",
			attack.verified, maxHashed, attack.refused, attack.noRetryAfter, attack.unexpected, attack.firstUnexpected)
	}
	if len(updates) < routers {
		t.Errorf("only %d router updates during the attack", len(updates))
	}
	t.Logf("%d wrong secrets for %d routers from %d addresses in %s (fresh process): %d hashed, %d refused, %d not checked in time (911); %d router updates meanwhile, %d not good/nochg, %s",
		plan.guesses, routers, sources, elapsed.Round(100*time.Millisecond), attack.verified, attack.refused, attack.overloaded,
		len(updates), bad, spread(took))
}

// Defect 4 (and 7): unknown host names at floodRate per second, each from
// a new address so that no limit stops them, fill no hashing gate: routers
// that were never verified are answered good meanwhile (within 1 s in the
// strict plan); every failed attempt is counted in the history once the
// server stops, in a few rows; and unknown host and wrong secret cannot be
// told apart by their answers' times.
func unknownHostFlood(t *testing.T, bin string, plan attackPlan) {
	const routers = 40 // the first half update during the flood, the other half are guessed at for the timing
	srv, dbURL := attackServer(t, bin, routers, "flood.example")
	var flood counts
	done := make(chan struct{})
	var mu sync.Mutex
	var updates []answer
	// Each router updates once, its first time: its secret is not cached.
	owner := whileRunning(done, plan.flood/time.Duration(routers/2+1), func(n int) {
		if n >= routers/2 {
			return
		}
		a := updateAs(srv.URL(), fmt.Sprint("203.0.113.", 10+n), fmt.Sprintf("r%d.flood.example", n), routerSecret, "192.0.2.7")
		mu.Lock()
		updates = append(updates, a)
		mu.Unlock()
	})
	n := int(plan.flood.Seconds() * float64(plan.floodRate))
	t0 := time.Now()
	paced(n, plan.floodRate, func(i int) {
		a := updateAs(srv.URL(), fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), fmt.Sprintf("ghost-%d.flood.example", i),
			"whatever", "192.0.2.1")
		flood.add(a, "badauth", "abuse")
	})
	elapsed := time.Since(t0)
	close(done)
	owner.Wait()
	var took []time.Duration
	var busy owners
	for _, a := range updates {
		took = append(took, a.took)
		switch {
		case a.err != nil || a.status != 200 || !strings.HasPrefix(a.body, "good ") && !strings.HasPrefix(a.body, "nochg "):
			busy.check(t, plan, a, "a router (cold cache) during the flood")
		case plan.strict && a.took > time.Second:
			t.Errorf("a router (cold cache) during the flood was answered after %s, more than 1 s", a.took)
		}
	}
	busy.done(t, plan, len(updates), "the routers' updates during the flood")
	if len(updates) < 3 {
		t.Errorf("only %d routers updated during the flood", len(updates))
	}
	if flood.unexpected > 0 || plan.strict && flood.overloaded > 0 {
		t.Errorf("flood: %d unexpected answers (%s)", flood.unexpected, flood.firstUnexpected)
	}

	// Timing: unknown host vs wrong secret, in pairs one after the other,
	// in random order, each from a fresh address, so that the load of the
	// machine (other tests may run beside) weighs on both alike. The wrong
	// secrets spread over the routers that did not update and the unknown
	// names over as many names, so both meet the same limits.
	var unknown, wrong, diffs []time.Duration
	for i := range plan.timing {
		k := routers/2 + i%(routers/2)
		tries := []struct {
			user  string
			wrong bool
		}{{fmt.Sprintf("r%d.flood.example", k), true}, {fmt.Sprintf("nobody%d.flood.example", k), false}}
		mrand.Shuffle(2, func(a, b int) { tries[a], tries[b] = tries[b], tries[a] })
		var pair [2]time.Duration
		for j, try := range tries {
			a := updateAs(srv.URL(), fmt.Sprintf("100.64.%d.%d", i/100, 2*(i%100)+j), try.user, "not-the-secret", "192.0.2.9")
			if a.err != nil || a.status != 401 || a.body != "badauth\n" {
				t.Fatalf("timing try %d (%s): %d %q %v", i, try.user, a.status, a.body, a.err)
			}
			if try.wrong {
				wrong, pair[0] = append(wrong, a.took), a.took
			} else {
				unknown, pair[1] = append(unknown, a.took), a.took
			}
		}
		diffs = append(diffs, pair[1]-pair[0])
	}

	// A clean stop writes the last aggregated rows.
	srv.signal(syscall.SIGTERM)
	var rows, counted int
	var maxRowCount int
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), `SELECT count(*), coalesce(sum((data->>'count')::int), 0), coalesce(max((data->>'count')::int), 0)
		FROM events WHERE kind = 'auth.failed' AND NOT data ? 'account'`).Scan(&rows, &counted, &maxRowCount); err != nil {
		t.Fatal(err)
	}
	failures := flood.verified + flood.refused + plan.timing
	minutes := int(elapsed.Minutes()) + 2
	if counted != failures || rows > 2*minutes {
		t.Errorf("history: %d rows for unknown hosts counting %d failures; want %d failures in at most %d rows", rows, counted, failures, 2*minutes)
	}

	mu2, mw := percentile(slices.Clone(unknown), 0.5), percentile(slices.Clone(wrong), 0.5)
	p9u, p9w := percentile(slices.Clone(unknown), 0.9), percentile(slices.Clone(wrong), 0.9)
	z := mannWhitneyZ(unknown, wrong)
	// Within noise: the median difference within a pair (which the
	// machine's load weighs on alike) is under a fifth of the median answer,
	// plus a few milliseconds of scheduling; the medians themselves, which
	// drift with the load, differ by less than a third.
	d50 := percentile(diffs, 0.5)
	share := 0.2
	if !plan.strict {
		share = 0.35 // 60 pairs on a machine busy with other tests: more noise
	}
	tolerance := share*float64(max(mu2, mw)) + float64(3*time.Millisecond)
	if math.Abs(float64(d50)) > tolerance || math.Abs(float64(mu2-mw)) > tolerance+0.15*float64(max(mu2, mw)) {
		t.Errorf("unknown host vs wrong secret: median %s vs %s, median difference within a pair %s, p90 %s vs %s (z = %.2f): distinguishable",
			mu2, mw, d50, p9u, p9w, z)
	}
	t.Logf("flood: %d unknown-host requests in %s (%.0f/s) from as many addresses: %d 401, %d 429; %d routers (cold) answered meanwhile, %s",
		n, elapsed.Round(100*time.Millisecond), float64(n)/elapsed.Seconds(), flood.verified, flood.refused, len(updates), spread(took))
	t.Logf("history: %d rows for unknown hosts counting %d of %d failures (largest row %d)", rows, counted, failures, maxRowCount)
	t.Logf("unknown host vs wrong secret, %d each: median %s vs %s, p90 %s vs %s, median difference within a pair %s, Mann-Whitney z = %.2f",
		plan.timing, mu2.Round(100*time.Microsecond), mw.Round(100*time.Microsecond), p9u.Round(100*time.Microsecond),
		p9w.Round(100*time.Microsecond), d50.Round(100*time.Microsecond), z)
}

// spread describes answer times for a log line.
func spread(d []time.Duration) string {
	if len(d) == 0 {
		return "no answers"
	}
	return fmt.Sprintf("p50 %s, max %s", percentile(slices.Clone(d), 0.5).Round(time.Millisecond), slices.Max(d).Round(time.Millisecond))
}

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (Linux routes all of 127/8 to lo), so that the server sees
// distinct sources without any traffic leaving the machine.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16}}
}

// percentile returns the p-quantile of d (sorting d).
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// mannWhitneyZ is the normal approximation of the Mann-Whitney U statistic
// of a against b: |z| < 2 means no detectable difference in location.
func mannWhitneyZ(a, b []time.Duration) float64 {
	type v struct {
		d     time.Duration
		fromA bool
	}
	all := make([]v, 0, len(a)+len(b))
	for _, d := range a {
		all = append(all, v{d, true})
	}
	for _, d := range b {
		all = append(all, v{d, false})
	}
	slices.SortFunc(all, func(x, y v) int { return int(x.d - y.d) })
	var ra float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].d == all[i].d {
			j++
		}
		rank := float64(i+j+1) / 2 // average rank of ties, 1-based
		for k := i; k < j; k++ {
			if all[k].fromA {
				ra += rank
			}
		}
		i = j
	}
	n1, n2 := float64(len(a)), float64(len(b))
	u := ra - n1*(n1+1)/2
	return (u - n1*n2/2) / math.Sqrt(n1*n2*(n1+n2+1)/12)
}
