package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const (
	desecToken         = "desec-token-abcdef0123456789"
	desecReadOnlyToken = "desec-readonly-0123456789"
)

// fakeDesec plays deSEC's REST API (desec.readthedocs.io/en/latest/dns/):
// "Authorization: Token <secret>" (401 {"detail": "Invalid token."}),
// paths ending in a slash, domains found by owns_qname, RRsets filtered by
// subname and type, bulk PATCH creating or replacing RRsets with a TTL at
// least the domain's minimum_ttl (400 with DRF field errors otherwise), a
// token whose policy forbids writes (403), and throttling (429 with
// Retry-After).
type fakeDesec struct {
	mu      sync.Mutex
	domains map[string]*fakeDesecDomain
	// throttle, when set, answers every request 429 after that many.
	throttle int
	seen     int
}

type fakeDesecDomain struct {
	minTTL int
	rrsets map[string]*desecSet // subname|type
}

type desecSet struct {
	TTL     int
	Records []string
}

func newFakeDesec(domains ...string) *fakeDesec {
	f := &fakeDesec{domains: map[string]*fakeDesecDomain{}, throttle: -1}
	for _, d := range domains {
		f.domains[d] = &fakeDesecDomain{minTTL: 3600, rrsets: map[string]*desecSet{}}
		if strings.HasSuffix(d, ".dedyn.io") {
			f.domains[d].minTTL = 60
		}
	}
	return f
}

func (f *fakeDesec) set(domain, subname, rtype string, ttl int, records ...string) *fakeDesec {
	f.domains[domain].rrsets[subname+"|"+rtype] = &desecSet{TTL: ttl, Records: records}
	return f
}

func (f *fakeDesec) get(domain, subname, rtype string) *desecSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.domains[domain].rrsets[subname+"|"+rtype]
}

func desecJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeDesec) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen++
	if f.throttle >= 0 && f.seen > f.throttle {
		w.Header().Set("Retry-After", "17")
		desecJSON(w, 429, map[string]string{"detail": "Request was throttled. Expected available in 17 seconds."})
		return
	}
	auth := r.Header.Get("Authorization")
	if auth != "Token "+desecToken && auth != "Token "+desecReadOnlyToken {
		desecJSON(w, 401, map[string]string{"detail": "Invalid token."})
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/v1")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case !strings.HasSuffix(path, "/"):
		desecJSON(w, 404, map[string]string{"detail": "Not found."})
	case path == "/auth/account/" && r.Method == http.MethodGet:
		desecJSON(w, 200, map[string]any{"email": "owner@example.com", "limit_domains": 15})
	case path == "/domains/" && r.Method == http.MethodGet:
		q := r.URL.Query().Get("owns_qname")
		out := []map[string]any{}
		best := ""
		for name := range f.domains {
			if (q == name || strings.HasSuffix(q, "."+name)) && len(name) > len(best) {
				best = name
			}
		}
		if best != "" {
			out = append(out, map[string]any{"name": best, "minimum_ttl": f.domains[best].minTTL})
		}
		desecJSON(w, 200, out)
	case len(parts) >= 2 && parts[0] == "domains":
		d, ok := f.domains[parts[1]]
		if !ok {
			desecJSON(w, 404, map[string]string{"detail": "Not found."})
			return
		}
		switch {
		case len(parts) == 2 && r.Method == http.MethodGet:
			desecJSON(w, 200, map[string]any{"name": parts[1], "minimum_ttl": d.minTTL})
		case len(parts) == 3 && parts[2] == "rrsets" && r.Method == http.MethodGet:
			q := r.URL.Query()
			out := []map[string]any{}
			for key, set := range d.rrsets {
				sub, typ, _ := strings.Cut(key, "|")
				if q.Has("subname") && q.Get("subname") != sub || q.Has("type") && q.Get("type") != typ {
					continue
				}
				name := parts[1] + "."
				if sub != "" {
					name = sub + "." + name
				}
				out = append(out, map[string]any{"domain": parts[1], "subname": sub, "name": name, "type": typ,
					"ttl": set.TTL, "records": set.Records, "created": "2026-01-01T00:00:00Z", "touched": "2026-01-01T00:00:00Z"})
			}
			desecJSON(w, 200, out)
		case len(parts) == 3 && parts[2] == "rrsets" && r.Method == http.MethodPatch:
			f.bulkPatch(w, r, d, auth == "Token "+desecReadOnlyToken)
		default:
			desecJSON(w, 405, map[string]string{"detail": fmt.Sprintf("Method \"%s\" not allowed.", r.Method)})
		}
	default:
		desecJSON(w, 404, map[string]string{"detail": "Not found."})
	}
}

