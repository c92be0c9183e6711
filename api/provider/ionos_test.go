package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
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
	ionosKey    = "0123456789abcdef0123456789abcdef.ionosSecretPart_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
	ionosZoneID = "11af3414-ebba-11e9-8df5-66fbe8a334b4"
)

// fakeIONOS is the IONOS Hosting DNS API v1 as its OpenAPI description
// has it: X-API-Key on every request (401 UNAUTHORIZED otherwise), the
// zone list, a zone's records filtered by recordName and recordType,
// records created with an array (201), updated and deleted one by one,
// errors as a JSON array of {code, message}.
type fakeIONOS struct {
	*providertest.Fake
	mu      sync.Mutex
	zones   map[string]string // id → name
	records map[string]*ionosRec
	nextID  int
	calls   []string
	// readOnly makes every change answer 403, as a key without rights.
	readOnly bool
}

type ionosRec struct {
	ID       string `json:"id"`
	ZoneID   string `json:"-"`
	Name     string `json:"name"`
	RootName string `json:"rootName"`
	Type     string `json:"type"`
	Content  string `json:"content"`
	TTL      int    `json:"ttl"`
	Prio     int    `json:"prio"`
	Disabled bool   `json:"disabled"`
}

func newFakeIONOS(t *testing.T) *fakeIONOS {
	f := &fakeIONOS{zones: map[string]string{ionosZoneID: "example.com", "22af3414-ebba-11e9-8df5-66fbe8a334b4": "sub.example.com"},
		records: map[string]*ionosRec{}}
	f.Fake = providertest.NewFake(t, f.serve)
	return f
}

func (f *fakeIONOS) add(name, typ, content string, ttl int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := fmt.Sprintf("rec-%04d", f.nextID)
	f.records[id] = &ionosRec{ID: id, ZoneID: ionosZoneID, Name: name, RootName: "example.com", Type: typ, Content: content, TTL: ttl}
}

func (f *fakeIONOS) values(name, typ string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.records {
		if r.Name == name && r.Type == typ {
			out = append(out, fmt.Sprintf("%s/%d", r.Content, r.TTL))
		}
	}
	slices.Sort(out)
	return out
}

func (f *fakeIONOS) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func ionosError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode([]map[string]string{{"code": code, "message": msg}})
}

func ionosJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeIONOS) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+strings.TrimPrefix(r.URL.Path, "/dns"))
	if r.Header.Get("X-API-Key") != ionosKey {
		ionosError(w, 401, "UNAUTHORIZED", "The customer is not authorized to do this operation.")
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/dns/v1"), "/"), "/")
	if parts[0] != "zones" {
		ionosError(w, 404, "NOT_FOUND", "Not found.")
		return
	}
	if len(parts) == 1 && r.Method == http.MethodGet {
		list := []map[string]string{}
		for id, name := range f.zones {
			list = append(list, map[string]string{"id": id, "name": name, "type": "NATIVE"})
		}
		ionosJSON(w, 200, list)
		return
	}
	zoneName, ok := f.zones[parts[1]]
	if !ok {
		ionosError(w, 404, "ZONE_NOT_FOUND", "Zone does not exist.")
		return
	}
	if r.Method != http.MethodGet && f.readOnly {
		ionosError(w, 403, "FORBIDDEN", "The customer is not allowed to change this zone.")
		return
	}
	valid := func(rec ionosRec) bool {
		a, err := netip.ParseAddr(rec.Content)
		return err == nil && rec.TTL >= 60 && (rec.Type == "A") == a.Is4()
	}
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		q := r.URL.Query()
		recs := []ionosRec{}
		for _, rec := range f.records {
			if rec.ZoneID == parts[1] && (q.Get("recordName") == "" || rec.Name == q.Get("recordName")) &&
				(q.Get("recordType") == "" || rec.Type == q.Get("recordType")) {
				recs = append(recs, *rec)
			}
		}
		ionosJSON(w, 200, map[string]any{"id": parts[1], "name": zoneName, "type": "NATIVE", "records": recs})
	case len(parts) == 3 && parts[2] == "records" && r.Method == http.MethodPost:
		var in []ionosRec
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in) == 0 {
			ionosError(w, 400, "INVALID_RECORD", "Records must be an array.")
			return
		}
		var out []ionosRec
		for _, rec := range in {
			if !valid(rec) || (rec.Name != zoneName && !strings.HasSuffix(rec.Name, "."+zoneName)) {
				ionosError(w, 400, "INVALID_RECORD", "Record is invalid.")
				return
			}
		}
		for _, rec := range in {
			f.nextID++
			rec.ID, rec.ZoneID, rec.RootName = fmt.Sprintf("rec-%04d", f.nextID), parts[1], zoneName
			f.records[rec.ID] = &rec
			out = append(out, rec)
		}
		ionosJSON(w, 201, out)
	case len(parts) == 4 && parts[2] == "records":
		rec, ok := f.records[parts[3]]
		if !ok || rec.ZoneID != parts[1] {
			ionosError(w, 404, "RECORD_NOT_FOUND", "Record does not exist.")
			return
		}
		switch r.Method {
		case http.MethodPut:
			var in ionosRec
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				ionosError(w, 400, "INVALID_RECORD", "Record is invalid.")
				return
			}
			in.Type, in.Name = rec.Type, rec.Name
			if !valid(in) {
				ionosError(w, 400, "INVALID_RECORD", "Record is invalid.")
				return
			}
			rec.Content, rec.TTL, rec.Prio, rec.Disabled = in.Content, in.TTL, in.Prio, in.Disabled
			ionosJSON(w, 200, rec)
		case http.MethodDelete:
			delete(f.records, rec.ID)
			w.WriteHeader(200)
		default:
			ionosError(w, 405, "METHOD_NOT_ALLOWED", "")
		}
	default:
		ionosError(w, 404, "NOT_FOUND", "Not found.")
	}
}

