package delivery_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/delivery"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// upstream is a fake dyndns2 provider that records what it receives.
type upstream struct {
	*httptest.Server
	mu     sync.Mutex
	got    []hit
	answer func(h hit, n int) (int, string) // n: how many requests this hostname+ip had before
	hold   chan struct{}                    // when set, requests wait for it to close
}

type hit struct {
	Hostname, MyIP, User, Pass string
	At                         time.Time
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{answer: func(h hit, _ int) (int, string) { return 200, "good " + h.MyIP }}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		h := hit{Hostname: r.URL.Query().Get("hostname"), MyIP: r.URL.Query().Get("myip"), User: user, Pass: pass}
		u.mu.Lock()
		hold := u.hold
		u.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		u.mu.Lock()
		n := 0
		for _, g := range u.got {
			if g.Hostname == h.Hostname && g.MyIP == h.MyIP {
				n++
			}
		}
		h.At = time.Now()
		u.got = append(u.got, h)
		answer := u.answer
		u.mu.Unlock()
		status, body := answer(h, n)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) hits() []hit {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]hit(nil), u.got...)
}

func (u *upstream) count(hostname, ip string) int {
	n := 0
	for _, h := range u.hits() {
		if h.Hostname == hostname && h.MyIP == ip {
			n++
		}
	}
	return n
}

