package provider_test

import (
	"context"
	"encoding/json"
	"net/netip"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
)

// target is one delivery as these tests write it.
type target struct {
	FQDN       string
	Family     int // 4 or 6
	Address    netip.Addr
	Other      netip.Addr
	Username   string
	Password   string
	Credential string
}

// send sends t with settings through p.
func send(ctx context.Context, p provider.Provider, settings json.RawMessage, t target) provider.Outcome {
	r := provider.Request[json.RawMessage]{FQDN: t.FQDN, Family: netcalc.Family(t.Family), Username: t.Username, Password: t.Password,
		Credential: t.Credential, Settings: settings}
	if t.Address.IsValid() {
		r.Addresses = []netip.Addr{t.Address}
	}
	if t.Other.IsValid() {
		r.Other = []netip.Addr{t.Other}
	}
	return p.Send(ctx, r)
}

// registry is the registry with default dependencies.
func registry() *provider.Registry {
	return provider.New(provider.Deps{UserAgent: provider.UserAgent("test")})
}
