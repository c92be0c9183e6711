// Package netcalc computes the effective addresses of DNS records from a host's
// reported addresses, and validates what hosts report before it is stored.
//
// For a family of width W (32 or 128), a record has a netmask N (0..W) and a
// host identifier H (an address of the same family). With B the host's base
// address:
//
//	effective = (B with its low W-N bits cleared) | (H with its high N bits cleared)
//
// N = W: the record is the host's own address; N = 0: the record is H, fixed.
// IPv4: 203.0.113.77 /24 + 0.0.0.42 → 203.0.113.42. IPv6: a host keeps its
// address and, when the router reports one (ip6lanprefix, ipv6prefix, or a
// /len value), its delegated prefix, each updated on its own. A record whose
// netmask is at most the prefix length takes the prefix as its base, any other
// the host's address: with WAN 2001:db8:ffff::1 and LAN prefix
// 2001:db8:77:1::/64, a /64 + ::cafe record is 2001:db8:77:1::cafe, a /56 +
// 0:0:0:42::1 record is 2001:db8:77:42::1 and a /128 record is
// 2001:db8:ffff::1 (a netmask between the prefix length and 128 takes its
// middle bits from the WAN address, which the API flags). No base for a
// family means no effective address, and nothing is delivered for it. Zone
// ids, unspecified and multicast addresses are refused as host addresses; an
// IPv4-mapped IPv6 address counts as the IPv4 address; private and CGNAT
// ranges are accepted (split-horizon and lab setups use them).
//
// Everything here is a pure function over net/netip values so that the broker,
// the API and the tests agree on one definition of an effective address. The
// arithmetic works on the fixed-size byte arrays of netip.Addr and does not
// allocate, since it runs for every record on every update.
package netcalc

import (
	"errors"
	"fmt"
	"net/netip"
)

// Combine returns (base with its low W-bits bits cleared) | (id with its high
// `bits` bits cleared), W = 32 for IPv4, 128 for IPv6. base and id must be the
// same family (IPv4-mapped IPv6 is unmapped first for both), without zone; bits
// in 0..W. Otherwise a clear error.
//
// Mapped addresses are unmapped because a dual-stack socket reports IPv4 peers
// as ::ffff:a.b.c.d, and a record must not change family because of how its
// host happened to connect. Zones are refused rather than dropped: a
// link-local scope has no meaning in a published DNS record.
func Combine(base netip.Addr, bits int, id netip.Addr) (netip.Addr, error) {
	if !base.IsValid() {
		return netip.Addr{}, errors.New("netcalc: invalid base address")
	}
	if !id.IsValid() {
		return netip.Addr{}, errors.New("netcalc: invalid host identifier")
	}
	// Zones are checked before unmapping because Unmap silently drops them.
	if base.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("netcalc: base address %s has a zone identifier", base)
	}
	if id.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("netcalc: host identifier %s has a zone identifier", id)
	}
	base, id = base.Unmap(), id.Unmap()
	if base.Is4() != id.Is4() {
		return netip.Addr{}, fmt.Errorf("netcalc: base address %s and host identifier %s are of different families", base, id)
	}
	w := base.BitLen()
	if bits < 0 || bits > w {
		return netip.Addr{}, fmt.Errorf("netcalc: netmask %d out of range 0..%d", bits, w)
	}
	if base.Is4() {
		b, h := base.As4(), id.As4()
		merge(b[:], h[:], bits)
		return netip.AddrFrom4(b), nil
	}
	b, h := base.As16(), id.As16()
	merge(b[:], h[:], bits)
	return netip.AddrFrom16(b), nil
}

// merge keeps the high `bits` bits of base and takes the rest from id, in place.
// Both slices have the same length and bits is within 0..8*len(base).
func merge(base, id []byte, bits int) {
	full, rest := bits/8, bits%8
	i := full
	if rest != 0 {
		keep := byte(0xff << (8 - rest))
		base[i] = base[i]&keep | id[i]&^keep
		i++
	}
	copy(base[i:], id[i:])
}

