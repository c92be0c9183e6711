// Package routersetup writes the configuration a router or update client
// needs to report its addresses to the broker: one ready-to-paste snippet per
// client (ddclient, inadyn, OpenWrt, FRITZ!Box, pfSense, OPNsense, MikroTik,
// UniFi, curl), with the host's name and secret written the way each format
// needs them. The JSON API serves them (GET /api/v1/hosts/{id}/setup, and the
// answers that reveal a new secret); the web app only shows them.
//
// Where a client's format cannot carry a value (a secret with a character
// the format cannot write, a broker address the client cannot parse), the
// snippet says so in its text and in Item.Warning, instead of holding
// something that would fail in the client.
package routersetup

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// Broker is the broker's address as routers reach it: DDNSBROKER_PUBLIC_URL,
// or what a request to the API came in on.
type Broker struct {
	https bool
	// host is a DNS name, or an IP address without brackets.
	host string
	// addr is host as an address when it is one.
	addr netip.Addr
	// port is "" for the scheme's default.
	port string
	// prefix is a path prefix without the trailing slash ("" at the root).
	prefix string
}

// ParseBroker reads an http(s) URL: scheme, host (a name or an IP address),
// optional port and path prefix; no user, query or fragment. The path may
// hold only letters, digits and - . _ ~ / so that every client format can
// carry it unquoted.
func ParseBroker(raw string) (Broker, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Broker{}, errors.New("not a URL")
	}
	var b Broker
	switch strings.ToLower(u.Scheme) {
	case "http":
	case "https":
		b.https = true
	default:
		return Broker{}, errors.New("want an http:// or https:// URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return Broker{}, errors.New("want scheme, host, port and path only (no user, query or fragment)")
	}
	host := u.Hostname()
	if host == "" {
		return Broker{}, errors.New("the URL has no host")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return Broker{}, errors.New("an address with a zone cannot be reached by routers")
		}
		b.addr, b.host = a.Unmap(), a.Unmap().String()
	} else {
		name := strings.ToLower(strings.TrimSuffix(host, "."))
		if !validName(name) {
			return Broker{}, fmt.Errorf("host %q is neither a DNS name nor an IP address", host)
		}
		b.host = name
	}
	if p := u.Port(); p != "" {
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return Broker{}, errors.New("invalid port")
			}
			n = n*10 + int(c-'0')
			if n > 65535 {
				return Broker{}, errors.New("invalid port")
			}
		}
		if n == 0 {
			return Broker{}, errors.New("invalid port")
		}
		if !(n == 80 && !b.https || n == 443 && b.https) {
			b.port = fmt.Sprint(n)
		}
	}
	path := strings.TrimRight(u.Path, "/")
	for _, c := range path {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~/", c)) {
			return Broker{}, errors.New("the path may hold only letters, digits and - . _ ~ /")
		}
	}
	b.prefix = path
	return b, nil
}

// validName accepts DNS names of one or more labels of letters, digits,
// hyphens and underscores (a LAN broker may be called "ddns").
func validName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// String is the broker's URL in its canonical spelling.
func (b Broker) String() string { return b.scheme() + "://" + b.hostPort() + b.prefix }

func (b Broker) scheme() string {
	if b.https {
		return "https"
	}
	return "http"
}

// hostPort is host[:port], an IPv6 address in brackets.
func (b Broker) hostPort() string { return b.hostPortOf(b.host) }

func (b Broker) hostPortOf(host string) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		host = "[" + host + "]"
	}
	if b.port != "" {
		return host + ":" + b.port
	}
	return host
}

// url is the broker's URL with path appended.
func (b Broker) url(path string) string { return b.String() + path }

// reaches reports whether clients can reach the broker over the family:
// always by name; by address only over the address's family.
func (b Broker) reaches(fam netcalc.Family) bool {
	if !b.addr.IsValid() {
		return true
	}
	return b.addr.Is4() == (fam == v4)
}

// familyHost is the name that answers only over fam: the broker's ipv4. and
// ipv6. names (README, "Three names"), or the address itself when the broker
// is addressed by one of that family.
func (b Broker) familyHost(fam netcalc.Family) string {
	if b.addr.IsValid() {
		return b.host
	}
	return label(fam) + "." + b.host
}

// familyURL is the broker's URL under familyHost with path appended.
func (b Broker) familyURL(fam netcalc.Family, path string) string {
	return b.scheme() + "://" + b.hostPortOf(b.familyHost(fam)) + b.prefix + path
}

const (
	v4 = netcalc.V4
	v6 = netcalc.V6
)

// label is the family's name in host names: ipv4 or ipv6.
func label(f netcalc.Family) string { return strings.ToLower(f.String()) }
