package netcalc

import (
	"strings"
	"testing"
)

// The EUI-64 vectors were worked out by hand: flip bit 0x02 of the first
// byte, insert ff:fe after the third.
func TestEUI64(t *testing.T) {
	tests := []struct{ mac, want, wantErr string }{
		{"00:11:22:33:44:55", "::211:22ff:fe33:4455", ""},       // the example: 00 → 02
		{"00-11-22-33-44-55", "::211:22ff:fe33:4455", ""},       // Windows spelling
		{"0011.2233.4455", "::211:22ff:fe33:4455", ""},          // Cisco spelling
		{"001122334455", "::211:22ff:fe33:4455", ""},            // bare
		{"AA:BB:CC:DD:EE:FF", "::a8bb:ccff:fedd:eeff", ""},      // upper case; aa → a8
		{"02:00:5e:10:00:00", "::5eff:fe10:0", ""},              // locally administered: 02 → 00
		{"52:54:00:12:34:56", "::5054:ff:fe12:3456", ""},        // a QEMU MAC (local): 52 → 50
		{"00:11:22:33:44", "", "is not a MAC address"},          // short
		{"00:11:22:33:44:55:66:77", "", "is not a MAC address"}, // EUI-64 itself
		{"00:11:22:33:44:zz", "", "is not a MAC address"},       // not hex
		{"", "", "is not a MAC address"},                        // empty
		{"00:11:22:33:44:55 x", "", "is not a MAC address"},     // trailing text
		{"0011223344", "", "is not a MAC address"},              // bare but short
	}
	for _, tt := range tests {
		mac, err := ParseMAC(tt.mac)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseMAC(%q) = %v, %v; want error %q", tt.mac, mac, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseMAC(%q): %v", tt.mac, err)
			continue
		}
		id, err := EUI64(mac)
		if err != nil || id != addr(t, tt.want) {
			t.Errorf("EUI64(%q) = %v, %v; want %s", tt.mac, id, err, tt.want)
		}
	}
}

func TestParseSubnetID(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"1", 1, true}, {"0x1", 1, true}, {"0x1f", 31, true}, {"0X1F", 31, true}, {"31", 31, true}, {"0", 0, true},
		{"0xffff", 0xffff, true},
		{"", 0, false}, {"0x", 0, false}, {"-1", 0, false}, {"+1", 0, false}, {"1f", 0, false}, {"0xg", 0, false},
		{"0x+1", 0, false},
	} {
		got, err := ParseSubnetID(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSubnetID(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// The subnets were worked out by hand: the id fills the bits between the
// prefix length and 64.
func TestSubnet(t *testing.T) {
	tests := []struct {
		prefix  string
		id      uint64
		want    string
		wantErr string
	}{
		{"2001:db8:aa00::/56", 1, "2001:db8:aa00:1::/64", ""}, // the example
		{"2001:db8:aa00::/56", 0xff, "2001:db8:aa00:ff::/64", ""},
		{"2001:db8:aa00::/56", 0x100, "", "does not fit in the 8 bits between /56 and /64 (at most 0xff)"},
		{"2001:db8:aa::/48", 0xbeef, "2001:db8:aa:beef::/64", ""},
		{"2001:db8:aa::/48", 0x10000, "", "does not fit in the 16 bits between /48 and /64"},
		{"2001:db8:aa00:10::/60", 0xf, "2001:db8:aa00:1f::/64", ""},
		{"2001:db8:aa00:10::/60", 0x10, "", "does not fit in the 4 bits between /60 and /64 (at most 0xf)"},
		{"2001:db8:aa00:1::/64", 0, "2001:db8:aa00:1::/64", ""},
		{"2001:db8:aa00:1::/64", 1, "", "the only subnet id is 0"},
		{"2001:db8:aa00:1::/72", 0, "", "has no room for /64 subnets"},
		// Host bits in the prefix as given are cleared first.
		{"2001:db8:aa00:77::/56", 2, "2001:db8:aa00:2::/64", ""},
	}
	for _, tt := range tests {
		got, err := Subnet(prefix(t, tt.prefix), tt.id)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Subnet(%s, %#x) = %v, %v; want error %q", tt.prefix, tt.id, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != prefix(t, tt.want) {
			t.Errorf("Subnet(%s, %#x) = %v, %v; want %s", tt.prefix, tt.id, got, err, tt.want)
		}
	}
}

func TestPrivate(t *testing.T) {
	for _, tt := range []struct {
		a    string
		want bool
	}{
		{"10.0.0.1", true}, {"172.16.0.1", true}, {"172.31.255.255", true}, {"192.168.1.1", true},
		{"100.64.0.1", true}, {"100.127.255.255", true}, {"::ffff:10.0.0.1", true},
		{"172.32.0.1", false}, {"100.128.0.1", false}, {"100.63.255.255", false}, {"203.0.113.1", false},
		{"127.0.0.1", false}, {"2001:db8::1", false}, {"fd00::1", false},
	} {
		if got := Private(addr(t, tt.a)); got != tt.want {
			t.Errorf("Private(%s) = %v, want %v", tt.a, got, tt.want)
		}
	}
}
