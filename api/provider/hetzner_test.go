package provider_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const (
	hzToken         = "hetzner-token-0123456789abcdef"
	hzReadOnlyToken = "hetzner-readonly-0123456789"
)

// fakeHetzner plays the Hetzner Cloud API's zones and RRsets
// (docs.hetzner.cloud/reference/cloud#zones, #zone-rrsets): Bearer tokens
// (401 unauthorized), a read-only token refused on writes (403
// token_readonly), zones by name in paths, RRsets by relative name ("@"
// the apex) and type, creation (201 with a running action), set_records
// and change_ttl actions, secondary zones refused (422
// incorrect_zone_mode), errors as {"error": {"code", "message",
// "details"}}.
type fakeHetzner struct {
	mu    sync.Mutex
	zones map[string]*fakeHZZone
	next  int64
}

type fakeHZZone struct {
	id     int64
	mode   string
	rrsets map[string]*hzSet // name|type
}

type hzSet struct {
	TTL     *int
	Records []hzRec
}

type hzRec struct{ Value, Comment string }

func newFakeHetzner(zones ...string) *fakeHetzner {
	f := &fakeHetzner{zones: map[string]*fakeHZZone{}, next: 100}
	for i, z := range zones {
		f.zones[z] = &fakeHZZone{id: int64(i + 1), mode: "primary", rrsets: map[string]*hzSet{}}
	}
	return f
}

func (f *fakeHetzner) set(zone, name, rtype string, ttl int, values ...string) *fakeHetzner {
	s := &hzSet{TTL: &ttl}
	for _, v := range values {
		s.Records = append(s.Records, hzRec{Value: v, Comment: "set by hand"})
	}
	f.zones[zone].rrsets[name+"|"+rtype] = s
	return f
}

func (f *fakeHetzner) get(zone, name, rtype string) *hzSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.zones[zone].rrsets[name+"|"+rtype]
}

func hzError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg, "details": map[string]any{}}})
}

func hzJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("RateLimit-Limit", "3600")
	w.Header().Set("RateLimit-Remaining", "3599")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeHetzner) action(command string) map[string]any {
	f.next++
	return map[string]any{"id": f.next, "command": command, "status": "running", "progress": 0, "error": nil}
}

func (z *fakeHZZone) json(name string) map[string]any {
	return map[string]any{"id": z.id, "name": name, "mode": z.mode, "ttl": 3600, "status": "ok"}
}

func (f *fakeHetzner) serve(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok != hzToken && tok != hzReadOnlyToken {
		hzError(w, 401, "unauthorized", "unable to authenticate")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1"), "/"), "/")
	if r.Method == http.MethodPost {
		if tok == hzReadOnlyToken {
			hzError(w, 403, "token_readonly", "The token is read-only.")
			return
		}
		if r.Header.Get("Content-Type") != "application/json" {
			hzError(w, 400, "json_error", "invalid JSON")
			return
		}
	}
	switch {
	case len(parts) == 1 && parts[0] == "zones" && r.Method == http.MethodGet:
		zones := []map[string]any{}
		for name, z := range f.zones {
			if q := r.URL.Query().Get("name"); q == "" || q == name {
				zones = append(zones, z.json(name))
			}
		}
		hzJSON(w, 200, map[string]any{"zones": zones, "meta": map[string]any{"pagination": map[string]any{"page": 1, "per_page": 25, "total_entries": len(zones)}}})
	case len(parts) >= 2 && parts[0] == "zones":
		z, ok := f.zones[parts[1]]
		if !ok {
			hzError(w, 404, "not_found", "zone not found")
			return
		}
		switch {
		case len(parts) == 2 && r.Method == http.MethodGet:
			hzJSON(w, 200, map[string]any{"zone": z.json(parts[1])})
		case len(parts) == 3 && parts[2] == "rrsets" && r.Method == http.MethodGet:
			q := r.URL.Query()
			out := []map[string]any{}
			for key, s := range z.rrsets {
				n, t, _ := strings.Cut(key, "|")
				if q.Has("name") && q.Get("name") != n || q.Has("type") && !slices.Contains(q["type"], t) {
					continue
				}
				recs := []map[string]string{}
				for _, rec := range s.Records {
					recs = append(recs, map[string]string{"value": rec.Value, "comment": rec.Comment})
				}
				out = append(out, map[string]any{"id": n + "/" + t, "name": n, "type": t, "ttl": s.TTL, "records": recs, "zone": z.id})
			}
			hzJSON(w, 200, map[string]any{"rrsets": out, "meta": map[string]any{}})
		case len(parts) == 3 && parts[2] == "rrsets" && r.Method == http.MethodPost:
			f.create(w, r, z)
		case len(parts) == 7 && parts[2] == "rrsets" && parts[5] == "actions" && r.Method == http.MethodPost:
			f.act(w, r, z, parts[3]+"|"+parts[4], parts[6])
		default:
			hzError(w, 404, "not_found", "not found")
		}
	default:
		hzError(w, 404, "not_found", "not found")
	}
}

type hzBody struct {
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	TTL     *int    `json:"ttl"`
	Records []hzRec `json:"records"`
}

// check refuses what the API refuses: records that are not addresses of
// the type, a TTL below 60.
func (b hzBody) check(w http.ResponseWriter, rtype string) bool {
	for _, rec := range b.Records {
		if a, err := netip.ParseAddr(rec.Value); err != nil || (rtype == "A") != a.Is4() {
			hzError(w, 400, "invalid_input", "invalid input in field 'records'")
			return false
		}
	}
	if b.TTL != nil && *b.TTL < 60 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = io.WriteString(w, `{"error":{"code":"invalid_input","message":"invalid input in field 'ttl'","details":{"fields":[{"name":"ttl","messages":["must be at least 60"]}]}}}`)
		return false
	}
	return true
}

