package provider_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

func TestRFC2136AgainstBIND(t *testing.T) {
	n := providertest.StartNamed(t)
	p := provider.NewRFC2136(provider.Deps{DNSTimeout: 3 * time.Second})
	wrongSecret := providertest.RandomSecret(t)

	tests := []struct {
		name     string
		settings map[string]any
		secret   string // default: the key's own
		fqdn     string
		family   int
		addr     string
		want     provider.Result
		wantMsg  []string // substrings of the message
		wantTTL  uint32   // when delivered; 0 means 60
	}{
		{name: "A with the zone set, hmac-sha256",
			settings: map[string]any{"zone": "example.test", "key_name": providertest.KeySHA256, "algorithm": "hmac-sha256"},
			fqdn:     "www.example.test", family: 4, addr: "198.51.100.7", want: provider.Delivered,
			wantMsg: []string{"NOERROR", "www.example.test. A → 198.51.100.7 in zone example.test."}},
		{name: "A replaced, not added",
			settings: map[string]any{"zone": "example.test", "key_name": providertest.KeySHA256},
			fqdn:     "www.example.test", family: 4, addr: "198.51.100.8", want: provider.Delivered},
		{name: "AAAA, zone found by SOA query, hmac-sha512",
			settings: map[string]any{"key_name": providertest.KeySHA512, "algorithm": "hmac-sha512"},
			fqdn:     "host.example.test", family: 6, addr: "2001:db8:1:2::cafe", want: provider.Delivered,
			wantMsg: []string{"in zone example.test."}},
		{name: "hmac-md5 for old servers, ttl 300",
			settings: map[string]any{"zone": "example.test", "key_name": providertest.KeyMD5, "algorithm": "hmac-md5", "ttl": 300},
			fqdn:     "old.example.test", family: 4, addr: "203.0.113.5", want: provider.Delivered, wantTTL: 300},
		{name: "SOA query finds the sub-zone",
			settings: map[string]any{"key_name": providertest.KeySHA256},
			fqdn:     "a.sub.example.test", family: 6, addr: "2001:db8::1", want: provider.Delivered,
			wantMsg: []string{"in zone sub.example.test."}},
		{name: "zone apex found by SOA query",
			settings: map[string]any{"key_name": providertest.KeySHA256},
			fqdn:     "example.test", family: 4, addr: "192.0.2.10", want: provider.Delivered},
		{name: "over TCP",
			settings: map[string]any{"zone": "example.test", "key_name": providertest.KeySHA256, "tcp": true},
			fqdn:     "tcp.example.test", family: 6, addr: "2001:db8::53", want: provider.Delivered},
		{name: "wrong secret is BADSIG",
			settings: map[string]any{"zone": "example.test", "key_name": providertest.KeySHA256},
			secret:   wrongSecret, fqdn: "bad.example.test", family: 4, addr: "192.0.2.1", want: provider.Failed,
			wantMsg: []string{"NOTAUTH", "BADSIG", "check the secret"}},
		{name: "wrong secret while finding the zone is BADSIG too",
			settings: map[string]any{"key_name": providertest.KeySHA256},
			secret:   wrongSecret, fqdn: "bad.example.test", family: 4, addr: "192.0.2.1", want: provider.Failed,
			wantMsg: []string{"finding the zone", "BADSIG"}},
		{name: "wrong algorithm is a TSIG error",
			settings: map[string]any{"zone": "example.test", "key_name": providertest.KeySHA256, "algorithm": "hmac-sha512"},
			fqdn:     "bad.example.test", family: 4, addr: "192.0.2.1", want: provider.Failed,
			wantMsg: []string{"NOTAUTH"}},
		{name: "unknown key is BADKEY",
			settings: map[string]any{"zone": "example.test", "key_name": "no-such-key"},
			secret:   wrongSecret, fqdn: "bad.example.test", family: 4, addr: "192.0.2.1", want: provider.Failed,
			wantMsg: []string{"NOTAUTH", "BADKEY", "no-such-key."}},
		{name: "key not allowed to update is REFUSED",
			settings: map[string]any{"zone": "example.test", "key_name": providertest.KeyOutside},
			fqdn:     "bad.example.test", family: 4, addr: "192.0.2.1", want: provider.Failed,
			wantMsg: []string{"REFUSED", "allow-update"}},
		{name: "zone without updates is REFUSED",
			settings: map[string]any{"zone": "static.test", "key_name": providertest.KeySHA256},
			fqdn:     "www.static.test", family: 4, addr: "192.0.2.1", want: provider.Failed,
			wantMsg: []string{"REFUSED"}},
		{name: "zone the server does not serve",
			settings: map[string]any{"zone": "elsewhere.test", "key_name": providertest.KeySHA256},
			fqdn:     "www.elsewhere.test", family: 4, addr: "192.0.2.1", want: provider.Failed,
			wantMsg: []string{"NOTAUTH"}},
		{name: "no zone of the server holds the name",
			settings: map[string]any{"key_name": providertest.KeySHA256},
			fqdn:     "www.elsewhere.test", family: 4, addr: "192.0.2.1", want: provider.Failed,
			wantMsg: []string{"finding the zone of www.elsewhere.test.", "REFUSED", "does not answer for this name"}},
		{name: "name outside the configured zone",
			settings: map[string]any{"zone": "example.test", "key_name": providertest.KeySHA256},
			fqdn:     "www.other.test", family: 4, addr: "192.0.2.1", want: provider.Failed,
			wantMsg: []string{"not in zone example.test."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keyName, _ := tc.settings["key_name"].(string)
			secret := tc.secret
			if secret == "" {
				secret = n.Keys[keyName]
			}
			addr := netip.MustParseAddr(tc.addr)
			out := send(context.Background(), p, n.Settings(tc.settings),
				target{FQDN: tc.fqdn, Family: tc.family, Address: addr, Credential: secret})
			t.Logf("%v: %s", out.Result, out.Message)
			if out.Result != tc.want {
				t.Fatalf("result = %v (%s), want %v\nnamed:\n%s", out.Result, out.Message, tc.want, n.Log())
			}
			for _, w := range tc.wantMsg {
				if !strings.Contains(out.Message, w) {
					t.Errorf("message %q does not contain %q", out.Message, w)
				}
			}
			if strings.Contains(out.Message, secret) || len(out.Message) > 512 {
				t.Errorf("message leaks the secret or is too long: %q", out.Message)
			}
			if tc.want != provider.Delivered {
				if got, _ := n.Lookup(t, tc.fqdn, netcalc.Family(tc.family)); slices.Contains(got, addr.String()) {
					t.Errorf("a refused update was applied: %v", got)
				}
				return
			}
			got, ttls := n.Lookup(t, tc.fqdn, netcalc.Family(tc.family))
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
	n := providertest.StartNamed(t)
	p := provider.NewRFC2136(provider.Deps{DNSTimeout: time.Second})
	for _, tcp := range []bool{false, true} {
		t.Run(fmt.Sprintf("tcp=%v", tcp), func(t *testing.T) {
			settings := n.Settings(map[string]any{"key_name": providertest.KeySHA256, "tcp": tcp}) // zone by SOA query
			target := target{FQDN: "down.example.test", Family: 4, Credential: n.Keys[providertest.KeySHA256]}
			target.Address = netip.MustParseAddr("192.0.2.1")
			if out := send(context.Background(), p, settings, target); out.Result != provider.Delivered {
				t.Fatalf("before the stop: %v %s", out.Result, out.Message)
			}

			n.Stop()
			target.Address = netip.MustParseAddr("192.0.2.2")
			for i := 0; i < 2; i++ {
				out := send(context.Background(), p, settings, target)
				t.Logf("%v: %s", out.Result, out.Message)
				if out.Result != provider.Retry {
					t.Fatalf("named stopped: %v %s, want retry", out.Result, out.Message)
				}
				if !strings.Contains(out.Message, "refused") && !strings.Contains(out.Message, "timeout") {
					t.Errorf("message %q says neither refused nor timeout", out.Message)
				}
			}

			n.Start()
			if out := send(context.Background(), p, settings, target); out.Result != provider.Delivered {
				t.Fatalf("after the restart: %v %s\nnamed:\n%s", out.Result, out.Message, n.Log())
			}
			if got, _ := n.Lookup(t, target.FQDN, 4); len(got) != 1 || got[0] != "192.0.2.2" {
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
	secret := providertest.RandomSecret(t)
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
		want    provider.Result
		wantMsg string
	}{
		{"SERVFAIL is retried", rcode(dns.RcodeServerFailure), provider.Retry, "SERVFAIL"},
		{"no answer is a retried timeout", func(*dns.Msg) *dns.Msg { return nil }, provider.Retry, "timeout"},
		{"REFUSED fails", rcode(dns.RcodeRefused), provider.Failed, "REFUSED"},
		{"NOTAUTH fails", rcode(dns.RcodeNotAuth), provider.Failed, "NOTAUTH"},
		{"NOTZONE fails", rcode(dns.RcodeNotZone), provider.Failed, "NOTZONE"},
		{"NOTIMP fails", rcode(dns.RcodeNotImplemented), provider.Failed, "NOTIMP"},
		{"FORMERR fails", rcode(dns.RcodeFormatError), provider.Failed, "FORMERR"},
		{"unsigned NOERROR is not trusted", rcode(dns.RcodeSuccess), provider.Failed, "without a TSIG signature"},
		{"BADSIG fails", withTSIGError(dns.RcodeNotAuth, dns.RcodeBadSig), provider.Failed, "NOTAUTH (BADSIG)"},
		{"BADKEY fails", withTSIGError(dns.RcodeNotAuth, dns.RcodeBadKey), provider.Failed, "NOTAUTH (BADKEY)"},
		{"BADTIME is retried (a clock is off)", withTSIGError(dns.RcodeNotAuth, dns.RcodeBadTime), provider.Retry, "clocks"},
		{"NOERROR with a forged signature is retried", withTSIGError(dns.RcodeSuccess, 0), provider.Retry, "does not verify"},
	}
	p := provider.NewRFC2136(provider.Deps{DNSTimeout: 300 * time.Millisecond})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeDNS(t, tc.answer)
			settings, _ := json.Marshal(map[string]any{"server": addr, "zone": "example.test", "key_name": "key"})
			out := send(context.Background(), p, settings, target{FQDN: "www.example.test", Family: 6,
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
		target   target
		wantMsg  string
	}{
		{"no secret", with("zone", "example.test"), target{FQDN: "a.example.test", Family: 4, Address: v4}, "no TSIG secret"},
		{"secret not base64", with("zone", "example.test"), target{FQDN: "a.example.test", Family: 4, Address: v4, Credential: "not base64!"}, "base64"},
		{"no key name", with("key_name", nil), target{FQDN: "a.example.test", Family: 4, Address: v4, Credential: secret}, "key_name"},
		{"unknown algorithm", with("algorithm", "hmac-sha1"), target{FQDN: "a.example.test", Family: 4, Address: v4, Credential: secret}, "algorithm"},
		{"server without port", with("server", "127.0.0.1"), target{FQDN: "a.example.test", Family: 4, Address: v4, Credential: secret}, "host:port"},
		{"IPv6 address as A", with("zone", "example.test"), target{FQDN: "a.example.test", Family: 4, Address: netip.MustParseAddr("2001:db8::1"), Credential: secret}, "invalid IPv4"},
		{"ttl out of range", with("ttl", 0), target{FQDN: "a.example.test", Family: 4, Address: v4, Credential: secret}, "ttl"},
		{"unreadable settings", json.RawMessage(`{"ttl": "sixty"}`), target{FQDN: "a.example.test", Family: 4, Address: v4, Credential: secret}, "unreadable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := send(context.Background(), provider.NewRFC2136(provider.Deps{}), tc.settings, tc.target)
			if out.Result != provider.Failed || !strings.Contains(out.Message, tc.wantMsg) {
				t.Fatalf("got %v %q, want failed mentioning %q", out.Result, out.Message, tc.wantMsg)
			}
		})
	}
}

// TestRFC2136KeepOthersAgainstBIND: with keep_other_addresses an update
// deletes only the address the broker delivered before and adds the one
// wanted, so the name's other addresses (another site's, one added by
// hand) stay; without it the name holds only the wanted address.
func TestRFC2136KeepOthersAgainstBIND(t *testing.T) {
	n := providertest.StartNamed(t)
	p := provider.NewRFC2136(provider.Deps{DNSTimeout: 3 * time.Second})
	settings := n.Settings(map[string]any{"zone": "example.test", "key_name": providertest.KeySHA256})
	var server struct {
		Server string `json:"server"`
	}
	if err := json.Unmarshal(settings, &server); err != nil {
		t.Fatal(err)
	}
	secret := n.Keys[providertest.KeySHA256]
	// byHand adds addresses to a name the way another updater would.
	byHand := func(fqdn string, addrs ...string) {
		t.Helper()
		m := new(dns.Msg)
		m.SetUpdate("example.test.")
		for _, a := range addrs {
			rr, err := dns.NewRR(fmt.Sprintf("%s. 60 IN A %s", fqdn, a))
			if err != nil {
				t.Fatal(err)
			}
			m.Insert([]dns.RR{rr})
		}
		key := dns.Fqdn(providertest.KeySHA256)
		m.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
		c := &dns.Client{TsigSecret: map[string]string{key: secret}, Timeout: 3 * time.Second}
		if r, _, err := c.Exchange(m, server.Server); err != nil || r.Rcode != dns.RcodeSuccess {
			t.Fatalf("update by hand: %v %v", r, err)
		}
	}
	for _, tc := range []struct {
		name string
		keep bool
		want []string
	}{
		{"keep", true, []string{"192.0.2.11", "192.0.2.9"}},
		{"replace", false, []string{"192.0.2.11"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fqdn := tc.name + ".example.test"
			// 192.0.2.9 is another site's; the broker delivered .10 before.
			byHand(fqdn, "192.0.2.9", "192.0.2.10")
			r := provider.Request[json.RawMessage]{FQDN: fqdn, Family: netcalc.V4, Credential: secret, Settings: settings,
				Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.11")}, Delivered: []netip.Addr{netip.MustParseAddr("192.0.2.10")},
				KeepOthers: tc.keep}
			if out := p.Send(context.Background(), r); out.Result != provider.Delivered {
				t.Fatalf("send: %v %s\nnamed:\n%s", out.Result, out.Message, n.Log())
			}
			got, _ := n.Lookup(t, fqdn, netcalc.V4)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("named answers %v for %s, want %v", got, fqdn, tc.want)
			}
			// Sent again (a resync), the name does not change.
			if out := p.Send(context.Background(), r); out.Result != provider.Delivered {
				t.Fatalf("second send: %v %s", out.Result, out.Message)
			}
			if again, _ := n.Lookup(t, fqdn, netcalc.V4); len(again) != len(tc.want) {
				t.Errorf("after a second send: %v, want %v", again, tc.want)
			}
		})
	}
}
