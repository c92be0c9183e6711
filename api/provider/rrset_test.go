package provider_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

// What the tests of the record APIs (digitalocean, linode, vultr,
// dnsimple, scaleway) share: the records a fake provider keeps, and the
// deliveries every one of them must get right (create, update,
// unchanged, other records left alone, keep_other_addresses), checked
// against the fake's records afterwards.

// fakeRecord is a record as a fake provider keeps it; Name is in the
// provider's own form (relative to the zone).
type fakeRecord struct {
	ID      string
	Name    string
	Type    string
	Data    string
	TTL     int
	Comment string
}

// fakeZones are a fake provider's zones and their records.
type fakeZones struct {
	mu    sync.Mutex
	zones map[string][]fakeRecord
	next  int
}

// newFakeZones holds zone with recs (ids given when empty).
func newFakeZones(zone string, recs ...fakeRecord) *fakeZones {
	f := &fakeZones{zones: map[string][]fakeRecord{zone: nil}, next: 100}
	for _, r := range recs {
		f.add(zone, r)
	}
	return f
}

func (f *fakeZones) has(zone string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.zones[zone]
	return ok
}

// list is zone's records, or false when there is no such zone.
func (f *fakeZones) list(zone string) ([]fakeRecord, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	recs, ok := f.zones[zone]
	return slices.Clone(recs), ok
}

func (f *fakeZones) add(zone string, r fakeRecord) fakeRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.ID == "" {
		f.next++
		r.ID = strconv.Itoa(f.next)
	}
	f.zones[zone] = append(f.zones[zone], r)
	return r
}

// change applies fn to the record id of zone; false when there is none.
func (f *fakeZones) change(zone, id string, fn func(*fakeRecord)) (fakeRecord, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.zones[zone] {
		if f.zones[zone][i].ID == id {
			fn(&f.zones[zone][i])
			return f.zones[zone][i], true
		}
	}
	return fakeRecord{}, false
}

func (f *fakeZones) remove(zone, id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.zones[zone])
	f.zones[zone] = slices.DeleteFunc(f.zones[zone], func(r fakeRecord) bool { return r.ID == id })
	return len(f.zones[zone]) < n
}

// data is the sorted data of zone's records of name and type.
func (f *fakeZones) data(zone, name, typ string) []string {
	recs, _ := f.list(zone)
	var out []string
	for _, r := range recs {
		if r.Name == name && r.Type == typ {
			out = append(out, r.Data)
		}
	}
	slices.Sort(out)
	return out
}

// fakeBearer checks the Authorization header as bearer-token APIs do.
func fakeBearer(r *http.Request, token string) bool {
	return r.Header.Get("Authorization") == "Bearer "+token
}

// rrsetCase is one delivery every record API's table holds.
type rrsetCase struct {
	name   string
	before []fakeRecord // names relative, "" for the apex
	fqdn   string
	addr   string
	// delivered and keep set Request.Delivered and KeepOthers.
	delivered []string
	keep      bool
	// wantData is the name's data of addr's type afterwards; kept are
	// records of before that must come out unchanged (same id).
	wantData    []string
	kept        []int
	wantMessage string
	// others are records of before the broker did not create (no marker
	// where the provider keeps one).
	others []int
}

