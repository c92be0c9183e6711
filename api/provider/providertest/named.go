package providertest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// NamedInstall is what the tests tell whoever runs them without BIND.
const NamedInstall = "install BIND 9 and its tools: apt-get install -y bind9 bind9-dnsutils"

// Named is a real BIND 9 on 127.0.0.1 and a free port, serving dynamic
// zones example.test and sub.example.test (updates allowed with KeySHA256,
// KeySHA512 and KeyMD5) and static.test (no updates), with TSIG keys
// generated per test.
type Named struct {
	t   *testing.T
	dir string
	// Addr is the server's host:port.
	Addr string
	bin  string
	args []string
	uid  int
	gid  int

	daemon
	// Keys are the TSIG secrets (base64) by key name.
	Keys map[string]string
}

// Key names of the test server: three allowed to update, one known but
// not allowed.
const (
	KeySHA256  = "ddns-sha256"
	KeySHA512  = "ddns-sha512"
	KeyMD5     = "ddns-md5"
	KeyOutside = "other-key"
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
	t.Fatalf("named (BIND 9) is not installed; the rfc2136 tests need a real one: %s", NamedInstall)
	return ""
}

// RandomSecret is a new TSIG secret, base64.
func RandomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// StartNamed writes a configuration with zones example.test (dynamic),
// sub.example.test (dynamic, a separate zone below it) and static.test
// (no updates), starts named and waits until it answers.
func StartNamed(t *testing.T) *Named {
	t.Helper()
	n := &Named{t: t, bin: findNamed(t), uid: -1, gid: -1, daemon: daemon{name: "named", install: NamedInstall}, Keys: map[string]string{
		KeySHA256: RandomSecret(t), KeySHA512: RandomSecret(t), KeyMD5: RandomSecret(t), KeyOutside: RandomSecret(t),
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
			t.Fatalf("running as root, named needs the user bind to drop to: %v (%s)", err, NamedInstall)
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
		n.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		n.writeConfig(port)
		if lastErr = n.tryStart(); lastErr == nil {
			t.Cleanup(n.Stop)
			return n
		}
		if !strings.Contains(lastErr.Error(), "address in use") {
			break
		}
	}
	t.Fatalf("named did not start: %v", lastErr)
	return nil
}

func (n *Named) write(name, content string) {
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

func (n *Named) writeConfig(port int) {
	var keys strings.Builder
	for _, name := range []string{KeySHA256, KeySHA512, KeyMD5, KeyOutside} {
		alg := "hmac-sha256"
		switch name {
		case KeySHA512:
			alg = "hmac-sha512"
		case KeyMD5:
			alg = "hmac-md5"
		}
		fmt.Fprintf(&keys, "key %q { algorithm %s; secret %q; };\n", name, alg, n.Keys[name])
	}
	allow := fmt.Sprintf(`allow-update { key %q; key %q; key %q; };`, KeySHA256, KeySHA512, KeyMD5)
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
func (n *Named) tryStart() error {
	return n.run(n.bin, n.args, func() bool { return n.answers("udp") && n.answers("tcp") })
}

func (n *Named) answers(network string) bool {
	r, err := lookup(n.Addr, "example.test.", network)
	return err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0
}

// Start starts a stopped named again on the same port.
func (n *Named) Start() {
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

func lastLines(s string, k int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > k {
		lines = lines[len(lines)-k:]
	}
	return strings.Join(lines, "\n")
}

// Lookup asks named for name's A or AAAA records: addresses and TTLs.
func (n *Named) Lookup(t *testing.T, name string, family netcalc.Family) ([]string, []uint32) {
	t.Helper()
	return lookupAddrs(t, n.Addr, name, family)
}

// lookupAddrs asks the DNS server at addr for name's A or AAAA records
// over UDP: addresses (sorted) and TTLs.
func lookupAddrs(t *testing.T, addr, name string, family netcalc.Family) ([]string, []uint32) {
	t.Helper()
	qtype := dns.TypeA
	if family == netcalc.V6 {
		qtype = dns.TypeAAAA
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
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

// lookup sends one SOA query for name to the DNS server at addr.
func lookup(addr, name, network string) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: 300 * time.Millisecond}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeSOA)
	r, _, err := c.Exchange(m, addr)
	return r, err
}

// Settings builds rfc2136 service settings for this server.
func (n *Named) Settings(kv map[string]any) json.RawMessage {
	s := map[string]any{"server": n.Addr}
	for k, v := range kv {
		s[k] = v
	}
	b, _ := json.Marshal(s)
	return b
}
