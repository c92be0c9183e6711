package provider_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const pdnsKey = "pdns-api-key-0123456789"

// fakePowerDNS plays a PowerDNS Authoritative server's API as its
// documentation (doc.powerdns.com/authoritative/http-api) describes it:
// X-API-Key on every request (401 {"error": "Unauthorized"} otherwise),
// zones found with ?zone=<name>. (an empty array when absent), a zone's
// RRsets filtered by rrset_name and rrset_type, PATCH with changetype
// REPLACE answered 204, names absolute with a trailing dot (422
// otherwise), unknown zones 404 {"error": "Not Found"}.
type fakePowerDNS struct {
	mu    sync.Mutex
	zones map[string]*fakePDNSZone // by id
}

type fakePDNSZone struct {
	name, kind string
	rrsets     map[string]*pdnsSet // name|type
}

type pdnsSet struct {
	TTL      int
	Records  []string
	Comments []string
}

func newFakePowerDNS(zones ...string) *fakePowerDNS {
	f := &fakePowerDNS{zones: map[string]*fakePDNSZone{}}
	for _, z := range zones {
		f.zones[z+"."] = &fakePDNSZone{name: z + ".", kind: "Native", rrsets: map[string]*pdnsSet{}}
	}
	return f
}

func (f *fakePowerDNS) set(zone, name, rtype string, ttl int, records ...string) *fakePowerDNS {
	f.zones[zone+"."].rrsets[name+".|"+rtype] = &pdnsSet{TTL: ttl, Records: records}
	return f
}

func (f *fakePowerDNS) get(zone, name, rtype string) *pdnsSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.zones[zone+"."].rrsets[name+".|"+rtype]
}

func pdnsError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (f *fakePowerDNS) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-API-Key") != pdnsKey {
		w.Header().Set("WWW-Authenticate", `X-API-Key realm="PowerDNS"`)
		pdnsError(w, 401, "Unauthorized")
		return
	}
	if r.Header.Get("Accept") != "application/json" {
		pdnsError(w, 400, "Accept must be application/json")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/api/v1")
	switch {
	case path == "/servers/localhost" && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "localhost", "type": "Server", "daemon_type": "authoritative", "version": "4.9.0"})
	case path == "/servers/localhost/zones" && r.Method == http.MethodGet:
		zone := r.URL.Query().Get("zone")
		if zone != "" && !strings.HasSuffix(zone, ".") {
			pdnsError(w, 422, "DNS Name '"+zone+"' is not canonical")
			return
		}
		out := []map[string]any{}
		if z, ok := f.zones[zone]; ok {
			out = append(out, map[string]any{"id": zone, "name": z.name, "kind": z.kind, "url": "/api/v1/servers/localhost/zones/" + zone})
		}
		_ = json.NewEncoder(w).Encode(out)
	case strings.HasPrefix(path, "/servers/localhost/zones/"):
		z, ok := f.zones[strings.TrimPrefix(path, "/servers/localhost/zones/")]
		if !ok {
			pdnsError(w, 404, "Not Found")
			return
		}
		switch r.Method {
		case http.MethodGet:
			f.zoneGET(w, r, z)
		case http.MethodPatch:
			f.zonePATCH(w, r, z)
		default:
			pdnsError(w, 405, "Method Not Allowed")
		}
	default:
		pdnsError(w, 404, "Not Found")
	}
}

func (f *fakePowerDNS) zoneGET(w http.ResponseWriter, r *http.Request, z *fakePDNSZone) {
	name, rtype := r.URL.Query().Get("rrset_name"), r.URL.Query().Get("rrset_type")
	rrsets := []map[string]any{}
	for key, set := range z.rrsets {
		n, t, _ := strings.Cut(key, "|")
		if name != "" && n != name || rtype != "" && t != rtype {
			continue
		}
		records, comments := []map[string]any{}, []map[string]any{}
		for _, c := range set.Records {
			records = append(records, map[string]any{"content": c, "disabled": false})
		}
		for _, c := range set.Comments {
			comments = append(comments, map[string]any{"content": c, "account": "", "modified_at": 1})
		}
		rrsets = append(rrsets, map[string]any{"name": n, "type": t, "ttl": set.TTL, "records": records, "comments": comments})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"id": z.name, "name": z.name, "kind": z.kind, "serial": 1, "rrsets": rrsets})
}

