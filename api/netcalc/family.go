package netcalc

import (
	"net/netip"
	"strconv"
)

// Family is an address family: V4 or V6. Its values are the numbers the
// database, the JSON API and webhook payloads carry (4 and 6), so a Family
// is stored and serialised as it is; code never computes with them
// (Other, not 10 - f).
type Family int

// The two families.
const (
	V4 Family = 4
	V6 Family = 6
)

// Families are both families in the order records list them.
func Families() []Family { return []Family{V4, V6} }

// Other is the other family.
func (f Family) Other() Family {
	if f == V4 {
		return V6
	}
	return V4
}

// Valid tells whether f is V4 or V6.
func (f Family) Valid() bool { return f == V4 || f == V6 }

// String is "IPv4" or "IPv6", as messages name a family.
func (f Family) String() string {
	switch f {
	case V4:
		return "IPv4"
	case V6:
		return "IPv6"
	}
	return "Family(" + strconv.Itoa(int(f)) + ")"
}

// RecordType is the DNS record type that holds an address of f: A or AAAA.
func (f Family) RecordType() string {
	if f == V4 {
		return "A"
	}
	return "AAAA"
}

// Bits is the width of an address of f: 32 or 128.
func (f Family) Bits() int {
	if f == V4 {
		return 32
	}
	return 128
}

// Holds tells whether a is an address of f: IPv4 (also when written as
// an IPv4-mapped IPv6 address) for V4, any other IPv6 address for V6.
func (f Family) Holds(a netip.Addr) bool {
	switch {
	case !a.IsValid():
		return false
	case f == V4:
		return a.Unmap().Is4()
	case f == V6:
		return a.Is6() && !a.Is4In6()
	}
	return false
}

// FamilyOf is the family of a valid address, an IPv4-mapped IPv6 address
// counting as IPv4; 0 for the zero Addr.
func FamilyOf(a netip.Addr) Family {
	switch {
	case !a.IsValid():
		return 0
	case a.Unmap().Is4():
		return V4
	}
	return V6
}