// Effective4 is the effective IPv4 of a record: Combine(host, bits, id);
// ok=false when host is not valid (no base).
//
// A host that is not IPv4, or any other reason Combine refuses (family
// mismatch, netmask out of range), also yields ok=false: a record without a computable address is simply not
// delivered, and the inputs are validated where they are written.
func Effective4(host netip.Addr, bits int, id netip.Addr) (netip.Addr, bool) {
	if !host.IsValid() {
		return netip.Addr{}, false
	}
	a, err := Combine(host, bits, id)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// Base6 chooses the IPv6 base for a record with netmask bits: the prefix's
// address when prefix.IsValid() and bits <= prefix.Bits(); otherwise addr when
// valid; ok=false when neither gives a base.
//
// The delegated prefix wins for records that fit inside it because a router's
// WAN address often lies outside its LAN prefix; the WAN address is the only
// source for the bits beyond the prefix. Values that are not native IPv6
// (IPv4 or IPv4-mapped) never give an IPv6 base.
func Base6(addr netip.Addr, prefix netip.Prefix, bits int) (netip.Addr, bool) {
	if prefix.IsValid() && bits <= prefix.Bits() && is6(prefix.Addr()) {
		return prefix.Masked().Addr(), true
	}
	if addr.IsValid() && is6(addr) {
		return addr, true
	}
	return netip.Addr{}, false
}

// Effective6 is the effective IPv6 of a record from the host's IPv6 address
// and delegated prefix (either may be the zero value).
//
// As with Effective4, inputs Combine refuses yield ok=false rather than an
// error, since the record then has nothing to deliver.
func Effective6(addr netip.Addr, prefix netip.Prefix, bits int, id netip.Addr) (netip.Addr, bool) {
	base, ok := Base6(addr, prefix, bits)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := Combine(base, bits, id)
	if err != nil || !is6(a) {
		return netip.Addr{}, false
	}
	return a, true
}

// MixedBase6 reports whether a record's netmask lies strictly between the
// prefix length and 128 while a prefix is known: its middle bits then come
// from the WAN address, which the API and UI flag as a warning.
func MixedBase6(prefix netip.Prefix, bits int) bool {
	return prefix.IsValid() && bits > prefix.Bits() && bits < 128
}

// CheckHostAddress validates an address reported for a host and returns it
// normalised: IPv4-mapped IPv6 becomes the IPv4 address; zone identifiers,
// unspecified (0.0.0.0, ::), multicast and invalid addresses are rejected with
// an error whose message is fit to show a user (e.g. `address "fe80::1%eth0"
// has a zone identifier`). Private, CGNAT, loopback and link-local unicast are
// accepted.
//
// The messages quote the address as reported, so a client sees what it sent.
// Private and similar ranges stay allowed because split-horizon and lab setups
// publish them on purpose.
func CheckHostAddress(a netip.Addr) (netip.Addr, error) {
	if !a.IsValid() {
		return netip.Addr{}, errors.New("address is not valid")
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("address %q has a zone identifier", a)
	}
	u := a.Unmap()
	if u.IsUnspecified() {
		return netip.Addr{}, fmt.Errorf("address %q is unspecified", a)
	}
	if u.IsMulticast() {
		return netip.Addr{}, fmt.Errorf("address %q is multicast", a)
	}
	return u, nil
}

// CheckPrefix validates a delegated IPv6 prefix: must be IPv6 (not 4-in-6),
// no zone, not multicast, not unspecified, bits 1..128; returns it masked
// (host bits cleared).
//
// A netip.Prefix cannot carry a zone (PrefixFrom drops it and ParsePrefix
// refuses it), so the zone rule holds by construction. A zero length is
// refused because ::/0 would make every record's high bits come from nowhere.
func CheckPrefix(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return netip.Prefix{}, errors.New("prefix is not valid")
	}
	if !is6(p.Addr()) {
		return netip.Prefix{}, fmt.Errorf("prefix %q is not IPv6", p)
	}
	if p.Bits() < 1 {
		return netip.Prefix{}, fmt.Errorf("prefix %q has length 0, want 1..128", p)
	}
	if p.Addr().IsMulticast() {
		return netip.Prefix{}, fmt.Errorf("prefix %q is multicast", p)
	}
	// All prefix bits zero (::/64, or ::1/64 masked) is the unspecified
	// address, never a delegated network, as for addresses.
	if p.Masked().Addr().IsUnspecified() {
		return netip.Prefix{}, fmt.Errorf("prefix %q is unspecified", p)
	}
	return p.Masked(), nil
}

// MaxBits returns 32 for IPv4 and 128 for IPv6 (after unmapping), the upper
// bound of a record's netmask; it returns 0 for the zero Addr.
func MaxBits(a netip.Addr) int {
	return a.Unmap().BitLen()
}

// is6 reports whether a is native IPv6, neither IPv4 nor IPv4-mapped.
func is6(a netip.Addr) bool {
	return a.Is6() && !a.Is4In6()
}
