package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

const testSecretKey = "test-secret-key-0123456789abcdef0123456789"

// syncBuffer collects a server's log safely across goroutines.
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

// server is `ddnsbroker serve` running in this process.
type server struct {
	URL  string
	Log  *syncBuffer
	stop func() int
}

// startServe runs the serve command with env (DDNSBROKER_* variables) on a
// free port and waits until it serves.
func startServe(t testing.TB, env map[string]string) *server {
	t.Helper()
	return startServeAs(t, "", env)
}

// startServeAs is startServe with program as the binary's name in hints.
func startServeAs(t testing.TB, program string, env map[string]string) *server {
	t.Helper()
	addr := env["DDNSBROKER_LISTEN"] // a replica on a chosen address
	if addr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
	}
	vars := map[string]string{"DDNSBROKER_LISTEN": addr, "DDNSBROKER_SECRET_KEY": testSecretKey,
		"DDNSBROKER_ADMIN_PASSWORD": "admin-password-for-tests", "DDNSBROKER_LOG_LEVEL": "debug"}
	for k, v := range env {
		vars[k] = v
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, &environ{stdin: strings.NewReader(""), stdout: io.Discard, stderr: logs,
			getenv: func(k string) string { return vars[k] }, program: program}, []string{"serve"})
	}()
	s := &server{Log: logs, URL: "http://" + addr}
	var once sync.Once
	code := 0
	s.stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { s.stop() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(s.URL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case c := <-done:
			done <- c // for s.stop in the cleanup, which would wait forever
			t.Fatalf("serve exited with %d:\n%s", c, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fakeUpstream is a dyndns2 provider that records requests; while held, it
// answers nothing.
type fakeUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	hits [][2]string
	hold chan struct{}
}

func newFakeUpstream(t testing.TB) *fakeUpstream {
	u := &fakeUpstream{hold: make(chan struct{})}
	close(u.hold)
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		hold := u.hold
		u.mu.Unlock()
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
		q := r.URL.Query()
		u.mu.Lock()
		u.hits = append(u.hits, [2]string{q.Get("hostname"), q.Get("myip")})
		u.mu.Unlock()
		goodPerName(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *fakeUpstream) requests() [][2]string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([][2]string(nil), u.hits...)
}

// seed creates a dyndns2 service at up, a host with secret, and records.
type recordSpec struct {
	fqdn         string
	v4bits       int // < 0: family off
	v4id         string
	v6bits       int
	v6id         string
	serviceExtra string
}

func seed(t testing.TB, dbURL, upURL, hostFQDN, secret string, recs ...recordSpec) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	box := secretbox.New([]byte(testSecretKey))
	svc, err := st.CreateService(ctx, store.NewService{Name: "fake", Protocol: "dyndns2",
		Settings: []byte(fmt.Sprintf(`{"url": %q}`, upURL+"/nic/update"))})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(auth.DefaultParams, secret)
	if err != nil {
		t.Fatal(err)
	}
	h, err := st.CreateHost(ctx, store.NewHost{FQDN: hostFQDN, SecretHash: hash, Enabled: true, IPv4Enabled: true, IPv6Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		pw, key := box.Seal("upstream-password")
		_, err := st.CreateRecord(ctx, store.NewRecord{HostID: h.ID, ServiceID: svc.ID, FQDN: r.fqdn, Username: "u", Password: pw, PasswordKey: key,
			IPv4Enabled: r.v4bits >= 0, IPv4Netmask: max(r.v4bits, 0), IPv4HostIdentifier: netip.MustParseAddr(r.v4id),
			IPv6Enabled: r.v6bits >= 0, IPv6Netmask: max(r.v6bits, 0), IPv6HostIdentifier: netip.MustParseAddr(r.v6id)})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func waitUntil(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestRouterUpdateIsAnsweredBeforeDeliveryAndFansOut(t *testing.T) {
	dbURL := storetest.NewURL(t)
	up := newFakeUpstream(t)
	seed(t, dbURL, up.URL, "router.example.com", "router-secret-1",
		recordSpec{"a.example.com", 32, "0.0.0.0", -1, "::", ""},
		recordSpec{"b.example.com", 24, "0.0.0.42", 64, "::cafe", ""},
		recordSpec{"c.example.com", -1, "0.0.0.0", 56, "0:0:0:42::1", ""})
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL})

	// Hold the upstream: the router must be answered while no delivery can finish.
	up.mu.Lock()
	up.hold = make(chan struct{})
	up.mu.Unlock()
	req, _ := http.NewRequest("GET", srv.URL+"/nic/update?hostname=router.example.com&myip=198.51.100.7,2001:db8:1:2::99", nil)
	req.SetBasicAuth("router.example.com", "router-secret-1")
	req.Header.Set("User-Agent", "ddclient/4.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "good 198.51.100.7,2001:db8:1:2::99\n" {
		t.Fatalf("router answer: %d %q", resp.StatusCode, body)
	}
	if n := len(up.requests()); n != 0 {
		t.Fatalf("%d upstream requests completed before the router was answered", n)
	}
	close(up.hold)
	want := map[[2]string]bool{
		{"a.example.com", "198.51.100.7"}: true, {"b.example.com", "198.51.100.42"}: true,
		{"b.example.com", "2001:db8:1:2::cafe"}: true, {"c.example.com", "2001:db8:1:42::1"}: true,
	}
	waitUntil(t, "four deliveries", 15*time.Second, func() bool { return len(up.requests()) >= len(want) })
	time.Sleep(300 * time.Millisecond) // anything extra would show up now
	got := up.requests()
	if len(got) != len(want) {
		t.Fatalf("upstream received %d requests, want %d: %v", len(got), len(want), got)
	}
	for _, g := range got {
		if !want[g] {
			t.Fatalf("unexpected upstream request %v (all: %v)", g, got)
		}
		delete(want, g)
	}

	// The same update again: nochg, and the upstream hears nothing.
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "nochg 198.51.100.7,2001:db8:1:2::99\n" {
		t.Fatalf("second answer: %d %q", resp.StatusCode, body)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(up.requests()); n != 4 {
		t.Fatalf("nochg caused upstream requests: %d", n)
	}
	if strings.Contains(srv.Log.String(), "router-secret-1") || strings.Contains(srv.Log.String(), "upstream-password") {
		t.Fatal("a secret reached the log")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": storetest.NewURL(t)})
	if code, body := get(t, srv.URL+"/healthz"); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("healthz: %d %s", code, body)
	}
	code, body := get(t, srv.URL+"/readyz")
	if code != 200 || !strings.Contains(body, fmt.Sprintf(`"schema_version":%d`, store.LatestVersion())) {
		t.Fatalf("readyz: %d %s", code, body)
	}
	if c := srv.stop(); c != 0 {
		t.Fatalf("graceful stop exited %d:\n%s", c, srv.Log.String())
	}
	if !strings.Contains(srv.Log.String(), "shutting down") {
		t.Fatal("no shutdown line in the log")
	}
}

// tcpProxy forwards a port to the database; cutting it is the database
// going away, as far as the server can tell.
type tcpProxy struct {
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { io.Copy(d, c); d.Close() }()
			go func() { io.Copy(c, d); c.Close() }()
		}
	}()
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) restore(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("re-listen on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func TestReadinessFollowsTheDatabase(t *testing.T) {
	dbURL := storetest.NewURL(t)
	m := regexp.MustCompile(`@([0-9.]+:[0-9]+)/`).FindStringSubmatch(dbURL)
	if m == nil {
		t.Fatalf("no host:port in %s", dbURL)
	}
	proxy := newTCPProxy(t, m[1])
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": strings.Replace(dbURL, m[1], proxy.addr, 1)})
	if code, _ := get(t, srv.URL+"/readyz"); code != 200 {
		t.Fatalf("readyz before the outage: %d", code)
	}
	proxy.cut()
	start := time.Now()
	waitUntil(t, "readyz 503", 5*time.Second, func() bool { code, _ := get(t, srv.URL+"/readyz"); return code == 503 })
	t.Logf("readyz turned 503 after %s", time.Since(start).Round(time.Millisecond))
	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Fatalf("healthz during the outage: %d (the process is alive)", code)
	}
	// A router during the outage is told to come back later, not "good".
	req, _ := http.NewRequest("GET", srv.URL+"/nic/update?myip=192.0.2.1", nil)
	req.SetBasicAuth("router.example.com", "x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || strings.TrimSpace(string(b)) != "911" {
		t.Fatalf("update during outage: %d %q", resp.StatusCode, b)
	}
	proxy.restore(t)
	start = time.Now()
	waitUntil(t, "readyz 200 again", 5*time.Second, func() bool { code, _ := get(t, srv.URL+"/readyz"); return code == 200 })
	t.Logf("readyz turned 200 after %s", time.Since(start).Round(time.Millisecond))
}

func TestBadConfigStopsWithOneLine(t *testing.T) {
	var stderr bytes.Buffer
	env := map[string]string{"DDNSBROKER_LISTEN": "nonsense", "DDNSBROKER_DATABASE_URL": "postgres://x@127.0.0.1/x",
		"DDNSBROKER_SECRET_KEY": testSecretKey}
	code := run(context.Background(), &environ{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr,
		getenv: func(k string) string { return env[k] }}, []string{"serve"})
	out := stderr.String()
	if code == 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "DDNSBROKER_LISTEN") {
		t.Fatalf("exit %d, stderr %q: want non-zero and one line naming DDNSBROKER_LISTEN", code, out)
	}
}

func TestFirstStartCreatesAdmin(t *testing.T) {
	dbURL := storetest.NewURL(t)
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_ADMIN_PASSWORD": ""})
	logs := srv.Log.String()
	m := regexp.MustCompile(`admin with password ([a-z2-7]{26}) — change it`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("no generated password with a change-it line in the log:\n%s", logs)
	}
	srv.stop()
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByName(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := auth.VerifyPassword(auth.DefaultParams, u.PasswordHash, m[1]); !ok || err != nil {
		t.Fatalf("logged password does not match the stored hash: %v", err)
	}
	// A second start creates nothing and prints no password.
	srv2 := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_ADMIN_PASSWORD": ""})
	if strings.Contains(srv2.Log.String(), "change it") {
		t.Fatal("second start printed a password again")
	}
}

func TestUserCommands(t *testing.T) {
	dbURL := storetest.NewURL(t)
	env := map[string]string{"DDNSBROKER_DATABASE_URL": dbURL}
	cmd := func(stdin string, args ...string) (int, string) {
		var out bytes.Buffer
		code := run(context.Background(), &environ{stdin: strings.NewReader(stdin), stdout: &out, stderr: &out,
			getenv: func(k string) string { return env[k] }}, args)
		return code, out.String()
	}
	if code, out := cmd("long-enough-password\n", "user", "add", "--username", "alice"); code != 0 || !strings.Contains(out, "created user alice") {
		t.Fatalf("user add: %d %s", code, out)
	}
	if code, out := cmd("long-enough-password\n", "user", "add", "--username", "ALICE"); code == 0 || !strings.Contains(out, "already exists") {
		t.Fatalf("duplicate user add: %d %s", code, out)
	}
	if code, out := cmd("short\n", "user", "add", "--username", "bob"); code == 0 || !strings.Contains(out, "at least") {
		t.Fatalf("short password: %d %s", code, out)
	}
	if code, out := cmd("another-long-password\n", "user", "passwd", "--username", "alice"); code != 0 || !strings.Contains(out, "changed") {
		t.Fatalf("passwd: %d %s", code, out)
	}
	if code, out := cmd("", "user", "list"); code != 0 || !strings.Contains(out, "alice") {
		t.Fatalf("list: %d %s", code, out)
	}
	if code, out := cmd("", "user", "delete", "--username", "alice"); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %d %s", code, out)
	}
	if code, out := cmd("", "user", "list"); code != 0 || strings.Contains(out, "alice") {
		t.Fatalf("list after delete: %d %s", code, out)
	}
	if code, out := cmd("", "migrate", "status"); code != 0 || !strings.Contains(out, fmt.Sprintf("schema version %d of %d (clean)", store.LatestVersion(), store.LatestVersion())) {
		t.Fatalf("migrate status: %d %s", code, out)
	}
	if code, out := cmd("", "migrate", "down"); code != 0 || !strings.Contains(out, "schema version 0") {
		t.Fatalf("migrate down: %d %s", code, out)
	}
	if code, out := cmd("", "migrate", "up"); code != 0 || !strings.Contains(out, "(clean)") {
		t.Fatalf("migrate up: %d %s", code, out)
	}
	// A migration interrupted half-way leaves the version dirty: up refuses,
	// status says what to do, force records the version.
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Pool.Exec(context.Background(), `UPDATE schema_migrations SET dirty = true`); err != nil {
		t.Fatal(err)
	}
	if code, out := cmd("", "migrate", "status"); code != 0 || !strings.Contains(out, "dirty: a migration was interrupted") {
		t.Fatalf("migrate status when dirty: %d %s", code, out)
	}
	if code, out := cmd("", "migrate", "up"); code == 0 || !strings.Contains(out, "is dirty") {
		t.Fatalf("migrate up when dirty: %d %s", code, out)
	}
	if code, out := cmd("", "migrate", "force", "999"); code == 0 || !strings.Contains(out, "newer than this binary") {
		t.Fatalf("migrate force 999: %d %s", code, out)
	}
	if code, out := cmd("", "migrate", "force"); code == 0 || !strings.Contains(out, "Usage") {
		t.Fatalf("migrate force without a version: %d %s", code, out)
	}
	latest := fmt.Sprint(store.LatestVersion())
	if code, out := cmd("", "migrate", "force", latest); code != 0 || !strings.Contains(out, "schema version "+latest+" of "+latest+" (clean)") {
		t.Fatalf("migrate force: %d %s", code, out)
	}
	for _, c := range commands {
		code, out := cmd("", c.name, "--help")
		if code != 0 || !strings.Contains(out, "Usage: ddnsbroker "+c.name) {
			t.Errorf("%s --help: %d %s", c.name, code, out)
		}
	}
}

// goodPerName is a dyndns2 provider's success: one line per name of the
// request's hostname list, as the broker sends several names at once.
func goodPerName(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fmt.Fprint(w, strings.Repeat("good "+q.Get("myip")+"\n", len(strings.Split(q.Get("hostname"), ","))))
}
