package dyndns2

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// The host every test authenticates as.
const (
	hostFQDN   = "home.example.net"
	hostSecret = "s3cret-Secret"
	hostID     = 42
)

// fakeBackend is an in-memory Backend with one host.
type fakeBackend struct {
	t        *testing.T
	mu       sync.Mutex
	host     Host
	secret   string
	state    Result // stored values; Changed unused
	authErr  error  // returned by Authenticate when set
	applyErr error  // returned by Apply when set
	auths    []authCall
	applied  []Update  // without their sources, which tables do not spell out
	sources  []Sources // the sources of each applied update
}

type authCall struct {
	username, secret string
	source           netip.Addr
}

func newFakeBackend(t *testing.T) *fakeBackend {
	return &fakeBackend{
		t: t,
		host: Host{
			ID:          hostID,
			FQDN:        hostFQDN,
			Enabled:     true,
			IPv4Enabled: true,
			IPv6Enabled: true,
			Names:       []string{"a.example.com", "b.example.com", "_acme-challenge.example.com"},
		},
		secret: hostSecret,
	}
}

func (b *fakeBackend) Authenticate(_ context.Context, username, secret string, source netip.Addr) (Host, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.auths = append(b.auths, authCall{username, secret, source})
	if b.authErr != nil {
		return Host{}, b.authErr
	}
	if strings.TrimSuffix(strings.ToLower(username), ".") != b.host.FQDN || secret != b.secret {
		return Host{}, ErrBadAuth
	}
	return b.host, nil
}

func (b *fakeBackend) Apply(_ context.Context, h Host, u Update) (Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sources = append(b.sources, u.Source)
	u.Source = Sources{}
	b.applied = append(b.applied, u)
	if !h.IPv4Enabled && u.IPv4.IsValid() || !h.IPv6Enabled && (u.IPv6.IsValid() || u.Prefix.IsValid()) {
		b.t.Errorf("Apply got a disabled family: %+v for %+v", u, h)
	}
	if b.applyErr != nil {
		return Result{}, b.applyErr
	}
	changed := false
	if u.IPv4.IsValid() && u.IPv4 != b.state.IPv4 {
		b.state.IPv4, changed = u.IPv4, true
	}
	if u.IPv6.IsValid() && u.IPv6 != b.state.IPv6 {
		b.state.IPv6, changed = u.IPv6, true
	}
	if u.Prefix.IsValid() && u.Prefix != b.state.Prefix {
		b.state.Prefix, changed = u.Prefix, true
	}
	res := b.state
	res.Changed = changed
	return res, nil
}

// request is one raw HTTP/1.x request as a client writes it: the request line
// and headers separated by "\n" (sent as CRLF) and an optional body, for
// which Content-Length is added. $AUTH stands for the host's Basic
// credentials.
type request struct {
	head string
	body string
}

// exchange is one request and the answer it must get.
type exchange struct {
	req    request
	status int
	body   string
	header map[string]string // response headers that must have these values
}

// testCase is a sequence of exchanges against a fresh server and backend.
type testCase struct {
	name    string
	source  string             // the client address the handler is told; default 203.0.113.5
	setup   func(*fakeBackend) // adjusts the host before the first request
	steps   []exchange
	applied []Update // every Update that reached Apply, in order
}

const defaultSource = "203.0.113.5"

var basicAuth = base64.StdEncoding.EncodeToString([]byte(hostFQDN + ":" + hostSecret))

