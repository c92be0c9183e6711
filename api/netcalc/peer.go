package netcalc

import (
	"net"
	"net/netip"
)

// Peer is the address of a connection's peer as net/http gives it
// (Request.RemoteAddr, "host:port"), or the zero Addr when it is not one.
// It is unmapped and without zone, like every address the broker compares
// with trusted proxies, limits by or records: "::ffff:192.0.2.1" and
// "192.0.2.1" are one client. A RemoteAddr without a port (some test
// servers and listeners give one) is read as the address alone.
func Peer(remoteAddr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, _ := netip.ParseAddr(host) // not an address: the zero Addr, as documented
	return a.Unmap().WithZone("")
}
