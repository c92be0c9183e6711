package delivery_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ddnsbroker/ddnsbroker/api/delivery"
)

// namedInstall is what the tests tell whoever runs them without BIND.
const namedInstall = "install BIND 9 and its tools: apt-get install -y bind9 bind9-dnsutils"

// namedServer is a real BIND 9 on 127.0.0.1 and a free port, serving
// dynamic zones signed for with TSIG keys generated per test.
type namedServer struct {
	t    *testing.T
	dir  string
	addr string
	bin  string
	args []string
	uid  int
	gid  int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	out  *lockedBuffer
	// keys by name: base64 secrets.
	keys map[string]string
}

// Key names of the test server: three allowed to update, one known but
// not allowed.
const (
	keySHA256  = "ddns-sha256"
	keySHA512  = "ddns-sha512"
	keyMD5     = "ddns-md5"
	keyOutside = "other-key"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func findNamed(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("named"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/named", "/usr/local/sbin/named"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("named (BIND 9) is not installed; the rfc2136 tests need a real one: %s", namedInstall)
	return ""
}

func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// startNamed writes a configuration with zones example.test (dynamic),
// sub.example.test (dynamic, a separate zone below it) and static.test
// (no updates), starts named and waits until it answers.
func startNamed(t *testing.T) *namedServer {
	t.Helper()
	n := &namedServer{t: t, bin: findNamed(t), uid: -1, gid: -1, keys: map[string]string{
		keySHA256: randomSecret(t), keySHA512: randomSecret(t), keyMD5: randomSecret(t), keyOutside: randomSecret(t),
	}}
	// named drops root for user bind (it refuses to run as root without
	// -u), so its directory must be readable and writable by bind; the
	// test's own t.TempDir() sits below a 0700 directory.
	dir, err := os.MkdirTemp("", "ddnsbroker-named-")
	if err != nil {
		t.Fatal(err)
	}
	n.dir = dir
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("bind")
		if err != nil {
			t.Fatalf("running as root, named needs the user bind to drop to: %v (%s)", err, namedInstall)
		}
		n.uid, _ = strconv.Atoi(u.Uid)
		n.gid, _ = strconv.Atoi(u.Gid)
		if err := os.Chown(dir, n.uid, n.gid); err != nil {
			t.Fatal(err)
		}
	}

	zone := func(extra string) string {
		return fmt.Sprintf("$TTL 300\n@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60\n@ IN NS ns.example.test.\n%s", extra)
	}
	n.write("example.test.zone", zone("ns IN A 127.0.0.1\nsub IN NS ns.example.test.\n"))
	n.write("sub.example.test.zone", zone(""))
	n.write("static.test.zone", zone("www IN A 192.0.2.99\n"))

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		n.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		n.writeConfig(port)
		if lastErr = n.tryStart(); lastErr == nil {
			t.Cleanup(n.stop)
			return n
		}
		if !strings.Contains(lastErr.Error(), "address in use") {
			break
		}
	}
	t.Fatalf("named did not start: %v", lastErr)
	return nil
}

func (n *namedServer) write(name, content string) {
	n.t.Helper()
	p := filepath.Join(n.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		n.t.Fatal(err)
	}
	if n.uid >= 0 {
		if err := os.Chown(p, n.uid, n.gid); err != nil {
			n.t.Fatal(err)
		}
	}
}

func (n *namedServer) writeConfig(port int) {
	var keys strings.Builder
	for _, name := range []string{keySHA256, keySHA512, keyMD5, keyOutside} {
		alg := "hmac-sha256"
		switch name {
		case keySHA512:
			alg = "hmac-sha512"
		case keyMD5:
			alg = "hmac-md5"
		}
		fmt.Fprintf(&keys, "key %q { algorithm %s; secret %q; };\n", name, alg, n.keys[name])
	}
	allow := fmt.Sprintf(`allow-update { key %q; key %q; key %q; };`, keySHA256, keySHA512, keyMD5)
	conf := fmt.Sprintf(`options {
	directory %[1]q;
	pid-file %[2]q;
	session-keyfile %[3]q;
	managed-keys-directory %[1]q;
	listen-on port %[4]d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
	notify no;
	allow-transfer { none; };
};
controls { };
%[5]s
zone "example.test" { type primary; file "example.test.zone"; %[6]s };
zone "sub.example.test" { type primary; file "sub.example.test.zone"; %[6]s };
zone "static.test" { type primary; file "static.test.zone"; };
`, n.dir, filepath.Join(n.dir, "named.pid"), filepath.Join(n.dir, "session.key"), port, keys.String(), allow)
	n.write("named.conf", conf)
	n.args = []string{"-g", "-4", "-n", "1", "-c", filepath.Join(n.dir, "named.conf")}
	if n.uid >= 0 {
		n.args = append(n.args, "-u", "bind")
	}
}

