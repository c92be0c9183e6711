package auth

import "net/netip"

// DefaultIPv6SourcePrefix is how much of an IPv6 address names one source:
// a /64 is what a single home connection or server is given, so counting
// failures per full address would hand an attacker 2^64 fresh budgets.
const DefaultIPv6SourcePrefix = 64

// SourceGroups decides which client addresses share failure budgets and a
// share of the hashing gate: an IPv4 address stands alone, an IPv6 address
// counts as its prefix of IPv6Prefix bits. The client address is the one
// httpserver.ClientIP resolved, i.e. the forwarded one behind a trusted
// proxy.
type SourceGroups struct {
	IPv6Prefix int // 0 means DefaultIPv6SourcePrefix
}

// Of names the group of a: "198.51.100.7", "2001:db8:1:2::/64", or
// "unknown" when there is no usable address.
func (g SourceGroups) Of(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is4():
		return a.String()
	}
	bits := g.IPv6Prefix
	if bits <= 0 || bits > 128 {
		bits = DefaultIPv6SourcePrefix
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return a.String()
	}
	return p.String()
}