func (f *fakePowerDNS) zonePATCH(w http.ResponseWriter, r *http.Request, z *fakePDNSZone) {
	if r.Header.Get("Content-Type") != "application/json" {
		pdnsError(w, 400, "Content-Type must be application/json")
		return
	}
	var body struct {
		RRsets []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			TTL        *int   `json:"ttl"`
			ChangeType string `json:"changetype"`
			Records    []struct {
				Content  string `json:"content"`
				Disabled bool   `json:"disabled"`
			} `json:"records"`
			Comments *[]struct {
				Content string `json:"content"`
			} `json:"comments"`
		} `json:"rrsets"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		pdnsError(w, 400, "Unable to parse JSON")
		return
	}
	for _, rr := range body.RRsets {
		switch {
		case !strings.HasSuffix(rr.Name, "."):
			pdnsError(w, 422, "DNS Name '"+rr.Name+"' is not canonical")
			return
		case rr.Name != z.name && !strings.HasSuffix(rr.Name, "."+z.name):
			pdnsError(w, 422, "RRset "+rr.Name+" IN "+rr.Type+": Name is out of zone")
			return
		case !strings.EqualFold(rr.ChangeType, "REPLACE"):
			pdnsError(w, 422, "Changetype not understood")
			return
		case rr.TTL == nil:
			pdnsError(w, 422, "Key 'ttl' not present or not an Integer")
			return
		}
		if _, cname := z.rrsets[rr.Name+"|CNAME"]; cname {
			pdnsError(w, 422, "RRset "+rr.Name+" IN "+rr.Type+": Conflicts with pre-existing RRset")
			return
		}
		set := &pdnsSet{TTL: *rr.TTL}
		for _, rec := range rr.Records {
			a, err := netip.ParseAddr(rec.Content)
			if err != nil || rr.Type == "A" && (!a.Is4() || a.String() != rec.Content) || rr.Type == "AAAA" && !a.Is6() {
				pdnsError(w, 422, "Record "+rr.Name+"/"+rr.Type+" '"+rec.Content+"': Parsing record content: Not in expected format")
				return
			}
			set.Records = append(set.Records, rec.Content)
		}
		if old, ok := z.rrsets[rr.Name+"|"+rr.Type]; ok {
			set.Comments = old.Comments // kept unless the change names comments
		}
		if rr.Comments != nil {
			set.Comments = nil
			for _, c := range *rr.Comments {
				set.Comments = append(set.Comments, c.Content)
			}
		}
		z.rrsets[rr.Name+"|"+rr.Type] = set
	}
	w.WriteHeader(http.StatusNoContent)
}

func testPowerDNS() provider.Provider { return provider.NewPowerDNS(providertest.Deps()) }

// pdnsRequest is a request for name to hold addr, with delivered the
// address the broker delivered last, if any.
func pdnsRequest(name, addr, delivered string, keep bool) provider.Request[json.RawMessage] {
	r := providertest.Request(name, addr, "", "", pdnsKey)
	if delivered != "" {
		r.Delivered = []netip.Addr{netip.MustParseAddr(delivered)}
	}
	r.KeepOthers = keep
	return r
}

func TestPowerDNSAnswerTable(t *testing.T) {
	withZone := map[string]any{"zone": "example.com", "ttl": 120}
	req := pdnsRequest("home.example.com", "198.51.100.7", "", false)
	// patched is the RRset the fake holds after the case's PATCH.
	patched := func(want ...string) func(t *testing.T, seen []providertest.Seen) {
		return func(t *testing.T, seen []providertest.Seen) {
			t.Helper()
			last := seen[len(seen)-1]
			if last.Method != http.MethodPatch || last.Path != "/api/v1/servers/localhost/zones/example.com." {
				t.Fatalf("last request %s %s, want the zone's PATCH", last.Method, last.Path)
			}
			var body struct {
				RRsets []struct {
					Records []struct{ Content string } `json:"records"`
				} `json:"rrsets"`
			}
			_ = json.Unmarshal([]byte(last.Body), &body)
			var got []string
			for _, r := range body.RRsets[0].Records {
				got = append(got, r.Content)
			}
			if !slices.Equal(got, want) {
				t.Errorf("PATCH records %v, want %v (body %s)", got, want, last.Body)
			}
		}
	}
	cases := []providertest.Case{
		{Name: "created with the marker comment", Settings: withZone, Request: req, Path: "/api/v1", Requests: 3,
			Serve: newFakePowerDNS("example.com").serve, Want: provider.Delivered,
			WantMessage: "A home.example.com → 198.51.100.7 created in zone example.com (ttl 120)",
			Check: func(t *testing.T, seen []providertest.Seen) {
				patched("198.51.100.7")(t, seen)
				want := `{"rrsets":[{"name":"home.example.com.","type":"A","ttl":120,"changetype":"REPLACE",` +
					`"records":[{"content":"198.51.100.7","disabled":false}],"comments":[{"content":"managed by ddnsbroker","account":"ddnsbroker"}]}]}`
				if got := seen[2].Body; got != want {
					t.Errorf("PATCH body\n%s\nwant\n%s", got, want)
				}
				if seen[0].Query.Get("zone") != "example.com." || seen[1].Query.Get("rrset_name") != "home.example.com." ||
					seen[1].Query.Get("rrset_type") != "A" || seen[2].Header.Get("X-API-Key") != pdnsKey {
					t.Errorf("requests %+v", seen)
				}
			}},
		{Name: "zone found from the name", Settings: map[string]any{}, Request: req, Path: "/api/v1", Requests: 4,
			Serve: newFakePowerDNS("example.com").serve, Want: provider.Delivered, WantMessage: "created in zone example.com (ttl 60)",
			Check: func(t *testing.T, seen []providertest.Seen) {
				if seen[0].Query.Get("zone") != "home.example.com." || seen[1].Query.Get("zone") != "example.com." {
					t.Errorf("zone lookups %v, %v", seen[0].Query, seen[1].Query)
				}
			}},
		{Name: "updated, comments untouched", Settings: withZone, Request: req, Path: "/api/v1", Requests: 3,
			Serve: newFakePowerDNS("example.com").set("example.com", "home.example.com", "A", 120, "192.0.2.1").serve,
			Want:  provider.Delivered, WantMessage: "198.51.100.7 updated",
			Check: func(t *testing.T, seen []providertest.Seen) {
				patched("198.51.100.7")(t, seen)
				if strings.Contains(seen[2].Body, "comments") {
					t.Errorf("an update rewrote the comments: %s", seen[2].Body)
				}
			}},
		{Name: "unchanged: no write", Settings: withZone, Request: req, Path: "/api/v1", Requests: 2,
			Serve: newFakePowerDNS("example.com").set("example.com", "home.example.com", "A", 120, "198.51.100.7").serve,
			Want:  provider.Delivered, WantMessage: "unchanged"},
		{Name: "another TTL is an update", Settings: withZone, Request: req, Path: "/api/v1", Requests: 3,
			Serve: newFakePowerDNS("example.com").set("example.com", "home.example.com", "A", 3600, "198.51.100.7").serve,
			Want:  provider.Delivered, WantMessage: "updated", Check: patched("198.51.100.7")},
		{Name: "without keep_other_addresses the RRset becomes ours", Settings: withZone, Path: "/api/v1", Requests: 3,
			Request: pdnsRequest("home.example.com", "198.51.100.7", "192.0.2.1", false),
			Serve:   newFakePowerDNS("example.com").set("example.com", "home.example.com", "A", 120, "192.0.2.1", "203.0.113.9").serve,
			Want:    provider.Delivered, WantMessage: "updated", Check: patched("198.51.100.7")},
		{Name: "keep_other_addresses replaces only ours", Settings: withZone, Path: "/api/v1", Requests: 3,
			Request: pdnsRequest("home.example.com", "198.51.100.7", "192.0.2.1", true),
			Serve:   newFakePowerDNS("example.com").set("example.com", "home.example.com", "A", 120, "192.0.2.1", "203.0.113.9").serve,
			Want:    provider.Delivered, WantMessage: "kept 1 other address", Check: patched("203.0.113.9", "198.51.100.7")},
		{Name: "keep_other_addresses with ours in place: unchanged", Settings: withZone, Path: "/api/v1", Requests: 2,
			Request: pdnsRequest("home.example.com", "198.51.100.7", "198.51.100.7", true),
			Serve:   newFakePowerDNS("example.com").set("example.com", "home.example.com", "A", 120, "203.0.113.9", "198.51.100.7").serve,
			Want:    provider.Delivered, WantMessage: "unchanged"},
		{Name: "AAAA", Settings: withZone, Path: "/api/v1", Requests: 3,
			Request: pdnsRequest("home.example.com", "2001:db8::7", "", false),
			Serve:   newFakePowerDNS("example.com").serve, Want: provider.Delivered, WantMessage: "AAAA home.example.com → 2001:db8::7 created"},
		{Name: "wrong API key", Settings: withZone, Path: "/api/v1",
			Request: providertest.Request("home.example.com", "198.51.100.7", "", "", "wrong-key-123456"),
			Serve:   newFakePowerDNS("example.com").serve, Want: provider.Failed,
			WantMessage: "finding zone example.com: HTTP 401: Unauthorized", WantAdvice: "api-key of pdns.conf"},
		{Name: "no zone holds the name", Settings: map[string]any{}, Request: req, Path: "/api/v1", Requests: 3,
			Serve: newFakePowerDNS("example.org").serve, Want: provider.Failed,
			WantMessage: "no zone on the server holds home.example.com (asked for home.example.com, example.com, com)",
			WantAdvice:  "create the zone"},
		{Name: "zone gone between lookup and read", Settings: withZone, Request: req, Path: "/api/v1", Requests: 2,
			Serve: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("zone") != "" {
					providertest.JSON(200, `[{"id":"example.com.","name":"example.com.","kind":"Native"}]`)(w, r)
					return
				}
				pdnsError(w, 404, "Not Found")
			},
			Want: provider.Failed, WantMessage: "reading A home.example.com: HTTP 404: Not Found", WantAdvice: "no such zone"},
		{Name: "change refused: CNAME at the name", Settings: withZone, Request: req, Path: "/api/v1", Requests: 3,
			Serve: newFakePowerDNS("example.com").set("example.com", "home.example.com", "CNAME", 60, "x.example.net.").serve,
			Want:  provider.Failed, WantMessage: "HTTP 422: RRset home.example.com. IN A: Conflicts with pre-existing RRset",
			WantAdvice: "refused the change"},
		{Name: "server error is retried", Settings: withZone, Request: req, Path: "/api/v1",
			Serve: func(w http.ResponseWriter, _ *http.Request) { pdnsError(w, 500, "Backend error: database is locked") },
			Want:  provider.Retry, WantMessage: "HTTP 500: Backend error: database is locked"},
		{Name: "a proxy's rate limit is retried after Retry-After", Settings: withZone, Request: req, Path: "/api/v1",
			Serve: providertest.Answer(429, http.Header{"Retry-After": {"30"}}, "slow down"),
			Want:  provider.Retry, WantMessage: "HTTP 429: slow down", WantRetryAfter: 30 * time.Second},
		{Name: "redirect not followed", Settings: withZone, Request: req, Path: "/api/v1",
			Serve: providertest.Answer(302, http.Header{"Location": {"http://127.0.0.1:1/"}}, ""),
			Want:  provider.Failed, WantMessage: "redirect not followed"},
	}
	providertest.Run(t, testPowerDNS(), "api_url", cases)

	// Attempts that stop before any request.
	for _, c := range []providertest.Case{
		{Name: "zone setting that does not hold the name", Settings: map[string]any{"zone": "example.org"}, Request: req, Path: "/api/v1",
			Serve: newFakePowerDNS("example.org").serve, Want: provider.Failed, WantMessage: "not in zone example.org"},
		{Name: "no API key", Settings: withZone, Path: "/api/v1", Request: providertest.Request("home.example.com", "198.51.100.7", "", "", ""),
			Serve: newFakePowerDNS("example.com").serve, Want: provider.Failed, WantMessage: "API key is empty"},
	} {
		t.Run(c.Name, func(t *testing.T) {
			fake := providertest.NewFake(t, c.Serve)
			s := map[string]any{"api_url": fake.URL + "/api/v1"}
			for k, v := range c.Settings {
				s[k] = v
			}
			r := c.Request
			r.Settings = providertest.Settings(t, s)
			out := testPowerDNS().Send(context.Background(), r)
			if out.Result != c.Want || !strings.Contains(out.Message, c.WantMessage) || len(fake.Requests()) != 0 {
				t.Errorf("%v %q after %d requests, want %v %q and none", out.Result, out.Message, len(fake.Requests()), c.Want, c.WantMessage)
			}
		})
	}
}

// TestPowerDNSKeepsOthersStateful: a name with two A records, one the
// broker's: after a change only the broker's differs, and a second
// delivery of the same address writes nothing.
func TestPowerDNSKeepsOthersStateful(t *testing.T) {
	api := newFakePowerDNS("example.com").set("example.com", "multi.example.com", "A", 60, "192.0.2.1", "203.0.113.9")
	fake := providertest.NewFake(t, api.serve)
	p := testPowerDNS()
	settings := providertest.Settings(t, map[string]any{"api_url": fake.URL + "/api/v1", "zone": "example.com"})
	for i, step := range []struct{ addr, delivered, want string }{
		{"192.0.2.2", "192.0.2.1", "192.0.2.2 203.0.113.9"},
		{"192.0.2.2", "192.0.2.2", "192.0.2.2 203.0.113.9"},
		{"192.0.2.3", "192.0.2.2", "192.0.2.3 203.0.113.9"},
	} {
		r := pdnsRequest("multi.example.com", step.addr, step.delivered, true)
		r.Settings = settings
		out := p.Send(context.Background(), r)
		if out.Result != provider.Delivered {
			t.Fatalf("step %d: %v %s", i, out.Result, out.Message)
		}
		got := slices.Clone(api.get("example.com", "multi.example.com", "A").Records)
		slices.Sort(got)
		if strings.Join(got, " ") != step.want {
			t.Errorf("step %d: records %v, want %s", i, got, step.want)
		}
	}
}

func pdnsCheck(fqdn, key string) provider.CheckRequest[json.RawMessage] {
	return provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: key}
}

func TestPowerDNSCheck(t *testing.T) {
	secondary := newFakePowerDNS("example.com")
	secondary.zones["example.com."].kind = "Slave"
	good := pdnsCheck("home.example.com", pdnsKey)
	providertest.RunChecks(t, testPowerDNS(), "api_url", []providertest.CheckCase{
		{Name: "all good", Path: "/api/v1", Request: good, Serve: newFakePowerDNS("example.com").serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepPassed}}},
		{Name: "bad key", Path: "/api/v1", Request: pdnsCheck("home.example.com", "wrong-key-123456"),
			Serve: newFakePowerDNS("example.com").serve,
			Want:  []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing zone", Path: "/api/v1", Request: good, Serve: newFakePowerDNS("example.org").serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepFailed}}},
		{Name: "secondary zone may not be edited", Path: "/api/v1", Request: good, Serve: secondary.serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepFailed}}},
		{Name: "no name to look for", Path: "/api/v1", Request: pdnsCheck("", pdnsKey),
			Serve: newFakePowerDNS("example.com").serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepUnchecked}}},
	})
}

func TestPowerDNSValidate(t *testing.T) {
	p := testPowerDNS()
	providertest.Describe(t, p)
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{"api_url": "http://ns1.example.net:8081/api/v1"}`, has)
	providertest.Validate(t, p, `{"api_url": "http://ns1.example.net:8081/api/v1", "server_id": "localhost", "zone": "example.com", "ttl": 300}`, has)
	providertest.Validate(t, p, `{}`, has, "settings.api_url: is required")
	providertest.Validate(t, p, `{"api_url": "ftp://x"}`, has, "settings.api_url: ")
	providertest.Validate(t, p, `{"api_url": "http://ns1.example.net/api/v1", "server_id": "a/b"}`, has, "settings.server_id: must be a PowerDNS server id")
	providertest.Validate(t, p, `{"api_url": "http://ns1.example.net/api/v1", "zone": "not a zone"}`, has, "settings.zone: must be a domain name")
	providertest.Validate(t, p, `{"api_url": "http://ns1.example.net/api/v1", "ttl": 0}`, has, "settings.ttl: must be 1..86400")
	providertest.Validate(t, p, `{"api_url": "http://ns1.example.net/api/v1"}`, provider.Has{}, "credential: is required: the API key")
}

