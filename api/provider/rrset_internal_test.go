package provider

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

// TestRRsetAfter holds the one rule every RRset provider publishes by.
func TestRRsetAfter(t *testing.T) {
	for _, c := range []struct {
		name                  string
		have, want, delivered []netip.Addr
		keep                  bool
		after                 []netip.Addr
	}{
		{"exactly the addresses", addrs("192.0.2.9", "192.0.2.1"), addrs("192.0.2.1"), nil, false, addrs("192.0.2.1")},
		{"keep others: without the delivered, plus the wanted", addrs("192.0.2.9", "192.0.2.5", "192.0.2.1"), addrs("192.0.2.1", "192.0.2.2"),
			addrs("192.0.2.5"), true, addrs("192.0.2.9", "192.0.2.1", "192.0.2.2")},
		{"mapped, zoned and repeated addresses compare as one", addrs("::ffff:192.0.2.9", "192.0.2.9", "fe80::1%eth0"), addrs("192.0.2.1", "192.0.2.1"),
			addrs("::ffff:192.0.2.1"), true, addrs("192.0.2.9", "fe80::1", "192.0.2.1")},
		{"invalid data dropped", []netip.Addr{{}, netip.MustParseAddr("192.0.2.9")}, addrs("192.0.2.1"), nil, true, addrs("192.0.2.9", "192.0.2.1")},
	} {
		if got := rrsetAfter(c.have, c.want, c.delivered, c.keep); !slices.Equal(got, c.after) {
			t.Errorf("%s: rrsetAfter = %v, want %v", c.name, got, c.after)
		}
	}
}

func TestPublishable(t *testing.T) {
	if _, out := publishable(netcalc.V4, nil); out == nil || out.Message != "no IPv4 address to publish" {
		t.Errorf("no address: %+v", out)
	}
	if _, out := publishable(netcalc.V4, addrs("2001:db8::1")); out == nil || out.Message != "invalid IPv4 address 2001:db8::1" {
		t.Errorf("wrong family: %+v", out)
	}
	got, out := publishable(netcalc.V6, addrs("2001:db8::1%eth0", "2001:db8::1", "2001:db8::2"))
	if out != nil || !slices.Equal(got, addrs("2001:db8::1", "2001:db8::2")) {
		t.Errorf("publishable = %v, %+v", got, out)
	}
}

// TestPlanRRsetReusesOwnRecordFirst: with markers a changed address moves
// the broker's own record, whatever order the provider lists them in,
// and the unmarked one is left, not deleted.
func TestPlanRRsetReusesOwnRecordFirst(t *testing.T) {
	q := rrsetRequest{Name: "home.example.com", Type: "A", Want: addrs("192.0.2.2"), Markers: true}
	live := []liveRecord{{ID: "theirs", Addr: netip.MustParseAddr("192.0.2.8")}, {ID: "ours", Addr: netip.MustParseAddr("192.0.2.1"), Marked: true}}
	p := planRRset(q, live)
	if len(p.Update) != 1 || p.Update[0].Rec.ID != "ours" || p.Update[0].Addr != netip.MustParseAddr("192.0.2.2") {
		t.Errorf("update = %+v, want ours → 192.0.2.2", p.Update)
	}
	if len(p.Delete) != 0 || len(p.Left) != 1 || p.Left[0].ID != "theirs" {
		t.Errorf("delete %+v, left %+v: want theirs left", p.Delete, p.Left)
	}
	// A wanted address on an unmarked record stays, unless Adopt.
	live = []liveRecord{{ID: "theirs", Addr: netip.MustParseAddr("192.0.2.2")}}
	if p := planRRset(q, live); len(p.Keep) != 1 || p.Changes() {
		t.Errorf("without Adopt: %+v", p)
	}
	q.Adopt = true
	if p := planRRset(q, live); len(p.Update) != 1 || p.Update[0].Rec.ID != "theirs" {
		t.Errorf("with Adopt: %+v", p)
	}
}
