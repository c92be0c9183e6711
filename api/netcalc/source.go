package netcalc

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// The two ways a record's IPv6 host identifier and network are written
// besides a plain address: a MAC address, turned into a modified EUI-64
// identifier (RFC 4291 appendix A) as SLAAC does, and a subnet id, which
// puts the record in one /64 of a shorter delegated prefix (a router that
// receives a /56 numbers its LANs 0 to ff).

// ParseMAC reads a 48-bit MAC address in the spellings routers and
// operating systems print: 00:11:22:33:44:55, 00-11-22-33-44-55,
// 0011.2233.4455 or 001122334455, in either case. Longer hardware
// addresses (EUI-64, InfiniBand) are refused: they have no EUI-64
// identifier of this form.
func ParseMAC(s string) (net.HardwareAddr, error) {
	t := strings.TrimSpace(s)
	if len(t) == 12 && !strings.ContainsAny(t, ":-.") {
		t = t[0:4] + "." + t[4:8] + "." + t[8:12]
	}
	mac, err := net.ParseMAC(t)
	if err != nil || len(mac) != 6 {
		return nil, fmt.Errorf("%q is not a MAC address like 00:11:22:33:44:55", s)
	}
	return mac, nil
}

// EUI64 is the IPv6 host identifier SLAAC derives from a MAC address:
// ff:fe inserted in the middle and the universal/local bit (0x02 of the
// first byte) flipped, in the low 64 bits of an otherwise zero address:
// 00:11:22:33:44:55 → ::211:22ff:fe33:4455.
func EUI64(mac net.HardwareAddr) (netip.Addr, error) {
	if len(mac) != 6 {
		return netip.Addr{}, errors.New("netcalc: EUI-64 needs a 48-bit MAC address")
	}
	var b [16]byte
	b[8], b[9], b[10] = mac[0]^0x02, mac[1], mac[2]
	b[11], b[12] = 0xff, 0xfe
	b[13], b[14], b[15] = mac[3], mac[4], mac[5]
	return netip.AddrFrom16(b), nil
}

// ParseSubnetID reads a subnet id: decimal (1, 31) or hexadecimal with
// 0x (0x1f), the way the LAN's /64 shows it (2001:db8:aa00:1f::/64).
func ParseSubnetID(s string) (uint64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	base := 10
	if h, ok := strings.CutPrefix(t, "0x"); ok {
		t, base = h, 16
	}
	v, err := strconv.ParseUint(t, base, 64)
	if err != nil || t == "" || strings.HasPrefix(t, "+") {
		return 0, fmt.Errorf("%q is not a subnet id like 1 or 0x1f", s)
	}
	return v, nil
}

// FormatSubnetID writes a subnet id as the API shows it: 0x1f.
func FormatSubnetID(id uint64) string { return "0x" + strconv.FormatUint(id, 16) }

// SubnetBits is how many bits a delegated prefix of length bits leaves
// for subnet ids: 64-bits (8 for a /56, 16 for a /48), or an error when
// the prefix is longer than /64, where no /64 fits.
func SubnetBits(bits int) (int, error) {
	if bits < 0 || bits > 64 {
		return 0, fmt.Errorf("a /%d prefix has no room for /64 subnets", bits)
	}
	return 64 - bits, nil
}

// CheckSubnetID tells whether id fits between a prefix of length bits and
// /64, with a message fit for a user otherwise.
func CheckSubnetID(bits int, id uint64) error {
	room, err := SubnetBits(bits)
	if err != nil {
		return err
	}
	if room < 64 && id>>room != 0 {
		if room == 0 {
			return fmt.Errorf("a /%d prefix is one subnet: the only subnet id is 0", bits)
		}
		return fmt.Errorf("subnet id %s does not fit in the %d bits between /%d and /64 (at most %s)",
			FormatSubnetID(id), room, bits, FormatSubnetID(1<<room-1))
	}
	return nil
}

// Subnet is the /64 with number id inside p: p's network bits, then id,
// in the bits from p.Bits() to 63. 2001:db8:aa00::/56 and 1 give
// 2001:db8:aa00:1::/64.
func Subnet(p netip.Prefix, id uint64) (netip.Prefix, error) {
	if !p.IsValid() || !is6(p.Addr()) {
		return netip.Prefix{}, errors.New("netcalc: subnet of a prefix that is not IPv6")
	}
	if err := CheckSubnetID(p.Bits(), id); err != nil {
		return netip.Prefix{}, err
	}
	b := p.Masked().Addr().As16()
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	hi |= id
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (56 - 8*i))
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), 64), nil
}

// Private tells whether an IPv4 address is one a router behind NAT
// reports: RFC 1918 (10/8, 172.16/12, 192.168/16) or the shared CGNAT
// space (100.64.0.0/10, RFC 6598). Publishing it in public DNS points
// nowhere useful, so the broker holds it back unless the host allows it.
func Private(a netip.Addr) bool {
	a = a.Unmap()
	return a.Is4() && (a.IsPrivate() || cgnat.Contains(a))
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")
