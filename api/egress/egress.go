// Package egress is how the broker calls out over HTTP: DNS providers'
// APIs (dyndns2, http templates, Cloudflare) and webhook receivers. Their
// URLs are chosen by whoever may write a service or a webhook, so every
// client here
//
//   - connects only to addresses its Policy allows, checked on the address
//     actually dialled (after name resolution, for every address a name
//     has), so a name that resolves to a metadata address is refused like
//     the address itself;
//   - puts exactly one request on the wire per call: Go's transport resends
//     an idempotent request that fails on a reused connection, and a
//     provider that closed the connection would count each resend, so every
//     request gets a connection of its own and HTTP/2 (which has retries of
//     its own) is not offered;
//   - never follows a redirect (a moved endpoint is for an admin to look
//     at, not to be chased with credentials attached) and ignores
//     HTTP(S)_PROXY, which would hide the destination from the check;
//   - gives up after its timeout.
package egress

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// AllowTargetsEnv names the setting that lifts the policy for chosen
// networks; refusals name it so that an admin knows where to look.
const AllowTargetsEnv = "DDNSBROKER_ALLOW_TARGETS"

// DialTimeout bounds connecting, TLS handshake included.
const DialTimeout = 10 * time.Second

// maxHeaderBytes bounds an answer's header: providers send a few hundred
// bytes, Go's default would accept 10 MB.
const maxHeaderBytes = 64 << 10

// Policy says which addresses the broker may connect to.
type Policy struct {
	// Allow names networks the broker may always reach, refused kinds
	// included: DDNSBROKER_ALLOW_TARGETS.
	Allow []netip.Prefix
	// Internal lets loopback and private networks be reached without
	// being named in Allow. Until users have roles every service and
	// webhook is an admin's, and home setups publish to a DNS server on
	// their own network, so the default policy sets it.
	Internal bool
}

// DefaultPolicy is the policy without DDNSBROKER_ALLOW_TARGETS.
func DefaultPolicy() Policy { return Policy{Internal: true} }

// RefusedError is the answer to a connection the policy does not allow.
type RefusedError struct {
	Addr netip.Addr
	Kind string // what the address is, e.g. "a link-local address"
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s is %s; the broker connects to it only when %s names it", e.Addr, e.Kind, AllowTargetsEnv)
}

var (
	// metadata are cloud instance metadata and host agent endpoints: they
	// hand out credentials to whoever asks from inside the instance.
	metadata = []netip.Prefix{
		netip.MustParsePrefix("169.254.169.254/32"), // AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean, …
		netip.MustParsePrefix("169.254.170.2/32"),   // AWS ECS task metadata
		netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS over IPv6
		netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud
		netip.MustParsePrefix("192.0.0.192/32"),     // Oracle Cloud (classic)
		netip.MustParsePrefix("168.63.129.16/32"),   // Azure host agent (WireServer)
	}
	linkLocal = []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("fe80::/10")}
	loopback  = []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
		// Connecting to "this host" reaches the loopback interface.
		netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("::/128"),
	}
	private = []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
		netip.MustParsePrefix("fc00::/7"), netip.MustParsePrefix("fec0::/10"),
	}
	// nat64 embeds an IPv4 address that a NAT64 gateway connects to.
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
)

// Check returns nil when the policy allows connecting to a, and a
// *RefusedError saying why not otherwise.
func (p Policy) Check(a netip.Addr) error {
	a = a.WithZone("").Unmap()
	if contains(p.Allow, a) {
		return nil
	}
	if nat64.Contains(a) {
		b := a.As16()
		if err := p.Check(netip.AddrFrom4([4]byte(b[12:]))); err != nil {
			return &RefusedError{Addr: a, Kind: "the NAT64 form of " + err.(*RefusedError).Kind}
		}
	}
	kind := ""
	switch {
	case !a.IsValid():
		kind = "not an address"
	case contains(metadata, a):
		kind = "a cloud metadata address"
	case contains(linkLocal, a):
		kind = "a link-local address"
	case a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		kind = "a multicast or broadcast address"
	case contains(loopback, a) && !p.Internal:
		kind = "a loopback address"
	case contains(private, a) && !p.Internal:
		kind = "a private address"
	default:
		return nil
	}
	return &RefusedError{Addr: a, Kind: kind}
}

func contains(nets []netip.Prefix, a netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Dialer connects to what its Policy allows.
type Dialer struct {
	Policy Policy
	// Resolver finds the addresses of a name (nil: the system's).
	Resolver *net.Resolver
	// Control, when set, runs after the policy allowed an address, just
	// before connecting to it; an error stops the connection. Tests use it
	// to fail instead of letting a packet leave the machine.
	Control func(network, address string, c syscall.RawConn) error
}

// control is net.Dialer's hook: it sees every address after resolution,
// before the connection is made.
func (d Dialer) control(network, address string, c syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("unexpected address %q", address)
	}
	if err := d.Policy.Check(ap.Addr()); err != nil {
		return err
	}
	if d.Control != nil {
		return d.Control(network, address, c)
	}
	return nil
}

// DialContext connects like net.Dialer.DialContext, to allowed addresses only.
func (d Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	nd := net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second, Resolver: d.Resolver, Control: d.control}
	return nd.DialContext(ctx, network, address)
}

// Client returns an HTTP client that connects through d, sends one request
// per connection, never follows redirects and gives up after timeout.
func (d Dialer) Client(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		DialContext:         d.DialContext,
		TLSHandshakeTimeout: DialTimeout,
		// A connection of its own for every request: the transport only
		// ever resends a request that failed on a reused connection.
		DisableKeepAlives: true,
		// HTTP/1.1 only: HTTP/2 retries requests on a new connection by
		// itself (after GOAWAY or REFUSED_STREAM).
		ForceAttemptHTTP2: false,
		TLSNextProto:      map[string]func(string, *tls.Conn) http.RoundTripper{},
		// Proxy stays nil: a proxy would connect where the policy cannot see.
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// NewClient is the client every outbound caller uses unless a test injects
// its own: Dialer{Policy: p}.Client(timeout).
func NewClient(p Policy, timeout time.Duration) *http.Client {
	return Dialer{Policy: p}.Client(timeout)
}
