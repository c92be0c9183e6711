package httpserver

import (
	"context"
	"errors"
	"net/netip"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/dyndns2"
	"github.com/ddnsbroker/ddnsbroker/api/ratelimit"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// DynDNSBackend connects the dyndns2 endpoint to host authentication and
// the broker.
type DynDNSBackend struct {
	Hosts  *auth.Hosts
	Broker *broker.Broker
	// AuthFailed, when set, is told why an authentication failed
	// ("bad_credentials" or "rate_limited"), for metrics.
	AuthFailed func(reason string)
}

// Authenticate implements dyndns2.Backend.
func (b DynDNSBackend) Authenticate(ctx context.Context, username, secret string, source netip.Addr) (dyndns2.Host, error) {
	h, err := b.Hosts.Authenticate(ctx, username, secret, source)
	var rl *ratelimit.Error
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		b.failed("bad_credentials")
		return dyndns2.Host{}, dyndns2.ErrBadAuth
	case errors.As(err, &rl):
		b.failed("rate_limited")
		return dyndns2.Host{}, rl
	case err != nil:
		return dyndns2.Host{}, err
	}
	return dyndns2.Host{ID: h.ID, FQDN: h.FQDN, Enabled: h.Enabled, IPv4Enabled: h.IPv4Enabled, IPv6Enabled: h.IPv6Enabled,
		Names: h.Names, Current: dyndns2.Update{IPv4: h.IPv4, IPv6: h.IPv6, Prefix: h.Prefix}}, nil
}

func (b DynDNSBackend) failed(reason string) {
	if b.AuthFailed != nil {
		b.AuthFailed(reason)
	}
}

// Apply implements dyndns2.Backend.
func (b DynDNSBackend) Apply(ctx context.Context, h dyndns2.Host, u dyndns2.Update) (dyndns2.Result, error) {
	host := store.Host{ID: h.ID, FQDN: h.FQDN, IPv4: h.Current.IPv4, IPv6: h.Current.IPv6, Prefix: h.Current.Prefix,
		RecordCount: len(h.Names)}
	res, err := b.Broker.Update(ctx, host, broker.Addresses{IPv4: u.IPv4, IPv6: u.IPv6, Prefix: u.Prefix,
		Source: store.AddressSources(u.Source)}, "router "+h.FQDN)
	if err != nil {
		return dyndns2.Result{}, err
	}
	return dyndns2.Result{Changed: res.Changed, IPv4: res.IPv4, IPv6: res.IPv6, Prefix: res.Prefix}, nil
}
