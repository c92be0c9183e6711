package netcalc

import (
	"net/netip"
	"strings"
	"testing"
)

// Every expected value below was worked out by hand from the package doc's formula,
// never by calling the code under test; the arithmetic is in the comments.

// addr parses s, or returns the zero Addr for "".
func addr(t testing.TB, s string) netip.Addr {
	t.Helper()
	if s == "" {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatalf("parse address %q: %v", s, err)
	}
	return a
}

// prefix parses s without masking it, or returns the zero Prefix for "".
func prefix(t testing.TB, s string) netip.Prefix {
	t.Helper()
	if s == "" {
		return netip.Prefix{}
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatalf("parse prefix %q: %v", s, err)
	}
	return p
}

func TestCombine(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		bits    int
		id      string
		want    string
		wantErr string // substring of the error; "" means success
	}{
		// The package doc's worked examples.
		{"v4 /24", "203.0.113.77", 24, "0.0.0.42", "203.0.113.42", ""},
		{"v4 /16", "203.0.113.77", 16, "10.20.30.40", "203.0.30.40", ""},
		{"v6 /64", "2001:db8:1234:5678:abcd::1", 64, "::4042:42ff:fe42:4242", "2001:db8:1234:5678:4042:42ff:fe42:4242", ""},
		{"v6 /56", "2001:db8:1234:5678:abcd::1", 56, "0:0:0:42::cafe", "2001:db8:1234:5642::cafe", ""},

		// Whole-width netmasks.
		{"v4 /0 is id", "203.0.113.77", 0, "10.20.30.40", "10.20.30.40", ""},
		{"v4 /32 is base", "203.0.113.77", 32, "10.20.30.40", "203.0.113.77", ""},
		{"v6 /0 is id", "2001:db8:1234:5678:abcd::1", 0, "2001:db8::cafe", "2001:db8::cafe", ""},
		{"v6 /128 is base", "2001:db8:1234:5678:abcd::1", 128, "2001:db8::cafe", "2001:db8:1234:5678:abcd::1", ""},

		// Identifier wider than the host part: its high bits are ignored.
		{"v4 wide id /24", "203.0.113.77", 24, "10.20.30.40", "203.0.113.40", ""},
		// 113 = 0111_0001 keeps 0111_0000 = 112; id 255 gives 0000_1111 = 15; 112|15 = 127.
		{"v4 /20 mid-octet", "203.0.113.77", 20, "0.0.255.1", "203.0.127.1", ""},
		// 77 = 0100_1101 keeps 0 (high bit); 200 = 1100_1000 gives 100_1000 = 72.
		{"v4 /25", "203.0.113.77", 25, "0.0.0.200", "203.0.113.72", ""},
		// 77 keeps 010x_xxxx = 64; id 5 < 32 so 64|5 = 69.
		{"v4 /27", "203.0.113.77", 27, "0.0.0.5", "203.0.113.69", ""},
		// 203 = 1100_1011 keeps 1000_0000 = 128; 10 = 0000_1010 gives 10; 128|10 = 138.
		{"v4 /1", "203.0.113.77", 1, "10.20.30.40", "138.20.30.40", ""},
		// 77 keeps 0100_1100 = 76; id 0 adds nothing.
		{"v4 /31", "203.0.113.77", 31, "0.0.0.0", "203.0.113.76", ""},
		// group 4 0x5678 keeps 0x5670; id group 4 0xffff gives 0x000f.
		{"v6 wide id /60", "2001:db8:1234:5678:abcd::1", 60, "::ffff:ffff:ffff:ffff:ffff", "2001:db8:1234:567f:ffff:ffff:ffff:ffff", ""},
		// group 5 0xabcd keeps its high bit 0x8000; the id adds only the final 1.
		{"v6 /65", "2001:db8:1234:5678:abcd::1", 65, "::1", "2001:db8:1234:5678:8000::1", ""},
		// last bit of ::1 cleared, last bit of ::2 is 0.
		{"v6 /127 clears", "2001:db8:1234:5678:abcd::1", 127, "::2", "2001:db8:1234:5678:abcd::", ""},
		{"v6 /127 sets", "2001:db8:1234:5678:abcd::", 127, "::3", "2001:db8:1234:5678:abcd::1", ""},
		{"v6 /33", "2001:db8:1234:5678:abcd::1", 33, "::ffff:ffff:0:0:0:1", "2001:db8:7fff:ffff::1", ""},

		// IPv4-mapped IPv6 counts as IPv4 on either side.
		{"mapped base", "::ffff:203.0.113.77", 24, "0.0.0.42", "203.0.113.42", ""},
		{"mapped id", "203.0.113.77", 24, "::ffff:0.0.0.42", "203.0.113.42", ""},
		{"mapped both", "::ffff:203.0.113.77", 16, "::ffff:10.20.30.40", "203.0.30.40", ""},
		{"mapped base /32 unmaps", "::ffff:203.0.113.77", 32, "0.0.0.0", "203.0.113.77", ""},
		{"mapped bits 33", "::ffff:203.0.113.77", 33, "0.0.0.42", "", "out of range 0..32"},

		// Mismatched families.
		{"v4 base v6 id", "203.0.113.77", 24, "::42", "", "different families"},
		{"v6 base v4 id", "2001:db8::1", 64, "0.0.0.42", "", "different families"},
		{"v6 base mapped id", "2001:db8::1", 64, "::ffff:0.0.0.42", "", "different families"},

		// Netmask out of range.
		{"v4 bits -1", "203.0.113.77", -1, "0.0.0.42", "", "netmask -1 out of range 0..32"},
		{"v4 bits 33", "203.0.113.77", 33, "0.0.0.42", "", "netmask 33 out of range 0..32"},
		{"v6 bits -1", "2001:db8::1", -1, "::42", "", "netmask -1 out of range 0..128"},
		{"v6 bits 129", "2001:db8::1", 129, "::42", "", "netmask 129 out of range 0..128"},

		// Zones.
		{"zoned base", "fe80::1%eth0", 64, "::42", "", "base address fe80::1%eth0 has a zone identifier"},
		{"zoned id", "fe80::1", 64, "::42%eth0", "", "host identifier ::42%eth0 has a zone identifier"},
		{"zoned mapped base", "::ffff:203.0.113.77%eth0", 24, "0.0.0.42", "", "has a zone identifier"},

		// Invalid inputs.
		{"no base", "", 24, "0.0.0.42", "", "invalid base address"},
		{"no id", "203.0.113.77", 24, "", "", "invalid host identifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Combine(addr(t, tt.base), tt.bits, addr(t, tt.id))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Combine(%s, %d, %s) = %s, want error containing %q", tt.base, tt.bits, tt.id, got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Combine(%s, %d, %s) error = %q, want it to contain %q", tt.base, tt.bits, tt.id, err, tt.wantErr)
				}
				if got.IsValid() {
					t.Errorf("Combine(%s, %d, %s) returned %s alongside an error", tt.base, tt.bits, tt.id, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Combine(%s, %d, %s) error: %v", tt.base, tt.bits, tt.id, err)
			}
			if want := addr(t, tt.want); got != want {
				t.Errorf("Combine(%s, %d, %s) = %s, want %s", tt.base, tt.bits, tt.id, got, want)
			}
		})
	}
}

