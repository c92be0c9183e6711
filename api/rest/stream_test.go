package rest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/feed"
	"github.com/ddnsbroker/ddnsbroker/api/httpserver"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// sseMessage is one message of the live stream, or a comment line.
type sseMessage struct {
	id      string
	event   rest.Event
	comment string
}

// sseStream is an open GET /events/stream.
type sseStream struct {
	t        *testing.T
	messages chan sseMessage
	cancel   context.CancelFunc
}

// openStream opens the live stream (query after "?", lastID as
// Last-Event-ID when not empty) and fails unless it answers 200.
func (h *harness) openStream(token, query, lastID string) *sseStream {
	h.t.Helper()
	return h.openStreamAt(h.url, token, query, lastID)
}

// openStreamAt is openStream on the server at base (another replica).
func (h *harness) openStreamAt(base, token, query, lastID string) *sseStream {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", base+rest.BasePath+"/events/stream?"+query, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		h.t.Fatalf("stream: %d %s: %s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	checkNoStore(h.t, "GET /events/stream", response{status: res.StatusCode, header: res.Header})
	if base == h.url { // the operation answered, for the contract's tally
		route, _, err := h.router.FindRoute(req)
		if err != nil {
			res.Body.Close()
			cancel()
			h.t.Fatal(err)
		}
		op := route.Operation.OperationID
		h.mu.Lock()
		if h.seen[op] == nil {
			h.seen[op] = map[int]bool{}
		}
		h.seen[op][res.StatusCode] = true
		h.mu.Unlock()
	}
	s := &sseStream{t: h.t, messages: make(chan sseMessage, 100), cancel: cancel}
	h.t.Cleanup(s.close)
	go func() {
		defer res.Body.Close()
		defer close(s.messages)
		r := bufio.NewReader(res.Body)
		var m sseMessage
		var data string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if data != "" {
					if err := json.Unmarshal([]byte(data), &m.event); err != nil {
						h.t.Errorf("stream data %q: %v", data, err)
					}
					s.messages <- m
				}
				m, data = sseMessage{}, ""
			case strings.HasPrefix(line, ":"):
				s.messages <- sseMessage{comment: strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "id: "):
				m.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				data += line[6:]
			}
		}
	}()
	return s
}

func (s *sseStream) close() { s.cancel() }

// next is the next event, skipping comments; it fails after 10 s.
func (s *sseStream) next() sseMessage {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-s.messages:
			if !ok {
				s.t.Fatal("the stream ended")
			}
			if m.comment == "" {
				return m
			}
		case <-timeout:
			s.t.Fatal("no event within 10 s")
		}
	}
}

// nextComment is the next comment line other than the opening one.
func (s *sseStream) nextComment() string {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-s.messages:
			if !ok {
				s.t.Fatal("the stream ended")
			}
			if m.comment != "" && m.comment != "connected" {
				return m.comment
			}
		case <-timeout:
			s.t.Fatal("no comment within 10 s")
		}
	}
}

// quiet fails when an event arrives within d.
func (s *sseStream) quiet(d time.Duration) {
	s.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m := <-s.messages:
			if m.comment == "" {
				s.t.Fatalf("unexpected event %+v", m.event)
			}
		case <-timeout:
			return
		}
	}
}

func (h *harness) createHost(token, fqdn string) rest.HostCreated {
	h.t.Helper()
	return create[rest.HostCreated](h, token, "/hosts", map[string]any{"fqdn": fqdn})
}

// TestStreamLive: what happens after a stream opened arrives on it, in
// order, narrowed by its filters; nothing from before it opened.
func TestStreamLive(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	before := h.createHost(tok, "before.example.net")
	all := h.openStream(tok, "", "")
	one := h.openStream(tok, fmt.Sprintf("host_id=%d", before.Id), "")
	h.createHost(tok, "a.example.net")
	h.do(request{method: "PATCH", path: fmt.Sprintf("/hosts/%d", before.Id), token: tok,
		body: map[string]any{"notes": "moved"}}).expect(t, http.StatusOK)
	if m := all.next(); m.event.Kind != rest.EventKindHostCreated || !strings.Contains(m.event.Message, "a.example.net") || m.id == "" {
		t.Errorf("first event %+v", m)
	}
	if m := all.next(); m.event.Kind != rest.EventKindHostUpdated || *m.event.HostId != before.Id {
		t.Errorf("second event %+v", m)
	}
	if m := one.next(); m.event.Kind != rest.EventKindHostUpdated {
		t.Errorf("the host's stream got %+v first", m)
	}
	one.quiet(300 * time.Millisecond)
}

