package notify_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// inbox is what a fake service received: one title and text per message.
type inbox struct {
	mu   sync.Mutex
	msgs []notify.Message
	down bool          // answer 503 (the service is down)
	hold chan struct{} // when set, requests wait until it is closed
	held int
}

func (b *inbox) add(m notify.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
}

func (b *inbox) all() []notify.Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.msgs)
}

func (b *inbox) isDown() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.down
}

func (b *inbox) titles() []string {
	var out []string
	for _, m := range b.all() {
		out = append(out, m.Title)
	}
	slices.Sort(out)
	return out
}

// fakeNtfy is an ntfy server as its publishing API is documented
// (https://docs.ntfy.sh/publish/): POST or PUT the message as the body to
// /<topic>, the title in the Title header (or X-Title, t); or POST a JSON
// object with topic, title and message to /. Basic auth when user is set.
func fakeNtfy(t testing.TB, topic, user, pass string) (*inbox, string) {
	b := &inbox{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.isDown() {
			http.Error(w, `{"code":50301,"http":503,"error":"down"}`, http.StatusServiceUnavailable)
			return
		}
		b.mu.Lock()
		hold := b.hold
		if hold != nil {
			b.held++
		}
		b.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		}
		if u, p, _ := r.BasicAuth(); user != "" && (u != user || p != pass) {
			http.Error(w, `{"code":40101,"http":401,"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		m := notify.Message{Title: r.Header.Get("Title"), Text: string(body)}
		if m.Title == "" {
			m.Title = r.Header.Get("X-Title")
		}
		got := strings.TrimPrefix(r.URL.Path, "/")
		if got == "" { // JSON publishing
			var j struct{ Topic, Title, Message string }
			if json.Unmarshal(body, &j) != nil {
				http.Error(w, "bad json", http.StatusBadRequest)
				return
			}
			got, m = j.Topic, notify.Message{Title: j.Title, Text: j.Message}
		}
		if (r.Method != http.MethodPost && r.Method != http.MethodPut) || got != topic {
			http.Error(w, `{"code":40401,"http":404,"error":"page not found"}`, http.StatusNotFound)
			return
		}
		b.add(m)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x%d","time":%d,"event":"message","topic":%q,"message":%q}`, len(b.all()), time.Now().Unix(), topic, m.Text)
	}))
	t.Cleanup(srv.Close)
	return b, strings.TrimPrefix(srv.URL, "http://")
}

// fakeGotify is a Gotify server as its API is documented
// (https://gotify.net/api-docs): POST /message with the application
// token in ?token= or X-Gotify-Key, a JSON body of title, message and
// priority.
func fakeGotify(t testing.TB, token string) (*inbox, string) {
	b := &inbox{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.URL.Query().Get("token")
		if tok == "" {
			tok = r.Header.Get("X-Gotify-Key")
		}
		if r.Method != http.MethodPost || r.URL.Path != "/message" {
			http.Error(w, `{"error":"Not Found","errorCode":404}`, http.StatusNotFound)
			return
		}
		if tok != token {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"Unauthorized","errorCode":401,"errorDescription":"you need to provide a valid access token"}`)
			return
		}
		var j struct {
			Title    string `json:"title"`
			Message  string `json:"message"`
			Priority int    `json:"priority"`
		}
		if err := json.NewDecoder(r.Body).Decode(&j); err != nil || j.Message == "" {
			http.Error(w, `{"error":"Bad Request","errorCode":400}`, http.StatusBadRequest)
			return
		}
		b.add(notify.Message{Title: j.Title, Text: j.Message})
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%d,"appid":1,"message":%q,"title":%q,"priority":%d,"date":%q}`,
			len(b.all()), j.Message, j.Title, j.Priority, time.Now().UTC().Format(time.RFC3339))
	}))
	t.Cleanup(srv.Close)
	return b, strings.TrimPrefix(srv.URL, "http://")
}

// smtpSink is a small SMTP server (RFC 5321 without extensions) that keeps
// every mail's subject and text.
func smtpSink(t testing.TB) (*inbox, string) {
	b := &inbox{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSMTP(c, b)
		}
	}()
	return b, ln.Addr().String()
}

