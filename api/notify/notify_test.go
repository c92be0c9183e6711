package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/delivery"
	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// receiver is a webhook endpoint that records what it gets and answers
// with answer (200 when nil). Requests wait while hold is open.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	status int
	hold   chan struct{}
	held   int
}

type received struct {
	header  http.Header
	body    []byte
	payload notify.Payload
}

func newReceiver(t testing.TB, status int) *receiver {
	t.Helper()
	r := &receiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var p notify.Payload
		_ = json.Unmarshal(body, &p)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: body, payload: p})
		hold, status := r.hold, r.status
		if hold != nil {
			r.held++
		}
		r.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-req.Context().Done():
			}
		}
		w.WriteHeader(status)
		io.WriteString(w, "receiver says "+http.StatusText(status)+"\nsecond line")
	}))
	t.Cleanup(func() {
		r.mu.Lock()
		if r.hold != nil {
			close(r.hold)
			r.hold = nil
		}
		r.mu.Unlock()
		r.Close()
	})
	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func (r *receiver) events() []string {
	var out []string
	for _, g := range r.all() {
		out = append(out, g.payload.Event+" "+g.payload.Record.FQDN)
	}
	slices.Sort(out)
	return out
}

// fixture is a database with one dyndns2 service answered by a fake
// provider, one host, and a notifier with fast retries.
type fixture struct {
	st       *store.Store
	box      *secretbox.Box
	brk      *broker.Broker
	log      *slog.Logger
	host     store.Host
	svc      store.Service
	notifier *notify.Notifier
	// answer is the provider's reply to an update of a record's name.
	mu       sync.Mutex
	answer   map[string][]string // fqdn → answers in turn; the last one repeats
	provider *httptest.Server
}

func newFixture(t testing.TB, cfg notify.Config) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{st: storetest.New(t), box: secretbox.New(testKey), log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		answer: map[string][]string{}}
	f.brk = broker.New(f.st, f.log)
	// One answer line per name: the broker sends several names at once.
	f.provider = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := r.URL.Query().Get("myip")
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, name := range strings.Split(r.URL.Query().Get("hostname"), ",") {
			answers := f.answer[name]
			a := "good"
			if len(answers) > 0 {
				a = answers[0]
				if len(answers) > 1 {
					f.answer[name] = answers[1:]
				}
			}
			if a == "good" {
				a += " " + ip
			}
			io.WriteString(w, a+"\n")
		}
	}))
	t.Cleanup(f.provider.Close)
	var err error
	if f.svc, err = f.st.CreateService(ctx, store.NewService{Name: "provider", Protocol: "dyndns2",
		Settings: []byte(fmt.Sprintf(`{"url": %q}`, f.provider.URL+"/nic/update"))}); err != nil {
		t.Fatal(err)
	}
	if f.host, err = f.st.CreateHost(ctx, store.NewHost{FQDN: "router.example.com", SecretHash: "x", Enabled: true,
		IPv4Enabled: true, IPv6Enabled: true}); err != nil {
		t.Fatal(err)
	}
	f.notifier = notify.New(f.st, f.box, notify.NewSender("test", nil), cfg, f.log)
	return f
}

func fastConfig() notify.Config {
	return notify.Config{Workers: 4, Poll: 50 * time.Millisecond, StaleAfter: time.Hour, StaleEvery: 50 * time.Millisecond,
		RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, MaxAttempts: 3, Lease: time.Minute, DigestAfter: -1}
}

