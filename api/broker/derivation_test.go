package broker

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// TestDerive: each step of a derivation and its result, worked out by
// hand; a record without a result says why.
func TestDerive(t *testing.T) {
	mac, _ := net.ParseMAC("00:11:22:33:44:55")
	one, big := uint64(1), uint64(0x100)
	host := func(edit func(*store.Host)) store.Host {
		h := store.Host{IPv4Enabled: true, IPv6Enabled: true,
			IPv4: netip.MustParseAddr("203.0.113.77"), IPv6: netip.MustParseAddr("2001:db8:ffff::1"),
			Prefix: netip.MustParsePrefix("2001:db8:aa00::/56"),
			Source: store.AddressSources{IPv4: "myip", IPv6: "myipv6", Prefix: "ip6lanprefix"}}
		if edit != nil {
			edit(&h)
		}
		return h
	}
	record := func(edit func(*store.Record)) store.Record {
		r := store.Record{IPv4Enabled: true, IPv4Netmask: 32, IPv4HostIdentifier: netip.MustParseAddr("0.0.0.0"),
			IPv6Enabled: true, IPv6Netmask: 128, IPv6HostIdentifier: netip.MustParseAddr("::")}
		if edit != nil {
			edit(&r)
		}
		return r
	}
	tests := []struct {
		name       string
		h          store.Host
		r          store.Record
		family     netcalc.Family
		base       string // "" : none
		source     string
		subnet     string
		result     string // "": none, then reason holds
		reason     string
		wantStatic bool
	}{
		{"v4 /24 + id", host(nil), record(func(r *store.Record) {
			r.IPv4Netmask, r.IPv4HostIdentifier = 24, netip.MustParseAddr("0.0.0.42")
		}), netcalc.V4, "203.0.113.77/32", "myip", "", "203.0.113.42", "", false},
		{"v4 private held back", host(func(h *store.Host) { h.IPv4 = netip.MustParseAddr("192.168.1.20") }), record(nil),
			netcalc.V4, "192.168.1.20/32", "myip", "", "", "private or CGNAT", false},
		{"v4 CGNAT held back", host(func(h *store.Host) { h.IPv4 = netip.MustParseAddr("100.64.0.9") }), record(nil),
			netcalc.V4, "100.64.0.9/32", "myip", "", "", "private or CGNAT", false},
		{"v4 private allowed", host(func(h *store.Host) { h.IPv4, h.PrivateIPv4Allowed = netip.MustParseAddr("10.1.2.3"), true }), record(nil),
			netcalc.V4, "10.1.2.3/32", "myip", "", "10.1.2.3", "", false},
		{"v4 static without a host address", host(func(h *store.Host) { h.IPv4 = netip.Addr{} }), record(func(r *store.Record) {
			r.IPv4Static = netip.MustParseAddr("198.51.100.80")
		}), netcalc.V4, "", "", "", "198.51.100.80", "", true},
		{"v4 no address yet", host(func(h *store.Host) { h.IPv4 = netip.Addr{} }), record(nil),
			netcalc.V4, "", "", "", "", "not reported an IPv4 address", false},
		{"v4 off for the record", host(nil), record(func(r *store.Record) { r.IPv4Enabled = false }),
			netcalc.V4, "", "", "", "", "IPv4 is off for the record", false},
		{"v6 off for the host", host(func(h *store.Host) { h.IPv6Enabled = false }), record(nil),
			netcalc.V6, "", "", "", "", "IPv6 is off for the host", false},
		// 2001:db8:aa00::/56, subnet 1 → 2001:db8:aa00:1::/64, EUI-64 of the MAC below /64.
		{"v6 subnet + MAC", host(nil), record(func(r *store.Record) {
			r.IPv6Netmask, r.IPv6HostIdentifier, r.IPv6HostMAC, r.IPv6SubnetID = 64, netip.MustParseAddr("::211:22ff:fe33:4455"), mac, &one
		}), netcalc.V6, "2001:db8:aa00::/56", "ip6lanprefix", "2001:db8:aa00:1::/64", "2001:db8:aa00:1:211:22ff:fe33:4455", "", false},
		{"v6 subnet too big", host(nil), record(func(r *store.Record) { r.IPv6Netmask, r.IPv6SubnetID = 64, &big }),
			netcalc.V6, "2001:db8:aa00::/56", "ip6lanprefix", "", "", "does not fit in the 8 bits", false},
		{"v6 subnet without a prefix", host(func(h *store.Host) { h.Prefix = netip.Prefix{} }), record(func(r *store.Record) {
			r.IPv6Netmask, r.IPv6SubnetID = 64, &one
		}), netcalc.V6, "", "", "", "", "has not reported a delegated prefix", false},
		// /56 + 0:0:0:42::1 takes the prefix; the identifier gives bits 56..127 (0x42 in the fourth group).
		{"v6 /56 from the prefix", host(nil), record(func(r *store.Record) {
			r.IPv6Netmask, r.IPv6HostIdentifier = 56, netip.MustParseAddr("0:0:0:42::1")
		}), netcalc.V6, "2001:db8:aa00::/56", "ip6lanprefix", "", "2001:db8:aa00:42::1", "", false},
		{"v6 /128 is the host's address", host(nil), record(nil),
			netcalc.V6, "2001:db8:ffff::1/128", "myipv6", "", "2001:db8:ffff::1", "", false},
		{"v6 static", host(nil), record(func(r *store.Record) { r.IPv6Static = netip.MustParseAddr("2001:db8::80") }),
			netcalc.V6, "", "", "", "2001:db8::80", "", true},
	}
	for _, tt := range tests {
		d := Derive(tt.h, tt.r, tt.family)
		base := ""
		if d.Base.IsValid() {
			base = d.Base.String()
		}
		subnet := ""
		if d.Subnet.IsValid() {
			subnet = d.Subnet.String()
		}
		result := ""
		if d.Result.IsValid() {
			result = d.Result.String()
		}
		if base != tt.base || d.BaseSource != tt.source || subnet != tt.subnet || result != tt.result || d.Static != tt.wantStatic ||
			(tt.reason == "") != (d.Reason == "") || !strings.Contains(d.Reason, tt.reason) {
			t.Errorf("%s: %+v; want base %q (%s), subnet %q, result %q, reason %q, static %v",
				tt.name, d, tt.base, tt.source, tt.subnet, tt.result, tt.reason, tt.wantStatic)
		}
		if Effective(tt.h, tt.r, tt.family) != d.Result {
			t.Errorf("%s: Effective and Derive disagree", tt.name)
		}
	}
}