type fixture struct {
	st   *store.Store
	brk  *broker.Broker
	box  *secretbox.Box
	up   *upstream
	svc  store.Service
	host store.Host
	log  *slog.Logger
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := storetest.New(t)
	f := &fixture{st: st, box: secretbox.New(testKey), up: newUpstream(t),
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.brk = broker.New(st, f.log)
	ctx := context.Background()
	var err error
	f.svc, err = st.CreateService(ctx, store.NewService{Name: "fake", Protocol: "dyndns2",
		Settings: []byte(fmt.Sprintf(`{"url": %q}`, f.up.URL+"/nic/update"))})
	if err != nil {
		t.Fatal(err)
	}
	f.host, err = st.CreateHost(ctx, store.NewHost{FQDN: "router.example.com", SecretHash: "x", Enabled: true, IPv4Enabled: true, IPv6Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// record adds a record; v4bits/v6bits < 0 turn the family off.
func (f *fixture) record(t *testing.T, fqdn string, v4bits int, v4id string, v6bits int, v6id string) store.Record {
	t.Helper()
	pw, key := f.box.Seal("pw-" + fqdn)
	n := store.NewRecord{HostID: f.host.ID, ServiceID: f.svc.ID, FQDN: fqdn, Username: "user-" + fqdn, Password: pw, PasswordKey: key,
		IPv4Enabled: v4bits >= 0, IPv4Netmask: max(v4bits, 0), IPv4HostIdentifier: netip.MustParseAddr(v4id),
		IPv6Enabled: v6bits >= 0, IPv6Netmask: max(v6bits, 0), IPv6HostIdentifier: netip.MustParseAddr(v6id)}
	r, err := f.st.CreateRecord(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) update(t *testing.T, a broker.Addresses) broker.Result {
	t.Helper()
	h, err := f.st.Host(context.Background(), f.host.ID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.brk.Update(context.Background(), h, a, "test")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func fastConfig() delivery.Config {
	return delivery.Config{Workers: 8, PerService: 8, Lease: 2 * time.Second, Poll: 200 * time.Millisecond,
		RetryBase: 100 * time.Millisecond, RetryMax: 2 * time.Second, BlockFor: time.Hour}
}

func (f *fixture) dispatcher(t *testing.T, cfg delivery.Config) (*delivery.Dispatcher, context.CancelFunc) {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	d := delivery.NewDispatcher(f.st, f.box, provider.New(provider.Deps{HTTP: hc, UserAgent: provider.UserAgent("test")}), cfg, f.log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return d, stop
}

func (f *fixture) state(t *testing.T, id int64, family int) store.RecordState {
	t.Helper()
	r, err := f.st.Record(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return *r.State(netcalc.Family(family))
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeliversEveryRecordOnceWithCredentials(t *testing.T) {
	f := newFixture(t)
	r1 := f.record(t, "a.example.com", 32, "0.0.0.0", 64, "::cafe")
	r2 := f.record(t, "b.example.com", 24, "0.0.0.42", -1, "::")
	r3 := f.record(t, "c.example.com", -1, "0.0.0.0", 56, "0:0:0:42::1")
	f.dispatcher(t, fastConfig())
	res := f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.7"), IPv6: netip.MustParseAddr("2001:db8:1:2::99")})
	if !res.Changed || res.Queued != 4 {
		t.Fatalf("update: %+v, want changed with 4 deliveries queued", res)
	}
	want := map[[2]string]bool{
		{"a.example.com", "198.51.100.7"}: true, {"a.example.com", "2001:db8:1:2::cafe"}: true,
		{"b.example.com", "198.51.100.42"}: true, {"c.example.com", "2001:db8:1:42::1"}: true,
	}
	waitFor(t, "four deliveries", 10*time.Second, func() bool {
		return f.state(t, r1.ID, 4).State == "delivered" && f.state(t, r1.ID, 6).State == "delivered" &&
			f.state(t, r2.ID, 4).State == "delivered" && f.state(t, r3.ID, 6).State == "delivered"
	})
	hits := f.up.hits()
	if len(hits) != len(want) {
		t.Fatalf("upstream got %d requests, want %d: %+v", len(hits), len(want), hits)
	}
	for _, h := range hits {
		if !want[[2]string{h.Hostname, h.MyIP}] {
			t.Errorf("unexpected request %s %s", h.Hostname, h.MyIP)
		}
		if h.User != "user-"+h.Hostname || h.Pass != "pw-"+h.Hostname {
			t.Errorf("credentials for %s: %q/%q", h.Hostname, h.User, h.Pass)
		}
		delete(want, [2]string{h.Hostname, h.MyIP})
	}
	if st := f.state(t, r2.ID, 6); st.State != "idle" {
		t.Errorf("disabled family state = %q, want idle", st.State)
	}
	// The same addresses again: nothing changes, nothing is sent.
	res = f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.7"), IPv6: netip.MustParseAddr("2001:db8:1:2::99")})
	if res.Changed || res.Queued != 0 {
		t.Fatalf("identical update: %+v", res)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(f.up.hits()); n != 4 {
		t.Fatalf("identical update caused upstream traffic: %d requests", n)
	}
}

func TestTransientFailuresRetryWithGrowingDelays(t *testing.T) {
	for _, fail := range []struct {
		name   string
		status int
		body   string
	}{{"http 500", 500, "internal error"}, {"911", 200, "911"}, {"dnserr", 200, "dnserr"}} {
		t.Run(fail.name, func(t *testing.T) {
			f := newFixture(t)
			r := f.record(t, "a.example.com", 32, "0.0.0.0", -1, "::")
			f.up.answer = func(h hit, n int) (int, string) {
				if n < 3 {
					return fail.status, fail.body
				}
				return 200, "good " + h.MyIP
			}
			f.dispatcher(t, fastConfig())
			f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.1")})
			waitFor(t, "delivery after retries", 15*time.Second, func() bool { return f.state(t, r.ID, 4).State == "delivered" })
			hits := f.up.hits()
			if len(hits) != 4 {
				t.Fatalf("attempts = %d, want 4", len(hits))
			}
			// Delays grow: base 100ms doubling (±20 % jitter) → at least 80,
			// 160, 320 ms. Only the lower bounds are asserted: a loaded
			// machine can stretch any gap (and once made the first longer
			// than the last), never shorten one, and a backoff that does not
			// grow still fails the third bound.
			var gaps []time.Duration
			for i := 1; i < len(hits); i++ {
				gaps = append(gaps, hits[i].At.Sub(hits[i-1].At))
			}
			for i, min := range []time.Duration{70 * time.Millisecond, 140 * time.Millisecond, 280 * time.Millisecond} {
				if gaps[i] < min {
					t.Fatalf("retry gap %d is %v, the backoff says at least %v: %v", i+1, gaps[i], min, gaps)
				}
			}
		})
	}
}

func TestBadauthFailsAfterOneAttempt(t *testing.T) {
	f := newFixture(t)
	r := f.record(t, "a.example.com", 32, "0.0.0.0", -1, "::")
	f.up.answer = func(hit, int) (int, string) { return 200, "badauth" }
	f.dispatcher(t, fastConfig())
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.1")})
	waitFor(t, "failed state", 5*time.Second, func() bool { return f.state(t, r.ID, 4).State == "failed" })
	st := f.state(t, r.ID, 4)
	if st.Message == "" || st.Message != "HTTP 200: badauth" {
		t.Errorf("failed message = %q", st.Message)
	}
	// Several backoff periods later, and after a new router address, the
	// provider still got one request: a failed record waits for its config.
	time.Sleep(600 * time.Millisecond)
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.2")})
	time.Sleep(600 * time.Millisecond)
	if n := len(f.up.hits()); n != 1 {
		t.Fatalf("badauth record got %d requests, want 1", n)
	}
	if st := f.state(t, r.ID, 4); st.State != "failed" || st.Desired != netip.MustParseAddr("192.0.2.2") {
		t.Fatalf("after a new address: %+v", st)
	}
	// A resync (forced reconcile) sends the newest address once more.
	f.up.answer = func(h hit, _ int) (int, string) { return 200, "good " + h.MyIP }
	err := f.st.InTx(context.Background(), func(q *store.Queries) error {
		_, err := f.brk.ResyncRequested(context.Background(), q, f.host.ID, []int64{r.ID})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivered after resync", 5*time.Second, func() bool { return f.state(t, r.ID, 4).State == "delivered" })
	if f.up.count("a.example.com", "192.0.2.2") != 1 {
		t.Fatalf("resync hits: %+v", f.up.hits())
	}
}

func TestAbuseBlocksTheRecord(t *testing.T) {
	f := newFixture(t)
	r := f.record(t, "a.example.com", 32, "0.0.0.0", -1, "::")
	f.up.answer = func(hit, int) (int, string) { return 200, "abuse" }
	f.dispatcher(t, fastConfig())
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.1")})
	waitFor(t, "blocked state", 5*time.Second, func() bool { return f.state(t, r.ID, 4).State == "blocked" })
	st := f.state(t, r.ID, 4)
	if st.NextAttemptAt == nil || time.Until(*st.NextAttemptAt) < 50*time.Minute {
		t.Fatalf("blocked without a long pause: next attempt %v", st.NextAttemptAt)
	}
	// A new address during the block waits for the block to end.
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.9")})
	time.Sleep(500 * time.Millisecond)
	if n := len(f.up.hits()); n != 1 {
		t.Fatalf("blocked record got %d requests, want 1", n)
	}
	if st := f.state(t, r.ID, 4); st.State != "blocked" {
		t.Fatalf("state after new address during block: %q", st.State)
	}
}

func TestNewerAddressSupersedesOlder(t *testing.T) {
	f := newFixture(t)
	r := f.record(t, "a.example.com", 32, "0.0.0.0", -1, "::")
	// The first address fails transiently and waits for its retry…
	f.up.answer = func(h hit, _ int) (int, string) {
		if h.MyIP == "192.0.2.1" {
			return 502, "bad gateway"
		}
		return 200, "good " + h.MyIP
	}
	cfg := fastConfig()
	cfg.RetryBase = 400 * time.Millisecond
	f.dispatcher(t, cfg)
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.1")})
	waitFor(t, "first attempt", 5*time.Second, func() bool { return len(f.up.hits()) == 1 })
	// …when the router reports a newer one.
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.2")})
	waitFor(t, "newer delivered", 5*time.Second, func() bool { return f.state(t, r.ID, 4).State == "delivered" })
	time.Sleep(2 * cfg.RetryBase)
	hits := f.up.hits()
	last := hits[len(hits)-1]
	if last.MyIP != "192.0.2.2" || f.up.count("a.example.com", "192.0.2.1") != 1 {
		t.Fatalf("upstream saw an older address after the newer one: %+v", hits)
	}
	ds, err := f.st.DeliveriesPage(context.Background(), r.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].State != "delivered" || ds[1].State != "superseded" {
		t.Fatalf("delivery history: %+v", ds)
	}
}

func TestInFlightOlderAddressIsFollowedByNewer(t *testing.T) {
	f := newFixture(t)
	r := f.record(t, "a.example.com", 32, "0.0.0.0", -1, "::")
	hold := make(chan struct{})
	f.up.mu.Lock()
	f.up.hold = hold
	f.up.mu.Unlock()
	f.dispatcher(t, fastConfig())
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.1")})
	waitFor(t, "first job running", 5*time.Second, func() bool {
		q, err := f.st.Queue(context.Background())
		return err == nil && q.Running == 1
	})
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.2")})
	time.Sleep(300 * time.Millisecond) // the newer job must not start while the older runs
	if q, err := f.st.Queue(context.Background()); err != nil || q.Running != 1 || q.Pending != 1 {
		t.Fatalf("while the older job runs: %+v %v, want 1 running and 1 pending", q, err)
	}
	close(hold)
	waitFor(t, "newest delivered", 5*time.Second, func() bool {
		st := f.state(t, r.ID, 4)
		return st.State == "delivered" && st.Delivered == netip.MustParseAddr("192.0.2.2")
	})
	hits := f.up.hits()
	if len(hits) != 2 || hits[0].MyIP != "192.0.2.1" || hits[1].MyIP != "192.0.2.2" {
		t.Fatalf("order at the upstream: %+v", hits)
	}
}

func TestLeaseOfACrashedDispatcherIsReclaimed(t *testing.T) {
	f := newFixture(t)
	r := f.record(t, "a.example.com", 32, "0.0.0.0", -1, "::")
	hold := make(chan struct{})
	f.up.mu.Lock()
	f.up.hold = hold
	f.up.mu.Unlock()
	cfg := fastConfig()
	cfg.Lease = 800 * time.Millisecond
	_, stop := f.dispatcher(t, cfg)
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.1")})
	waitFor(t, "job claimed", 5*time.Second, func() bool {
		q, err := f.st.Queue(context.Background())
		return err == nil && q.Running == 1
	})
	stop() // the dispatcher dies mid-flight: its lease stays behind
	f.up.mu.Lock()
	f.up.hold = nil
	f.up.mu.Unlock()
	close(hold)
	if q, _ := f.st.Queue(context.Background()); q.Running != 1 {
		t.Fatalf("lease not left behind: %+v", q)
	}
	f.dispatcher(t, cfg)
	waitFor(t, "delivery by the second dispatcher", 10*time.Second, func() bool { return f.state(t, r.ID, 4).State == "delivered" })
	if n := f.up.count("a.example.com", "192.0.2.1"); n > 2 || n < 1 {
		t.Fatalf("deliveries = %d", n)
	}
}

func TestTwoDispatchersDeliverEveryJobOnce(t *testing.T) {
	f := newFixture(t)
	var recs []store.Record
	for i := 0; i < 60; i++ {
		recs = append(recs, f.record(t, fmt.Sprintf("r%02d.example.com", i), 24, fmt.Sprintf("0.0.0.%d", i+1), -1, "::"))
	}
	f.up.answer = func(h hit, _ int) (int, string) {
		time.Sleep(5 * time.Millisecond)
		return 200, "good " + h.MyIP
	}
	cfg := fastConfig()
	cfg.Workers = 4
	d1, _ := f.dispatcher(t, cfg)
	d2, _ := f.dispatcher(t, cfg)
	if d1.Worker() == d2.Worker() {
		t.Fatal("dispatchers share a worker name")
	}
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("203.0.113.77")})
	waitFor(t, "all delivered", 20*time.Second, func() bool {
		done, err := f.st.RecordsPage(context.Background(), store.RecordPage{State: "delivered", Limit: 1000})
		return err == nil && len(done) == len(recs)
	})
	for i := range recs {
		ip := fmt.Sprintf("203.0.113.%d", i+1)
		if n := f.up.count(fmt.Sprintf("r%02d.example.com", i), ip); n != 1 {
			t.Errorf("record %d delivered %d times", i, n)
		}
	}
	var byWorker = map[string]int{}
	rows, err := f.st.Pool.Query(context.Background(), `SELECT coalesce(leased_by, '?'), count(*) FROM deliveries GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var w string
		var n int
		_ = rows.Scan(&w, &n)
		byWorker[w] = n
	}
	rows.Close()
	if len(byWorker) != 2 {
		t.Logf("jobs per worker: %v (both dispatchers usually share the work)", byWorker)
	}
}

// A service that takes both families in one request (dyndns2 "combined")
// hears a router's new pair once, not once per family, and both families
// are delivered by that request; a change of one family alone is sent
// with the other's current address.
func TestCombinedServiceGetsBothFamiliesInOneRequest(t *testing.T) {
	f := newFixture(t)
	if _, err := f.st.Pool.Exec(context.Background(), `UPDATE services SET settings = settings || '{"combined": true}' WHERE id = $1`, f.svc.ID); err != nil {
		t.Fatal(err)
	}
	r := f.record(t, "a.example.com", 32, "0.0.0.0", 64, "::1")
	f.dispatcher(t, fastConfig())
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.1"), IPv6: netip.MustParseAddr("2001:db8:1:2::99")})
	delivered := func(v4, v6 string) func() bool {
		return func() bool {
			s4, s6 := f.state(t, r.ID, 4), f.state(t, r.ID, 6)
			return s4.State == "delivered" && s4.Delivered.String() == v4 && s6.State == "delivered" && s6.Delivered.String() == v6
		}
	}
	waitFor(t, "both families delivered", 5*time.Second, delivered("192.0.2.1", "2001:db8:1:2::1"))
	time.Sleep(300 * time.Millisecond) // a second request would have come by now
	if hits := f.up.hits(); len(hits) != 1 || hits[0].MyIP != "192.0.2.1,2001:db8:1:2::1" {
		t.Fatalf("upstream got %+v, want one request with both addresses", hits)
	}
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.2"), IPv6: netip.MustParseAddr("2001:db8:1:2::99")})
	waitFor(t, "the new IPv4 delivered", 5*time.Second, delivered("192.0.2.2", "2001:db8:1:2::1"))
	time.Sleep(300 * time.Millisecond)
	if hits := f.up.hits(); len(hits) != 2 || hits[1].MyIP != "192.0.2.2,2001:db8:1:2::1" {
		t.Fatalf("upstream got %+v, want a second request with the new IPv4 and the IPv6", hits)
	}
}
