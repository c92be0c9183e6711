package httpserver

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ClientIP returns a function that finds a request's client address: the TCP
// peer, unless the peer is a trusted proxy, in which case the right-most
// X-Forwarded-For entry that is not itself a trusted proxy (or X-Real-IP).
// Headers from anyone else are ignored, so clients cannot claim an address.
func ClientIP(trusted []netip.Prefix) func(*http.Request) netip.Addr {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) netip.Addr {
		peer := netcalc.Peer(r.RemoteAddr)
		if !peer.IsValid() || len(trusted) == 0 || !isTrusted(peer) {
			return peer
		}
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			hops := strings.Split(strings.Join(xff, ","), ",")
			for i := len(hops) - 1; i >= 0; i-- {
				a := parseHop(hops[i])
				if !a.IsValid() {
					return peer // a malformed chain is not believed
				}
				if !isTrusted(a) {
					return a
				}
			}
		}
		if a := parseHop(r.Header.Get("X-Real-IP")); a.IsValid() {
			return a
		}
		return peer
	}
}

// parseHop reads one proxy-header value: an address, optionally bracketed
// or with a port.
func parseHop(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	a, _ := netip.ParseAddr(strings.Trim(s, "[]"))
	return a.Unmap().WithZone("")
}