func TestEffective4(t *testing.T) {
	tests := []struct {
		name   string
		host   string
		bits   int
		id     string
		want   string
		wantOK bool
	}{
		{"/24", "203.0.113.77", 24, "0.0.0.42", "203.0.113.42", true},
		{"/16", "203.0.113.77", 16, "10.20.30.40", "203.0.30.40", true},
		{"/32 own address", "203.0.113.77", 32, "0.0.0.0", "203.0.113.77", true},
		{"/0 fixed", "203.0.113.77", 0, "192.0.2.9", "192.0.2.9", true},
		{"mapped host", "::ffff:203.0.113.77", 24, "0.0.0.42", "203.0.113.42", true},
		{"no host", "", 24, "0.0.0.42", "", false},
		{"no host /0", "", 0, "192.0.2.9", "", false},
		{"v6 host", "2001:db8::1", 64, "::42", "", false},
		{"v6 id", "203.0.113.77", 24, "::42", "", false},
		{"bits 33", "203.0.113.77", 33, "0.0.0.42", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Effective4(addr(t, tt.host), tt.bits, addr(t, tt.id))
			if ok != tt.wantOK {
				t.Fatalf("Effective4(%s, %d, %s) ok = %v, want %v (got %s)", tt.host, tt.bits, tt.id, ok, tt.wantOK, got)
			}
			if want := addr(t, tt.want); got != want {
				t.Errorf("Effective4(%s, %d, %s) = %s, want %s", tt.host, tt.bits, tt.id, got, want)
			}
		})
	}
}