func serveSMTP(c net.Conn, b *inbox) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	say := func(s string) { io.WriteString(c, s+"\r\n") }
	say("220 sink.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 sink.test")
		case strings.HasPrefix(cmd, "MAIL FROM:"), strings.HasPrefix(cmd, "RCPT TO:"), cmd == "RSET", cmd == "NOOP":
			say("250 OK")
		case cmd == "DATA":
			say("354 end with .")
			var data bytes.Buffer
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			b.add(parseMail(data.Bytes()))
			say("250 OK queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func parseMail(raw []byte) notify.Message {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return notify.Message{Text: string(raw)}
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	body, _ := io.ReadAll(m.Body)
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body, _ = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	}
	return notify.Message{Title: subject, Text: string(body)}
}

// channel adds a Shoutrrr channel to the fixture's database.
func (f *fixture) channel(t testing.TB, name, dest string, events ...string) store.Webhook {
	t.Helper()
	shown, err := notify.CheckDestination(dest)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	sealed, key := f.box.Seal(dest)
	w, err := f.st.CreateWebhook(context.Background(), store.NewWebhook{Name: name, Destination: sealed, DestinationKey: key,
		DestinationShown: shown, Events: events, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestChannelsTellWhatTheyChose: a generic:// endpoint, ntfy, Gotify and
// an SMTP server each receive a failure, a recovery, an address change and
// a silent host, in words naming the host or record, and nothing about
// what they did not choose (a blocked record, the host coming back). No
// destination URL, nor its credentials, reaches a log line or an event.
func TestChannelsTellWhatTheyChose(t *testing.T) {
	cfg := fastConfig()
	f := newFixture(t, cfg)
	logs := &logBuffer{}
	f.notifier = notify.New(f.st, f.box, notify.NewSender("test", nil), cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))

	chosen := []string{notify.DeliveryFailed, notify.DeliveryRecovered, notify.AddressChanged, notify.HostStale}
	generic := newReceiver(t, http.StatusOK)
	ntfy, ntfyHost := fakeNtfy(t, "ddns-alerts", "broker", "ntfy-pass-7731")
	gotify, gotifyHost := fakeGotify(t, "AgotifyTok12345")
	smtp, smtpHost := smtpSink(t)
	wrongGotify, wrongHost := fakeGotify(t, "AotherToken9876")
	dests := map[string]string{
		"generic": "generic://" + strings.TrimPrefix(generic.URL, "http://") + "/hook/generic-tok-5511?disabletls=yes",
		"ntfy":    "ntfy://broker:ntfy-pass-7731@" + ntfyHost + "/ddns-alerts?scheme=http",
		"gotify":  "gotify://" + gotifyHost + "/AgotifyTok12345?disabletls=yes",
		"smtp": "smtp://mailer:smtp-pass-4410@" + smtpHost + "/?from=broker@example.com&to=admin@example.com" +
			"&auth=None&encryption=None&usestarttls=no",
	}
	for name, d := range dests {
		f.channel(t, name, d, chosen...)
	}
	// A Gotify that refuses the token: its errors are logged, redacted.
	refused := f.channel(t, "refused", "gotify://"+wrongHost+"/AgotifyTok12345?disabletls=yes", chosen...)
	// An ntfy nobody listens on: the connection error names the URL it
	// posted to, topic included; the log must not.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	f.channel(t, "closed", "ntfy://"+closedAddr+"/closed-topic-secret-6620?scheme=http", chosen...)

	flaky := f.record(t, "flaky.example.com", "911", "good")
	wrong := f.record(t, "wrong.example.com", "badauth")
	abusive := f.record(t, "abusive.example.com", "abuse", "abuse")
	f.dispatcher(t)
	f.update(t, "198.51.100.7")
	waitFor(t, "the outcomes", 10*time.Second, func() bool {
		return f.state(t, flaky.ID) == "delivered" && f.state(t, wrong.ID) == "failed" && f.state(t, abusive.ID) == "blocked"
	})
	ctx := context.Background()
	if n, err := f.notifier.CheckStale(ctx, time.Now().Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("stale: %d, %v", n, err)
	}
	if _, err := f.st.Pool.Exec(ctx, `UPDATE hosts SET last_seen_at = now() + interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	if _, err := f.notifier.CheckStale(ctx, time.Now()); err != nil { // the host is back: not chosen
		t.Fatal(err)
	}
	if evs, err := f.st.EventsPage(ctx, store.EventPage{Kind: "host.back", Limit: 10}); err != nil || len(evs) != 1 {
		t.Fatalf("host.back events %v, %v", evs, err)
	}

	wantTitles := []string{"Address changed: router.example.com", "DNS record failed: wrong.example.com",
		"DNS record recovered: flaky.example.com", "Router silent: router.example.com"}
	f.pump(t, "four messages each", func() bool {
		return len(ntfy.all()) >= 4 && len(gotify.all()) >= 4 && len(smtp.all()) >= 4 && len(generic.all()) >= 4
	})
	time.Sleep(100 * time.Millisecond)
	if _, err := f.notifier.Feed(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.notifier.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]*inbox{"ntfy": ntfy, "gotify": gotify, "smtp": smtp} {
		if got := b.titles(); !slices.Equal(got, wantTitles) {
			t.Errorf("%s got %q, want %q", name, got, wantTitles)
		}
		for _, m := range b.all() {
			if strings.HasPrefix(m.Title, "DNS record failed") && !strings.Contains(m.Text, "wrong.example.com could not be updated at provider") {
				t.Errorf("%s: failure text %q", name, m.Text)
			}
			if strings.HasPrefix(m.Title, "Router silent") && !strings.Contains(m.Text, "router.example.com has not been seen for 2h") {
				t.Errorf("%s: silence text %q", name, m.Text)
			}
		}
	}
	var genericGot []string
	for _, g := range generic.all() {
		genericGot = append(genericGot, g.payload.Event)
		if g.header.Get("Content-Type") != "application/json" || g.payload.Message == "" || g.payload.Host == nil {
			t.Errorf("generic payload %s", g.body)
		}
	}
	slices.Sort(genericGot)
	if want := []string{"address.changed", "delivery.failed", "delivery.recovered", "host.stale"}; !slices.Equal(genericGot, want) {
		t.Errorf("generic got %v, want %v", genericGot, want)
	}
	if n := len(wrongGotify.all()); n != 0 {
		t.Errorf("the refusing Gotify accepted %d", n)
	}
	w, err := f.st.Webhook(ctx, refused.ID)
	if err != nil || !strings.Contains(w.LastError, "401") {
		t.Errorf("the refused channel's last error %q, %v", w.LastError, err)
	}

	// Nothing of a destination in logs, events or the channels' rows.
	var history strings.Builder
	evs, err := f.st.EventsPage(ctx, store.EventPage{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		fmt.Fprintf(&history, "%s %s\n", e.Message, e.Data)
	}
	var rows string
	if err := f.st.Pool.QueryRow(ctx, `SELECT string_agg(w::text, ' ') FROM webhooks w`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"generic-tok-5511", "ntfy-pass-7731", "AgotifyTok12345", "smtp-pass-4410", "closed-topic-secret-6620"} {
		for where, text := range map[string]string{"logs": logs.String(), "events": history.String(), "rows": rows} {
			if strings.Contains(text, secret) {
				t.Errorf("%s hold %q", where, secret)
			}
		}
	}
	if !strings.Contains(logs.String(), "not reached") || !strings.Contains(logs.String(), "webhook=") {
		t.Errorf("the refused channel was not logged: %s", logs.String())
	}
}

// TestTwoHundredFailuresOneDigest: 200 records failing at one provider
// make one message per channel, naming the count and some of the records.
func TestTwoHundredFailuresOneDigest(t *testing.T) {
	cfg := fastConfig()
	cfg.DigestAfter = time.Second
	f := newFixture(t, cfg)
	generic := newReceiver(t, http.StatusOK)
	ntfy, ntfyHost := fakeNtfy(t, "ddns", "", "")
	f.channel(t, "generic", "generic://"+strings.TrimPrefix(generic.URL, "http://")+"/hook?disabletls=yes", notify.DeliveryFailed)
	f.channel(t, "ntfy", "ntfy://"+ntfyHost+"/ddns?scheme=http", notify.DeliveryFailed)
	var recs []store.Record
	for i := range 200 {
		recs = append(recs, f.record(t, fmt.Sprintf("r%03d.example.com", i), "badauth"))
	}
	f.dispatcher(t)
	// The notifier runs from the start, as in serve: failures that arrive
	// while the first waits join it.
	f.run(t, f.notifier.Run)
	f.update(t, "198.51.100.9")
	waitFor(t, "200 failures", 30*time.Second, func() bool {
		for _, r := range recs {
			if f.state(t, r.ID) != "failed" {
				return false
			}
		}
		return true
	})
	waitFor(t, "the digests", 15*time.Second, func() bool { return len(ntfy.all()) >= 1 && len(generic.all()) >= 1 })
	time.Sleep(2 * cfg.DigestAfter) // anything that would still come
	var counted int
	for _, g := range generic.all() {
		if g.payload.Digest != nil {
			counted += g.payload.Digest.Count
		} else {
			counted++
		}
	}
	if n := len(generic.all()); n != 1 || counted != 200 {
		t.Errorf("generic got %d notifications covering %d failures, want 1 covering 200", n, counted)
	}
	if g := generic.all()[0].payload.Digest; g == nil || len(g.Records) != 10 {
		t.Errorf("digest %+v", g)
	}
	msgs := ntfy.all()
	if len(msgs) != 1 || msgs[0].Title != "200 DNS records failed at provider" || !strings.Contains(msgs[0].Text, "and 190 more") {
		t.Errorf("ntfy got %+v", msgs)
	}
}

// TestChannelDownThenRestart: a channel whose service is down is retried
// with backoff; a new notifier (a restart) sends what the old one could
// not, once.
func TestChannelDownThenRestart(t *testing.T) {
	cfg := fastConfig()
	cfg.RetryBase, cfg.RetryMax, cfg.MaxAttempts = 200*time.Millisecond, time.Second, 20
	f := newFixture(t, cfg)
	ntfy, ntfyHost := fakeNtfy(t, "ddns", "", "")
	ntfy.down = true
	f.channel(t, "ntfy", "ntfy://"+ntfyHost+"/ddns?scheme=http", notify.DeliveryFailed)
	wrong := f.record(t, "wrong.example.com", "badauth")
	f.dispatcher(t)
	f.update(t, "198.51.100.7")
	waitFor(t, "the failure", 10*time.Second, func() bool { return f.state(t, wrong.ID) == "failed" })
	ctx := context.Background()
	attempts := func() (n int, state string) {
		t.Helper()
		if err := f.st.Pool.QueryRow(ctx, `SELECT coalesce(max(attempts), 0), coalesce(max(state), '') FROM webhook_deliveries`).Scan(&n, &state); err != nil {
			t.Fatal(err)
		}
		return n, state
	}
	f.pump(t, "two failed attempts", func() bool { n, _ := attempts(); return n >= 2 })
	if n, state := attempts(); state != "pending" {
		t.Fatalf("after %d attempts the notification is %s", n, state)
	}
	var gap float64
	if err := f.st.Pool.QueryRow(ctx, `SELECT extract(epoch FROM next_attempt_at - updated_at) FROM webhook_deliveries`).Scan(&gap); err != nil || gap < 0.2 {
		t.Errorf("next attempt %.3fs after the last, %v; want a backoff of at least 200ms", gap, err)
	}
	// Restart: a new notifier over the same database; the service is up.
	restarted := notify.New(f.st, f.box, notify.NewSender("test", nil), cfg, f.log)
	ntfy.mu.Lock()
	ntfy.down = false
	ntfy.mu.Unlock()
	deadline := time.Now().Add(15 * time.Second)
	for len(ntfy.all()) == 0 && time.Now().Before(deadline) {
		if _, err := restarted.SendDue(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := restarted.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ntfy.all(); len(got) != 1 || got[0].Title != "DNS record failed: wrong.example.com" {
		t.Errorf("after the restart ntfy got %+v", got)
	}
	if _, state := attempts(); state != "delivered" {
		t.Errorf("the notification is %s", state)
	}
}