// newServer starts the handler on a real listener, so that requests go through
// net/http's own parsing exactly as a client's bytes would.
func newServer(t *testing.T, b Backend, source func() netip.Addr, limit func(string) (bool, time.Duration), logs io.Writer) *httptest.Server {
	t.Helper()
	e := echo.New()
	e.HideBanner = true
	clientIP := func(*http.Request) netip.Addr { return source() }
	h := NewHandler(b, clientIP, limit, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	mount(e, h)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// send writes req on a new connection and reads the answer.
func send(t *testing.T, addr string, req request) (*http.Response, string) {
	t.Helper()
	head := strings.ReplaceAll(req.head, "$AUTH", basicAuth)
	lines := strings.Split(strings.TrimRight(head, "\n"), "\n")
	if req.body != "" {
		lines = append(lines, "Content-Length: "+strconv.Itoa(len(req.body)))
	}
	raw := strings.Join(lines, "\r\n") + "\r\n\r\n" + req.body
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(lines[0], " ")
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading answer to %q: %v", lines[0], err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp, string(body)
}

// run plays tc and checks every answer, what reached Apply, and that the logs
// hold neither the secret nor the query.
func run(t *testing.T, tc testCase) {
	t.Helper()
	b := newFakeBackend(t)
	if tc.setup != nil {
		tc.setup(b)
	}
	src := defaultSource
	if tc.source != "" {
		src = tc.source
	}
	var logs syncBuffer
	srv := newServer(t, b, func() netip.Addr {
		if src == "none" {
			return netip.Addr{}
		}
		return netip.MustParseAddr(src)
	}, nil, &logs)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for i, step := range tc.steps {
		resp, body := send(t, addr, step.req)
		first, _, _ := strings.Cut(step.req.head, "\n")
		if resp.StatusCode != step.status || body != step.body {
			t.Errorf("step %d %s:\ngot  %d %q\nwant %d %q", i, first, resp.StatusCode, body, step.status, step.body)
		}
		checkPlainHeaders(t, resp)
		for k, v := range step.header {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("step %d %s: header %s = %q, want %q", i, first, k, got, v)
			}
		}
		if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != `Basic realm="ddnsbroker"` {
			t.Errorf("step %d: 401 without the Basic challenge", i)
		}
		checkNoSuccessWord(t, resp.StatusCode, body)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !equalUpdates(b.applied, tc.applied) {
		t.Errorf("Apply got %v, want %v", b.applied, tc.applied)
	}
	checkLogs(t, logs.String())
}

func checkPlainHeaders(t *testing.T, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		t.Errorf("redirect %d to %q: inadyn cannot follow it", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// checkNoSuccessWord fails when an answer that is not a success contains a
// word that inadyn or OpenWrt would read as success. An answer is a success
// when it is a 200 with a good/nochg line.
func checkNoSuccessWord(t *testing.T, status int, body string) {
	t.Helper()
	if status == http.StatusOK {
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "good") || strings.HasPrefix(l, "nochg") {
				return
			}
		}
	}
	if hasSuccessWord(body) {
		t.Errorf("error answer %d %q contains a success word", status, body)
	}
}

func checkLogs(t *testing.T, logs string) {
	t.Helper()
	for _, leak := range []string{hostSecret, basicAuth, "myip=", "password", "hostname="} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs contain %q:\n%s", leak, logs)
		}
	}
}

func equalUpdates(a, b []Update) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Shorthands for expected updates.
func v4(s string) Update  { return Update{IPv4: netip.MustParseAddr(s)} }
func v6(s string) Update  { return Update{IPv6: netip.MustParseAddr(s)} }
func pfx(s string) Update { return Update{Prefix: netip.MustParsePrefix(s)} }
func both(a, b string) Update {
	return Update{IPv4: netip.MustParseAddr(a), IPv6: netip.MustParseAddr(b)}
}

// plus merges updates field by field.
func plus(us ...Update) Update {
	var r Update
	for _, u := range us {
		if u.IPv4.IsValid() {
			r.IPv4 = u.IPv4
		}
		if u.IPv6.IsValid() {
			r.IPv6 = u.IPv6
		}
		if u.Prefix.IsValid() {
			r.Prefix = u.Prefix
		}
	}
	return r
}

// get builds a GET with Basic credentials, the common case of the protocol rows.
func get(target string) request {
	return request{head: fmt.Sprintf("GET %s HTTP/1.1\nHost: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: test", target)}
}

// getNoAuth builds a GET without an Authorization header.
func getNoAuth(target string) request {
	return request{head: fmt.Sprintf("GET %s HTTP/1.1\nHost: broker.example.net\nUser-Agent: test", target)}
}

func basicFor(userpass string) string {
	return base64.StdEncoding.EncodeToString([]byte(userpass))
}