// rrsetCases are the deliveries in the zone example.com every record API
// passes. The apex is "" here; a provider's test renames it.
func rrsetCases() []rrsetCase {
	www := fakeRecord{ID: "7", Name: "www", Type: "A", Data: "192.0.2.80", TTL: 300}
	txt := fakeRecord{ID: "8", Name: "home", Type: "TXT", Data: "hello", TTL: 300}
	return []rrsetCase{
		{name: "created", before: []fakeRecord{www, txt}, fqdn: "home.example.com", addr: "198.51.100.7",
			wantData: []string{"198.51.100.7"}, kept: []int{0, 1}, wantMessage: "A home.example.com → 198.51.100.7 created"},
		{name: "updated", before: []fakeRecord{{ID: "1", Name: "home", Type: "A", Data: "192.0.2.1", TTL: 300}, www},
			fqdn: "home.example.com", addr: "198.51.100.7", wantData: []string{"198.51.100.7"}, kept: []int{1}, wantMessage: "updated"},
		{name: "unchanged", before: []fakeRecord{{ID: "1", Name: "home", Type: "A", Data: "198.51.100.7", TTL: 300}},
			fqdn: "home.example.com", addr: "198.51.100.7", wantData: []string{"198.51.100.7"}, kept: []int{0}, wantMessage: "unchanged"},
		{name: "other addresses replaced", before: []fakeRecord{{ID: "1", Name: "home", Type: "A", Data: "192.0.2.1", TTL: 300},
			{ID: "2", Name: "home", Type: "A", Data: "192.0.2.2", TTL: 300}},
			fqdn: "home.example.com", addr: "198.51.100.7", wantData: []string{"198.51.100.7"}, wantMessage: "removed 1 other A record"},
		{name: "keep other addresses", before: []fakeRecord{{ID: "1", Name: "home", Type: "A", Data: "192.0.2.1", TTL: 300},
			{ID: "2", Name: "home", Type: "A", Data: "203.0.113.9", TTL: 300}},
			fqdn: "home.example.com", addr: "198.51.100.7", delivered: []string{"192.0.2.1"}, keep: true,
			wantData: []string{"198.51.100.7", "203.0.113.9"}, kept: []int{1}, others: []int{1}, wantMessage: "kept 1 other A record"},
		{name: "keep other addresses, first delivery", before: []fakeRecord{{ID: "2", Name: "home", Type: "A", Data: "203.0.113.9", TTL: 300}},
			fqdn: "home.example.com", addr: "198.51.100.7", keep: true,
			wantData: []string{"198.51.100.7", "203.0.113.9"}, kept: []int{0}, others: []int{0}, wantMessage: "created"},
		{name: "AAAA beside an A", before: []fakeRecord{{ID: "1", Name: "home", Type: "A", Data: "192.0.2.1", TTL: 300}},
			fqdn: "home.example.com", addr: "2001:db8::7", wantData: []string{"2001:db8::7"}, kept: []int{0}, wantMessage: "AAAA home.example.com → 2001:db8::7 created"},
		{name: "apex", before: []fakeRecord{{ID: "1", Name: "", Type: "A", Data: "192.0.2.1", TTL: 300}, www},
			fqdn: "example.com", addr: "198.51.100.7", wantData: []string{"198.51.100.7"}, kept: []int{1}, wantMessage: "A example.com → 198.51.100.7 updated"},
	}
}

// rrsetFake is how a provider's test plays the provider for rrsetCases:
// a handler over the zones, the apex's name in the provider's records,
// the settings and the number of requests each case makes.
type rrsetFake struct {
	serve    func(z *fakeZones) http.HandlerFunc
	apex     string
	settings map[string]any
	// requests counts the requests of a case by its name.
	requests map[string]int
	// path is appended to the fake's URL for api_url.
	path string
	// marker, when the provider keeps one, is the comment of the
	// records of the name that the broker created.
	marker string
}

// runRRsetCases runs rrsetCases against p and the fake, one attempt each,
// and compares the fake's records afterwards.
func runRRsetCases(t *testing.T, p provider.Provider, credential string, fk rrsetFake) {
	t.Helper()
	for _, rc := range rrsetCases() {
		rename := func(n string) string {
			if n == "" {
				return fk.apex
			}
			return n
		}
		name := rename(strings.TrimSuffix(strings.TrimSuffix(rc.fqdn, "example.com"), "."))
		var before []fakeRecord
		for i, r := range rc.before {
			r.Name = rename(r.Name)
			if r.Name == name && !slices.Contains(rc.others, i) {
				r.Comment = fk.marker
			}
			before = append(before, r)
		}
		zones := newFakeZones("example.com", before...)
		req := providertest.Request(rc.fqdn, rc.addr, "", "", credential)
		req.KeepOthers = rc.keep
		for _, d := range rc.delivered {
			req.Delivered = append(req.Delivered, netip.MustParseAddr(d))
		}
		typ := req.Family.RecordType()
		want := fk.requests[rc.name]
		if want == 0 {
			t.Fatalf("no request count for case %q", rc.name)
		}
		providertest.Run(t, p, "api_url", []providertest.Case{{Name: rc.name, Settings: fk.settings, Path: fk.path, Request: req,
			Serve: fk.serve(zones), Want: provider.Delivered, WantMessage: rc.wantMessage, Requests: want,
			Check: func(t *testing.T, _ []providertest.Seen) {
				if got := zones.data("example.com", name, typ); !slices.Equal(got, rc.wantData) {
					t.Errorf("%s %s holds %v, want %v", typ, rc.fqdn, got, rc.wantData)
				}
				after, _ := zones.list("example.com")
				for _, i := range rc.kept {
					if !slices.Contains(after, before[i]) {
						t.Errorf("record %+v was changed or removed: %+v", before[i], after)
					}
				}
			}}})
	}
}

// jsonBody decodes a request body the fake received.
func jsonBody(r *http.Request, v any) bool {
	return json.NewDecoder(r.Body).Decode(v) == nil
}
