package dyndns2

import (
	"context"
	"errors"
	"net/netip"
)

// Host is the authenticated host as the handler needs it.
type Host struct {
	ID          int64
	FQDN        string // lowercase, no trailing dot
	Enabled     bool
	IPv4Enabled bool
	IPv6Enabled bool
	Names       []string // lowercase FQDNs of the host's records (a `hostname` may name the host or any of these)
	// Current holds the addresses stored when the host was authenticated;
	// the backend compares against them so that a nochg costs no write.
	Current Update
}

// Update is what a request asks to store; zero values mean "not given / keep
// as it is".
type Update struct {
	IPv4   netip.Addr
	IPv6   netip.Addr
	Prefix netip.Prefix // delegated IPv6 prefix
	// Source says which parameter carried each value (myip, myipv6,
	// ip6lanprefix, ...), "<param>/len" for a prefix written as an address
	// with a length, SourceConnection for the address the request came
	// from; a record's derivation shows it.
	Source Sources
}

// Sources name where each value of an Update came from.
type Sources struct{ IPv4, IPv6, Prefix string }

// SourceConnection is the source of an address taken from the request's
// connection because the client named none.
const SourceConnection = "connection"

// Result is the host's state after Apply.
type Result struct {
	Changed bool       // any stored address/prefix changed → "good", else "nochg"
	IPv4    netip.Addr // current values after the update (for the echo)
	IPv6    netip.Addr
	Prefix  netip.Prefix
}

// ErrBadAuth is returned by Backend.Authenticate for an unknown host or a wrong
// secret alike, so that the answer does not tell which one it was.
var ErrBadAuth = errors.New("dyndns2: bad credentials")

// Backend is what the handler needs from the rest of the broker.
type Backend interface {
	// Authenticate checks username (= host FQDN, as sent: the backend
	// normalises) and secret. Returns ErrBadAuth, *ratelimit.Error (when a source
	// or host has failed too often: `abuse`, HTTP 429, Retry-After rounded up
	// to whole seconds), or another error (→ 911/503).
	Authenticate(ctx context.Context, username, secret string, source netip.Addr) (Host, error)
	// Apply stores the update for the host (only families enabled on the host
	// are passed in) and queues deliveries.
	Apply(ctx context.Context, h Host, u Update) (Result, error)
}