func TestPowerDNSNetworkErrorIsRetried(t *testing.T) {
	fake := providertest.NewFake(t, nil)
	url := fake.URL
	fake.Close()
	r := pdnsRequest("home.example.com", "198.51.100.7", "", false)
	r.Settings = providertest.Settings(t, map[string]any{"api_url": url + "/api/v1", "zone": "example.com"})
	out := testPowerDNS().Send(context.Background(), r)
	if out.Result != provider.Retry || !strings.Contains(out.Message, "refused") {
		t.Fatalf("got %v %q", out.Result, out.Message)
	}
}

// TestPowerDNSAgainstRealServer drives a real pdns_server (Debian's
// pdns-server with the sqlite3 backend): after a delivery the server
// answers DNS queries with the address; a wrong key fails with the
// server's words; a stopped server gives retries, and once it is back the
// delivery goes through.
func TestPowerDNSAgainstRealServer(t *testing.T) {
	srv := providertest.StartPowerDNS(t)
	srv.CreateZone("example.test")
	p := testPowerDNS()
	send := func(name, addr, delivered string, keep bool, key string, extra map[string]any) provider.Outcome {
		t.Helper()
		r := pdnsRequest(name, addr, delivered, keep)
		r.Credential = key
		s := map[string]any{"api_url": srv.APIURL}
		for k, v := range extra {
			s[k] = v
		}
		r.Settings = providertest.Settings(t, s)
		out := p.Send(context.Background(), r)
		providertest.CheckOutcome(t, out, key)
		return out
	}
	expect := func(name string, family netcalc.Family, want ...string) {
		t.Helper()
		got, _ := srv.Lookup(t, name, family)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("%s answers %v, want %v\n%s", name, got, want, srv.Log())
		}
	}

	out := send("www.example.test", "198.51.100.7", "", false, srv.APIKey, nil)
	if out.Result != provider.Delivered || !strings.Contains(out.Message, "created in zone example.test") {
		t.Fatalf("create: %v %s\n%s", out.Result, out.Message, srv.Log())
	}
	expect("www.example.test", 4, "198.51.100.7")
	if c := srv.Comments("example.test", "www.example.test", "A"); !slices.Equal(c, []string{"managed by ddnsbroker"}) {
		t.Errorf("comments of the created RRset: %v", c)
	}
	if out := send("www.example.test", "2001:db8::7", "", false, srv.APIKey, map[string]any{"zone": "example.test", "ttl": 300}); out.Result != provider.Delivered {
		t.Fatalf("AAAA: %v %s", out.Result, out.Message)
	}
	expect("www.example.test", 6, "2001:db8::7")
	if _, ttls := srv.Lookup(t, "www.example.test", 6); len(ttls) != 1 || ttls[0] != 300 {
		t.Errorf("AAAA TTL %v, want 300", ttls)
	}
	if out := send("www.example.test", "198.51.100.8", "198.51.100.7", false, srv.APIKey, nil); out.Result != provider.Delivered ||
		!strings.Contains(out.Message, "updated") {
		t.Fatalf("update: %v %s", out.Result, out.Message)
	}
	expect("www.example.test", 4, "198.51.100.8")
	if out := send("www.example.test", "198.51.100.8", "198.51.100.8", false, srv.APIKey, nil); out.Result != provider.Delivered ||
		!strings.Contains(out.Message, "unchanged") {
		t.Fatalf("unchanged: %v %s", out.Result, out.Message)
	}

	// keep_other_addresses: someone else's address on the name stays.
	srv.Replace("example.test", "multi.example.test", "A", 60, "192.0.2.1", "203.0.113.9")
	if out := send("multi.example.test", "192.0.2.2", "192.0.2.1", true, srv.APIKey, nil); out.Result != provider.Delivered {
		t.Fatalf("keep others: %v %s", out.Result, out.Message)
	}
	expect("multi.example.test", 4, "192.0.2.2", "203.0.113.9")

	out = send("www.example.test", "198.51.100.9", "", false, "wrong-key-0123456789", nil)
	if out.Result != provider.Failed || !strings.Contains(out.Message, "HTTP 401: Unauthorized") || !strings.Contains(out.Advice, "api-key") {
		t.Fatalf("wrong key: %v %q %q", out.Result, out.Message, out.Advice)
	}
	expect("www.example.test", 4, "198.51.100.8")

	srv.Stop()
	for i := range 2 {
		out := send("www.example.test", "198.51.100.10", "198.51.100.8", false, srv.APIKey, nil)
		if out.Result != provider.Retry {
			t.Fatalf("attempt %d with the server stopped: %v %s", i, out.Result, out.Message)
		}
	}
	srv.Start()
	if out := send("www.example.test", "198.51.100.10", "198.51.100.8", false, srv.APIKey, nil); out.Result != provider.Delivered {
		t.Fatalf("after restart: %v %s\n%s", out.Result, out.Message, srv.Log())
	}
	expect("www.example.test", 4, "198.51.100.10")
}