func (f *fixture) record(t testing.TB, fqdn string, answers ...string) store.Record {
	t.Helper()
	f.mu.Lock()
	f.answer[fqdn] = answers
	f.mu.Unlock()
	r, err := f.st.CreateRecord(context.Background(), store.NewRecord{HostID: f.host.ID, ServiceID: f.svc.ID, FQDN: fqdn,
		IPv4Enabled: true, IPv4Netmask: 32, IPv4HostIdentifier: netip.MustParseAddr("0.0.0.0"),
		IPv6HostIdentifier: netip.MustParseAddr("::")})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) webhook(t testing.TB, name, url, secret string, enabled bool, events ...string) store.Webhook {
	t.Helper()
	n := store.NewWebhook{Name: name, URL: url, Events: events, Enabled: enabled}
	if secret != "" {
		n.Secret, n.SecretKey = f.box.Seal(secret)
	}
	w, err := f.st.CreateWebhook(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// dispatcher runs a real dispatcher with fast retries until the test ends.
func (f *fixture) dispatcher(t testing.TB) {
	t.Helper()
	cfg := delivery.Config{Workers: 8, PerService: 8, Lease: 5 * time.Second, Poll: 50 * time.Millisecond,
		RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, BlockFor: 150 * time.Millisecond}
	d := delivery.NewDispatcher(f.st, f.box, provider.New(provider.Deps{UserAgent: provider.UserAgent("test")}),
		cfg, f.log)
	f.run(t, d.Run)
}

// run runs a background loop until the test ends.
func (f *fixture) run(t testing.TB, loop func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { loop(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func (f *fixture) update(t testing.TB, v4 string) {
	t.Helper()
	h, err := f.st.Host(context.Background(), f.host.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.brk.Update(context.Background(), h, broker.Addresses{IPv4: netip.MustParseAddr(v4)}, "test"); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) state(t testing.TB, id int64) string {
	t.Helper()
	r, err := f.st.Record(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return string(r.State(4).State)
}

// pump feeds and sends until cond holds.
func (f *fixture) pump(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if _, err := f.notifier.Feed(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.notifier.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNotifiesDeliveryOutcomes runs the real dispatcher against a provider
// that fails, blocks and recovers, and checks what each webhook is told:
// only the kinds it subscribed to, each once, signed when it has a secret.
func TestNotifiesDeliveryOutcomes(t *testing.T) {
	f := newFixture(t, fastConfig())
	all := newReceiver(t, http.StatusNoContent)
	failedOnly := newReceiver(t, http.StatusOK)
	off := newReceiver(t, http.StatusOK)
	const secret = "webhook-hmac-secret"
	f.webhook(t, "all", all.URL+"/hook?token=abc", secret, true, notify.WebhookEvents()...)
	f.webhook(t, "failed only", failedOnly.URL, "", true, notify.DeliveryFailed)
	f.webhook(t, "off", off.URL, "", false, notify.WebhookEvents()...)

	fine := f.record(t, "fine.example.com")                                 // delivered at once: nothing to tell
	flaky := f.record(t, "flaky.example.com", "911", "dnserr", "good")      // retried, then recovered
	wrong := f.record(t, "wrong.example.com", "badauth")                    // failed
	abusive := f.record(t, "abusive.example.com", "abuse", "abuse", "good") // blocked, blocked again, recovered
	f.dispatcher(t)
	f.update(t, "198.51.100.7")
	waitFor(t, "the outcomes", 10*time.Second, func() bool {
		return f.state(t, fine.ID) == "delivered" && f.state(t, flaky.ID) == "delivered" &&
			f.state(t, wrong.ID) == "failed" && f.state(t, abusive.ID) == "delivered"
	})

	want := []string{"delivery.blocked abusive.example.com", "delivery.failed wrong.example.com",
		"delivery.recovered abusive.example.com", "delivery.recovered flaky.example.com"}
	f.pump(t, "four notifications", func() bool { return len(all.all()) >= 4 && len(failedOnly.all()) >= 1 })
	if got := all.events(); !slices.Equal(got, want) {
		t.Errorf("all: %v, want %v", got, want)
	}
	if got := failedOnly.events(); !slices.Equal(got, []string{"delivery.failed wrong.example.com"}) {
		t.Errorf("failed only: %v", got)
	}
	if n := len(off.all()); n != 0 {
		t.Errorf("a disabled webhook got %d notifications", n)
	}
	for _, g := range all.all() {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(g.body)
		if sig := g.header.Get("X-DDnsBroker-Signature"); sig != "sha256="+hex.EncodeToString(m.Sum(nil)) {
			t.Errorf("signature %q does not match the body", sig)
		}
		p := g.payload
		if g.header.Get("X-DDnsBroker-Event") != p.Event || g.header.Get("Content-Type") != "application/json" ||
			g.header.Get("User-Agent") != "ddnsbroker/test" || g.header.Get("X-DDnsBroker-Delivery") == "" {
			t.Errorf("headers %v", g.header)
		}
		if p.Host == nil || p.Host.FQDN != "router.example.com" || p.Service == nil || p.Service.Name != "provider" ||
			p.Delivery == nil || p.Delivery.Family != 4 || p.Delivery.Address != "198.51.100.7" || p.At.IsZero() ||
			p.EventID == 0 || !strings.Contains(p.Message, p.Record.FQDN) {
			t.Errorf("payload %s", g.body)
		}
	}
	if g := failedOnly.all()[0]; g.header.Get("X-DDnsBroker-Signature") != "" {
		t.Error("a webhook without a secret got a signature")
	}

	// Every event was queued once: feeding again adds nothing.
	if n, err := f.notifier.Feed(context.Background()); err != nil || n != 0 {
		t.Errorf("feeding again queued %d, %v", n, err)
	}
	var hooks int
	if err := f.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM webhooks WHERE last_success_at IS NOT NULL`).Scan(&hooks); err != nil || hooks != 2 {
		t.Errorf("%d webhooks with a success, %v", hooks, err)
	}
}

// TestReceiversNeverDelayDeliveries: with one receiver that never answers
// and one that fails, the notifier runs beside a dispatcher whose records
// keep failing and recovering; every delivery still completes at once.
func TestReceiversNeverDelayDeliveries(t *testing.T) {
	f := newFixture(t, fastConfig())
	hang := newReceiver(t, http.StatusOK)
	hang.hold = make(chan struct{})
	broken := newReceiver(t, http.StatusInternalServerError)
	f.webhook(t, "hangs", hang.URL, "s3cret-for-hmac", true, notify.WebhookEvents()...)
	f.webhook(t, "500", broken.URL, "", true, notify.WebhookEvents()...)
	// Channels sent through Shoutrrr: one whose server hangs, one that is down.
	slow, slowHost := fakeNtfy(t, "slow", "", "")
	slow.hold = make(chan struct{})
	t.Cleanup(func() { slow.mu.Lock(); close(slow.hold); slow.hold = nil; slow.mu.Unlock() })
	down, downHost := fakeNtfy(t, "down", "", "")
	down.down = true
	f.channel(t, "ntfy hangs", "ntfy://"+slowHost+"/slow?scheme=http", notify.Events()...)
	f.channel(t, "ntfy down", "ntfy://"+downHost+"/down?scheme=http", notify.Events()...)
	var flaky, bad []store.Record
	for i := range 6 {
		flaky = append(flaky, f.record(t, fmt.Sprintf("flaky%d.example.com", i), "911", "good"))
		bad = append(bad, f.record(t, fmt.Sprintf("bad%d.example.com", i), "badauth"))
	}
	f.dispatcher(t)
	f.run(t, f.notifier.Run)
	all := func(recs []store.Record, state string) func() bool {
		return func() bool {
			for _, r := range recs {
				if f.state(t, r.ID) != state {
					return false
				}
			}
			return true
		}
	}
	// Round one queues failures and recoveries for both receivers.
	f.update(t, "198.51.100.1")
	waitFor(t, "round one", 5*time.Second, func() bool { return all(flaky, "delivered")() && all(bad, "failed")() })
	waitFor(t, "the hanging receivers to hold requests", 10*time.Second, func() bool {
		hang.mu.Lock()
		defer hang.mu.Unlock()
		slow.mu.Lock()
		defer slow.mu.Unlock()
		return hang.held > 0 && slow.held > 0
	})
	// While it holds them, new addresses are delivered as fast as ever.
	for _, ip := range []string{"198.51.100.2", "198.51.100.3"} {
		start := time.Now()
		f.update(t, ip)
		waitFor(t, "the deliveries of "+ip, 5*time.Second, all(flaky, "delivered"))
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("delivering %s took %s", ip, d)
		}
	}
	hang.mu.Lock()
	held := hang.held
	hang.mu.Unlock()
	slow.mu.Lock()
	slowHeld := slow.held
	slow.mu.Unlock()
	if held == 0 || slowHeld == 0 {
		t.Errorf("the receiver held %d, the ntfy server %d: they did not hang", held, slowHeld)
	}
	waitFor(t, "the failing receiver to be tried", 10*time.Second, func() bool { return len(broken.all()) > 0 })
	var status *int
	var lastErr string
	if err := f.st.Pool.QueryRow(context.Background(), `SELECT last_status_code, last_error FROM webhooks WHERE name = '500'`).
		Scan(&status, &lastErr); err != nil {
		t.Fatal(err)
	}
	if status == nil || *status != 500 || !strings.HasPrefix(lastErr, "HTTP 500: receiver says Internal Server Error") ||
		strings.Contains(lastErr, "second line") {
		t.Errorf("last status %v, error %q", status, lastErr)
	}
}

// TestRetriesThenGivesUp: a failing receiver is retried with backoff and
// given up after MaxAttempts; a redirect is never followed.
func TestRetriesThenGivesUp(t *testing.T) {
	f := newFixture(t, fastConfig())
	broken := newReceiver(t, http.StatusBadGateway)
	target := newReceiver(t, http.StatusOK)
	moved := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	t.Cleanup(moved.Close)
	f.webhook(t, "broken", broken.URL, "", true, notify.DeliveryFailed)
	f.webhook(t, "moved", moved.URL, "", true, notify.DeliveryFailed)
	r := f.record(t, "wrong.example.com", "nohost")
	f.dispatcher(t)
	f.update(t, "203.0.113.5")
	waitFor(t, "the failure", 5*time.Second, func() bool { return f.state(t, r.ID) == "failed" })

	type row struct {
		state, lastError string
		attempts         int
	}
	rows := func() map[string]row {
		out := map[string]row{}
		res, err := f.st.Pool.Query(context.Background(), `SELECT w.name, d.state, d.last_error, d.attempts
			FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Close()
		for res.Next() {
			var name string
			var x row
			if err := res.Scan(&name, &x.state, &x.lastError, &x.attempts); err != nil {
				t.Fatal(err)
			}
			out[name] = x
		}
		return out
	}
	f.pump(t, "both given up", func() bool {
		rs := rows()
		return len(rs) == 2 && rs["broken"].state == "failed" && rs["moved"].state == "failed"
	})
	rs := rows()
	if b := rs["broken"]; b.attempts != 3 || len(broken.all()) != 3 || !strings.HasPrefix(b.lastError, "HTTP 502") ||
		!strings.HasSuffix(b.lastError, "(given up after 3 attempts)") {
		t.Errorf("broken: %+v after %d requests", b, len(broken.all()))
	}
	if m := rs["moved"]; !strings.Contains(m.lastError, "redirects are not followed") || len(target.all()) != 0 {
		t.Errorf("moved: %+v; the redirect target got %d requests", m, len(target.all()))
	}
	// All attempts of one notification carry the same delivery id and body.
	got := broken.all()
	for _, g := range got[1:] {
		if g.header.Get("X-DDnsBroker-Delivery") != got[0].header.Get("X-DDnsBroker-Delivery") || string(g.body) != string(got[0].body) {
			t.Errorf("retry differs: %s vs %s", g.body, got[0].body)
		}
	}
}

// TestStaleHostsOncePerEpisode: a stale host is reported once, to the
// history and to webhooks, until it is seen again and goes stale again.
func TestStaleHostsOncePerEpisode(t *testing.T) {
	f := newFixture(t, fastConfig())
	rcv := newReceiver(t, http.StatusOK)
	f.webhook(t, "stale", rcv.URL, "", true, notify.HostStale)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := f.st.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.st.CreateHost(ctx, store.NewHost{FQDN: "off.example.com", SecretHash: "x", IPv4Enabled: true}); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE hosts SET created_at = now() - interval '3 days', last_seen_at = now() - interval '2 hours'`) // both stale; off is disabled
	now := time.Now()
	check := func(want int) {
		t.Helper()
		if n, err := f.notifier.CheckStale(ctx, now); err != nil || n != want {
			t.Fatalf("reported %d, %v; want %d", n, err, want)
		}
	}
	check(1)
	check(0)
	f.pump(t, "the notification", func() bool { return len(rcv.all()) == 1 })
	p := rcv.all()[0].payload
	if p.Event != notify.HostStale || p.Host == nil || p.Host.FQDN != "router.example.com" || p.Record != nil ||
		!strings.Contains(p.Message, "has not been seen for 2h0m0s (stale after 1h0m0s)") {
		t.Errorf("payload %+v", p)
	}
	events, err := f.st.EventsPage(ctx, store.EventPage{Kind: "host.stale", Limit: 100})
	if err != nil || len(events) != 1 || *events[0].HostID != f.host.ID {
		t.Fatalf("history %+v, %v", events, err)
	}

	exec(`UPDATE hosts SET last_seen_at = now() - interval '10 minutes' WHERE id = $1`, f.host.ID) // seen again
	check(0)
	now = now.Add(2 * time.Hour) // and silent again
	check(1)
	f.pump(t, "the second episode", func() bool { return len(rcv.all()) == 2 })
}

// TestStaleAfterPerHost: a host with its own stale_after goes silent and
// comes back by it while the others keep the global one; set back to null,
// the global one applies to it again.
func TestStaleAfterPerHost(t *testing.T) {
	f := newFixture(t, fastConfig()) // global: 1 hour
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := f.st.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	own := 10 * time.Minute
	short, err := f.st.CreateHost(ctx, store.NewHost{FQDN: "short.example.com", SecretHash: "x", Enabled: true, StaleAfter: &own})
	if err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE hosts SET created_at = now() - interval '3 days', last_seen_at = now() - interval '30 minutes'`)
	now := time.Now()
	check := func(at time.Time, want int) {
		t.Helper()
		if n, err := f.notifier.CheckStale(ctx, at); err != nil || n != want {
			t.Fatalf("reported %d, %v; want %d", n, err, want)
		}
	}
	kinds := func(kind store.EventKind) []store.Event {
		t.Helper()
		events, err := f.st.EventsPage(ctx, store.EventPage{Kind: string(kind), Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return events
	}
	check(now, 1) // short only: 30 minutes is past its 10, not past the global hour
	stale := kinds(store.EventHostStale)
	if len(stale) != 1 || *stale[0].HostID != short.ID || !strings.Contains(stale[0].Message, "(stale after 10m0s)") ||
		!strings.Contains(string(stale[0].Data), `"stale_after_seconds": 600`) {
		t.Fatalf("host.stale %+v", stale)
	}

	exec(`UPDATE hosts SET last_seen_at = now() WHERE id = $1`, short.ID) // it reports again
	check(now, 0)
	if back := kinds(store.EventHostBack); len(back) != 1 || *back[0].HostID != short.ID {
		t.Fatalf("host.back %+v", back)
	}

	// Back to the global hour: 30 minutes of silence is no longer stale.
	if _, err := f.st.UpdateHost(ctx, short.ID, store.HostPatch{SetStaleAfter: true}); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE hosts SET last_seen_at = now() - interval '30 minutes' WHERE id = $1`, short.ID)
	check(now, 0)
	check(now.Add(time.Hour), 2) // both past the global hour
}

// TestFeedWaitsForOpenTransactions: an event written by a transaction that
// is still open when later events are read is not skipped.
func TestFeedWaitsForOpenTransactions(t *testing.T) {
	f := newFixture(t, fastConfig())
	rcv := newReceiver(t, http.StatusOK)
	f.webhook(t, "failures", rcv.URL, "", true, notify.DeliveryFailed)
	ctx := context.Background()
	insert := `INSERT INTO events (kind, host_id, actor, message, data) VALUES ('delivery.failed', $1, 'test', $2, '{"family": 4}')`
	tx, err := f.st.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, insert, f.host.ID, "written first, committed last"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Pool.Exec(ctx, insert, f.host.ID, "written second, committed first"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.notifier.Feed(ctx); err != nil || n != 0 {
		t.Fatalf("feed with a transaction open: %d, %v", n, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := feedUntil(t, f, 2); n != 2 {
		t.Fatalf("feed after the commit queued %d, want 2", n)
	}
	// Concurrent feeds queue each event once.
	for range 20 {
		if _, err := f.st.Pool.Exec(ctx, insert, f.host.ID, "more"); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	total := make(chan int, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sum := 0
			for range 5 {
				n, err := f.notifier.Feed(ctx)
				if err != nil {
					t.Error(err)
				}
				sum += n
			}
			total <- sum
		}()
	}
	wg.Wait()
	close(total)
	sum := 0
	for n := range total {
		sum += n
	}
	// Transactions of other tests on the cluster may hold the horizon back
	// a moment: what the concurrent feeds left is queued by the next ones.
	if sum += feedUntil(t, f, 20-sum); sum != 20 {
		t.Errorf("feeds queued %d, want 20", sum)
	}
}

// feedUntil feeds until want notifications are queued (other transactions
// on the cluster, such as other packages' tests, can hold the horizon back
// for a moment), then once more to see that nothing more comes; it returns
// how many were queued.
func feedUntil(t *testing.T, f *fixture, want int) int {
	t.Helper()
	sum := 0
	for deadline := time.Now().Add(10 * time.Second); sum < want && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		n, err := f.notifier.Feed(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		sum += n
	}
	n, err := f.notifier.Feed(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sum + n
}

func TestSign(t *testing.T) {
	// The well-known HMAC-SHA256 example value.
	got := notify.Sign([]byte("key"), []byte("The quick brown fox jumps over the lazy dog"))
	if got != "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8" {
		t.Errorf("Sign = %s", got)
	}
}

// A webhook added while the feed lags behind is told about what happens
// after it exists, not about events committed before it.
func TestNewWebhookIsNotToldAboutOlderEvents(t *testing.T) {
	f := newFixture(t, fastConfig())
	rcv := newReceiver(t, http.StatusOK)
	ctx := context.Background()
	insert := `INSERT INTO events (kind, host_id, actor, message, data) VALUES ('delivery.failed', $1, 'test', $2, '{"family": 4}')`
	if _, err := f.st.Pool.Exec(ctx, insert, f.host.ID, "before the webhook"); err != nil {
		t.Fatal(err)
	}
	f.webhook(t, "late", rcv.URL, "", true, notify.DeliveryFailed)
	if _, err := f.st.Pool.Exec(ctx, insert, f.host.ID, "after the webhook"); err != nil {
		t.Fatal(err)
	}
	if n := feedUntil(t, f, 1); n != 1 {
		t.Fatalf("feed queued %d, want 1", n)
	}
	var msg string
	if err := f.st.Pool.QueryRow(ctx, `SELECT payload->>'message' FROM webhook_deliveries`).Scan(&msg); err != nil || msg != "after the webhook" {
		t.Fatalf("queued %q, %v", msg, err)
	}
}

// A user's webhook is told about that user's hosts only; an admin's about
// every host.
func TestUserWebhookHearsOfOwnHostsOnly(t *testing.T) {
	f := newFixture(t, fastConfig())
	ctx := context.Background()
	admin, err := f.st.CreateUser(ctx, "root", "x")
	if err != nil {
		t.Fatal(err)
	}
	user, err := f.st.CreateUser(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetUserAccess(ctx, user.ID, store.UserAccess{Role: store.RoleUser}); err != nil {
		t.Fatal(err)
	}
	mine, err := f.st.CreateHost(ctx, store.NewHost{FQDN: "alice.example.com", SecretHash: "x", Enabled: true, IPv4Enabled: true,
		OwnerID: user.ID})
	if err != nil {
		t.Fatal(err)
	}
	userRcv, adminRcv := newReceiver(t, http.StatusOK), newReceiver(t, http.StatusOK)
	for _, w := range []struct {
		name, url string
		owner     int64
	}{{"alice's", userRcv.URL, user.ID}, {"root's", adminRcv.URL, admin.ID}} {
		if _, err := f.st.CreateWebhook(ctx, store.NewWebhook{Name: w.name, URL: w.url, Events: []string{notify.HostStale},
			Enabled: true, OwnerID: w.owner}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.st.Pool.Exec(ctx, `UPDATE hosts SET created_at = now() - interval '3 days'`); err != nil {
		t.Fatal(err)
	}
	if n, err := f.notifier.CheckStale(ctx, time.Now()); err != nil || n != 2 {
		t.Fatalf("reported %d stale hosts, %v; want 2", n, err)
	}
	f.pump(t, "the notifications", func() bool { return len(adminRcv.all()) == 2 && len(userRcv.all()) >= 1 })
	var queued int
	if err := f.st.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
		WHERE w.owner_id = $1`, user.ID).Scan(&queued); err != nil || queued != 1 {
		t.Fatalf("%d notifications queued for alice's webhook (%v), want 1", queued, err)
	}
	got := userRcv.all()
	if len(got) != 1 || got[0].payload.Host == nil || got[0].payload.Host.FQDN != mine.FQDN {
		t.Fatalf("alice's webhook got %+v, want only %s", got, mine.FQDN)
	}
}
