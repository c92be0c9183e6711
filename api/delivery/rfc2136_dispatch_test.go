package delivery_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/delivery"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// runDispatcher runs a dispatcher with the protocol table serve uses.
func (f *fixture) runDispatcher(t *testing.T, cfg delivery.Config) {
	t.Helper()
	d := delivery.NewDispatcher(f.st, f.box, provider.New(providertest.Deps()), cfg, f.log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// TestRFC2136ThroughTheDispatcher follows a router update from the
// broker through the outbox to a real named: records of a service with
// the right key get their effective addresses, a service with a wrong key
// leaves its record failed with the server's reason, and while named is
// down the record retries until it is back.
func TestRFC2136ThroughTheDispatcher(t *testing.T) {
	n := providertest.StartNamed(t)
	f := newFixture(t)
	ctx := context.Background()
	newService := func(name, secret string) store.Service {
		sealed, keyID := f.box.Seal(secret)
		svc, err := f.st.CreateService(ctx, store.NewService{Name: name, Protocol: provider.ProtocolRFC2136,
			Settings: n.Settings(map[string]any{"key_name": providertest.KeySHA256}), Credentials: sealed, CredentialsKey: keyID})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	f.svc = newService("bind", n.Keys[providertest.KeySHA256])
	srv := f.record(t, "srv.example.test", 24, "0.0.0.42", 64, "::cafe")
	f.svc = newService("bind with a wrong key", providertest.RandomSecret(t))
	wrong := f.record(t, "wrong.example.test", 32, "0.0.0.0", -1, "::")

	f.runDispatcher(t, fastConfig())
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("203.0.113.77"), IPv6: netip.MustParseAddr("2001:db8:1:2::99")})
	waitFor(t, "srv delivered, wrong failed", 15*time.Second, func() bool {
		return f.state(t, srv.ID, 4).State == "delivered" && f.state(t, srv.ID, 6).State == "delivered" &&
			f.state(t, wrong.ID, 4).State == "failed"
	})
	if got, _ := n.Lookup(t, "srv.example.test", 4); len(got) != 1 || got[0] != "203.0.113.42" {
		t.Fatalf("A srv.example.test = %v, want the effective 203.0.113.42", got)
	}
	if got, _ := n.Lookup(t, "srv.example.test", 6); len(got) != 1 || got[0] != "2001:db8:1:2::cafe" {
		t.Fatalf("AAAA srv.example.test = %v, want the effective 2001:db8:1:2::cafe", got)
	}
	if msg := f.state(t, wrong.ID, 4).Message; !strings.Contains(msg, "BADSIG") || !strings.Contains(msg, "NOTAUTH") {
		t.Fatalf("wrong key message = %q, want NOTAUTH (BADSIG)", msg)
	}
	if got, _ := n.Lookup(t, "wrong.example.test", 4); len(got) != 0 {
		t.Fatalf("the wrong key updated named: %v", got)
	}

	// named goes away; the router's next address waits in retries…
	n.Stop()
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.77"), IPv6: netip.MustParseAddr("2001:db8:1:2::99")})
	waitFor(t, "retries while named is down", 10*time.Second, func() bool {
		st := f.state(t, srv.ID, 4)
		return st.State == "retrying" && st.Attempts >= 2
	})
	if msg := f.state(t, srv.ID, 4).Message; !strings.Contains(msg, "refused") {
		t.Errorf("retry message = %q, want the connection refusal", msg)
	}
	// …and is delivered once it is back.
	n.Start()
	waitFor(t, "delivered after the restart", 15*time.Second, func() bool {
		st := f.state(t, srv.ID, 4)
		return st.State == "delivered" && st.Delivered == netip.MustParseAddr("198.51.100.42")
	})
	if got, _ := n.Lookup(t, "srv.example.test", 4); len(got) != 1 || got[0] != "198.51.100.42" {
		t.Fatalf("A srv.example.test after the restart = %v, want 198.51.100.42", got)
	}
	if st := f.state(t, srv.ID, 6); st.State != "delivered" {
		t.Fatalf("unchanged AAAA state = %q", st.State)
	}
}