// TestEffective6 covers Base6 and Effective6 together: the base is checked on
// its own so that a wrong choice cannot hide behind an identifier that
// happens to overwrite it.
func TestEffective6(t *testing.T) {
	const (
		wan = "2001:db8:ffff::1"
		lan = "2001:db8:77:1::/64"
	)
	tests := []struct {
		name     string
		addr     string
		prefix   string
		bits     int
		id       string
		wantBase string // "" means no base
		want     string // "" means no effective address
	}{
		// The package doc's WAN/LAN example.
		{"lan /64", wan, lan, 64, "::cafe", "2001:db8:77:1::", "2001:db8:77:1::cafe"},
		// prefix group 4 0x0001 keeps 0x00xx; id group 4 0x0042 gives 0x42.
		{"lan /56", wan, lan, 56, "0:0:0:42::1", "2001:db8:77:1::", "2001:db8:77:42::1"},
		{"wan /128", wan, lan, 128, "::cafe", wan, wan},
		// Mixed: /96 takes the WAN's first six groups and the id's last two.
		{"wan /96", wan, lan, 96, "::1:2", wan, "2001:db8:ffff::1:2"},
		{"lan /0", wan, lan, 0, "2001:db8:abc::9", "2001:db8:77:1::", "2001:db8:abc::9"},

		// Prefix only.
		{"prefix only /128", "", lan, 128, "::cafe", "", ""},
		{"prefix only /96", "", lan, 96, "::cafe", "", ""},
		{"prefix only /64", "", lan, 64, "::cafe", "2001:db8:77:1::", "2001:db8:77:1::cafe"},
		{"prefix only /48 in /48", "", "2001:db8:77::/48", 48, "0:0:0:5::1", "2001:db8:77::", "2001:db8:77:5::1"},
		// An unmasked prefix still yields its network address as base.
		{"unmasked prefix", "", "2001:db8:77:1::99/64", 64, "::cafe", "2001:db8:77:1::", "2001:db8:77:1::cafe"},

		// Address only.
		{"addr only /64", wan, "", 64, "::cafe", wan, "2001:db8:ffff::cafe"},
		{"addr only /128", wan, "", 128, "::cafe", wan, wan},

		// Neither, or nothing usable as an IPv6 base.
		{"nothing", "", "", 64, "::cafe", "", ""},
		{"v4 addr", "203.0.113.77", "", 24, "0.0.0.42", "", ""},
		{"mapped addr", "::ffff:203.0.113.77", "", 24, "0.0.0.42", "", ""},
		// /24 of the WAN keeps 2001:0d; the id supplies the 00 of byte 4 and the rest.
		{"v4 prefix ignored", wan, "203.0.113.0/24", 24, "::cafe", wan, "2001:d00::cafe"},

		// A base exists but Combine refuses the record.
		{"v4 id", wan, lan, 64, "0.0.0.42", "2001:db8:77:1::", ""},
		{"bits 129", wan, lan, 129, "::cafe", wan, ""},
		{"bits -1", wan, lan, -1, "::cafe", "2001:db8:77:1::", ""},
		{"zoned addr", "fe80::1%eth0", "", 64, "::cafe", "fe80::1%eth0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, p := addr(t, tt.addr), prefix(t, tt.prefix)

			base, ok := Base6(a, p, tt.bits)
			wantBase := addr(t, tt.wantBase)
			if ok != wantBase.IsValid() || base != wantBase {
				t.Errorf("Base6(%s, %s, %d) = %s, %v; want %s, %v", tt.addr, tt.prefix, tt.bits, base, ok, wantBase, wantBase.IsValid())
			}

			got, ok := Effective6(a, p, tt.bits, addr(t, tt.id))
			want := addr(t, tt.want)
			if ok != want.IsValid() || got != want {
				t.Errorf("Effective6(%s, %s, %d, %s) = %s, %v; want %s, %v", tt.addr, tt.prefix, tt.bits, tt.id, got, ok, want, want.IsValid())
			}
		})
	}
}