// TestIONOSAnswerTable: one attempt per row against the fake API: the
// records before, what IONOS answers and what it means, the records after
// and the requests made.
func TestIONOSAnswerTable(t *testing.T) {
	base := "/v1/zones/" + ionosZoneID
	tests := []struct {
		name       string
		settings   map[string]any
		setup      func(f *fakeIONOS)
		req        provider.Request[json.RawMessage]
		want       provider.Result
		wantMsg    string
		wantAdvice string
		retryAfter time.Duration
		wantA      []string // "content/ttl" of home's A records after (nil: not checked)
		calls      []string
	}{
		{name: "create", req: providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey),
			want: provider.Delivered, wantMsg: "A home.example.com → 198.51.100.7 created (ttl 60)", wantA: []string{"198.51.100.7/60"},
			calls: []string{"GET /v1/zones", "GET " + base, "POST " + base + "/records"}},
		{name: "update", settings: map[string]any{"ttl": 300},
			setup: func(f *fakeIONOS) { f.add("home.example.com", "A", "192.0.2.1", 3600) },
			req:   providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey), want: provider.Delivered, wantMsg: "updated (ttl 300)",
			wantA: []string{"198.51.100.7/300"}, calls: []string{"GET /v1/zones", "GET " + base, "PUT " + base + "/records/rec-0001"}},
		{name: "unchanged", setup: func(f *fakeIONOS) { f.add("home.example.com", "A", "198.51.100.7", 60) },
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey), want: provider.Delivered, wantMsg: "unchanged",
			wantA: []string{"198.51.100.7/60"}, calls: []string{"GET /v1/zones", "GET " + base}},
		{name: "same address, other TTL: the TTL follows the service",
			setup: func(f *fakeIONOS) { f.add("home.example.com", "A", "198.51.100.7", 3600) },
			req:   providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey), want: provider.Delivered, wantMsg: "updated",
			wantA: []string{"198.51.100.7/60"}},
		{name: "AAAA in the longest zone", req: providertest.Request("a.sub.example.com", "2001:db8::7", "", "", ionosKey),
			want: provider.Delivered, wantMsg: "AAAA a.sub.example.com → 2001:db8::7 created",
			calls: []string{"GET /v1/zones", "GET /v1/zones/22af3414-ebba-11e9-8df5-66fbe8a334b4",
				"POST /v1/zones/22af3414-ebba-11e9-8df5-66fbe8a334b4/records"}},
		{name: "without keep_other_addresses the name holds exactly ours",
			setup: func(f *fakeIONOS) {
				f.add("home.example.com", "A", "192.0.2.1", 60)
				f.add("home.example.com", "A", "203.0.113.5", 60)
			},
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey), want: provider.Delivered,
			wantMsg: "updated, removed 1 other record(s)", wantA: []string{"198.51.100.7/60"}},
		{name: "keep_other_addresses: only ours changes",
			setup: func(f *fakeIONOS) {
				f.add("home.example.com", "A", "192.0.2.1", 60)
				f.add("home.example.com", "A", "203.0.113.5", 60)
			},
			req: func() provider.Request[json.RawMessage] {
				r := providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey)
				r.KeepOthers, r.Delivered = true, []netip.Addr{netip.MustParseAddr("192.0.2.1")}
				return r
			}(),
			want: provider.Delivered, wantMsg: "kept 1 other", wantA: []string{"198.51.100.7/60", "203.0.113.5/60"}},
		{name: "wrong key: IONOS's words", req: providertest.Request("home.example.com", "198.51.100.7", "", "", "wrongprefix.wrongsecret"),
			want: provider.Failed, wantMsg: "listing zones: HTTP 401: UNAUTHORIZED The customer is not authorized",
			wantAdvice: "IONOS refused the API key", calls: []string{"GET /v1/zones"}},
		{name: "key without rights to change", setup: func(f *fakeIONOS) { f.readOnly = true },
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey), want: provider.Failed,
			wantMsg: "HTTP 403: FORBIDDEN", wantAdvice: "may not change this zone"},
		{name: "zone not in the account", req: providertest.Request("home.example.org", "198.51.100.7", "", "", ionosKey),
			want: provider.Failed, wantMsg: "no zone of the account holds home.example.org", calls: []string{"GET /v1/zones"}},
		{name: "zone setting that does not hold the name", settings: map[string]any{"zone": "example.org"},
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey), want: provider.Failed,
			wantMsg: "not in zone example.org", calls: []string{}},
		{name: "rate limited: retried after Retry-After",
			setup: func(f *fakeIONOS) {
				f.Serve(providertest.Answer(429, http.Header{"Retry-After": {"17"}, "Content-Type": {"application/json"}},
					`[{"code":"TOO_MANY_REQUESTS","message":"Rate limit exceeded."}]`))
			},
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey), want: provider.Retry,
			wantMsg: "HTTP 429: TOO_MANY_REQUESTS Rate limit exceeded.", wantAdvice: provider.AdviceRateLimited, retryAfter: 17 * time.Second},
		{name: "server error is retried",
			setup: func(f *fakeIONOS) {
				f.Serve(providertest.JSON(500, `[{"code":"INTERNAL_SERVER_ERROR","message":"Internal server error."}]`))
			},
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey), want: provider.Retry, wantMsg: "HTTP 500: INTERNAL_SERVER_ERROR"},
		{name: "key echoed back is redacted",
			setup: func(f *fakeIONOS) {
				f.Serve(providertest.JSON(400, `[{"code":"INVALID_HEADER","message":"bad key `+ionosKey+`"}]`))
			},
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey), want: provider.Failed, wantMsg: "bad key ***"},
		{name: "key without a dot", req: providertest.Request("home.example.com", "198.51.100.7", "", "", "justonepart"),
			want: provider.Failed, wantMsg: "prefix.secret", calls: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIONOS(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			s := map[string]any{"api_url": f.URL + "/dns"}
			for k, v := range tc.settings {
				s[k] = v
			}
			req := tc.req
			req.Settings = providertest.Settings(t, s)
			out := provider.NewIONOS(providertest.Deps()).Send(context.Background(), req)
			if out.Result != tc.want || !strings.Contains(out.Message, tc.wantMsg) || !strings.Contains(out.Advice, tc.wantAdvice) {
				t.Fatalf("got %v %q (advice %q), want %v with %q (advice %q)", out.Result, out.Message, out.Advice, tc.want, tc.wantMsg, tc.wantAdvice)
			}
			if out.RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter %v, want %v", out.RetryAfter, tc.retryAfter)
			}
			providertest.CheckOutcome(t, out, ionosKey, req.Credential, strings.SplitN(ionosKey, ".", 2)[1])
			if got := f.values("home.example.com", "A"); tc.wantA != nil && !slices.Equal(got, tc.wantA) {
				t.Errorf("A records %v, want %v", got, tc.wantA)
			}
			if got := f.takeCalls(); tc.calls != nil && !slices.Equal(got, tc.calls) && !(len(got) == 0 && len(tc.calls) == 0) {
				t.Errorf("calls %v, want %v", got, tc.calls)
			}
		})
	}
}

