package broker

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// Derivation is how a record's address of one family comes about: the
// base taken from its host (and where the host got it), the subnet, the
// host identifier (and the MAC it came from), and the result; or the
// fixed address of a static record; or why there is none. The broker
// delivers Result, and the API shows the rest, so the two never disagree.
type Derivation struct {
	Family netcalc.Family
	// Static: the record's fixed address, nothing derived.
	Static bool
	// Base is the host's address or delegated prefix the record's high
	// bits come from (a prefix is given with its length), BaseSource
	// where the host got it (store.AddressSources).
	Base       netip.Prefix
	BaseSource string
	Netmask    int
	// SubnetID and Subnet: the /64 of the delegated prefix the record is
	// in, when it has a subnet id.
	SubnetID *uint64
	Subnet   netip.Prefix
	// HostIdentifier gives the bits under the netmask; MAC, when set, is
	// the address it is the EUI-64 form of.
	HostIdentifier netip.Addr
	MAC            net.HardwareAddr
	// Result is what the record points to; the zero Addr when nothing is
	// sent, Reason then says why.
	Result netip.Addr
	Reason string
}

// Derive works out a record's address of a family from its host, with
// every step (Derivation).
func Derive(h store.Host, r store.Record, family netcalc.Family) Derivation {
	d := Derivation{Family: family}
	hostOn, recordOn := h.IPv4Enabled, r.IPv4Enabled
	if family == netcalc.V6 {
		hostOn, recordOn = h.IPv6Enabled, r.IPv6Enabled
	}
	if static := r.Static(family); static.IsValid() {
		d.Static = true
		d.Netmask = 0
		d.HostIdentifier = static
	} else if family == netcalc.V4 {
		d.Netmask, d.HostIdentifier = r.IPv4Netmask, r.IPv4HostIdentifier
	} else {
		d.Netmask, d.HostIdentifier, d.MAC, d.SubnetID = r.IPv6Netmask, r.IPv6HostIdentifier, r.IPv6HostMAC, r.IPv6SubnetID
	}
	switch {
	case !recordOn:
		d.Reason = fmt.Sprintf("%s is off for the record", family)
		return d
	case !hostOn:
		d.Reason = fmt.Sprintf("%s is off for the host", family)
		return d
	case d.Static:
		d.Result = d.HostIdentifier
		return d
	case family == netcalc.V4:
		return derive4(h, d)
	}
	return derive6(h, d)
}

func derive4(h store.Host, d Derivation) Derivation {
	if !h.IPv4.IsValid() {
		d.Reason = "the host has not reported an IPv4 address"
		return d
	}
	d.Base, d.BaseSource = netip.PrefixFrom(h.IPv4, 32), h.Source.IPv4
	if netcalc.Private(h.IPv4) && !h.PrivateIPv4Allowed {
		d.Reason = privateReason(h.IPv4)
		return d
	}
	d.Result, _ = netcalc.Effective4(h.IPv4, d.Netmask, d.HostIdentifier)
	if !d.Result.IsValid() {
		d.Reason = "the host's address and the record's settings give no IPv4 address"
	}
	return d
}

// privateReason says why a private IPv4 address is not published.
func privateReason(a netip.Addr) string {
	return fmt.Sprintf("the host reported %s, a private or CGNAT address (the router is behind NAT): it is not published unless the host allows private IPv4 addresses", a)
}

func derive6(h store.Host, d Derivation) Derivation {
	if d.SubnetID != nil {
		if !h.Prefix.IsValid() {
			d.Reason = "the record has a subnet id but the host has not reported a delegated prefix"
			return d
		}
		d.Base, d.BaseSource = h.Prefix, h.Source.Prefix
		subnet, err := netcalc.Subnet(h.Prefix, *d.SubnetID)
		if err != nil {
			d.Reason = "the subnet id does not fit the host's prefix: " + err.Error()
			return d
		}
		d.Subnet = subnet
		d.Result, _ = netcalc.Effective6(netip.Addr{}, subnet, d.Netmask, d.HostIdentifier)
	} else {
		base, ok := netcalc.Base6(h.IPv6, h.Prefix, d.Netmask)
		if !ok {
			d.Reason = fmt.Sprintf("the host has reported neither an IPv6 address nor a prefix covering /%d", d.Netmask)
			return d
		}
		if h.Prefix.IsValid() && base == h.Prefix.Masked().Addr() && d.Netmask <= h.Prefix.Bits() {
			d.Base, d.BaseSource = h.Prefix, h.Source.Prefix
		} else {
			d.Base, d.BaseSource = netip.PrefixFrom(base, 128), h.Source.IPv6
		}
		d.Result, _ = netcalc.Effective6(h.IPv6, h.Prefix, d.Netmask, d.HostIdentifier)
	}
	if !d.Result.IsValid() {
		d.Reason = "the host's addresses and the record's settings give no IPv6 address"
	}
	return d
}
