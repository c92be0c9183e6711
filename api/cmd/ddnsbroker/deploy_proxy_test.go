package main

// Debian's nginx and Caddy in front of the broker, each run by the test as
// its own process on loopback high ports with the shipped configuration
// (deploy/nginx.conf with deploy/nginx-logformat.conf, deploy/Caddyfile).
// Only ports, certificate and log paths and the upstream address are
// substituted; the checks are what a router, a browser and a script see.

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

const deployDir = "../../../deploy"

// The names the shipped files serve; the tests keep them and reach the
// proxies on 127.0.0.1 with these names in SNI and Host.
var siteNames = []string{"ddns.example.com", "ipv4.ddns.example.com", "ipv6.ddns.example.com"}

func readDeployFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// substitute replaces every old with its new in s, in pairs, and fails when
// an old one is missing: the shipped file changed shape and the test must
// follow it, not silently test something else.
func substitute(t *testing.T, name, s string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("%s no longer contains %q; adapt the test to the file", name, pairs[i])
		}
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	return s
}

func freePort(t *testing.T) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(freeAddr(t))
	return port
}

// proxied is a reverse proxy in front of a server, as the tests reach it.
type proxied struct {
	https, http string // 127.0.0.1:port
	roots       *x509.CertPool
	accessLog   string // the access log's path; "" when the proxy keeps none
}

// client connects from the loopback address from (127.0.0.x), so that the
// proxy sees a client other than itself, follows no redirect and
// negotiates HTTP/2 where the proxy offers it.
func (p proxied) client(from string) *http.Client {
	hc := p.streamClient(from, true)
	hc.Timeout = 20 * time.Second
	return hc
}

// streamClient is client without an overall time limit, speaking HTTP/2 or
// only HTTP/1.1.
func (p proxied) streamClient(from string, h2 bool) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, ForceAttemptHTTP2: h2,
		TLSClientConfig: &tls.Config{RootCAs: p.roots, ServerName: siteNames[0]}}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type call struct {
	method, url string // url: scheme://name/path, sent to the proxy's port for the scheme
	body        string
	header      map[string]string
}

// do sends c to the proxy; the URL's host is the name the request is for.
func (p proxied) do(t *testing.T, hc *http.Client, c call) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(c.method, c.url, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = req.URL.Host
	if req.URL.Scheme == "https" {
		req.URL.Host = p.https
	} else {
		req.URL.Host = p.http
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", c.method, c.url, err)
	}
	return resp, string(b)
}

const (
	proxiedHost   = "router.example.com"
	proxiedSecret = "router-secret-behind-proxy"
)

// proxiedBroker is a broker that trusts 127.0.0.1, the proxies' address,
// and nobody else, with one host whose record follows its IPv4 address.
func proxiedBroker(t *testing.T) (*server, *fakeUpstream) {
	dbURL := storetest.NewURL(t)
	up := newFakeUpstream(t)
	seed(t, dbURL, up.URL, proxiedHost, proxiedSecret, recordSpec{"www.example.com", 32, "0.0.0.0", -1, "::", ""})
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_TRUSTED_PROXIES": "127.0.0.1/32",
		"DDNSBROKER_LOG_LEVEL": "info"})
	return srv, up
}