// TestIONOSCachesTheZone: the zone list is read once per name.
func TestIONOSCachesTheZone(t *testing.T) {
	f := newFakeIONOS(t)
	p := provider.NewIONOS(providertest.Deps())
	req := providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey)
	req.Settings = providertest.Settings(t, map[string]any{"api_url": f.URL + "/dns"})
	for i, want := range []int{3, 1} {
		if out := p.Send(context.Background(), req); out.Result != provider.Delivered {
			t.Fatalf("attempt %d: %v %s", i, out.Result, out.Message)
		}
		if got := f.takeCalls(); len(got) != want {
			t.Errorf("attempt %d: calls %v, want %d", i, got, want)
		}
	}
}

func TestIONOSCheck(t *testing.T) {
	p := provider.NewIONOS(providertest.Deps())
	zones := `[{"id":"` + ionosZoneID + `","name":"example.com","type":"NATIVE"}]`
	providertest.RunChecks(t, p, "api_url", []providertest.CheckCase{
		{Name: "good", Path: "/dns", Request: provider.CheckRequest[json.RawMessage]{FQDN: "home.example.com", Credential: ionosKey},
			Serve: providertest.JSON(200, zones),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "bad key", Path: "/dns", Request: provider.CheckRequest[json.RawMessage]{FQDN: "home.example.com", Credential: ionosKey},
			Serve: providertest.JSON(401, `[{"code":"UNAUTHORIZED","message":"The customer is not authorized to do this operation."}]`),
			Want:  []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "zone missing", Path: "/dns", Request: provider.CheckRequest[json.RawMessage]{FQDN: "home.example.org", Credential: ionosKey},
			Serve: providertest.JSON(200, zones),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepFailed}}},
	})
}

func TestIONOSSettings(t *testing.T) {
	p := provider.NewIONOS(providertest.Deps())
	providertest.Describe(t, p)
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{}`, has)
	providertest.Validate(t, p, `{"zone": "example.com", "ttl": 3600}`, has)
	providertest.Validate(t, p, `{"zone": "not a zone", "ttl": 30, "api_url": "ftp://x"}`, has,
		"settings.zone: must be a domain name", "settings.api_url: must be an http or https URL", "settings.ttl: must be 60..86400")
	if errs := p.ValidateCredential("prefix.secret"); errs != nil {
		t.Errorf("prefix.secret refused: %v", errs)
	}
	if errs := p.ValidateCredential("nodot"); len(errs) != 1 || !strings.Contains(errs[0].Message, "prefix.secret") {
		t.Errorf("a key without a dot: %v", errs)
	}
}

// TestIONOSOneRequestPerAttempt: with the zone cached, an unchanged record
// is one request, and a provider that misbehaves gets exactly one.
func TestIONOSOneRequestPerAttempt(t *testing.T) {
	providertest.OneRequestPerAttempt(t, provider.NewIONOS,
		`{"id":"`+ionosZoneID+`","name":"example.com","records":[]}`,
		func(url string) map[string]any { return map[string]any{"api_url": url, "zone": "example.com"} },
		func(i int) provider.Request[json.RawMessage] {
			return providertest.Request("home.example.com", "198.51.100.7", "", "", ionosKey)
		})
}
