package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
)

const (
	cfToken  = "cf-token_0123456789abcdef"
	cfZoneID = "023e105f4ecef8ad9ca31a8372d0c353"
)

// fakeCloudflare is a local API v4 shaped like Cloudflare's: zones by
// name, DNS records by type and name, create/update/delete, bearer token,
// error JSON. It records every call as "METHOD path?query".
type fakeCloudflare struct {
	*httptest.Server
	mu      sync.Mutex
	zones   map[string]string // name → id
	records map[string]*cfRecord
	calls   []string
	nextID  int
	// intercept, when set, may answer a request instead of the API.
	intercept func(w http.ResponseWriter, r *http.Request) bool
}

type cfRecord struct {
	ID      string `json:"id"`
	ZoneID  string `json:"zone_id"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Content string `json:"content"`
	TTL     int    `json:"ttl"`
	Proxied bool   `json:"proxied"`
	Comment string `json:"comment"`
}

func newFakeCloudflare(t *testing.T) *fakeCloudflare {
	f := &fakeCloudflare{zones: map[string]string{"example.com": cfZoneID}, records: map[string]*cfRecord{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeCloudflare) api() string { return f.URL + "/client/v4" }

func (f *fakeCloudflare) set(intercept func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intercept = intercept
}

func (f *fakeCloudflare) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *fakeCloudflare) add(r cfRecord) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	r.ID = fmt.Sprintf("rec%029d", f.nextID)
	f.records[r.ID] = &r
	return r.ID
}

func (f *fakeCloudflare) get(id string) cfRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.records[id]; ok {
		return *r
	}
	return cfRecord{}
}

func (f *fakeCloudflare) find(typ, name string) []cfRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []cfRecord
	for _, r := range f.records {
		if r.Type == typ && r.Name == name {
			out = append(out, *r)
		}
	}
	return out
}

func cfWrite(w http.ResponseWriter, status int, result any, errs ...string) {
	type msg struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	env := map[string]any{"success": len(errs) == 0, "errors": []msg{}, "messages": []msg{}, "result": result}
	var list []msg
	for _, e := range errs {
		var m msg
		_, _ = fmt.Sscanf(e, "%d", &m.Code)
		m.Message = strings.TrimSpace(strings.TrimPrefix(e, fmt.Sprint(m.Code)))
		list = append(list, m)
	}
	if list != nil {
		env["errors"] = list
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}

func (f *fakeCloudflare) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	call := r.Method + " " + strings.TrimPrefix(r.URL.Path, "/client/v4")
	if r.URL.RawQuery != "" {
		call += "?" + r.URL.RawQuery
	}
	f.calls = append(f.calls, call)
	intercept := f.intercept
	f.mu.Unlock()
	if intercept != nil && intercept(w, r) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+cfToken {
		cfWrite(w, 403, nil, "10000 Authentication error")
		return
	}
	if r.Header.Get("User-Agent") != "ddnsbroker/1.2.3" {
		cfWrite(w, 400, nil, "6003 Invalid request headers: user agent")
		return
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/client/v4"), "/"), "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case len(parts) == 1 && parts[0] == "zones" && r.Method == "GET":
		result := []map[string]string{}
		if id, ok := f.zones[r.URL.Query().Get("name")]; ok {
			result = append(result, map[string]string{"id": id, "name": r.URL.Query().Get("name"), "status": "active"})
		}
		cfWrite(w, 200, result)
	case len(parts) >= 3 && parts[0] == "zones" && parts[2] == "dns_records":
		zoneID := parts[1]
		known := false
		for _, id := range f.zones {
			known = known || id == zoneID
		}
		if !known {
			cfWrite(w, 404, nil, "7003 Could not route to /zones/"+zoneID+"/dns_records, perhaps your object identifier is invalid?")
			return
		}
		f.serveRecords(w, r, zoneID, parts[3:])
	default:
		cfWrite(w, 404, nil, "7000 No route for that URI")
	}
}

// serveRecords runs with f.mu held.
func (f *fakeCloudflare) serveRecords(w http.ResponseWriter, r *http.Request, zoneID string, rest []string) {
	var in map[string]any
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		if len(b) > 0 && json.Unmarshal(b, &in) != nil {
			cfWrite(w, 400, nil, "9207 Request body is invalid.")
			return
		}
	}
	apply := func(rec *cfRecord) {
		if v, ok := in["content"].(string); ok {
			rec.Content = v
		}
		if v, ok := in["ttl"].(float64); ok {
			rec.TTL = int(v)
		}
		if v, ok := in["proxied"].(bool); ok {
			rec.Proxied = v
		}
		if v, ok := in["comment"].(string); ok {
			rec.Comment = v
		}
	}
	switch {
	case len(rest) == 0 && r.Method == "GET":
		q := r.URL.Query()
		result := []cfRecord{}
		for _, rec := range f.records {
			if rec.ZoneID == zoneID && rec.Type == q.Get("type") && rec.Name == q.Get("name") {
				result = append(result, *rec)
			}
		}
		cfWrite(w, 200, result)
	case len(rest) == 0 && r.Method == "POST":
		rec := &cfRecord{ZoneID: zoneID, TTL: 1}
		rec.Type, _ = in["type"].(string)
		rec.Name, _ = in["name"].(string)
		for _, other := range f.records {
			if other.Name == rec.Name && other.Type == "CNAME" {
				cfWrite(w, 400, nil, "81053 An A, AAAA, or CNAME record with that host already exists.")
				return
			}
		}
		apply(rec)
		f.nextID++
		rec.ID = fmt.Sprintf("rec%029d", f.nextID)
		f.records[rec.ID] = rec
		cfWrite(w, 200, rec)
	case len(rest) == 1:
		rec, ok := f.records[rest[0]]
		if !ok || rec.ZoneID != zoneID {
			cfWrite(w, 404, nil, "81044 Record does not exist.")
			return
		}
		switch r.Method {
		case "PATCH", "PUT":
			apply(rec)
			cfWrite(w, 200, rec)
		case "DELETE":
			delete(f.records, rec.ID)
			cfWrite(w, 200, map[string]string{"id": rec.ID})
		default:
			cfWrite(w, 405, nil, "10000 method not allowed")
		}
	default:
		cfWrite(w, 404, nil, "7000 No route for that URI")
	}
}

func testCloudflare() provider.Provider {
	hc := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return provider.NewCloudflare(provider.Deps{HTTP: hc, UserAgent: provider.UserAgent("1.2.3")})
}

func cfTarget(name string, addr string) target {
	a := netip.MustParseAddr(addr)
	family := 6
	if a.Is4() {
		family = 4
	}
	return target{FQDN: name, Family: family, Address: a, Credential: cfToken}
}

// TestCloudflareCreatesUpdatesAndCaches walks one record through its life:
// created, updated (the zone id cached, the name's records read every
// time: a cached record id would miss records another host or replica
// added or left), created again after being deleted behind the broker's
// back, duplicates removed.
func TestCloudflareCreatesUpdatesAndCaches(t *testing.T) {
	api := newFakeCloudflare(t)
	cf := testCloudflare()
	settings := settingsJSON(t, map[string]any{"api_url": api.api(), "ttl": 120})
	deliver := func(name, addr string) provider.Outcome {
		t.Helper()
		out := send(context.Background(), cf, settings, cfTarget(name, addr))
		if out.Result != provider.Delivered {
			t.Fatalf("%s %s: %v %s", name, addr, out.Result, out.Message)
		}
		return out
	}
	steps := []struct {
		name, fqdn, addr string
		before           func()
		wantMsg          string
		wantCalls        []string
		want             []cfRecord // A/AAAA records of the name afterwards (type, content, ttl)
	}{
		{name: "create: zone found from the name, record created",
			fqdn: "www.example.com", addr: "198.51.100.7", wantMsg: "A www.example.com → 198.51.100.7 created (ttl 120)",
			wantCalls: []string{"GET /zones?name=www.example.com", "GET /zones?name=example.com",
				"GET /zones/" + cfZoneID + "/dns_records?name=www.example.com&per_page=100&type=A",
				"POST /zones/" + cfZoneID + "/dns_records"},
			want: []cfRecord{{Type: "A", Content: "198.51.100.7", TTL: 120}}},
		{name: "update with the zone id cached: list, one PATCH",
			fqdn: "www.example.com", addr: "198.51.100.8", wantMsg: "updated",
			wantCalls: []string{"GET /zones/" + cfZoneID + "/dns_records?name=www.example.com&per_page=100&type=A",
				"PATCH /zones/" + cfZoneID + "/dns_records/rec00000000000000000000000000001"},
			want: []cfRecord{{Type: "A", Content: "198.51.100.8", TTL: 120}}},
		{name: "AAAA of the same name: zone cached",
			fqdn: "www.example.com", addr: "2001:db8::7", wantMsg: "AAAA www.example.com → 2001:db8::7 created",
			wantCalls: []string{"GET /zones/" + cfZoneID + "/dns_records?name=www.example.com&per_page=100&type=AAAA",
				"POST /zones/" + cfZoneID + "/dns_records"},
			want: []cfRecord{{Type: "AAAA", Content: "2001:db8::7", TTL: 120}}},
		{name: "record deleted meanwhile: created again",
			fqdn: "www.example.com", addr: "198.51.100.9", wantMsg: "created",
			before: func() {
				api.mu.Lock()
				delete(api.records, "rec00000000000000000000000000001")
				api.mu.Unlock()
			},
			wantCalls: []string{"GET /zones/" + cfZoneID + "/dns_records?name=www.example.com&per_page=100&type=A",
				"POST /zones/" + cfZoneID + "/dns_records"},
			want: []cfRecord{{Type: "A", Content: "198.51.100.9", TTL: 120}}},
		{name: "existing record with the same content is left alone",
			fqdn: "same.example.com", addr: "192.0.2.5", wantMsg: "unchanged",
			before: func() {
				api.add(cfRecord{ZoneID: cfZoneID, Type: "A", Name: "same.example.com", Content: "192.0.2.5", TTL: 120})
			},
			wantCalls: []string{"GET /zones/" + cfZoneID + "/dns_records?name=same.example.com&per_page=100&type=A"},
			want:      []cfRecord{{Type: "A", Content: "192.0.2.5", TTL: 120}}},
		{name: "duplicates: the broker's first is updated, its others removed, someone else's kept",
			fqdn: "dup.example.com", addr: "192.0.2.7",
			wantMsg: "removed 1 other A record(s); left 1 A record(s) the broker did not create",
			before: func() {
				api.add(cfRecord{ZoneID: cfZoneID, Type: "A", Name: "dup.example.com", Content: "192.0.2.1", TTL: 1, Comment: "office"})
				api.add(cfRecord{ZoneID: cfZoneID, Type: "A", Name: "dup.example.com", Content: "192.0.2.2", TTL: 1, Comment: provider.ManagedMarker})
				api.add(cfRecord{ZoneID: cfZoneID, Type: "A", Name: "dup.example.com", Content: "192.0.2.3", TTL: 1, Comment: provider.ManagedMarker})
			},
			want: []cfRecord{{Type: "A", Content: "192.0.2.1", TTL: 1}, {Type: "A", Content: "192.0.2.7", TTL: 120}}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before()
			}
			api.takeCalls()
			out := deliver(st.fqdn, st.addr)
			if !strings.Contains(out.Message, st.wantMsg) {
				t.Errorf("message %q does not contain %q", out.Message, st.wantMsg)
			}
			if calls := api.takeCalls(); st.wantCalls != nil && strings.Join(calls, "\n") != strings.Join(st.wantCalls, "\n") {
				t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(st.wantCalls, "\n"))
			}
			typ := st.want[0].Type
			got := api.find(typ, st.fqdn)
			slices.SortFunc(got, func(a, b cfRecord) int { return strings.Compare(a.Content, b.Content) })
			if len(got) != len(st.want) {
				t.Fatalf("records %+v, want %+v", got, st.want)
			}
			for i := range got {
				if got[i].Content != st.want[i].Content || got[i].TTL != st.want[i].TTL {
					t.Errorf("records %+v, want %+v", got, st.want)
				}
			}
		})
	}
}

func TestCloudflareProxiedFlag(t *testing.T) {
	api := newFakeCloudflare(t)
	id := api.add(cfRecord{ZoneID: cfZoneID, Type: "A", Name: "p.example.com", Content: "192.0.2.1", TTL: 1, Proxied: true})
	cf := testCloudflare()
	// Unset: the record keeps its flag.
	out := send(context.Background(), cf, settingsJSON(t, map[string]any{"api_url": api.api(), "zone": "example.com"}), cfTarget("p.example.com", "192.0.2.2"))
	if out.Result != provider.Delivered || !api.get(id).Proxied {
		t.Fatalf("unset proxied: %v %s, proxied now %v", out.Result, out.Message, api.get(id).Proxied)
	}
	// Set: the flag follows the service.
	out = send(context.Background(), cf, settingsJSON(t, map[string]any{"api_url": api.api(), "zone": "example.com", "proxied": false}), cfTarget("p.example.com", "192.0.2.3"))
	if out.Result != provider.Delivered || api.get(id).Proxied || !strings.Contains(out.Message, "proxied false") {
		t.Fatalf("proxied false: %v %s, proxied now %v", out.Result, out.Message, api.get(id).Proxied)
	}
	// The same address with the flag changed: the record is rewritten.
	out = send(context.Background(), cf, settingsJSON(t, map[string]any{"api_url": api.api(), "zone": "example.com", "proxied": true}), cfTarget("p.example.com", "192.0.2.3"))
	if out.Result != provider.Delivered || !api.get(id).Proxied || !strings.Contains(out.Message, "updated") {
		t.Fatalf("proxied true, same address: %v %s, proxied now %v", out.Result, out.Message, api.get(id).Proxied)
	}
}

func TestCloudflareErrors(t *testing.T) {
	answer := func(status int, hdr http.Header, body string) func(w http.ResponseWriter, r *http.Request) bool {
		return func(w http.ResponseWriter, r *http.Request) bool {
			for k, v := range hdr {
				w.Header()[k] = v
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return true
		}
	}
	tests := []struct {
		name       string
		settings   map[string]any // api_url added
		target     target
		setup      func(api *fakeCloudflare)
		want       provider.Result
		wantMsg    string
		retryAfter time.Duration
	}{
		{name: "wrong token fails with Cloudflare's reason", target: target{FQDN: "www.example.com", Family: 4,
			Address: netip.MustParseAddr("192.0.2.1"), Credential: "wrong-token-1234"},
			want: provider.Failed, wantMsg: "HTTP 403: 10000 Authentication error (the token needs Zone:DNS:Edit"},
		{name: "rate limit is retried after Retry-After",
			setup: func(api *fakeCloudflare) {
				api.set(answer(429, http.Header{"Retry-After": {"30"}, "Content-Type": {"application/json"}},
					`{"success":false,"errors":[{"code":971,"message":"Please wait and consider throttling your request speed"}]}`))
			},
			want: provider.Retry, wantMsg: "HTTP 429: 971 Please wait", retryAfter: 30 * time.Second},
		{name: "5xx is retried",
			setup: func(api *fakeCloudflare) { api.set(answer(503, nil, "<html>Service Unavailable</html>")) },
			want:  provider.Retry, wantMsg: "HTTP 503: <html>Service Unavailable</html>"},
		{name: "no zone holds the name",
			target: cfTarget("www.example.net", "192.0.2.1"),
			want:   provider.Failed, wantMsg: "no Cloudflare zone holds www.example.net (asked for www.example.net, example.net)"},
		{name: "zone setting that does not hold the name", settings: map[string]any{"zone": "example.org"},
			want: provider.Failed, wantMsg: "www.example.com is not in zone example.org"},
		{name: "create refused by the API",
			setup: func(api *fakeCloudflare) {
				api.add(cfRecord{ZoneID: cfZoneID, Type: "CNAME", Name: "www.example.com", Content: "elsewhere.example."})
			},
			want: provider.Failed, wantMsg: "creating A www.example.com → 192.0.2.1: HTTP 400: 81053 An A, AAAA, or CNAME record"},
		{name: "unknown zone id",
			settings: map[string]any{"zone_id": "ffffffffffffffffffffffffffffffff"},
			want:     provider.Failed, wantMsg: "HTTP 404: 7003"},
		{name: "an answer that is not API JSON",
			setup: func(api *fakeCloudflare) { api.set(answer(200, nil, "<html>captive portal</html>")) },
			want:  provider.Failed, wantMsg: "not Cloudflare API JSON"},
		{name: "success false on HTTP 200",
			setup: func(api *fakeCloudflare) {
				api.set(answer(200, nil, `{"success":false,"errors":[{"code":1003,"message":"Invalid or missing zone id."}],"result":null}`))
			},
			want: provider.Failed, wantMsg: "1003 Invalid or missing zone id."},
		{name: "no token", target: target{FQDN: "www.example.com", Family: 4, Address: netip.MustParseAddr("192.0.2.1")},
			want: provider.Failed, wantMsg: "API token is empty"},
		{name: "redirect not followed",
			setup: func(api *fakeCloudflare) {
				api.set(answer(301, http.Header{"Location": {"https://elsewhere.example/"}}, ""))
			},
			want: provider.Failed, wantMsg: "redirect not followed"},
		{name: "a token echoed back is redacted",
			setup: func(api *fakeCloudflare) {
				api.set(answer(400, nil, `{"success":false,"errors":[{"code":6111,"message":"Invalid format for Authorization header: Bearer `+cfToken+`"}]}`))
			},
			want: provider.Failed, wantMsg: "Bearer ***"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeCloudflare(t)
			if tc.setup != nil {
				tc.setup(api)
			}
			s := map[string]any{"api_url": api.api()}
			for k, v := range tc.settings {
				s[k] = v
			}
			target := tc.target
			if target.FQDN == "" {
				target = cfTarget("www.example.com", "192.0.2.1")
			}
			out := send(context.Background(), testCloudflare(), settingsJSON(t, s), target)
			if out.Result != tc.want || !strings.Contains(out.Message, tc.wantMsg) {
				t.Fatalf("got %v %q, want %v containing %q", out.Result, out.Message, tc.want, tc.wantMsg)
			}
			if out.RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", out.RetryAfter, tc.retryAfter)
			}
			if strings.Contains(out.Message, cfToken) || len(out.Message) > 512 {
				t.Errorf("message leaks the token or is too long: %q", out.Message)
			}
		})
	}
}

func TestCloudflareNetworkErrorIsRetried(t *testing.T) {
	api := newFakeCloudflare(t)
	url := api.api()
	api.Close()
	out := send(context.Background(), testCloudflare(), settingsJSON(t, map[string]any{"api_url": url}), cfTarget("www.example.com", "192.0.2.1"))
	if out.Result != provider.Retry || !strings.Contains(out.Message, "refused") {
		t.Fatalf("got %v %q", out.Result, out.Message)
	}
}

// TestCloudflareKeepsOtherAddresses: a name holds two A records, one the
// broker's. With KeepOthers only the address the broker delivered changes;
// without it the broker's other records go but one it did not create (no
// marker) stays; records it creates carry the marker.
func TestCloudflareKeepsOtherAddresses(t *testing.T) {
	api := newFakeCloudflare(t)
	cf := testCloudflare()
	settings := settingsJSON(t, map[string]any{"api_url": api.api(), "zone_id": cfZoneID})
	contents := func(name string) []string {
		var out []string
		for _, r := range api.find("A", name) {
			out = append(out, r.Content+"/"+r.Comment)
		}
		slices.Sort(out)
		return out
	}
	sendKeep := func(name, addr, delivered string, keep bool) provider.Outcome {
		t.Helper()
		return cfDeliver(t, cf, settings, name, keep, delivered, addr)
	}

	// Our record and a second site's (which another broker made: marked).
	api.add(cfRecord{ZoneID: cfZoneID, Type: "A", Name: "multi.example.com", Content: "192.0.2.10", TTL: 1, Comment: provider.ManagedMarker})
	api.add(cfRecord{ZoneID: cfZoneID, Type: "A", Name: "multi.example.com", Content: "198.51.100.20", TTL: 1, Comment: provider.ManagedMarker})
	out := sendKeep("multi.example.com", "192.0.2.11", "192.0.2.10", true)
	want := []string{"192.0.2.11/" + provider.ManagedMarker, "198.51.100.20/" + provider.ManagedMarker}
	if got := contents("multi.example.com"); !slices.Equal(got, want) {
		t.Fatalf("keep others: records %v, want %v (%s)", got, want, out.Message)
	}
	if !strings.Contains(out.Message, "kept 1 other A record(s) (keep other addresses)") {
		t.Errorf("message %q", out.Message)
	}

	// Never delivered (delivered unknown): ours is added beside the others.
	out = sendKeep("fresh.example.com", "192.0.2.30", "", true)
	api.add(cfRecord{ZoneID: cfZoneID, Type: "A", Name: "fresh.example.com", Content: "203.0.113.1", TTL: 1})
	sendKeep("fresh.example.com", "192.0.2.31", "192.0.2.30", true)
	want = []string{"192.0.2.31/" + provider.ManagedMarker, "203.0.113.1/"}
	if got := contents("fresh.example.com"); !slices.Equal(got, want) {
		t.Fatalf("created beside others: records %v, want %v (%s)", got, want, out.Message)
	}

	// Without keeping others the name holds our address, but a record
	// without the marker is never deleted.
	api.add(cfRecord{ZoneID: cfZoneID, Type: "A", Name: "solo.example.com", Content: "203.0.113.5", TTL: 1, Comment: "the office"})
	api.add(cfRecord{ZoneID: cfZoneID, Type: "A", Name: "solo.example.com", Content: "203.0.113.6", TTL: 1, Comment: provider.ManagedMarker})
	api.add(cfRecord{ZoneID: cfZoneID, Type: "A", Name: "solo.example.com", Content: "203.0.113.7", TTL: 1, Comment: provider.ManagedMarker})
	sendKeep("solo.example.com", "192.0.2.40", "", false)
	want = []string{"192.0.2.40/" + provider.ManagedMarker, "203.0.113.5/the office"}
	if got := contents("solo.example.com"); !slices.Equal(got, want) {
		t.Fatalf("not keeping others: records %v, want %v", got, want)
	}
}

// TestCloudflareSharedName: two hosts feed one name, so a delivery asks for
// both addresses. Each gets a record of the broker's; when one host's
// address changes only its record changes; when a host leaves the name
// (its record deleted, or drop_when_stale) its record goes. With
// keep_other_addresses a record someone else made stays throughout.
func TestCloudflareSharedName(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep other addresses %t", keep), func(t *testing.T) {
			api := newFakeCloudflare(t)
			cf := testCloudflare()
			settings := settingsJSON(t, map[string]any{"api_url": api.api(), "zone_id": cfZoneID, "ttl": 300})
			var others []string
			office := ""
			if keep {
				office = api.add(cfRecord{ZoneID: cfZoneID, Type: "A", Name: "vpn.example.com", Content: "203.0.113.50", TTL: 300, Comment: "office"})
				others = []string{"203.0.113.50"}
			}
			ids := func() map[string]string {
				out := map[string]string{}
				for _, r := range api.find("A", "vpn.example.com") {
					out[r.Content] = r.ID
				}
				return out
			}
			deliver := func(delivered string, addrs ...string) provider.Outcome {
				t.Helper()
				return cfDeliver(t, cf, settings, "vpn.example.com", keep, delivered, addrs...)
			}
			holds := func(step string, want ...string) {
				t.Helper()
				var got []string
				for a := range ids() {
					got = append(got, a)
				}
				slices.Sort(got)
				want = append(want, others...)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: the name holds %v, want %v", step, got, want)
				}
				if keep && api.get(office).Content != "203.0.113.50" {
					t.Fatalf("%s: the office's record was changed: %+v", step, api.get(office))
				}
			}

			out := deliver("", "192.0.2.1", "198.51.100.2")
			holds("both hosts", "192.0.2.1", "198.51.100.2")
			if !strings.Contains(out.Message, "A vpn.example.com → 192.0.2.1, 198.51.100.2 created") {
				t.Errorf("message %q", out.Message)
			}
			for _, r := range api.find("A", "vpn.example.com") {
				if r.ID != office && r.Comment != provider.ManagedMarker {
					t.Errorf("record %+v lacks the marker", r)
				}
			}
			siteB := ids()["198.51.100.2"]

			deliver("192.0.2.1", "192.0.2.9", "198.51.100.2")
			holds("site A moved", "192.0.2.9", "198.51.100.2")
			if ids()["198.51.100.2"] != siteB {
				t.Errorf("site B's record was rewritten though its address did not change")
			}

			// Site B left: the delivery is site A's record's, and the
			// dispatcher counts what site B's record delivered as the
			// broker's too, so B's record goes even keeping others.
			out = deliver("198.51.100.2", "192.0.2.9")
			holds("site B left", "192.0.2.9")
			if !strings.Contains(out.Message, "removed 1 other A record(s)") {
				t.Errorf("message %q", out.Message)
			}
		})
	}
}

// cfDeliver sends addrs (IPv4) for name with cf and fails the test unless
// they are delivered; delivered is what the broker delivered before ("":
// nothing).
func cfDeliver(t *testing.T, cf provider.Provider, settings json.RawMessage, name string, keep bool, delivered string, addrs ...string) provider.Outcome {
	t.Helper()
	r := provider.Request[json.RawMessage]{FQDN: name, Family: 4, KeepOthers: keep, Credential: cfToken, Settings: settings}
	for _, a := range addrs {
		r.Addresses = append(r.Addresses, netip.MustParseAddr(a))
	}
	if delivered != "" {
		r.Delivered = []netip.Addr{netip.MustParseAddr(delivered)}
	}
	out := cf.Send(context.Background(), r)
	if out.Result != provider.Delivered {
		t.Fatalf("%v: %v %s", addrs, out.Result, out.Message)
	}
	return out
}