// freePort finds a port free for both UDP and TCP on 127.0.0.1.
func freePort() (int, error) {
	for i := 0; i < 20; i++ {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		_ = pc.Close()
		if err == nil {
			_ = l.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port on 127.0.0.1")
}

// tryStart runs named and waits (at most 20 s) until it answers an SOA
// query over UDP and TCP.
func (n *namedServer) tryStart() error {
	out := &lockedBuffer{}
	cmd := exec.Command(n.bin, n.args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w (%s)", n.bin, err, namedInstall)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	n.mu.Lock()
	n.cmd, n.done, n.out = cmd, done, out
	n.mu.Unlock()

	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("named exited: %s", lastLines(out.String(), 15))
		default:
		}
		if n.answers("udp") && n.answers("tcp") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.stop()
	return fmt.Errorf("named did not answer within 20 s: %s", lastLines(out.String(), 15))
}

func (n *namedServer) answers(network string) bool {
	c := &dns.Client{Net: network, Timeout: 300 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion("example.test.", dns.TypeSOA)
	r, _, err := c.Exchange(m, n.addr)
	return err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0
}

// start starts a stopped named again on the same port.
func (n *namedServer) start() {
	n.t.Helper()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = n.tryStart(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	n.t.Fatalf("restarting named: %v", err)
}

// stop ends named (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (n *namedServer) stop() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (n *namedServer) log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.out == nil {
		return ""
	}
	return lastLines(n.out.String(), 20)
}

func lastLines(s string, k int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > k {
		lines = lines[len(lines)-k:]
	}
	return strings.Join(lines, "\n")
}

// lookup asks named for name's A or AAAA records: addresses and TTLs.
func (n *namedServer) lookup(t *testing.T, name string, family int) ([]string, []uint32) {
	t.Helper()
	qtype := dns.TypeA
	if family == 6 {
		qtype = dns.TypeAAAA
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, n.addr)
	if err != nil {
		t.Fatalf("query %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	var addrs []string
	var ttls []uint32
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			addrs = append(addrs, rr.A.String())
			ttls = append(ttls, rr.Hdr.Ttl)
		case *dns.AAAA:
			addrs = append(addrs, rr.AAAA.String())
			ttls = append(ttls, rr.Hdr.Ttl)
		}
	}
	slices.Sort(addrs)
	return addrs, ttls
}

// settings builds rfc2136 service settings for this server.
func (n *namedServer) settings(kv map[string]any) json.RawMessage {
	s := map[string]any{"server": n.addr}
	for k, v := range kv {
		s[k] = v
	}
	b, _ := json.Marshal(s)
	return b
}

func TestRFC2136AgainstBIND(t *testing.T) {
	n := startNamed(t)
	p := &delivery.RFC2136{Timeout: 3 * time.Second}
	wrongSecret := randomSecret(t)

	tests := []struct {
		name     string
		settings map[string]any
		secret   string // default: the key's own
		fqdn     string
		family   int
		addr     string
		want     delivery.Result
		wantMsg  []string // substrings of the message
		wantTTL  uint32   // when delivered; 0 means 60
	}{
		{name: "A with the zone set, hmac-sha256",
			settings: map[string]any{"zone": "example.test", "key_name": keySHA256, "algorithm": "hmac-sha256"},
			fqdn:     "www.example.test", family: 4, addr: "198.51.100.7", want: delivery.Delivered,
			wantMsg: []string{"NOERROR", "www.example.test. A → 198.51.100.7 in zone example.test."}},
		{name: "A replaced, not added",
			settings: map[string]any{"zone": "example.test", "key_name": keySHA256},
			fqdn:     "www.example.test", family: 4, addr: "198.51.100.8", want: delivery.Delivered},
		{name: "AAAA, zone found by SOA query, hmac-sha512",
			settings: map[string]any{"key_name": keySHA512, "algorithm": "hmac-sha512"},
			fqdn:     "host.example.test", family: 6, addr: "2001:db8:1:2::cafe", want: delivery.Delivered,
			wantMsg: []string{"in zone example.test."}},
		{name: "hmac-md5 for old servers, ttl 300",
			settings: map[string]any{"zone": "example.test", "key_name": keyMD5, "algorithm": "hmac-md5", "ttl": 300},
			fqdn:     "old.example.test", family: 4, addr: "203.0.113.5", want: delivery.Delivered, wantTTL: 300},
		{name: "SOA query finds the sub-zone",
			settings: map[string]any{"key_name": keySHA256},
			fqdn:     "a.sub.example.test", family: 6, addr: "2001:db8::1", want: delivery.Delivered,
			wantMsg: []string{"in zone sub.example.test."}},
		{name: "zone apex found by SOA query",
			settings: map[string]any{"key_name": keySHA256},
			fqdn:     "example.test", family: 4, addr: "192.0.2.10", want: delivery.Delivered},
		{name: "over TCP",
			settings: map[string]any{"zone": "example.test", "key_name": keySHA256, "tcp": true},
			fqdn:     "tcp.example.test", family: 6, addr: "2001:db8::53", want: delivery.Delivered},
		{name: "wrong secret is BADSIG",
			settings: map[string]any{"zone": "example.test", "key_name": keySHA256},
			secret:   wrongSecret, fqdn: "bad.example.test", family: 4, addr: "192.0.2.1", want: delivery.Failed,
			wantMsg: []string{"NOTAUTH", "BADSIG", "check the secret"}},
		{name: "wrong secret while finding the zone is BADSIG too",
			settings: map[string]any{"key_name": keySHA256},
			secret:   wrongSecret, fqdn: "bad.example.test", family: 4, addr: "192.0.2.1", want: delivery.Failed,
			wantMsg: []string{"finding the zone", "BADSIG"}},
		{name: "wrong algorithm is a TSIG error",
			settings: map[string]any{"zone": "example.test", "key_name": keySHA256, "algorithm": "hmac-sha512"},
			fqdn:     "bad.example.test", family: 4, addr: "192.0.2.1", want: delivery.Failed,
			wantMsg: []string{"NOTAUTH"}},
		{name: "unknown key is BADKEY",
			settings: map[string]any{"zone": "example.test", "key_name": "no-such-key"},
			secret:   wrongSecret, fqdn: "bad.example.test", family: 4, addr: "192.0.2.1", want: delivery.Failed,
			wantMsg: []string{"NOTAUTH", "BADKEY", "no-such-key."}},
		{name: "key not allowed to update is REFUSED",
			settings: map[string]any{"zone": "example.test", "key_name": keyOutside},
			fqdn:     "bad.example.test", family: 4, addr: "192.0.2.1", want: delivery.Failed,
			wantMsg: []string{"REFUSED", "allow-update"}},
		{name: "zone without updates is REFUSED",
			settings: map[string]any{"zone": "static.test", "key_name": keySHA256},
			fqdn:     "www.static.test", family: 4, addr: "192.0.2.1", want: delivery.Failed,
			wantMsg: []string{"REFUSED"}},
		{name: "zone the server does not serve",
			settings: map[string]any{"zone": "elsewhere.test", "key_name": keySHA256},
			fqdn:     "www.elsewhere.test", family: 4, addr: "192.0.2.1", want: delivery.Failed,
			wantMsg: []string{"NOTAUTH"}},
		{name: "no zone of the server holds the name",
			settings: map[string]any{"key_name": keySHA256},
			fqdn:     "www.elsewhere.test", family: 4, addr: "192.0.2.1", want: delivery.Failed,
			wantMsg: []string{"finding the zone of www.elsewhere.test.", "REFUSED", "does not answer for this name"}},
		{name: "name outside the configured zone",
			settings: map[string]any{"zone": "example.test", "key_name": keySHA256},
			fqdn:     "www.other.test", family: 4, addr: "192.0.2.1", want: delivery.Failed,
			wantMsg: []string{"not in zone example.test."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keyName, _ := tc.settings["key_name"].(string)
			secret := tc.secret
			if secret == "" {
				secret = n.keys[keyName]
			}
			addr := netip.MustParseAddr(tc.addr)
			out := p.Send(context.Background(), n.settings(tc.settings),
				delivery.Target{FQDN: tc.fqdn, Family: tc.family, Address: addr, Credential: secret})
			t.Logf("%v: %s", out.Result, out.Message)
			if out.Result != tc.want {
				t.Fatalf("result = %v (%s), want %v\nnamed:\n%s", out.Result, out.Message, tc.want, n.log())
			}
			for _, w := range tc.wantMsg {
				if !strings.Contains(out.Message, w) {
					t.Errorf("message %q does not contain %q", out.Message, w)
				}
			}
			if strings.Contains(out.Message, secret) || len(out.Message) > 512 {
				t.Errorf("message leaks the secret or is too long: %q", out.Message)
			}
			if tc.want != delivery.Delivered {
				if got, _ := n.lookup(t, tc.fqdn, tc.family); slices.Contains(got, addr.String()) {
					t.Errorf("a refused update was applied: %v", got)
				}
				return
			}
			got, ttls := n.lookup(t, tc.fqdn, tc.family)
			if len(got) != 1 || got[0] != addr.String() {
				t.Fatalf("named answers %v for %s, want exactly [%s]", got, tc.fqdn, addr)
			}
			wantTTL := tc.wantTTL
			if wantTTL == 0 {
				wantTTL = 60
			}
			if ttls[0] != wantTTL {
				t.Errorf("ttl = %d, want %d", ttls[0], wantTTL)
			}
		})
	}
}

func TestRFC2136RetriesWhileNamedIsDownAndDeliversAfterRestart(t *testing.T) {
	n := startNamed(t)
	p := &delivery.RFC2136{Timeout: time.Second}
	for _, tcp := range []bool{false, true} {
		t.Run(fmt.Sprintf("tcp=%v", tcp), func(t *testing.T) {
			settings := n.settings(map[string]any{"key_name": keySHA256, "tcp": tcp}) // zone by SOA query
			target := delivery.Target{FQDN: "down.example.test", Family: 4, Credential: n.keys[keySHA256]}
			target.Address = netip.MustParseAddr("192.0.2.1")
			if out := p.Send(context.Background(), settings, target); out.Result != delivery.Delivered {
				t.Fatalf("before the stop: %v %s", out.Result, out.Message)
			}

			n.stop()
			target.Address = netip.MustParseAddr("192.0.2.2")
			for i := 0; i < 2; i++ {
				out := p.Send(context.Background(), settings, target)
				t.Logf("%v: %s", out.Result, out.Message)
				if out.Result != delivery.Retry {
					t.Fatalf("named stopped: %v %s, want retry", out.Result, out.Message)
				}
				if !strings.Contains(out.Message, "refused") && !strings.Contains(out.Message, "timeout") {
					t.Errorf("message %q says neither refused nor timeout", out.Message)
				}
			}

			n.start()
			if out := p.Send(context.Background(), settings, target); out.Result != delivery.Delivered {
				t.Fatalf("after the restart: %v %s\nnamed:\n%s", out.Result, out.Message, n.log())
			}
			if got, _ := n.lookup(t, target.FQDN, 4); len(got) != 1 || got[0] != "192.0.2.2" {
				t.Fatalf("after the restart named answers %v", got)
			}
		})
	}
}

// fakeDNS answers every query with what answer returns, packed as is, so
// a test can send what BIND would not: SERVFAIL, BADTIME, unsigned NOERROR,
// or nothing at all (a nil answer).
func fakeDNS(t *testing.T, answer func(req *dns.Msg) *dns.Msg) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req := new(dns.Msg)
			if req.Unpack(buf[:n]) != nil {
				continue
			}
			resp := answer(req)
			if resp == nil {
				continue
			}
			if b, err := resp.Pack(); err == nil {
				_, _ = pc.WriteTo(b, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func TestRFC2136Classification(t *testing.T) {
	secret := randomSecret(t)
	withTSIGError := func(rcode int, tsigErr uint16) func(req *dns.Msg) *dns.Msg {
		return func(req *dns.Msg) *dns.Msg {
			resp := new(dns.Msg).SetRcode(req, rcode)
			resp.Extra = append(resp.Extra, &dns.TSIG{
				Hdr:       dns.RR_Header{Name: "key.", Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
				Algorithm: dns.HmacSHA256, TimeSigned: uint64(time.Now().Unix()), Fudge: 300,
				OrigId: req.Id, Error: tsigErr,
			})
			return resp
		}
	}
	rcode := func(code int) func(req *dns.Msg) *dns.Msg {
		return func(req *dns.Msg) *dns.Msg { return new(dns.Msg).SetRcode(req, code) }
	}
	tests := []struct {
		name    string
		answer  func(req *dns.Msg) *dns.Msg
		want    delivery.Result
		wantMsg string
	}{
		{"SERVFAIL is retried", rcode(dns.RcodeServerFailure), delivery.Retry, "SERVFAIL"},
		{"no answer is a retried timeout", func(*dns.Msg) *dns.Msg { return nil }, delivery.Retry, "timeout"},
		{"REFUSED fails", rcode(dns.RcodeRefused), delivery.Failed, "REFUSED"},
		{"NOTAUTH fails", rcode(dns.RcodeNotAuth), delivery.Failed, "NOTAUTH"},
		{"NOTZONE fails", rcode(dns.RcodeNotZone), delivery.Failed, "NOTZONE"},
		{"NOTIMP fails", rcode(dns.RcodeNotImplemented), delivery.Failed, "NOTIMP"},
		{"FORMERR fails", rcode(dns.RcodeFormatError), delivery.Failed, "FORMERR"},
		{"unsigned NOERROR is not trusted", rcode(dns.RcodeSuccess), delivery.Failed, "without a TSIG signature"},
		{"BADSIG fails", withTSIGError(dns.RcodeNotAuth, dns.RcodeBadSig), delivery.Failed, "NOTAUTH (BADSIG)"},
		{"BADKEY fails", withTSIGError(dns.RcodeNotAuth, dns.RcodeBadKey), delivery.Failed, "NOTAUTH (BADKEY)"},
		{"BADTIME is retried (a clock is off)", withTSIGError(dns.RcodeNotAuth, dns.RcodeBadTime), delivery.Retry, "clocks"},
		{"NOERROR with a forged signature is retried", withTSIGError(dns.RcodeSuccess, 0), delivery.Retry, "does not verify"},
	}
	p := &delivery.RFC2136{Timeout: 300 * time.Millisecond}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeDNS(t, tc.answer)
			settings, _ := json.Marshal(map[string]any{"server": addr, "zone": "example.test", "key_name": "key"})
			out := p.Send(context.Background(), settings, delivery.Target{FQDN: "www.example.test", Family: 6,
				Address: netip.MustParseAddr("2001:db8::1"), Credential: secret})
			if out.Result != tc.want || !strings.Contains(out.Message, tc.wantMsg) {
				t.Fatalf("got %v %q, want %v containing %q", out.Result, out.Message, tc.want, tc.wantMsg)
			}
			if strings.Contains(out.Message, secret) {
				t.Fatalf("message leaks the secret: %q", out.Message)
			}
		})
	}
}

func TestRFC2136BadInput(t *testing.T) {
	good := map[string]any{"server": "127.0.0.1:1", "zone": "example.test", "key_name": "key"}
	with := func(k string, v any) json.RawMessage {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	v4 := netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		name     string
		settings json.RawMessage
		target   delivery.Target
		wantMsg  string
	}{
		{"no secret", with("zone", "example.test"), delivery.Target{FQDN: "a.example.test", Family: 4, Address: v4}, "no TSIG secret"},
		{"secret not base64", with("zone", "example.test"), delivery.Target{FQDN: "a.example.test", Family: 4, Address: v4, Credential: "not base64!"}, "base64"},
		{"no key name", with("key_name", nil), delivery.Target{FQDN: "a.example.test", Family: 4, Address: v4, Credential: secret}, "key_name"},
		{"unknown algorithm", with("algorithm", "hmac-sha1"), delivery.Target{FQDN: "a.example.test", Family: 4, Address: v4, Credential: secret}, "algorithm"},
		{"server without port", with("server", "127.0.0.1"), delivery.Target{FQDN: "a.example.test", Family: 4, Address: v4, Credential: secret}, "host:port"},
		{"IPv6 address as A", with("zone", "example.test"), delivery.Target{FQDN: "a.example.test", Family: 4, Address: netip.MustParseAddr("2001:db8::1"), Credential: secret}, "invalid IPv4"},
		{"ttl out of range", with("ttl", 0), delivery.Target{FQDN: "a.example.test", Family: 4, Address: v4, Credential: secret}, "ttl"},
		{"unreadable settings", json.RawMessage(`{"ttl": "sixty"}`), delivery.Target{FQDN: "a.example.test", Family: 4, Address: v4, Credential: secret}, "unreadable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := (&delivery.RFC2136{}).Send(context.Background(), tc.settings, tc.target)
			if out.Result != delivery.Failed || !strings.Contains(out.Message, tc.wantMsg) {
				t.Fatalf("got %v %q, want failed mentioning %q", out.Result, out.Message, tc.wantMsg)
			}
		})
	}
}