func (f *fakeDesec) bulkPatch(w http.ResponseWriter, r *http.Request, d *fakeDesecDomain, readOnly bool) {
	if r.Header.Get("Content-Type") != "application/json" {
		desecJSON(w, 415, map[string]string{"detail": "Unsupported media type in request."})
		return
	}
	var body []struct {
		Subname *string   `json:"subname"`
		Type    string    `json:"type"`
		TTL     *int      `json:"ttl"`
		Records *[]string `json:"records"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		desecJSON(w, 400, map[string]any{"non_field_errors": []string{"Expected a list of items but got type \"dict\"."}})
		return
	}
	if readOnly {
		desecJSON(w, 403, map[string]string{"detail": "Insufficient token permissions."})
		return
	}
	errs := make([]map[string][]string, len(body))
	bad := false
	for i, rr := range body {
		errs[i] = map[string][]string{}
		switch {
		case rr.Subname == nil:
			errs[i]["subname"] = []string{"This field is required."}
		case rr.TTL == nil || rr.Records == nil:
			errs[i]["non_field_errors"] = []string{"All fields but subname are required to create an RRset."}
		case *rr.TTL < d.minTTL:
			errs[i]["ttl"] = []string{fmt.Sprintf("Ensure this value is greater than or equal to %d.", d.minTTL)}
		}
		if rr.Subname != nil && d.rrsets[*rr.Subname+"|CNAME"] != nil {
			errs[i]["non_field_errors"] = []string{"RRset with conflicting type present: database (CNAME). (No other RRsets are allowed alongside CNAME.)"}
		}
		if rr.Records != nil {
			for _, c := range *rr.Records {
				if a, err := netip.ParseAddr(c); err != nil || (rr.Type == "A") != a.Is4() {
					errs[i]["records"] = []string{"Record content malformed: " + c}
				}
			}
		}
		bad = bad || len(errs[i]) > 0
	}
	if bad {
		desecJSON(w, 400, errs)
		return
	}
	var out []map[string]any
	for _, rr := range body {
		key := *rr.Subname + "|" + rr.Type
		set := &desecSet{TTL: *rr.TTL, Records: *rr.Records}
		d.rrsets[key] = set
		out = append(out, map[string]any{"subname": *rr.Subname, "type": rr.Type, "ttl": set.TTL, "records": set.Records})
	}
	desecJSON(w, 200, out)
}

func testDesec() provider.Provider { return provider.NewDesec(providertest.Deps()) }

func desecRequest(name, addr, delivered string, keep bool) provider.Request[json.RawMessage] {
	r := providertest.Request(name, addr, "", "", desecToken)
	if delivered != "" {
		r.Delivered = []netip.Addr{netip.MustParseAddr(delivered)}
	}
	r.KeepOthers = keep
	return r
}

// desecPatched checks the case's last request: the bulk PATCH of the
// domain's RRsets with one RRset of these records and TTL.
func desecPatched(domain string, ttl int, want ...string) func(t *testing.T, seen []providertest.Seen) {
	return func(t *testing.T, seen []providertest.Seen) {
		t.Helper()
		last := seen[len(seen)-1]
		if last.Method != http.MethodPatch || last.Path != "/api/v1/domains/"+domain+"/rrsets/" {
			t.Fatalf("last request %s %s, want the bulk PATCH", last.Method, last.Path)
		}
		var body []struct {
			TTL     int      `json:"ttl"`
			Records []string `json:"records"`
		}
		if err := json.Unmarshal([]byte(last.Body), &body); err != nil || len(body) != 1 {
			t.Fatalf("PATCH body %s: %v", last.Body, err)
		}
		if !slices.Equal(body[0].Records, want) || body[0].TTL != ttl {
			t.Errorf("PATCH %s, want records %v ttl %d", last.Body, want, ttl)
		}
	}
}

func TestDesecAnswerTable(t *testing.T) {
	req := desecRequest("home.example.dedyn.io", "198.51.100.7", "", false)
	fake := func() *fakeDesec { return newFakeDesec("example.dedyn.io", "example.com") }
	cases := []providertest.Case{
		{Name: "created with the domain's minimum TTL", Request: req, Path: "/api/v1", Requests: 3,
			Serve: fake().serve, Want: provider.Delivered,
			WantMessage: "A home.example.dedyn.io → 198.51.100.7 created in domain example.dedyn.io (ttl 60)",
			Check: func(t *testing.T, seen []providertest.Seen) {
				desecPatched("example.dedyn.io", 60, "198.51.100.7")(t, seen)
				want := `[{"subname":"home","type":"A","ttl":60,"records":["198.51.100.7"]}]`
				if seen[2].Body != want || seen[2].Header.Get("Authorization") != "Token "+desecToken {
					t.Errorf("PATCH body %s, want %s", seen[2].Body, want)
				}
				if seen[0].Path != "/api/v1/domains/" || seen[0].Query.Get("owns_qname") != "home.example.dedyn.io" ||
					seen[1].Query.Get("subname") != "home" || seen[1].Query.Get("type") != "A" {
					t.Errorf("requests %+v", seen)
				}
			}},
		{Name: "domain set: its minimum TTL read for a new RRset", Settings: map[string]any{"domain": "example.com"}, Path: "/api/v1",
			Request: desecRequest("example.com", "2001:db8::7", "", false), Requests: 3,
			Serve: fake().serve, Want: provider.Delivered, WantMessage: "AAAA example.com → 2001:db8::7 created in domain example.com (ttl 3600)",
			Check: func(t *testing.T, seen []providertest.Seen) {
				if seen[0].Query.Get("subname") != "" || !seen[0].Query.Has("subname") || seen[1].Path != "/api/v1/domains/example.com/" {
					t.Errorf("requests %+v", seen)
				}
				desecPatched("example.com", 3600, "2001:db8::7")(t, seen)
			}},
		{Name: "updated, TTL kept", Request: req, Path: "/api/v1", Requests: 3,
			Serve: fake().set("example.dedyn.io", "home", "A", 300, "192.0.2.1").serve,
			Want:  provider.Delivered, WantMessage: "updated in domain example.dedyn.io (ttl 300)",
			Check: desecPatched("example.dedyn.io", 300, "198.51.100.7")},
		{Name: "unchanged: no write", Request: req, Path: "/api/v1", Requests: 2,
			Serve: fake().set("example.dedyn.io", "home", "A", 60, "198.51.100.7").serve,
			Want:  provider.Delivered, WantMessage: "unchanged"},
		{Name: "ttl setting differs: update", Settings: map[string]any{"ttl": 120}, Request: req, Path: "/api/v1", Requests: 3,
			Serve: fake().set("example.dedyn.io", "home", "A", 60, "198.51.100.7").serve,
			Want:  provider.Delivered, WantMessage: "updated", Check: desecPatched("example.dedyn.io", 120, "198.51.100.7")},
		{Name: "without keep_other_addresses the RRset becomes ours", Path: "/api/v1", Requests: 3,
			Request: desecRequest("home.example.dedyn.io", "198.51.100.7", "192.0.2.1", false),
			Serve:   fake().set("example.dedyn.io", "home", "A", 60, "192.0.2.1", "203.0.113.9").serve,
			Want:    provider.Delivered, Check: desecPatched("example.dedyn.io", 60, "198.51.100.7")},
		{Name: "keep_other_addresses replaces only ours", Path: "/api/v1", Requests: 3,
			Request: desecRequest("home.example.dedyn.io", "198.51.100.7", "192.0.2.1", true),
			Serve:   fake().set("example.dedyn.io", "home", "A", 60, "192.0.2.1", "203.0.113.9").serve,
			Want:    provider.Delivered, WantMessage: "kept 1 other address",
			Check: desecPatched("example.dedyn.io", 60, "203.0.113.9", "198.51.100.7")},
		{Name: "bad token", Path: "/api/v1", Request: providertest.Request("home.example.dedyn.io", "198.51.100.7", "", "", "wrong-token-123456"),
			Serve: fake().serve, Want: provider.Failed, WantMessage: "HTTP 401: Invalid token.", WantAdvice: "deSEC refused the token"},
		{Name: "token may not write", Path: "/api/v1", Requests: 3,
			Request: providertest.Request("home.example.dedyn.io", "198.51.100.7", "", "", desecReadOnlyToken),
			Serve:   fake().serve, Want: provider.Failed, WantMessage: "HTTP 403: Insufficient token permissions.", WantAdvice: "policy"},
		{Name: "no domain holds the name", Path: "/api/v1", Request: desecRequest("home.example.net", "198.51.100.7", "", false),
			Serve: fake().serve, Want: provider.Failed, WantMessage: "no domain of this account holds home.example.net",
			WantAdvice: "add the domain"},
		{Name: "domain setting unknown to the account", Settings: map[string]any{"domain": "example.org"}, Path: "/api/v1",
			Request: desecRequest("home.example.org", "198.51.100.7", "", false),
			Serve:   fake().serve, Want: provider.Failed, WantMessage: "HTTP 404: Not found.", WantAdvice: "not in this deSEC account"},
		{Name: "TTL below the minimum", Settings: map[string]any{"domain": "example.com", "ttl": 60}, Path: "/api/v1", Requests: 2,
			Request: desecRequest("www.example.com", "198.51.100.7", "", false),
			Serve:   fake().serve, Want: provider.Failed,
			WantMessage: "HTTP 400: ttl: Ensure this value is greater than or equal to 3600.", WantAdvice: "TTL below the domain's minimum"},
		{Name: "rate limited: retried after Retry-After", Path: "/api/v1", Request: req,
			Serve: func() http.HandlerFunc { f := fake(); f.throttle = 0; return f.serve }(),
			Want:  provider.Retry, WantMessage: "HTTP 429: Request was throttled. Expected available in 17 seconds.",
			WantAdvice: "limits how often", WantRetryAfter: 17 * time.Second},
		{Name: "rate limited on the write", Path: "/api/v1", Request: req, Requests: 3,
			Serve: func() http.HandlerFunc { f := fake(); f.throttle = 2; return f.serve }(),
			Want:  provider.Retry, WantMessage: "writing A home.example.dedyn.io → 198.51.100.7: HTTP 429", WantRetryAfter: 17 * time.Second},
		{Name: "server error retried", Path: "/api/v1", Request: req,
			Serve: providertest.Answer(502, nil, "<html>502 Bad Gateway</html>"),
			Want:  provider.Retry, WantMessage: "HTTP 502: <html>502 Bad Gateway</html>"},
		{Name: "redirect not followed", Path: "/api/v1", Request: req,
			Serve: providertest.Answer(301, http.Header{"Location": {"http://127.0.0.1:1/"}}, ""),
			Want:  provider.Failed, WantMessage: "redirect not followed"},
	}
	providertest.Run(t, testDesec(), "api_url", cases)
}

// TestDesecKeepsOthersStateful: a name with two A records, one the
// broker's: only the broker's changes, and resending writes nothing.
func TestDesecKeepsOthersStateful(t *testing.T) {
	api := newFakeDesec("example.com").set("example.com", "multi", "A", 3600, "192.0.2.1", "203.0.113.9")
	fake := providertest.NewFake(t, api.serve)
	p := testDesec()
	settings := providertest.Settings(t, map[string]any{"api_url": fake.URL + "/api/v1", "domain": "example.com"})
	for i, step := range []struct {
		addr, delivered, want string
		requests              int
	}{
		{"192.0.2.2", "192.0.2.1", "192.0.2.2 203.0.113.9", 2},
		{"192.0.2.2", "192.0.2.2", "192.0.2.2 203.0.113.9", 1},
		{"192.0.2.3", "192.0.2.2", "192.0.2.3 203.0.113.9", 2},
	} {
		fake.Reset()
		r := desecRequest("multi.example.com", step.addr, step.delivered, true)
		r.Settings = settings
		if out := p.Send(context.Background(), r); out.Result != provider.Delivered {
			t.Fatalf("step %d: %v %s", i, out.Result, out.Message)
		}
		got := slices.Clone(api.get("example.com", "multi", "A").Records)
		slices.Sort(got)
		if strings.Join(got, " ") != step.want || len(fake.Requests()) != step.requests {
			t.Errorf("step %d: records %v after %d requests, want %s after %d", i, got, len(fake.Requests()), step.want, step.requests)
		}
	}
}

func TestDesecCheck(t *testing.T) {
	check := func(fqdn, token string) provider.CheckRequest[json.RawMessage] {
		return provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: token}
	}
	good := []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
		{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}
	providertest.RunChecks(t, testDesec(), "api_url", []providertest.CheckCase{
		{Name: "all good", Path: "/api/v1", Request: check("home.example.com", desecToken), Serve: newFakeDesec("example.com").serve, Want: good},
		{Name: "domain set", Path: "/api/v1", Settings: map[string]any{"domain": "example.com"}, Request: check("", desecToken),
			Serve: newFakeDesec("example.com").serve, Want: good},
		{Name: "bad token", Path: "/api/v1", Request: check("home.example.com", "wrong-token-123456"), Serve: newFakeDesec("example.com").serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing zone", Path: "/api/v1", Request: check("home.example.org", desecToken), Serve: newFakeDesec("example.com").serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
		{Name: "missing domain set", Path: "/api/v1", Settings: map[string]any{"domain": "example.org"}, Request: check("", desecToken),
			Serve: newFakeDesec("example.com").serve,
			Want:  []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
	})
}

func TestDesecValidate(t *testing.T) {
	p := testDesec()
	providertest.Describe(t, p)
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{}`, has)
	providertest.Validate(t, p, `{"domain": "example.dedyn.io", "ttl": 60, "api_url": "https://desec.io/api/v1"}`, has)
	providertest.Validate(t, p, `{"domain": "not a domain"}`, has, "settings.domain: must be a domain name")
	providertest.Validate(t, p, `{"ttl": 0}`, has, "settings.ttl: must be 1..86400")
	providertest.Validate(t, p, `{"api_url": "https://user:pw@desec.io/api/v1"}`, has, "settings.api_url: must not contain a username")
	providertest.Validate(t, p, `{}`, provider.Has{}, "credential: is required: the API token")
	if d := p.Destinations(json.RawMessage(`{}`)); !slices.Equal(d, []string{"https://desec.io:443"}) {
		t.Errorf("destinations %v", d)
	}
}