func TestMixedBase6(t *testing.T) {
	tests := []struct {
		prefix string
		bits   int
		want   bool
	}{
		{"2001:db8:77:1::/64", 0, false},
		{"2001:db8:77:1::/64", 56, false},
		{"2001:db8:77:1::/64", 64, false},
		{"2001:db8:77:1::/64", 65, true},
		{"2001:db8:77:1::/64", 96, true},
		{"2001:db8:77:1::/64", 127, true},
		{"2001:db8:77:1::/64", 128, false},
		{"2001:db8:77::/48", 56, true},
		{"2001:db8::1/128", 128, false},
		{"", 96, false},
		{"", 128, false},
	}
	for _, tt := range tests {
		if got := MixedBase6(prefix(t, tt.prefix), tt.bits); got != tt.want {
			t.Errorf("MixedBase6(%q, %d) = %v, want %v", tt.prefix, tt.bits, got, tt.want)
		}
	}
}

func TestCheckHostAddress(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string // exact message; "" means accepted
	}{
		{"203.0.113.77", "203.0.113.77", ""},
		{"10.1.2.3", "10.1.2.3", ""},
		{"192.168.1.1", "192.168.1.1", ""},
		{"100.64.0.1", "100.64.0.1", ""}, // CGNAT
		{"127.0.0.1", "127.0.0.1", ""},
		{"169.254.1.1", "169.254.1.1", ""},
		{"2001:db8::1", "2001:db8::1", ""},
		{"fd00::1", "fd00::1", ""},
		{"fe80::1", "fe80::1", ""},
		{"::1", "::1", ""},
		{"::ffff:192.0.2.1", "192.0.2.1", ""},

		{"", "", "address is not valid"},
		{"fe80::1%eth0", "", `address "fe80::1%eth0" has a zone identifier`},
		{"::ffff:192.0.2.1%eth0", "", `address "::ffff:192.0.2.1%eth0" has a zone identifier`},
		{"0.0.0.0", "", `address "0.0.0.0" is unspecified`},
		{"::", "", `address "::" is unspecified`},
		{"::ffff:0.0.0.0", "", `address "::ffff:0.0.0.0" is unspecified`},
		{"224.0.0.1", "", `address "224.0.0.1" is multicast`},
		{"239.255.255.250", "", `address "239.255.255.250" is multicast`},
		{"ff02::1", "", `address "ff02::1" is multicast`},
		{"::ffff:224.0.0.251", "", `address "::ffff:224.0.0.251" is multicast`},
	}
	for _, tt := range tests {
		got, err := CheckHostAddress(addr(t, tt.in))
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("CheckHostAddress(%q) = %s, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("CheckHostAddress(%q) error: %v", tt.in, err)
			continue
		}
		if want := addr(t, tt.want); got != want {
			t.Errorf("CheckHostAddress(%q) = %s, want %s", tt.in, got, want)
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	tests := []struct {
		name    string
		in      netip.Prefix
		want    string
		wantErr string // exact message; "" means accepted
	}{
		{"lan /64", prefix(t, "2001:db8:77:1::/64"), "2001:db8:77:1::/64", ""},
		{"unmasked /64", prefix(t, "2001:db8:77:1::99/64"), "2001:db8:77:1::/64", ""},
		// group 4 0x01ab keeps its high byte at /56: 0x0100.
		{"unmasked /56", prefix(t, "2001:db8:77:1ab::/56"), "2001:db8:77:100::/56", ""},
		{"/128", prefix(t, "2001:db8::1/128"), "2001:db8::1/128", ""},
		// 0xa001 at /1 keeps only its high bit.
		{"/1", prefix(t, "a001:db8::/1"), "8000::/1", ""},
		{"ula /48", prefix(t, "fd12:3456:789a::/48"), "fd12:3456:789a::/48", ""},

		{"zero", netip.Prefix{}, "", "prefix is not valid"},
		{"bits 129", netip.PrefixFrom(addr(t, "2001:db8::"), 129), "", "prefix is not valid"},
		{"bits -1", netip.PrefixFrom(addr(t, "2001:db8::"), -1), "", "prefix is not valid"},
		{"v4", prefix(t, "192.0.2.0/24"), "", `prefix "192.0.2.0/24" is not IPv6`},
		{"4-in-6", prefix(t, "::ffff:192.0.2.0/120"), "", `prefix "::ffff:192.0.2.0/120" is not IPv6`},
		{"/0", prefix(t, "::/0"), "", `prefix "::/0" has length 0, want 1..128`},
		{"multicast /8", prefix(t, "ff00::/8"), "", `prefix "ff00::/8" is multicast`},
		{"multicast /128", prefix(t, "ff02::1/128"), "", `prefix "ff02::1/128" is multicast`},
		{"unspecified /64", prefix(t, "::/64"), "", `prefix "::/64" is unspecified`},
		{"unspecified once masked", prefix(t, "::1/64"), "", `prefix "::1/64" is unspecified`},
		{"/1 of a low address", prefix(t, "2001:db8::/1"), "", `prefix "2001:db8::/1" is unspecified`},
		{"unspecified /128", prefix(t, "::/128"), "", `prefix "::/128" is unspecified`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckPrefix(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("CheckPrefix(%s) = %s, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckPrefix(%s) error: %v", tt.in, err)
			}
			if want := prefix(t, tt.want); got != want {
				t.Errorf("CheckPrefix(%s) = %s, want %s", tt.in, got, want)
			}
		})
	}
}

