package rest_test

// The attacks of issue 14, each against a real server on a real database,
// with sources simulated through a trusted proxy's X-Forwarded-For.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// behindProxy makes the harness believe X-Forwarded-For from loopback, so
// a test chooses the source of each request. The slow-down of an account
// under attack is cut to a few milliseconds (its growth is tested in
// api/auth), so that a test of thousands of guesses takes seconds.
func behindProxy(cfg *config.Serve, opt *app.Options) {
	cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	opt.LoginLimits = rest.DefaultLoginLimits()
	opt.LoginLimits.MaxDelay = quickSlowDown
	hosts := auth.DefaultHostLimits()
	hosts.MaxDelay = quickSlowDown
	opt.HostLimits = &hosts
}

const quickSlowDown = 5 * time.Millisecond

// attackHarness is a harness behind a proxy whose routers' slow-down is
// quick too.
func attackHarness(t *testing.T) *harness {
	return newHarness(t, behindProxy)
}

// loginFrom tries a login as if from source.
func (h *harness) loginFrom(source, user, password string) response {
	h.t.Helper()
	return h.do(request{method: "POST", path: "/auth/login", header: map[string]string{"X-Forwarded-For": source},
		body: map[string]string{"username": user, "password": password}})
}

// updateFrom sends a dyndns2 update as if from source; it returns the
// status, the answer and its Retry-After.
func (h *harness) updateFrom(source, user, secret, myip string) (int, string, string) {
	h.t.Helper()
	req, err := http.NewRequest("GET", h.url+"/nic/update?myip="+myip, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.SetBasicAuth(user, secret)
	req.Header.Set("X-Forwarded-For", source)
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header.Get("Retry-After")
}

// tally counts the answers of an attack.
type tally struct {
	mu                        sync.Mutex
	verified, refused, others int
	noRetryAfter              int
}

func (c *tally) add(status int, retryAfter string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch status {
	case http.StatusUnauthorized:
		c.verified++
	case http.StatusTooManyRequests:
		c.refused++
		if retryAfter == "" {
			c.noRetryAfter++
		}
	default:
		c.others++
	}
}

// Defect 1: from one address, an attacker guessing admin's password is
// refused after a few guesses, and the admin, logging in from another
// address all the while, always gets in. So does the admin while many
// addresses guess at once.
func TestGuessingCannotLockTheAdminOut(t *testing.T) {
	h := attackHarness(t)
	var attack tally
	adminLogins := 0
	for i := range 400 {
		r := h.loginFrom("203.0.113.66", adminName, fmt.Sprint("guess-", i))
		attack.add(r.status, r.header.Get("Retry-After"))
		if i%20 == 19 {
			h.loginFrom("198.51.100.10", adminName, adminPassword).expect(t, http.StatusOK)
			adminLogins++
		}
	}
	// The guesses verified are the (user, source) pair's burst, 5.
	if attack.verified > 5 || attack.refused != 400-attack.verified || attack.others != 0 || attack.noRetryAfter != 0 {
		t.Fatalf("attacker: %d verified, %d refused (%d without Retry-After), %d other answers; want at most 5 verified, the rest 429 with Retry-After",
			attack.verified, attack.refused, attack.noRetryAfter, attack.others)
	}

	// Now 150 addresses guess 3 times each, in parallel.
	var wg sync.WaitGroup
	var spread tally
	for i := range 150 {
		wg.Go(func() {
			for n := range 3 {
				r := h.loginFrom(fmt.Sprintf("192.0.2.%d", i), adminName, fmt.Sprint("spread-", i, "-", n))
				spread.add(r.status, r.header.Get("Retry-After"))
			}
		})
	}
	wg.Wait()
	if spread.verified != 450 {
		t.Fatalf("distributed guessing: %d of 450 verified (each address is within its own budget)", spread.verified)
	}
	for i := range 3 {
		h.loginFrom(fmt.Sprint("198.51.100.", 20+i), adminName, adminPassword).expect(t, http.StatusOK)
	}
	t.Logf("admin logged in %d times during and 3 times after 850 guesses", adminLogins)
}

// Defect 2: wrong secrets for a router's host name, from many addresses,
// never make the broker refuse the router's right secret when it is not in
// the verification cache (a fresh process, another replica, a new secret).
func TestGuessingCannotLockARouterOut(t *testing.T) {
	h := attackHarness(t)
	session, _ := h.login(adminName, adminPassword)
	host := create[rest.HostCreated](h, session, "/hosts", map[string]any{"fqdn": "router.example.net"})
	secret := host.Secret
	var attack tally
	for i := range 600 {
		status, body, ra := h.updateFrom(fmt.Sprintf("198.18.0.%d", i%50), host.Fqdn, "wrong", "192.0.2.1")
		if status == http.StatusTooManyRequests && body != "abuse\n" || status == http.StatusUnauthorized && body != "badauth\n" {
			t.Fatalf("attack answer %d %q", status, body)
		}
		attack.add(status, ra)
		if i%100 == 99 {
			// A new secret each time: the router is never in the cache.
			var s rest.HostSecret
			h.do(request{method: "POST", path: fmt.Sprintf("/hosts/%d/secret", host.Id), token: session}).
				expect(t, http.StatusOK).decode(t, &s)
			secret = s.Secret
			status, body, _ := h.updateFrom("203.0.113.7", host.Fqdn, secret, fmt.Sprint("198.51.100.", i/100))
			if status != http.StatusOK || !strings.HasPrefix(body, "good ") && !strings.HasPrefix(body, "nochg ") {
				t.Fatalf("the router's right secret after %d wrong ones: %d %q", i+1, status, body)
			}
		}
	}
	// 50 addresses, 12 tries each: at most 5 verified per (host, address).
	if attack.verified > 250 || attack.refused == 0 || attack.noRetryAfter != 0 || attack.others != 0 {
		t.Fatalf("attack: %d verified, %d refused (%d without Retry-After), %d other", attack.verified, attack.refused,
			attack.noRetryAfter, attack.others)
	}
}

// Defect 3: the addresses of one IPv6 /64 are one source: 64 of them
// guessing share one budget, for logins and for updates alike.
func TestAddressesOfOneIPv6PrefixShareABudget(t *testing.T) {
	h := attackHarness(t)
	session, _ := h.login(adminName, adminPassword)
	host := create[rest.HostCreated](h, session, "/hosts", map[string]any{"fqdn": "router.example.net"})
	var logins, updates tally
	for i := range 64 {
		src := fmt.Sprintf("2001:db8:1:2:%x:%x::%x", i*131, i, i+1)
		r := h.loginFrom(src, fmt.Sprint("user", i), "guess")
		logins.add(r.status, r.header.Get("Retry-After"))
		status, _, ra := h.updateFrom(src, fmt.Sprintf("h%d.example.net", i), "guess", "192.0.2.1")
		updates.add(status, ra)
	}
	if logins.verified != 10 || logins.refused != 54 {
		t.Errorf("logins from 64 addresses of one /64: %d verified, %d refused; want 10 and 54", logins.verified, logins.refused)
	}
	if updates.verified != 10 || updates.refused != 54 {
		t.Errorf("updates from 64 addresses of one /64: %d verified, %d refused; want 10 and 54", updates.verified, updates.refused)
	}
	// Another /64 is another source.
	h.loginFrom("2001:db8:1:3::1", adminName, adminPassword).expect(t, http.StatusOK)
	if status, body, _ := h.updateFrom("2001:db8:1:3::1", host.Fqdn, host.Secret, "192.0.2.9"); status != http.StatusOK {
		t.Errorf("update from the next /64: %d %q", status, body)
	}
}

// Defect 7: 10,000 failed updates from 200 sources write a few aggregated
// rows, not one per attempt, and their counts add up to 10,000.
func TestFailedUpdatesAreAggregated(t *testing.T) {
	h := attackHarness(t)
	session, _ := h.login(adminName, adminPassword)
	host := create[rest.HostCreated](h, session, "/hosts", map[string]any{"fqdn": "router.example.net"})
	before := countEvents(t, h, "auth.failed")
	jobs := make(chan int)
	var wg sync.WaitGroup
	var attack tally
	for range 16 {
		wg.Go(func() {
			for i := range jobs {
				user := host.Fqdn
				if i%2 == 1 {
					user = fmt.Sprintf("nobody-%d\x1b[2J.example.net", i%37)
				}
				status, _, ra := h.updateFrom(fmt.Sprintf("198.18.0.%d", i%200), user, "wrong", "192.0.2.1")
				attack.add(status, ra)
			}
		})
	}
	for i := range 10_000 {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if attack.verified+attack.refused != 10_000 {
		t.Fatalf("%d answers were neither 401 nor 429", attack.others)
	}
	if err := h.failures.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var items []rest.Event
	cursor := ""
	for {
		var page rest.EventList
		h.do(request{method: "GET", path: "/events?kind=auth.failed&limit=500" + cursor, token: session}).
			expect(t, http.StatusOK).decode(t, &page)
		items = append(items, page.Items...)
		if page.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + *page.NextCursor
	}
	rows := len(items) - before
	total := 0
	for _, e := range items {
		n, _ := e.Data["count"].(float64)
		total += int(n)
		if strings.Contains(e.Message, "\x1b") {
			t.Errorf("an event holds the attacker's escape sequence: %q", e.Message)
		}
	}
	if rows > 4 || total != 10_000 {
		t.Fatalf("%d rows counting %d failures; want at most 4 rows (host or unknown × wrong or refused) counting 10000", rows, total)
	}
}

func countEvents(t *testing.T, h *harness, kind string) int {
	t.Helper()
	var n int
	if err := h.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE kind = $1`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Unknown host and wrong secret answer alike: same status, same body, and
// (by construction) the same limits. Their timing is compared against the
// real binary in api/cmd/ddnsbroker.
func TestUnknownHostAndWrongSecretAnswerAlike(t *testing.T) {
	h := attackHarness(t)
	session, _ := h.login(adminName, adminPassword)
	host := create[rest.HostCreated](h, session, "/hosts", map[string]any{"fqdn": "router.example.net"})
	type answer struct {
		status int
		body   string
	}
	seen := map[string]map[answer]int{}
	for i := range 30 {
		for kind, user := range map[string]string{"unknown": fmt.Sprintf("ghost%d.example.net", i), "wrong": host.Fqdn,
			"invalid name": fmt.Sprintf("not a name %d", i)} {
			status, body, _ := h.updateFrom(fmt.Sprintf("198.18.%d.%d", i, len(kind)), user, "wrong", "192.0.2.1")
			if seen[kind] == nil {
				seen[kind] = map[answer]int{}
			}
			seen[kind][answer{status, body}]++
		}
	}
	for kind, answers := range seen {
		if len(answers) != 1 || answers[answer{401, "badauth\n"}] != 30 {
			t.Errorf("%s: answers %v, want 30 × 401 badauth", kind, answers)
		}
	}
}