// checkProxied is what every proxy configuration must do in front of a
// broker from proxiedBroker.
func checkProxied(t *testing.T, p proxied, broker *server, up *fakeUpstream) {
	// Each client has its own source address; the broker must record that
	// one, from X-Forwarded-For, not the proxy's 127.0.0.1 and not an
	// address the client put in the header itself.
	spoof := map[string]string{"X-Forwarded-For": "198.51.100.23", "X-Real-IP": "198.51.100.24"}
	basic := map[string]string{"Authorization": "Basic " + basicAuth(proxiedHost, proxiedSecret)}
	for k, v := range spoof {
		basic[k] = v
	}

	t.Run("update over HTTPS", func(t *testing.T) {
		resp, body := p.do(t, p.client("127.0.0.2"), call{method: "GET", url: "https://ddns.example.com/nic/update", header: basic})
		if resp.StatusCode != 200 || strings.TrimSpace(body) != "good 127.0.0.2" {
			t.Fatalf("HTTPS update answered %d %q, want 200 \"good 127.0.0.2\"", resp.StatusCode, body)
		}
		if resp.ProtoMajor != 2 {
			t.Errorf("HTTPS spoke %s, want HTTP/2", resp.Proto)
		}
		waitUntil(t, "the delivery of 127.0.0.2", 10*time.Second, func() bool { return has(up.requests(), "www.example.com", "127.0.0.2") })
	})

	t.Run("update over plain HTTP, not redirected", func(t *testing.T) {
		hc := p.client("127.0.0.3")
		q := "?username=" + proxiedHost + "&password=" + proxiedSecret
		// Every spelling of the update path the broker accepts; old routers
		// send the credentials in the query string.
		for i, path := range []string{"/nic/update", "//nic/update", "/v3/update/", "/update", "/nic/update/"} {
			resp, body := p.do(t, hc, call{method: "GET", url: "http://ddns.example.com" + path + q, header: spoof})
			want := "nochg 127.0.0.3"
			if i == 0 {
				want = "good 127.0.0.3"
			}
			if resp.StatusCode != 200 || strings.TrimSpace(body) != want {
				t.Fatalf("plain-HTTP %s answered %d %q (Location %q), want 200 %q", path, resp.StatusCode, body, resp.Header.Get("Location"), want)
			}
		}
		waitUntil(t, "the delivery of 127.0.0.3", 10*time.Second, func() bool { return has(up.requests(), "www.example.com", "127.0.0.3") })
	})

	t.Run("check-IP over plain HTTP and HTTPS", func(t *testing.T) {
		hc := p.client("127.0.0.4")
		for _, u := range []string{"http://ipv4.ddns.example.com/myip", "http://ddns.example.com/nic/checkip", "https://ddns.example.com/myip"} {
			resp, body := p.do(t, hc, call{method: "GET", url: u, header: spoof})
			if resp.StatusCode != 200 || strings.TrimSpace(body) != "127.0.0.4" {
				t.Fatalf("%s answered %d %q, want 200 \"127.0.0.4\"", u, resp.StatusCode, body)
			}
		}
	})

	t.Run("plain HTTP redirects the rest to HTTPS", func(t *testing.T) {
		hc := p.client("127.0.0.5")
		for _, path := range []string{"/", "/hosts/3?tab=records", "/api/v1/me", "/nic/updates", "/metrics"} {
			resp, _ := p.do(t, hc, call{method: "GET", url: "http://ddns.example.com" + path})
			if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "https://ddns.example.com"+path {
				t.Errorf("plain-HTTP %s answered %d Location %q, want 301 to https://ddns.example.com%s", path, resp.StatusCode, resp.Header.Get("Location"), path)
			}
		}
	})

	t.Run("web app over HTTPS", func(t *testing.T) {
		direct, err := http.Get(broker.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		direct.Body.Close()
		hc := p.client("127.0.0.6")
		for _, path := range []string{"/", "/hosts"} {
			resp, body := p.do(t, hc, call{method: "GET", url: "https://ddns.example.com" + path})
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<html") {
				t.Fatalf("%s answered %d %s:\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), trunc(body, 300))
			}
			// A second policy from the proxy would be enforced too and could
			// only forbid more than the app's own (its inline script's hash).
			if got, want := resp.Header.Values("Content-Security-Policy"), direct.Header.Values("Content-Security-Policy"); !slices.Equal(got, want) {
				t.Errorf("%s through the proxy has Content-Security-Policy %q, the broker sends %q", path, got, want)
			}
			if resp.Header.Get("Strict-Transport-Security") == "" {
				t.Errorf("%s over HTTPS has no Strict-Transport-Security", path)
			}
		}
	})

	t.Run("JSON API over HTTPS", func(t *testing.T) {
		hc := p.client("127.0.0.7")
		resp, body := p.do(t, hc, call{method: "POST", url: "https://ddns.example.com/api/v1/auth/login",
			body: `{"username": "admin", "password": "admin-password-for-tests"}`, header: map[string]string{"Content-Type": "application/json"}})
		var login struct {
			AccessToken string `json:"access_token"`
		}
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &login) != nil || login.AccessToken == "" {
			t.Fatalf("login answered %d: %s", resp.StatusCode, body)
		}
		// The broker marks the refresh cookie Secure because the proxy said
		// the request came over HTTPS (X-Forwarded-Proto).
		if c := resp.Header.Get("Set-Cookie"); !strings.Contains(c, "Secure") {
			t.Errorf("refresh cookie through HTTPS is not Secure: %q", c)
		}
		resp, body = p.do(t, hc, call{method: "GET", url: "https://ddns.example.com/api/v1/hosts",
			header: map[string]string{"Authorization": "Bearer " + login.AccessToken}})
		var hosts struct {
			Items []struct {
				FQDN string  `json:"fqdn"`
				IPv4 *string `json:"ipv4"`
			} `json:"items"`
		}
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &hosts) != nil || len(hosts.Items) != 1 {
			t.Fatalf("GET /api/v1/hosts answered %d: %s", resp.StatusCode, body)
		}
		if h := hosts.Items[0]; h.FQDN != proxiedHost || h.IPv4 == nil || *h.IPv4 != "127.0.0.3" {
			t.Fatalf("the host through the API: %s, want %s with ipv4 127.0.0.3 (the last router's address)", body, proxiedHost)
		}
	})

	if p.accessLog != "" {
		t.Run("access log without credentials", func(t *testing.T) {
			b, err := os.ReadFile(p.accessLog)
			if err != nil {
				t.Fatal(err)
			}
			log := string(b)
			if !strings.Contains(log, "/nic/update") || !strings.Contains(log, "127.0.0.3") {
				t.Fatalf("the access log lacks the updates:\n%s", log)
			}
			if strings.Contains(log, proxiedSecret) || strings.Contains(log, "password=") {
				t.Fatalf("the access log holds router credentials:\n%s", log)
			}
		})
	}
}