func (f *fakeHetzner) create(w http.ResponseWriter, r *http.Request, z *fakeHZZone) {
	var b hzBody
	raw, _ := io.ReadAll(r.Body)
	if json.Unmarshal(raw, &b) != nil || b.Name == "" || strings.HasSuffix(b.Name, ".") || len(b.Records) == 0 {
		hzError(w, 400, "invalid_input", "invalid input in fields 'name', 'records'")
		return
	}
	if z.mode != "primary" {
		hzError(w, 422, "incorrect_zone_mode", "zone is not in primary mode")
		return
	}
	if !b.check(w, b.Type) {
		return
	}
	if _, ok := z.rrsets[b.Name+"|"+b.Type]; ok {
		hzError(w, 409, "uniqueness_error", "rrset already exists")
		return
	}
	z.rrsets[b.Name+"|"+b.Type] = &hzSet{TTL: b.TTL, Records: b.Records}
	hzJSON(w, 201, map[string]any{"rrset": map[string]any{"id": b.Name + "/" + b.Type, "name": b.Name, "type": b.Type}, "action": f.action("create_rrset")})
}

func (f *fakeHetzner) act(w http.ResponseWriter, r *http.Request, z *fakeHZZone, key, action string) {
	s, ok := z.rrsets[key]
	if !ok {
		hzError(w, 404, "not_found", "rrset not found")
		return
	}
	var b hzBody
	raw, _ := io.ReadAll(r.Body)
	if json.Unmarshal(raw, &b) != nil {
		hzError(w, 400, "json_error", "invalid JSON")
		return
	}
	_, rtype, _ := strings.Cut(key, "|")
	if !b.check(w, rtype) {
		return
	}
	switch action {
	case "set_records":
		if len(b.Records) == 0 {
			hzError(w, 400, "invalid_input", "invalid input in field 'records'")
			return
		}
		s.Records = b.Records
	case "change_ttl":
		s.TTL = b.TTL
	default:
		hzError(w, 404, "not_found", "not found")
		return
	}
	hzJSON(w, 201, map[string]any{"action": f.action(action)})
}

func testHetzner() provider.Provider { return provider.NewHetzner(providertest.Deps()) }

func hzRequest(name, addr, delivered string, keep bool) provider.Request[json.RawMessage] {
	r := providertest.Request(name, addr, "", "", hzToken)
	if delivered != "" {
		r.Delivered = []netip.Addr{netip.MustParseAddr(delivered)}
	}
	r.KeepOthers = keep
	return r
}

// hzLast checks the case's last request: method, path and JSON body.
func hzLast(path, body string) func(t *testing.T, seen []providertest.Seen) {
	return func(t *testing.T, seen []providertest.Seen) {
		t.Helper()
		last := seen[len(seen)-1]
		if last.Method != http.MethodPost || last.Path != path || strings.TrimSpace(last.Body) != body {
			t.Errorf("last request %s %s %s\nwant POST %s %s", last.Method, last.Path, last.Body, path, body)
		}
	}
}

