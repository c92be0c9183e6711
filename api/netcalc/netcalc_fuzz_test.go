package netcalc

import (
	"net/netip"
	"testing"
)

// FuzzCombine checks Combine against the definition bit by bit, on arbitrary
// byte strings: 4 or 16 bytes make an address, any other length the zero Addr,
// and zone (applied to an IPv6 base) exercises the zone rule.
func FuzzCombine(f *testing.F) {
	seed := func(base string, bits int, id string, zone string) {
		f.Add(addrBytes(f, base), bits, addrBytes(f, id), zone)
	}
	// The package doc's worked examples.
	seed("203.0.113.77", 24, "0.0.0.42", "")
	seed("203.0.113.77", 16, "10.20.30.40", "")
	seed("2001:db8:1234:5678:abcd::1", 64, "::4042:42ff:fe42:4242", "")
	seed("2001:db8:1234:5678:abcd::1", 56, "0:0:0:42::cafe", "")
	seed("2001:db8:77:1::", 64, "::cafe", "")
	seed("2001:db8:77:1::", 56, "0:0:0:42::1", "")
	seed("2001:db8:ffff::1", 128, "::cafe", "")
	// Edges.
	seed("203.0.113.77", 0, "10.20.30.40", "")
	seed("203.0.113.77", 32, "10.20.30.40", "")
	seed("203.0.113.77", 33, "0.0.0.42", "")
	seed("203.0.113.77", -1, "0.0.0.42", "")
	seed("2001:db8::1", 129, "::42", "")
	seed("2001:db8::1", 127, "::ffff:ffff:ffff:ffff:ffff", "")
	seed("::ffff:203.0.113.77", 20, "0.0.255.1", "")
	seed("203.0.113.77", 24, "::ffff:0.0.0.42", "")
	seed("203.0.113.77", 24, "::42", "")
	seed("fe80::1", 64, "::42", "eth0")
	f.Add([]byte{1, 2, 3}, 8, []byte{}, "")

	f.Fuzz(func(t *testing.T, baseBytes []byte, bits int, idBytes []byte, zone string) {
		base, _ := netip.AddrFromSlice(baseBytes)
		id, _ := netip.AddrFromSlice(idBytes)
		if base.Is6() && !base.Is4In6() {
			base = base.WithZone(zone)
		}

		got, err := Combine(base, bits, id)

		b, h := base.Unmap(), id.Unmap()
		valid := base.IsValid() && id.IsValid() && base.Zone() == "" &&
			b.Is4() == h.Is4() && bits >= 0 && bits <= b.BitLen()
		if !valid {
			if err == nil {
				t.Fatalf("Combine(%s, %d, %s) = %s, want an error", base, bits, id, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("Combine(%s, %d, %s) error: %v", base, bits, id, err)
		}

		if got.Is4() != b.Is4() || got.BitLen() != b.BitLen() || got.Zone() != "" {
			t.Fatalf("Combine(%s, %d, %s) = %s, want the family of %s", base, bits, id, got, b)
		}
		for i := range b.BitLen() {
			want := bitAt(h, i)
			if i < bits {
				want = bitAt(b, i)
			}
			if bitAt(got, i) != want {
				t.Fatalf("Combine(%s, %d, %s) = %s: bit %d is %d, want %d", base, bits, id, got, i, bitAt(got, i), want)
			}
		}

		again, err := Combine(got, bits, id)
		if err != nil || again != got {
			t.Fatalf("Combine(%s, %d, %s) = %s, %v; want it to be a fixed point %s", got, bits, id, again, err, got)
		}
	})
}

// bitAt returns bit i of a, counting from the most significant; a is IPv4 or
// native IPv6. It reads AsSlice one bit at a time so that it shares nothing
// with the byte masks of the code under test.
func bitAt(a netip.Addr, i int) int {
	s := a.AsSlice()
	return int(s[i/8]>>(7-i%8)) & 1
}

// addrBytes is the byte form of s as a seed: 4 bytes for dotted IPv4, 16 for
// anything written as IPv6 (so mapped addresses stay mapped).
func addrBytes(f *testing.F, s string) []byte {
	f.Helper()
	a, err := netip.ParseAddr(s)
	if err != nil {
		f.Fatalf("parse seed address %q: %v", s, err)
	}
	return a.AsSlice()
}