func basicAuth(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// streamStub stands in for the broker's Server-Sent Events (coming with the
// live dashboard): one event, flushed, then the stream stays open until the
// client has read the event or 20 s have passed.
type streamStub struct {
	addr string
	mu   sync.Mutex
	next *streamRound
}

// streamRound is one request to the stub.
type streamRound struct {
	received chan struct{} // closed by the client once it has the event
	heldBack atomic.Bool   // the client had nothing when the stub gave up
}

// expect prepares the round for the next request.
func (s *streamStub) expect() *streamRound {
	r := &streamRound{received: make(chan struct{})}
	s.mu.Lock()
	s.next = r
	s.mu.Unlock()
	return r
}

func newStreamStub(t *testing.T) *streamStub {
	s := &streamStub{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/events/stream" {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		round := s.next
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		fmt.Fprint(w, "event: delivery\ndata: {\"id\": 1}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-round.received:
		case <-time.After(20 * time.Second):
			round.heldBack.Store(true)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	s.addr = strings.TrimPrefix(srv.URL, "http://")
	return s
}

// checkStreaming reads the first event through the proxy, over HTTP/2 and
// over HTTP/1.1, while the stream is still open: a proxy that buffers
// delivers it only when the stream ends.
func checkStreaming(t *testing.T, p proxied, stub *streamStub) {
	for _, h2 := range []bool{true, false} {
		t.Run(map[bool]string{true: "HTTP/2", false: "HTTP/1.1"}[h2], func(t *testing.T) {
			round := stub.expect()
			req, err := http.NewRequest("GET", "https://"+p.https+"/api/v1/events/stream", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = siteNames[0]
			req.Header.Set("Accept", "text/event-stream")
			req.Header.Set("Accept-Encoding", "gzip") // as browsers send it
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			resp, err := p.streamClient("127.0.0.8", h2).Do(req.WithContext(ctx))
			if err != nil {
				close(round.received)
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body io.Reader = resp.Body
			if resp.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					close(round.received)
					t.Fatalf("gzip stream: %v", err)
				}
				body = zr
			}
			line, err := bufio.NewReader(body).ReadString('\n')
			close(round.received)
			if round.heldBack.Load() {
				t.Fatalf("the proxy held the event back until the stream ended (%s): the stream is buffered", resp.Proto)
			}
			if err != nil || line != "event: delivery\n" {
				t.Fatalf("first line of the stream: %q, %v (status %d %s)", line, err, resp.StatusCode, resp.Proto)
			}
		})
	}
}

// selfSignedCert writes a certificate for siteNames and its key.
func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, roots *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: siteNames[0]}, DNSNames: siteNames,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	writeFile(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	cert, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// runProxy starts a proxy process and stops it when the test ends; its
// output goes to the test log when the test failed. The function it returns
// waits until the proxy accepts connections on every address.
func runProxy(t *testing.T, name string, cmd *exec.Cmd) (waitListening func(addrs ...string)) {
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(out.String(), 6000))
		}
	})
	return func(addrs ...string) {
		t.Helper()
		for _, a := range addrs {
			waitUntil(t, name+" listening on "+a, 20*time.Second, func() bool {
				select {
				case <-exited:
					t.Fatalf("%s exited while starting:\n%s", name, tail(out.String(), 6000))
				default:
				}
				c, err := net.DialTimeout("tcp", a, time.Second)
				if err == nil {
					c.Close()
				}
				return err == nil
			})
		}
	}
}

