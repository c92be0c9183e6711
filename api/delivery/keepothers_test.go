package delivery_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// cloudflareService makes f's service a Cloudflare one at the fake, with
// token as its credential.
func (f *fixture) cloudflareService(t *testing.T, cf *providertest.Cloudflare, token string) {
	t.Helper()
	sealed, key := f.box.Seal(token)
	svc, err := f.st.CreateService(context.Background(), store.NewService{Name: "cloudflare " + token[:12], Protocol: provider.ProtocolCloudflare,
		Settings: providertest.Settings(t, map[string]any{"api_url": cf.API(), "zone": "example.com"}), Credentials: sealed, CredentialsKey: key})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
}

// TestKeepOtherAddressesThroughTheDispatcher: a name holds two A records,
// the broker's and a second line's. With keep_other_addresses a router
// change replaces only the broker's; without it the broker's other records
// would go, but one without the marker never does.
func TestKeepOtherAddressesThroughTheDispatcher(t *testing.T) {
	cf := providertest.NewCloudflare(t)
	f := newFixture(t)
	f.cloudflareService(t, cf, providertest.CloudflareToken)
	ctx := context.Background()
	r, err := f.st.CreateRecord(ctx, store.NewRecord{HostID: f.host.ID, ServiceID: f.svc.ID, FQDN: "multi.example.com",
		IPv4Enabled: true, IPv4Netmask: 32, IPv4HostIdentifier: netip.MustParseAddr("0.0.0.0"), IPv6HostIdentifier: netip.IPv6Unspecified(),
		KeepOtherAddresses: true})
	if err != nil || !r.KeepOtherAddresses {
		t.Fatalf("record: %+v %v", r, err)
	}
	// The second line's address, made by another broker (it carries the
	// marker too: only what this record delivered is this record's).
	cf.Add(providertest.CloudflareRecord{Type: "A", Name: "multi.example.com", Content: "198.51.100.20", TTL: 1, Comment: provider.ManagedMarker})
	contents := func() []string {
		var out []string
		for _, rec := range cf.Find("A", "multi.example.com") {
			out = append(out, rec.Content)
		}
		slices.Sort(out)
		return out
	}
	f.runDispatcher(t, fastConfig())
	for _, addr := range []string{"192.0.2.10", "192.0.2.11", "192.0.2.12"} {
		f.update(t, broker.Addresses{IPv4: netip.MustParseAddr(addr)})
		waitFor(t, addr+" delivered", 10*time.Second, func() bool {
			st := f.state(t, r.ID, 4)
			return st.State == "delivered" && st.Delivered == netip.MustParseAddr(addr)
		})
		if got, want := contents(), []string{addr, "198.51.100.20"}; !slices.Equal(got, want) {
			t.Fatalf("after the router sent %s: A records %v, want %v (%s)", addr, got, want, f.state(t, r.ID, 4).Message)
		}
	}
	for _, rec := range cf.Find("A", "multi.example.com") {
		if rec.Content == "192.0.2.12" && rec.Comment != provider.ManagedMarker {
			t.Errorf("the broker's record has comment %q, want the marker", rec.Comment)
		}
	}
}

// TestFailedDeliveryKeepsTheAdvice: what to do about a failure is stored
// with the record's state and the delivery, next to the provider's words.
func TestFailedDeliveryKeepsTheAdvice(t *testing.T) {
	cf := providertest.NewCloudflare(t)
	f := newFixture(t)
	f.cloudflareService(t, cf, providertest.CloudflareReadToken) // may read, not edit
	r := f.record(t, "ro.example.com", 32, "0.0.0.0", -1, "::")
	f.runDispatcher(t, fastConfig())
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("192.0.2.1")})
	waitFor(t, "failed", 10*time.Second, func() bool { return f.state(t, r.ID, 4).State == "failed" })
	st := f.state(t, r.ID, 4)
	if st.Advice == "" || st.Message == "" {
		t.Fatalf("state: message %q, advice %q", st.Message, st.Advice)
	}
	ds, err := f.st.DeliveriesPage(context.Background(), r.ID, 0, 10)
	if err != nil || len(ds) == 0 || ds[0].Advice != st.Advice {
		t.Fatalf("deliveries %+v %v, want the advice %q", ds, err, st.Advice)
	}
}
