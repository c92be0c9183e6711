package egress_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/egress/egresstest"
)

func TestPolicyCheck(t *testing.T) {
	strict := egress.Policy{}
	allowMetadata := egress.Policy{Internal: true, Allow: []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32"),
		netip.MustParsePrefix("fd00:ec2::/32")}}
	tests := []struct {
		policy egress.Policy
		addr   string
		kind   string // "" = allowed
	}{
		{egress.DefaultPolicy(), "192.0.2.10", ""},
		{egress.DefaultPolicy(), "2001:db8::10", ""},
		{egress.DefaultPolicy(), "169.254.169.254", "a cloud metadata address"},
		{egress.DefaultPolicy(), "::ffff:169.254.169.254", "a cloud metadata address"},
		{egress.DefaultPolicy(), "64:ff9b::a9fe:a9fe", "the NAT64 form of a cloud metadata address"},
		{egress.DefaultPolicy(), "169.254.170.2", "a cloud metadata address"},
		{egress.DefaultPolicy(), "fd00:ec2::254", "a cloud metadata address"},
		{egress.DefaultPolicy(), "100.100.100.200", "a cloud metadata address"},
		{egress.DefaultPolicy(), "169.254.1.1", "a link-local address"},
		{egress.DefaultPolicy(), "fe80::1", "a link-local address"},
		{egress.DefaultPolicy(), "fe80::1%eth0", "a link-local address"},
		{egress.DefaultPolicy(), "224.0.0.251", "a multicast or broadcast address"},
		{egress.DefaultPolicy(), "255.255.255.255", "a multicast or broadcast address"},
		{egress.DefaultPolicy(), "ff02::1", "a multicast or broadcast address"},
		// Until users have roles, every service is an admin's: loopback and
		// private networks are reachable.
		{egress.DefaultPolicy(), "127.0.0.1", ""},
		{egress.DefaultPolicy(), "::1", ""},
		{egress.DefaultPolicy(), "10.1.2.3", ""},
		{egress.DefaultPolicy(), "fd12:3456::1", ""},
		{strict, "127.0.0.1", "a loopback address"},
		{strict, "127.1.2.3", "a loopback address"},
		{strict, "::1", "a loopback address"},
		{strict, "0.0.0.0", "a loopback address"},
		{strict, "::", "a loopback address"},
		{strict, "::ffff:127.0.0.1", "a loopback address"},
		{strict, "10.1.2.3", "a private address"},
		{strict, "172.31.0.1", "a private address"},
		{strict, "192.168.178.1", "a private address"},
		{strict, "100.64.0.1", "a private address"},
		{strict, "fd12:3456::1", "a private address"},
		{strict, "64:ff9b::7f00:1", "the NAT64 form of a loopback address"},
		{strict, "192.0.2.10", ""},
		{allowMetadata, "169.254.169.254", ""},
		{allowMetadata, "fd00:ec2::254", ""},
		{allowMetadata, "169.254.169.253", "a link-local address"},
		{egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, "127.0.0.1", ""},
		{egress.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, "10.0.0.1", "a private address"},
	}
	for _, tt := range tests {
		err := tt.policy.Check(netip.MustParseAddr(tt.addr))
		var refused *egress.RefusedError
		switch {
		case tt.kind == "" && err != nil:
			t.Errorf("%+v: %s refused: %v", tt.policy, tt.addr, err)
		case tt.kind == "":
		case !errors.As(err, &refused):
			t.Errorf("%+v: %s allowed, want refused as %s", tt.policy, tt.addr, tt.kind)
		case refused.Kind != tt.kind:
			t.Errorf("%s refused as %q, want %q", tt.addr, refused.Kind, tt.kind)
		case !strings.Contains(err.Error(), config.AllowTargets.Env()):
			t.Errorf("refusal %q does not name the setting %s", err, config.AllowTargets.Env())
		}
	}
}

// noTraffic is a dial hook for addresses the policy must refuse: it fails
// the test and stops the connection, so that a wrong answer of the policy
// never lets a packet leave the machine.
func noTraffic(t *testing.T) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		t.Errorf("the policy let the client connect to %s %s", network, address)
		return errors.New("test: not connecting beyond loopback")
	}
}