func TestMaxBits(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"203.0.113.77", 32},
		{"::ffff:203.0.113.77", 32},
		{"2001:db8::1", 128},
		{"::", 128},
		{"fe80::1%eth0", 128},
		{"", 0},
	}
	for _, tt := range tests {
		if got := MaxBits(addr(t, tt.in)); got != tt.want {
			t.Errorf("MaxBits(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestNoAllocs holds the hot path to its promise: effective addresses are
// computed for every record on every update.
func TestNoAllocs(t *testing.T) {
	b4, id4 := addr(t, "203.0.113.77"), addr(t, "0.0.0.42")
	wan, id6 := addr(t, "2001:db8:ffff::1"), addr(t, "0:0:0:42::1")
	lan := prefix(t, "2001:db8:77:1::/64")
	var sink netip.Addr
	allocs := testing.AllocsPerRun(100, func() {
		a, _ := Combine(b4, 20, id4)
		b, _ := Effective4(b4, 24, id4)
		c, _ := Effective6(wan, lan, 56, id6)
		d, _ := Effective6(wan, lan, 100, id6)
		sink = a
		sink = b
		sink = c
		sink = d
	})
	_ = sink
	if allocs != 0 {
		t.Errorf("hot path allocates %v times per run, want 0", allocs)
	}
}