// startNginx runs Debian's nginx with the shipped site and log format in
// front of upstream (host:port), as an unprivileged-friendly child process:
// everything it writes lives in a temporary prefix.
func startNginx(t *testing.T, upstream string) proxied {
	nginx := lookClient(t, "nginx")
	dir := t.TempDir()
	certFile, keyFile, roots := selfSignedCert(t, dir)
	httpsPort, httpPort := freePort(t), freePort(t)
	accessLog := filepath.Join(dir, "ddnsbroker.log")
	site := substitute(t, "deploy/nginx.conf", readDeployFile(t, "nginx.conf"),
		"server 127.0.0.1:8080;", "server "+upstream+";",
		"listen 443 ", "listen 127.0.0.1:"+httpsPort+" ",
		"listen [::]:443 ", "listen [::1]:"+httpsPort+" ",
		"listen 80;", "listen 127.0.0.1:"+httpPort+";",
		"listen [::]:80;", "listen [::1]:"+httpPort+";",
		"/etc/letsencrypt/live/ddns.example.com/fullchain.pem", certFile,
		"/etc/letsencrypt/live/ddns.example.com/privkey.pem", keyFile,
		"/var/log/nginx/ddnsbroker.log", accessLog)
	writeFile(t, filepath.Join(dir, "ddnsbroker-site.conf"), site)
	writeFile(t, filepath.Join(dir, "ddnsbroker-log.conf"), readDeployFile(t, "nginx-logformat.conf"))
	// The main configuration, as Debian's /etc/nginx/nginx.conf includes
	// conf.d/*.conf and sites-enabled/* in http { }, with every path nginx
	// writes moved into dir (Debian's build puts them under /var).
	user := ""
	if os.Geteuid() == 0 {
		user = "user root root;" // the workers would run as nobody, shut out of dir
	}
	var temp strings.Builder
	for _, k := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temp, "    %s_temp_path %s;\n", k, filepath.Join(dir, k))
	}
	main := fmt.Sprintf(`%s
daemon off;
worker_processes 1;
pid %s;
error_log stderr info;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    access_log %s;
%s    include %s;
    include %s;
}
`, user, filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "access.log"),
		temp.String(), filepath.Join(dir, "ddnsbroker-log.conf"), filepath.Join(dir, "ddnsbroker-site.conf"))
	conf := filepath.Join(dir, "nginx.conf")
	writeFile(t, conf, main)
	args := []string{"-p", dir, "-c", conf, "-e", "stderr"}
	if out, err := exec.Command(nginx, append([]string{"-t"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t with the shipped site: %v\n%s", err, out)
	}
	wait := runProxy(t, "nginx", exec.Command(nginx, args...))
	p := proxied{https: "127.0.0.1:" + httpsPort, http: "127.0.0.1:" + httpPort, roots: roots, accessLog: accessLog}
	wait(p.https, p.http, "[::1]:"+httpsPort, "[::1]:"+httpPort)
	return p
}

func TestNginxFrontsTheBroker(t *testing.T) {
	srv, up := proxiedBroker(t)
	p := startNginx(t, strings.TrimPrefix(srv.URL, "http://"))
	checkProxied(t, p, srv, up)
	t.Run("event stream unbuffered", func(t *testing.T) {
		stub := newStreamStub(t)
		checkStreaming(t, startNginx(t, stub.addr), stub)
	})
}

var caddyGlobal = regexp.MustCompile(`(?m)^\{\n(?:\t.*\n)*\}\n`)

// startCaddy runs Debian's Caddy with the shipped Caddyfile in front of
// upstream: the global options are the test's (loopback only, high ports,
// certificates from Caddy's own local CA, kept in dir, never installed in
// the system's trust store, no admin endpoint), the sites are as shipped.
func startCaddy(t *testing.T, upstream string) proxied {
	caddy := lookClient(t, "caddy")
	dir := t.TempDir()
	httpsPort, httpPort := freePort(t), freePort(t)
	data := filepath.Join(dir, "data")
	shipped := readDeployFile(t, "Caddyfile")
	if !caddyGlobal.MatchString(shipped) {
		t.Fatal("deploy/Caddyfile has no global options block; adapt the test to the file")
	}
	global := fmt.Sprintf("{\n\tadmin off\n\tdefault_bind 127.0.0.1 [::1]\n\thttp_port %s\n\thttps_port %s\n\tlocal_certs\n\tskip_install_trust\n\tstorage file_system %s\n}\n",
		httpPort, httpsPort, data)
	conf := caddyGlobal.ReplaceAllLiteralString(shipped, global)
	conf = substitute(t, "deploy/Caddyfile", conf, "ddnsbroker:8080", upstream)
	file := filepath.Join(dir, "Caddyfile")
	writeFile(t, file, conf)
	if out, err := exec.Command(caddy, "validate", "--config", file, "--adapter", "caddyfile").CombinedOutput(); err != nil {
		t.Fatalf("caddy validate with the shipped Caddyfile: %v\n%s", err, out)
	}
	cmd := exec.Command(caddy, "run", "--config", file, "--adapter", "caddyfile")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_DATA_HOME=" + data, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config")}
	wait := runProxy(t, "caddy", cmd)
	p := proxied{https: "127.0.0.1:" + httpsPort, http: "127.0.0.1:" + httpPort}
	// The plain-HTTP port is checked by the requests to it.
	wait(p.https, "[::1]:"+httpsPort)
	// Caddy issues the certificates from its local CA just after it starts.
	waitUntil(t, "caddy's certificates", 30*time.Second, func() bool {
		for _, name := range siteNames {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", p.https, &tls.Config{ServerName: name, InsecureSkipVerify: true})
			if err != nil {
				return false
			}
			c.Close()
		}
		return true
	})
	root, err := os.ReadFile(filepath.Join(data, "pki", "authorities", "local", "root.crt"))
	if err != nil {
		t.Fatal(err)
	}
	p.roots = x509.NewCertPool()
	if !p.roots.AppendCertsFromPEM(root) {
		t.Fatal("caddy's root certificate does not parse")
	}
	return p
}

func TestCaddyFrontsTheBroker(t *testing.T) {
	srv, up := proxiedBroker(t)
	p := startCaddy(t, strings.TrimPrefix(srv.URL, "http://"))
	checkProxied(t, p, srv, up)
	t.Run("event stream unbuffered", func(t *testing.T) {
		stub := newStreamStub(t)
		checkStreaming(t, startCaddy(t, stub.addr), stub)
	})
}