// TestClientRefusesBeforeConnecting: link-local and metadata destinations
// are refused by the dialer's hook; the test hook behind the policy, which
// would be the connection, is never reached.
func TestClientRefusesBeforeConnecting(t *testing.T) {
	hc := egress.Dialer{Policy: egress.DefaultPolicy(), Control: noTraffic(t)}.Client(5 * time.Second)
	for _, url := range []string{
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://169.254.169.254:8080/computeMetadata/v1/",
		"http://[fd00:ec2::254]/latest/api/token",
		"http://100.100.100.200/latest/meta-data/",
		"http://169.254.10.20/",
		"http://[fe80::1%25lo]:8080/",
		"https://[::ffff:169.254.169.254]/",
	} {
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			t.Errorf("GET %s: answered %d", url, resp.StatusCode)
			continue
		}
		var refused *egress.RefusedError
		if !errors.As(err, &refused) || !strings.Contains(err.Error(), "DDNSBROKER_ALLOW_TARGETS") {
			t.Errorf("GET %s: %v, want a refusal naming DDNSBROKER_ALLOW_TARGETS", url, err)
		}
	}

	// The hook is on the path of every connection: an allowed address
	// reaches it (and then the local server).
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") }))
	t.Cleanup(srv.Close)
	var reached []string
	hc = egress.Dialer{Policy: egress.DefaultPolicy(), Control: func(network, address string, c syscall.RawConn) error {
		reached = append(reached, address)
		return nil
	}}.Client(5 * time.Second)
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(reached) != 1 || reached[0] != strings.TrimPrefix(srv.URL, "http://") {
		t.Errorf("the hook saw %v, want the local server's address", reached)
	}
}

// fakeDNS answers every A and AAAA question from the table, on 127.0.0.1.
func fakeDNS(t *testing.T, table map[string][]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) }, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, a := range table[strings.TrimSuffix(q.Question[0].Name, ".")] {
			addr := netip.MustParseAddr(a)
			hdr := dns.RR_Header{Name: q.Question[0].Name, Class: dns.ClassINET, Ttl: 60}
			switch {
			case addr.Is4() && q.Question[0].Qtype == dns.TypeA:
				hdr.Rrtype = dns.TypeA
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: addr.AsSlice()})
			case addr.Is6() && q.Question[0].Qtype == dns.TypeAAAA:
				hdr.Rrtype = dns.TypeAAAA
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: addr.AsSlice()})
			}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

// TestNameResolvingToForbiddenAddress: the check runs on the addresses a
// name resolves to, every one of them.
func TestNameResolvingToForbiddenAddress(t *testing.T) {
	res := fakeDNS(t, map[string][]string{
		"metadata.example.com": {"169.254.169.254", "fd00:ec2::254"},
		"router.example.com":   {"127.0.0.1"},
	})
	hc := egress.Dialer{Policy: egress.DefaultPolicy(), Resolver: res, Control: noTraffic(t)}.Client(5 * time.Second)
	_, err := hc.Get("http://metadata.example.com/latest/meta-data/")
	var refused *egress.RefusedError
	if !errors.As(err, &refused) || refused.Kind != "a cloud metadata address" {
		t.Errorf("a name of the metadata address: %v, want refused", err)
	}

	// A name of a loopback address, under a policy without internal
	// networks (what a service of a non-admin will get).
	hc = egress.Dialer{Policy: egress.Policy{}, Resolver: res, Control: noTraffic(t)}.Client(5 * time.Second)
	_, err = hc.Get("http://router.example.com:8080/")
	if !errors.As(err, &refused) || refused.Addr != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("a name of a loopback address: %v, want refused", err)
	}
}

// TestOneRequestPerCall: a request that fails after it was written is not
// resent, however many connections earlier requests left behind.
func TestOneRequestPerCall(t *testing.T) {
	for _, mode := range egresstest.Modes() {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			p := egresstest.New(t)
			hc := egress.NewClient(egress.DefaultPolicy(), time.Second)
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if resp, err := hc.Get(p.URL); err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}()
			}
			wg.Wait()
			before := p.Requests()
			p.SetMode(mode)
			req, _ := http.NewRequest(http.MethodPost, p.URL, strings.NewReader("x=1"))
			req.Header["Idempotency-Key"] = nil // what makes Go resend a POST
			if resp, err := hc.Do(req); err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil {
					t.Errorf("%s: the request succeeded", mode)
				}
			}
			if n := p.Requests() - before; n != 1 {
				t.Errorf("%s: %d requests on the wire, want 1", mode, n)
			}
		})
	}
}

func TestClientIgnoresProxiesAndRedirects(t *testing.T) {
	hc := egress.NewClient(egress.DefaultPolicy(), time.Second)
	if tr, ok := hc.Transport.(*http.Transport); !ok || tr.Proxy != nil {
		t.Error("the transport may use a proxy, which would connect where the policy cannot see")
	}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("redirect followed") }))
	t.Cleanup(target.Close)
	moved := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	t.Cleanup(moved.Close)
	resp, err := hc.Get(moved.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status %d, want the redirect itself", resp.StatusCode)
	}
}
