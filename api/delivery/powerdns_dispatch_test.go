package delivery_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// TestPowerDNSThroughTheDispatcher follows a router update from the
// broker through the outbox to a real PowerDNS Authoritative server over
// its HTTP API: the record's derived addresses are what DNS answers, a
// service with a wrong API key leaves its record failed with the server's
// words, and while the server is down the record retries until it is back.
func TestPowerDNSThroughTheDispatcher(t *testing.T) {
	pdns := providertest.StartPowerDNS(t)
	pdns.CreateZone("example.test")
	f := newFixture(t)
	ctx := context.Background()
	newService := func(name, key string) store.Service {
		settings, err := json.Marshal(map[string]any{"api_url": pdns.APIURL})
		if err != nil {
			t.Fatal(err)
		}
		sealed, keyID := f.box.Seal(key)
		svc, err := f.st.CreateService(ctx, store.NewService{Name: name, Protocol: provider.ProtocolPowerDNS,
			Settings: settings, Credentials: sealed, CredentialsKey: keyID})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	f.svc = newService("powerdns", pdns.APIKey)
	srv := f.record(t, "srv.example.test", 24, "0.0.0.42", 64, "::cafe")
	f.svc = newService("powerdns with a wrong key", providertest.RandomSecret(t))
	wrong := f.record(t, "wrong.example.test", 32, "0.0.0.0", -1, "::")

	f.runDispatcher(t, fastConfig())
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("203.0.113.77"), IPv6: netip.MustParseAddr("2001:db8:1:2::99")})
	waitFor(t, "srv delivered, wrong failed", 20*time.Second, func() bool {
		return f.state(t, srv.ID, 4).State == "delivered" && f.state(t, srv.ID, 6).State == "delivered" &&
			f.state(t, wrong.ID, 4).State == "failed"
	})
	expect := func(name string, family netcalc.Family, want ...string) {
		t.Helper()
		got, _ := pdns.Lookup(t, name, family)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("%s %s answers %v, want %v\n%s", family.RecordType(), name, got, want, pdns.Log())
		}
	}
	expect("srv.example.test", netcalc.V4, "203.0.113.42")
	expect("srv.example.test", netcalc.V6, "2001:db8:1:2::cafe")
	if msg := f.state(t, wrong.ID, 4).Message; !strings.Contains(msg, "401") {
		t.Fatalf("wrong key message = %q, want the server's 401", msg)
	}
	expect("wrong.example.test", netcalc.V4)

	// PowerDNS goes away; the router's next address waits in retries…
	pdns.Stop()
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.77"), IPv6: netip.MustParseAddr("2001:db8:1:2::99")})
	waitFor(t, "retries while PowerDNS is down", 15*time.Second, func() bool {
		st := f.state(t, srv.ID, 4)
		return st.State == "retrying" && st.Attempts >= 2
	})
	// …and is delivered once it is back.
	pdns.Start()
	waitFor(t, "delivered after the restart", 20*time.Second, func() bool {
		st := f.state(t, srv.ID, 4)
		return st.State == "delivered" && st.Delivered == netip.MustParseAddr("198.51.100.42")
	})
	expect("srv.example.test", netcalc.V4, "198.51.100.42")
	expect("srv.example.test", netcalc.V6, "2001:db8:1:2::cafe")
}