func TestHetznerAnswerTable(t *testing.T) {
	req := hzRequest("home.example.com", "198.51.100.7", "", false)
	zoneSet := map[string]any{"zone": "example.com"}
	fake := func() *fakeHetzner { return newFakeHetzner("example.com") }
	cases := []providertest.Case{
		{Name: "created with the marker comment, zone found by name", Request: req, Path: "/v1", Requests: 4,
			Serve: fake().serve, Want: provider.Delivered,
			WantMessage: "A home.example.com → 198.51.100.7 created in zone example.com; Hetzner applies it (action 101)",
			Check: func(t *testing.T, seen []providertest.Seen) {
				hzLast("/v1/zones/example.com/rrsets", `{"name":"home","type":"A","records":[{"value":"198.51.100.7","comment":"managed by ddnsbroker"}]}`)(t, seen)
				if seen[0].Query.Get("name") != "home.example.com" || seen[1].Query.Get("name") != "example.com" ||
					seen[2].Query.Get("name") != "home" || seen[2].Query.Get("type") != "A" || seen[3].Header.Get("Authorization") != "Bearer "+hzToken {
					t.Errorf("requests %+v", seen)
				}
			}},
		{Name: "apex AAAA with a TTL", Settings: map[string]any{"zone": "example.com", "ttl": 300}, Path: "/v1", Requests: 2,
			Request: hzRequest("example.com", "2001:db8::7", "", false), Serve: fake().serve, Want: provider.Delivered,
			WantMessage: "AAAA example.com → 2001:db8::7 created in zone example.com (ttl 300)",
			Check: hzLast("/v1/zones/example.com/rrsets",
				`{"name":"@","type":"AAAA","ttl":300,"records":[{"value":"2001:db8::7","comment":"managed by ddnsbroker"}]}`)},
		{Name: "records set", Settings: zoneSet, Request: req, Path: "/v1", Requests: 2,
			Serve: fake().set("example.com", "home", "A", 60, "192.0.2.1").serve, Want: provider.Delivered, WantMessage: "updated",
			Check: hzLast("/v1/zones/example.com/rrsets/home/A/actions/set_records",
				`{"records":[{"value":"198.51.100.7","comment":"managed by ddnsbroker"}]}`)},
		{Name: "unchanged: no write", Settings: zoneSet, Request: req, Path: "/v1", Requests: 1,
			Serve: fake().set("example.com", "home", "A", 60, "198.51.100.7").serve, Want: provider.Delivered, WantMessage: "unchanged"},
		{Name: "only the TTL differs", Settings: map[string]any{"zone": "example.com", "ttl": 120}, Request: req, Path: "/v1", Requests: 2,
			Serve: fake().set("example.com", "home", "A", 60, "198.51.100.7").serve, Want: provider.Delivered,
			Check: hzLast("/v1/zones/example.com/rrsets/home/A/actions/change_ttl", `{"ttl":120}`)},
		{Name: "keep_other_addresses replaces only ours, their comments kept", Settings: zoneSet, Path: "/v1", Requests: 2,
			Request: hzRequest("home.example.com", "198.51.100.7", "192.0.2.1", true),
			Serve:   fake().set("example.com", "home", "A", 60, "192.0.2.1", "203.0.113.9").serve,
			Want:    provider.Delivered, WantMessage: "kept 1 other address",
			Check: hzLast("/v1/zones/example.com/rrsets/home/A/actions/set_records",
				`{"records":[{"value":"203.0.113.9","comment":"set by hand"},{"value":"198.51.100.7","comment":"managed by ddnsbroker"}]}`)},
		{Name: "without keep_other_addresses the RRset becomes ours", Settings: zoneSet, Path: "/v1", Requests: 2,
			Request: hzRequest("home.example.com", "198.51.100.7", "192.0.2.1", false),
			Serve:   fake().set("example.com", "home", "A", 60, "192.0.2.1", "203.0.113.9").serve, Want: provider.Delivered,
			Check: hzLast("/v1/zones/example.com/rrsets/home/A/actions/set_records",
				`{"records":[{"value":"198.51.100.7","comment":"managed by ddnsbroker"}]}`)},
		{Name: "bad token", Settings: zoneSet, Path: "/v1", Request: providertest.Request("home.example.com", "198.51.100.7", "", "", "wrong-token-123456"),
			Serve: fake().serve, Want: provider.Failed, WantMessage: "HTTP 401: unauthorized: unable to authenticate", WantAdvice: "DNS Console tokens do not work"},
		{Name: "read-only token", Settings: zoneSet, Path: "/v1", Requests: 2,
			Request: providertest.Request("home.example.com", "198.51.100.7", "", "", hzReadOnlyToken),
			Serve:   fake().serve, Want: provider.Failed, WantMessage: "HTTP 403: token_readonly", WantAdvice: "Read & Write"},
		{Name: "forbidden", Settings: zoneSet, Path: "/v1", Request: req,
			Serve: func(w http.ResponseWriter, _ *http.Request) { hzError(w, 403, "forbidden", "insufficient permissions") },
			Want:  provider.Failed, WantMessage: "HTTP 403: forbidden: insufficient permissions", WantAdvice: "Read & Write"},
		{Name: "zone not in the project", Path: "/v1", Requests: 2, Request: hzRequest("home.example.org", "198.51.100.7", "", false),
			Serve: fake().serve, Want: provider.Failed, WantMessage: "no zone of the token's project holds home.example.org (asked for home.example.org, example.org)",
			WantAdvice: "create the zone"},
		{Name: "zone setting unknown", Settings: map[string]any{"zone": "example.org"}, Path: "/v1",
			Request: hzRequest("home.example.org", "198.51.100.7", "", false),
			Serve:   fake().serve, Want: provider.Failed, WantMessage: "HTTP 404: not_found: zone not found", WantAdvice: "not in the token's project"},
		{Name: "secondary zone", Settings: zoneSet, Path: "/v1", Request: req, Requests: 2,
			Serve: func() http.HandlerFunc { f := fake(); f.zones["example.com"].mode = "secondary"; return f.serve }(),
			Want:  provider.Failed, WantMessage: "HTTP 422: incorrect_zone_mode", WantAdvice: "secondary zone"},
		{Name: "TTL refused with field details", Settings: map[string]any{"zone": "example.com", "ttl": 61}, Path: "/v1", Request: req, Requests: 2,
			Serve: func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					hzJSON(w, 200, map[string]any{"rrsets": []any{}})
					return
				}
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"error":{"code":"invalid_input","message":"invalid input in field 'ttl'","details":{"fields":[{"name":"ttl","messages":["must be a multiple of 60"]}]}}}`)
			},
			Want: provider.Failed, WantMessage: "HTTP 400: invalid_input: invalid input in field 'ttl'; ttl: must be a multiple of 60"},
		{Name: "zone locked by a running action: retried", Settings: zoneSet, Path: "/v1", Request: req,
			Serve: func(w http.ResponseWriter, _ *http.Request) { hzError(w, 423, "locked", "zone is locked") },
			Want:  provider.Retry, WantMessage: "HTTP 423: locked: zone is locked"},
		{Name: "action failed", Settings: zoneSet, Path: "/v1", Request: req, Requests: 2,
			Serve: func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					hzJSON(w, 200, map[string]any{"rrsets": []any{}})
					return
				}
				hzJSON(w, 201, map[string]any{"action": map[string]any{"id": 7, "status": "error",
					"error": map[string]string{"code": "action_failed", "message": "record conflicts with CNAME"}}})
			},
			Want: provider.Failed, WantMessage: "created A home.example.com → 198.51.100.7: action_failed: record conflicts with CNAME"},
		{Name: "rate limit with Retry-After", Settings: zoneSet, Path: "/v1", Request: req,
			Serve: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "42")
				hzError(w, 429, "rate_limit_exceeded", "limit of 3600 requests per hour reached")
			},
			Want: provider.Retry, WantMessage: "HTTP 429: rate_limit_exceeded", WantAdvice: "limits how often", WantRetryAfter: 42 * time.Second},
		{Name: "server error", Settings: zoneSet, Path: "/v1", Request: req,
			Serve: func(w http.ResponseWriter, _ *http.Request) { hzError(w, 503, "maintenance", "maintenance") },
			Want:  provider.Retry, WantMessage: "HTTP 503: maintenance"},
		{Name: "the retired API's redirect", Settings: zoneSet, Path: "/v1", Request: req,
			Serve: providertest.Answer(301, http.Header{"Location": {"https://console.hetzner.com/"}}, ""),
			Want:  provider.Failed, WantMessage: "redirect not followed (the retired dns.hetzner.com API"},
	}
	providertest.Run(t, testHetzner(), "api_url", cases)
}

// TestHetznerRateLimitReset: the Cloud API's 429 says when to come back
// as RateLimit-Reset (a Unix time), which becomes the retry's delay.
func TestHetznerRateLimitReset(t *testing.T) {
	reset := time.Now().Add(90 * time.Second).Unix()
	fake := providertest.NewFake(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("RateLimit-Reset", strconv.FormatInt(reset, 10))
		w.Header().Set("RateLimit-Remaining", "0")
		hzError(w, 429, "rate_limit_exceeded", "limit reached")
	})
	r := hzRequest("home.example.com", "198.51.100.7", "", false)
	r.Settings = providertest.Settings(t, map[string]any{"api_url": fake.URL + "/v1", "zone": "example.com"})
	out := testHetzner().Send(context.Background(), r)
	if out.Result != provider.Retry || out.RetryAfter < 30*time.Second || out.RetryAfter > 90*time.Second {
		t.Fatalf("%v %s, RetryAfter %v; want a retry after about 90 s", out.Result, out.Message, out.RetryAfter)
	}
}

// TestHetznerKeepsOthersStateful: a name with two A records, one the
// broker's: only the broker's changes.
func TestHetznerKeepsOthersStateful(t *testing.T) {
	api := newFakeHetzner("example.com").set("example.com", "multi", "A", 60, "192.0.2.1", "203.0.113.9")
	fake := providertest.NewFake(t, api.serve)
	p := testHetzner()
	settings := providertest.Settings(t, map[string]any{"api_url": fake.URL + "/v1", "zone": "example.com"})
	for i, step := range []struct{ addr, delivered, want string }{
		{"192.0.2.2", "192.0.2.1", "192.0.2.2 203.0.113.9"},
		{"192.0.2.2", "192.0.2.2", "192.0.2.2 203.0.113.9"},
		{"192.0.2.3", "192.0.2.2", "192.0.2.3 203.0.113.9"},
	} {
		r := hzRequest("multi.example.com", step.addr, step.delivered, true)
		r.Settings = settings
		if out := p.Send(context.Background(), r); out.Result != provider.Delivered {
			t.Fatalf("step %d: %v %s", i, out.Result, out.Message)
		}
		var got []string
		for _, rec := range api.get("example.com", "multi", "A").Records {
			got = append(got, rec.Value)
			if want := map[bool]string{true: "set by hand", false: "managed by ddnsbroker"}[rec.Value == "203.0.113.9"]; rec.Comment != want {
				t.Errorf("step %d: %s has comment %q, want %q", i, rec.Value, rec.Comment, want)
			}
		}
		slices.Sort(got)
		if strings.Join(got, " ") != step.want {
			t.Errorf("step %d: records %v, want %s", i, got, step.want)
		}
	}
}

func TestHetznerCheck(t *testing.T) {
	check := func(fqdn, token string) provider.CheckRequest[json.RawMessage] {
		return provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: token}
	}
	secondary := newFakeHetzner("example.com")
	secondary.zones["example.com"].mode = "secondary"
	providertest.RunChecks(t, testHetzner(), "api_url", []providertest.CheckCase{
		{Name: "all good", Path: "/v1", Request: check("home.example.com", hzToken), Serve: newFakeHetzner("example.com").serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "zone set", Path: "/v1", Settings: map[string]any{"zone": "example.com"}, Request: check("", hzToken),
			Serve: newFakeHetzner("example.com").serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "bad token", Path: "/v1", Request: check("home.example.com", "wrong-token-123456"), Serve: newFakeHetzner("example.com").serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing zone", Path: "/v1", Request: check("home.example.org", hzToken), Serve: newFakeHetzner("example.com").serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
		{Name: "secondary zone", Path: "/v1", Request: check("home.example.com", hzToken), Serve: secondary.serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepFailed}}},
	})
}

func TestHetznerValidate(t *testing.T) {
	p := testHetzner()
	providertest.Describe(t, p)
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{}`, has)
	providertest.Validate(t, p, `{"zone": "example.com", "ttl": 300}`, has)
	providertest.Validate(t, p, `{"zone": "example..com"}`, has, "settings.zone: must be a domain name")
	providertest.Validate(t, p, `{"ttl": 30}`, has, "settings.ttl: must be 60..86400")
	providertest.Validate(t, p, `{"api_url": "not a url"}`, has, "settings.api_url: ")
	providertest.Validate(t, p, `{}`, provider.Has{}, "credential: is required: the API token")
	if d := p.Destinations(json.RawMessage(`{}`)); !slices.Equal(d, []string{"https://api.hetzner.cloud:443"}) {
		t.Errorf("destinations %v", d)
	}
}
