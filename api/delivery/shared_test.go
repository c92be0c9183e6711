package delivery_test

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// TestSharedNameOverRFC2136: two routers (two sites) feed one name through
// a real named. The name holds both hosts' addresses; when one host's
// address changes only that address changes in the RRset, and the other
// host's stays. Site 2's record with drop_when_stale leaves the name while
// its host is stale, and rejoins it when the host reports again.
func TestSharedNameOverRFC2136(t *testing.T) {
	n := providertest.StartNamed(t)
	f := newFixture(t)
	ctx := context.Background()
	sealed, keyID := f.box.Seal(n.Keys[providertest.KeySHA256])
	svc, err := f.st.CreateService(ctx, store.NewService{Name: "bind", Protocol: provider.ProtocolRFC2136,
		Settings: n.Settings(map[string]any{"key_name": providertest.KeySHA256}), Credentials: sealed, CredentialsKey: keyID})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	site1 := f.record(t, "www.example.test", 32, "0.0.0.0", 128, "::")
	hostA := f.host
	hostB, err := f.st.CreateHost(ctx, store.NewHost{FQDN: "site2.example.test", SecretHash: "x", Enabled: true, IPv4Enabled: true, IPv6Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	f.host = hostB
	site2 := f.record(t, "www.example.test", 32, "0.0.0.0", 128, "::")

	f.runDispatcher(t, fastConfig())
	update := func(h store.Host, v4, v6 string) {
		t.Helper()
		f.host = h
		f.update(t, broker.Addresses{IPv4: netip.MustParseAddr(v4), IPv6: netip.MustParseAddr(v6)})
	}
	delivered := func(id int64, v4, v6 string) bool {
		s4, s6 := f.state(t, id, 4), f.state(t, id, 6)
		return s4.State == "delivered" && s4.Delivered.String() == v4 && s6.State == "delivered" && s6.Delivered.String() == v6
	}
	lookup := func(family int, want ...string) {
		t.Helper()
		got, _ := n.Lookup(t, "www.example.test", netcalc.Family(family))
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("IPv%d of www.example.test = %v, want %v", family, got, want)
		}
	}

	update(hostA, "203.0.113.1", "2001:db8:a::1")
	update(hostB, "198.51.100.2", "2001:db8:b::2")
	waitFor(t, "both sites delivered", 15*time.Second, func() bool {
		return delivered(site1.ID, "203.0.113.1", "2001:db8:a::1") && delivered(site2.ID, "198.51.100.2", "2001:db8:b::2")
	})
	lookup(4, "203.0.113.1", "198.51.100.2")
	lookup(6, "2001:db8:a::1", "2001:db8:b::2")

	// Site 1 gets a new address: only its address changes.
	update(hostA, "203.0.113.11", "2001:db8:a::11")
	waitFor(t, "site 1's new address delivered", 15*time.Second, func() bool {
		return delivered(site1.ID, "203.0.113.11", "2001:db8:a::11")
	})
	lookup(4, "203.0.113.11", "198.51.100.2")
	lookup(6, "2001:db8:a::11", "2001:db8:b::2")
	if st := f.state(t, site2.ID, 4); st.Attempts > 1 || st.Delivered.String() != "198.51.100.2" {
		t.Errorf("site 2 was touched: %+v", st)
	}

	// Site 2 leaves the name while its router is silent: it goes stale (its
	// last update two hours ago, stale after one) and the stale check
	// re-sends the name without its address.
	drop := true
	if _, err := f.st.UpdateRecord(ctx, site2.ID, store.RecordPatch{DropWhenStale: &drop}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Pool.Exec(ctx, `UPDATE hosts SET last_seen_at = now() - interval '2 hours' WHERE id = $1`, hostB.ID); err != nil {
		t.Fatal(err)
	}
	nt := notify.New(f.st, f.box, nil, notify.Config{StaleAfter: time.Hour}, f.log).WithHostWatcher(f.brk)
	if n, err := nt.CheckStale(ctx, time.Now()); err != nil || n != 1 {
		t.Fatalf("stale check reported %d hosts, %v; want site 2", n, err)
	}
	waitFor(t, "the name without site 2", 15*time.Second, func() bool {
		v4, _ := n.Lookup(t, "www.example.test", 4)
		v6, _ := n.Lookup(t, "www.example.test", 6)
		return len(v4) == 1 && len(v6) == 1
	})
	lookup(4, "203.0.113.11")
	lookup(6, "2001:db8:a::11")

	// Site 2 reports again, its address unchanged: it rejoins the name.
	update(hostB, "198.51.100.2", "2001:db8:b::2")
	if err := f.brk.FlushSeen(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := nt.CheckStale(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the name with site 2 again", 15*time.Second, func() bool {
		v4, _ := n.Lookup(t, "www.example.test", 4)
		v6, _ := n.Lookup(t, "www.example.test", 6)
		return len(v4) == 2 && len(v6) == 2
	})
	lookup(4, "203.0.113.11", "198.51.100.2")
	lookup(6, "2001:db8:a::11", "2001:db8:b::2")
}

// TestSharedNameAtCloudflare: two routers feed one name at Cloudflare
// (whose API keeps one record per address) beside an address someone else
// published there, with keep_other_addresses. The name holds both routers'
// addresses and the other one; when site 2 goes silent (drop_when_stale)
// its record goes, and only its record: what site 2 delivered is the
// broker's, though the delivery that removes it is site 1's.
func TestSharedNameAtCloudflare(t *testing.T) {
	cf := providertest.NewCloudflare(t)
	f := newFixture(t)
	f.cloudflareService(t, cf, providertest.CloudflareToken)
	ctx := context.Background()
	cf.Add(providertest.CloudflareRecord{Type: "A", Name: "vpn.example.com", Content: "203.0.113.50", TTL: 1, Comment: "the office"})
	record := func(h store.Host) store.Record {
		t.Helper()
		r, err := f.st.CreateRecord(ctx, store.NewRecord{HostID: h.ID, ServiceID: f.svc.ID, FQDN: "vpn.example.com",
			IPv4Enabled: true, IPv4Netmask: 32, IPv4HostIdentifier: netip.MustParseAddr("0.0.0.0"), IPv6HostIdentifier: netip.IPv6Unspecified(),
			KeepOtherAddresses: true, DropWhenStale: true})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	hostA := f.host
	site1 := record(hostA)
	hostB, err := f.st.CreateHost(ctx, store.NewHost{FQDN: "site2.example.com", SecretHash: "x", Enabled: true, IPv4Enabled: true, IPv6Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	site2 := record(hostB)
	holds := func(step string, want ...string) func() bool {
		return func() bool {
			var got []string
			for _, rec := range cf.Find("A", "vpn.example.com") {
				got = append(got, rec.Content)
			}
			slices.Sort(got)
			want = append(want, "203.0.113.50")
			slices.Sort(want)
			want = slices.Compact(want)
			return slices.Equal(got, want)
		}
	}
	update := func(h store.Host, v4 string) {
		t.Helper()
		f.host = h
		f.update(t, broker.Addresses{IPv4: netip.MustParseAddr(v4)})
	}
	f.runDispatcher(t, fastConfig())

	update(hostA, "192.0.2.1")
	update(hostB, "198.51.100.2")
	waitFor(t, "both sites and the office", 15*time.Second, holds("both", "192.0.2.1", "198.51.100.2"))
	update(hostA, "192.0.2.9")
	waitFor(t, "site 1 moved, site 2 and the office stay", 15*time.Second, holds("moved", "192.0.2.9", "198.51.100.2"))
	waitFor(t, "site 1 delivered", 15*time.Second, func() bool {
		st := f.state(t, site1.ID, 4)
		return st.State == "delivered" && st.Delivered == netip.MustParseAddr("192.0.2.9")
	})

	if _, err := f.st.Pool.Exec(ctx, `UPDATE hosts SET last_seen_at = now() - interval '2 hours' WHERE id = $1`, hostB.ID); err != nil {
		t.Fatal(err)
	}
	nt := notify.New(f.st, f.box, nil, notify.Config{StaleAfter: time.Hour}, f.log).WithHostWatcher(f.brk)
	if n, err := nt.CheckStale(ctx, time.Now()); err != nil || n != 1 {
		t.Fatalf("stale check reported %d hosts, %v; want site 2", n, err)
	}
	waitFor(t, "the name without site 2, the office kept", 15*time.Second, holds("left", "192.0.2.9"))
	if st := f.state(t, site2.ID, 4); st.Delivered != netip.MustParseAddr("198.51.100.2") {
		t.Errorf("site 2's record state: %+v", st)
	}
}
