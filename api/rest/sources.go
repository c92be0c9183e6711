package rest

import (
	"bytes"
	"net/netip"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// sourceInput is what a create, patch or preview body says about how a
// record's addresses are made beyond netmask and host identifier: a MAC,
// a subnet id, a static address per family. nil: not given.
type sourceInput struct {
	mac, subnet      *string
	mode4, mode6     *AddressMode
	static4, static6 *string
	// identifier6 tells whether ipv6_host_identifier was given, which a
	// MAC replaces; netmask6 is the ipv6_netmask given, if any.
	identifier6 bool
	netmask6    *int
}

// sourceChange is a record's sources after a request, with what they
// change in its IPv6 identifier and netmask.
type sourceChange struct {
	store.Sources
	identifier6 *netip.Addr
	netmask6    *int
}

// resolve applies in to the sources a record has (old; zero when it is
// new), or names each field that cannot be applied. A MAC replaces the
// IPv6 host identifier (with its EUI-64 form), an identifier given alone
// drops the MAC; a subnet id makes the netmask 64, which must be 64 when
// given; a static address needs its family's mode static, and mode derived
// drops it. Shapes were checked by the spec and the validate tags.
func (in sourceInput) resolve(old store.Sources) (sourceChange, []FieldError) {
	c := sourceChange{Sources: old}
	var errs []FieldError
	switch {
	case in.mac != nil && *in.mac == "":
		c.IPv6HostMAC = nil
	case in.mac != nil && in.identifier6:
		errs = append(errs, fieldError("ipv6_host_mac", "give either ipv6_host_mac or ipv6_host_identifier, not both"))
	case in.mac != nil:
		mac, _ := netcalc.ParseMAC(*in.mac)
		id, _ := netcalc.EUI64(mac)
		c.IPv6HostMAC, c.identifier6 = mac, &id
	case in.identifier6:
		c.IPv6HostMAC = nil
	}
	if in.subnet != nil {
		if *in.subnet == "" {
			c.IPv6SubnetID = nil
		} else {
			id, _ := parseSubnetID(*in.subnet)
			c.IPv6SubnetID = &id
		}
	}
	if c.IPv6SubnetID != nil {
		switch {
		case in.netmask6 != nil && *in.netmask6 != 64:
			errs = append(errs, fieldError("ipv6_netmask", "must be 64 with a subnet id: the subnet is a /64"))
		case in.subnet != nil && *in.subnet != "":
			n := 64
			c.netmask6 = &n
		}
	}
	for _, f := range []struct {
		name   string
		mode   *AddressMode
		given  *string
		family netcalc.Family
		static *netip.Addr
	}{
		{"ipv4", in.mode4, in.static4, netcalc.V4, &c.IPv4Static},
		{"ipv6", in.mode6, in.static6, netcalc.V6, &c.IPv6Static},
	} {
		static := f.static.IsValid()
		if f.mode != nil {
			static = *f.mode == Static
		}
		given := f.given != nil && *f.given != ""
		switch {
		case given && !static:
			errs = append(errs, fieldError(f.name+"_static_address", "is only taken with %s_mode static", f.name))
		case given:
			*f.static, _ = parseHostAddr(*f.given, f.family)
		case static && !f.static.IsValid():
			errs = append(errs, fieldError(f.name+"_static_address", "is required with %s_mode static", f.name))
		case !static:
			*f.static = netip.Addr{}
		}
	}
	return c, errs
}

// fitsHost refuses a subnet id the host's current prefix cannot hold; a
// host without a prefix yet takes any (the record warns until it has one).
func (c sourceChange) fitsHost(h store.Host) []FieldError {
	if c.IPv6SubnetID == nil || !h.Prefix.IsValid() {
		return nil
	}
	if err := netcalc.CheckSubnetID(h.Prefix.Bits(), *c.IPv6SubnetID); err != nil {
		return []FieldError{fieldError("ipv6_subnet_id", "%s (the host's prefix is %s)", err, h.Prefix)}
	}
	return nil
}

// sourcesChanged names the source fields that differ between a and b.
func sourcesChanged(a, b store.Sources) []string {
	var out []string
	if !bytes.Equal(a.IPv6HostMAC, b.IPv6HostMAC) {
		out = append(out, "ipv6_host_mac")
	}
	if (a.IPv6SubnetID == nil) != (b.IPv6SubnetID == nil) || a.IPv6SubnetID != nil && *a.IPv6SubnetID != *b.IPv6SubnetID {
		out = append(out, "ipv6_subnet_id")
	}
	if a.IPv4Static != b.IPv4Static {
		out = append(out, "ipv4_static_address")
	}
	if a.IPv6Static != b.IPv6Static {
		out = append(out, "ipv6_static_address")
	}
	return out
}

func addressMode(static netip.Addr) AddressMode {
	if static.IsValid() {
		return Static
	}
	return Derived
}

func subnetPtr(id *uint64) *string {
	if id == nil {
		return nil
	}
	s := netcalc.FormatSubnetID(*id)
	return &s
}

func toDerivation(h store.Host, r store.Record) RecordDerivation {
	family := func(f netcalc.Family) FamilyDerivation {
		d := broker.Derive(h, r, f)
		out := FamilyDerivation{Mode: Derived, BaseSource: d.BaseSource, Netmask: d.Netmask,
			SubnetId: subnetPtr(d.SubnetID), Subnet: prefixPtr(d.Subnet), HostIdentifier: d.HostIdentifier.String(),
			Result: addrPtr(d.Result), Reason: d.Reason}
		if d.Static {
			out.Mode = Static
		}
		if d.Base.IsValid() {
			b := d.Base.String()
			out.Base = &b
		}
		if d.MAC != nil {
			m := d.MAC.String()
			out.HostMac = &m
		}
		return out
	}
	return RecordDerivation{Ipv4: family(netcalc.V4), Ipv6: family(netcalc.V6)}
}