// TestStreamOpensAfterWhatIsCommitted: a stream opened while an older
// transaction still runs starts after every event already committed, not
// at the older transaction: those events happened before it opened. The
// older transaction's own event, committed later, arrives.
func TestStreamOpensAfterWhatIsCommitted(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	ctx := context.Background()
	older, err := h.st.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback(ctx)
	if _, err := older.Exec(ctx, `INSERT INTO events (kind, message) VALUES ('host.updated', 'older')`); err != nil {
		t.Fatal(err)
	}
	if err := h.st.AddEvent(ctx, store.Event{Kind: store.EventHostUpdated, Message: "before"}); err != nil {
		t.Fatal(err)
	}
	s := h.openStream(tok, "", "")
	if err := older.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	h.createHost(tok, "after.example.net")
	if m := s.next(); m.event.Message != "older" {
		t.Fatalf("first event %+v, want the older transaction's (committed after the stream opened)", m.event)
	}
	if m := s.next(); !strings.Contains(m.event.Message, "after.example.net") {
		t.Fatalf("second event %+v, want the host created after the stream opened", m.event)
	}
}

// TestStreamResumes: a client that reconnects with the last id it got
// receives every event it missed, in order, then the new ones.
func TestStreamResumes(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	s := h.openStream(tok, "", "")
	h.createHost(tok, "one.example.net")
	last := s.next()
	s.close() // the connection drops
	h.createHost(tok, "two.example.net")
	h.createHost(tok, "three.example.net")
	r := h.openStream(tok, "", last.id)
	for _, want := range []string{"two.example.net", "three.example.net"} {
		if m := r.next(); !strings.Contains(m.event.Message, want) {
			t.Fatalf("after resuming: %+v, want the event of %s", m.event, want)
		}
	}
	h.createHost(tok, "four.example.net")
	if m := r.next(); !strings.Contains(m.event.Message, "four.example.net") {
		t.Fatalf("new event after resuming: %+v", m.event)
	}
}

// TestStreamWaitsForOlderTransactions: an event whose transaction commits
// after a younger one's is not passed over, by a stream that is open
// or one that resumes while the older transaction still runs. A reader
// that took whatever was committed would send the younger event first and
// then never the older one: its position is before the younger's.
func TestStreamWaitsForOlderTransactions(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	s := h.openStream(tok, "", "")
	h.createHost(tok, "first.example.net")
	first := s.next()
	ctx := context.Background()
	older, err := h.st.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback(ctx)
	if _, err := older.Exec(ctx, `INSERT INTO events (kind, message) VALUES ('host.updated', 'older')`); err != nil {
		t.Fatal(err)
	}
	if err := h.st.AddEvent(ctx, store.Event{Kind: store.EventHostUpdated, Message: "younger"}); err != nil {
		t.Fatal(err)
	}
	resumed := h.openStream(tok, "", first.id) // reconnects while the older runs
	s.quiet(500 * time.Millisecond)            // the younger waits for the older
	resumed.quiet(100 * time.Millisecond)
	if err := older.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for name, stream := range map[string]*sseStream{"open": s, "resumed": resumed} {
		a, b := stream.next(), stream.next()
		if a.event.Message != "older" || b.event.Message != "younger" || a.event.Id > b.event.Id {
			t.Fatalf("%s stream: %+v then %+v", name, a.event, b.event)
		}
	}
}

// TestStreamKeepAlive: a quiet stream carries a comment line now and then.
func TestStreamKeepAlive(t *testing.T) {
	// Set before the server starts and restored after it stopped (cleanups
	// run last-registered first), so that no handler reads it meanwhile.
	old := rest.KeepAlive
	rest.KeepAlive = 50 * time.Millisecond
	t.Cleanup(func() { rest.KeepAlive = old })
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	if c := h.openStream(tok, "", "").nextComment(); c != "keep-alive" {
		t.Fatalf("comment %q", c)
	}
}

// TestStreamRefuses: bad positions are 422 naming the header; without
// credentials 401.
func TestStreamRefuses(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	for _, id := range []string{"12", "a-1", "1-", "99999999999999999999-1"} {
		r := h.do(request{method: "GET", path: "/events/stream", token: tok, header: map[string]string{"Last-Event-ID": id}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "Last-Event-ID") {
			t.Errorf("Last-Event-ID %q: %d %s", id, r.status, r.body)
		}
	}
	h.do(request{method: "GET", path: "/events/stream"}).expect(t, http.StatusUnauthorized)
}

// TestStreamAcrossReplicas: an event written through one replica reaches
// the streams of another (its own pool, its own LISTEN) on the same database.
func TestStreamAcrossReplicas(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	other, err := store.Open(context.Background(), h.st.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	hub := feed.New(other, h.log)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); hub.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done; other.Close() })
	srv := httpserver.New(httpserver.Deps{Store: other, Log: h.log, ClientIP: httpserver.ClientIP(nil), Version: "test",
		API: rest.New(rest.Deps{Store: other, Broker: broker.New(other, h.log), Box: h.box, SecretKey: secretKey, Log: h.log,
			PasswordParams: auth.TestParams, Feed: hub})})
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)
	s := h.openStreamAt(ts.URL, tok, "", "")
	h.createHost(tok, "elsewhere.example.net") // through the first replica
	if m := s.next(); !strings.Contains(m.event.Message, "elsewhere.example.net") {
		t.Fatalf("the other replica's stream got %+v", m.event)
	}
}
