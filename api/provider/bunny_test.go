package provider_test

import (
	"context"
	"encoding/json"
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

const bunnyKey = "b1u2n3n4y5-key-6789-abcd-ef0123456789"

// fakeBunny is bunny.net's DNS API as its reference has it: AccessKey
// header (401 otherwise), zones searched by domain, a zone with its
// records (Type 0 = A, 1 = AAAA, names relative), PUT to add, POST to
// update, DELETE; errors {"ErrorKey","Field","Message"}.
type fakeBunny struct {
	*providertest.Fake
	mu      sync.Mutex
	records map[int64]*bunnyRec // zone 42 = example.com
	nextID  int64
	calls   []string
}

type bunnyRec struct {
	ID      int64  `json:"Id"`
	Type    int    `json:"Type"`
	TTL     int    `json:"Ttl"`
	Value   string `json:"Value"`
	Name    string `json:"Name"`
	Comment string `json:"Comment"`
}

func newFakeBunny(t *testing.T) *fakeBunny {
	f := &fakeBunny{records: map[int64]*bunnyRec{}, nextID: 1000}
	f.Fake = providertest.NewFake(t, f.serve)
	return f
}

func (f *fakeBunny) add(name string, typ int, value, comment string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.records[f.nextID] = &bunnyRec{ID: f.nextID, Type: typ, TTL: 60, Value: value, Name: name, Comment: comment}
}

func (f *fakeBunny) values(name string, typ int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.records {
		if r.Name == name && r.Type == typ {
			out = append(out, r.Value+"/"+r.Comment)
		}
	}
	slices.Sort(out)
	return out
}

func bunnyErr(w http.ResponseWriter, status int, key, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"ErrorKey": key, "Field": "", "Message": msg})
}

func (f *fakeBunny) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	if r.Header.Get("AccessKey") != bunnyKey {
		w.WriteHeader(401)
		return
	}
	zone := func() map[string]any {
		recs := []bunnyRec{}
		for _, rec := range f.records {
			recs = append(recs, *rec)
		}
		return map[string]any{"Id": 42, "Domain": "example.com", "Records": recs}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "dnszone" && r.Method == http.MethodGet:
		items := []any{}
		if s := r.URL.Query().Get("search"); s == "" || strings.Contains("example.com", s) {
			items = append(items, zone())
		}
		providertest.JSON(200, mustMarshal(map[string]any{"Items": items, "CurrentPage": 1, "TotalItems": len(items), "HasMoreItems": false}))(w, r)
	case len(parts) >= 2 && parts[0] == "dnszone" && parts[1] != "42":
		bunnyErr(w, 404, "dnszone.not_found", "The requested DNS zone was not found")
	case len(parts) == 2 && r.Method == http.MethodGet:
		providertest.JSON(200, mustMarshal(zone()))(w, r)
	case len(parts) == 3 && parts[2] == "records" && r.Method == http.MethodPut:
		var in bunnyRec
		if json.NewDecoder(r.Body).Decode(&in) != nil || in.Value == "" {
			bunnyErr(w, 400, "dnsrecord.invalid", "The record is invalid")
			return
		}
		if _, err := netip.ParseAddr(in.Value); err != nil {
			bunnyErr(w, 400, "dnsrecord.invalid", "The record value is invalid")
			return
		}
		f.nextID++
		in.ID = f.nextID
		f.records[in.ID] = &in
		providertest.JSON(201, mustMarshal(in))(w, r)
	case len(parts) == 4 && parts[2] == "records":
		id, _ := strconv.ParseInt(parts[3], 10, 64)
		rec, ok := f.records[id]
		if !ok {
			bunnyErr(w, 404, "dnsrecord.not_found", "The requested DNS record was not found")
			return
		}
		switch r.Method {
		case http.MethodPost:
			var in bunnyRec
			if json.NewDecoder(r.Body).Decode(&in) != nil {
				bunnyErr(w, 400, "dnsrecord.invalid", "The record is invalid")
				return
			}
			rec.Value, rec.TTL, rec.Comment, rec.Name = in.Value, in.TTL, in.Comment, in.Name
			w.WriteHeader(204)
		case http.MethodDelete:
			delete(f.records, id)
			w.WriteHeader(204)
		}
	default:
		bunnyErr(w, 404, "not_found", "Not found")
	}
}

func mustMarshal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestBunnyAnswerTable(t *testing.T) {
	mark := "managed by ddnsbroker"
	tests := []struct {
		name       string
		settings   map[string]any
		setup      func(f *fakeBunny)
		req        provider.Request[json.RawMessage]
		want       provider.Result
		wantMsg    string
		wantAdvice string
		retryAfter time.Duration
		wantA      []string // "value/comment" of home's A records (nil: not checked)
	}{
		{name: "create, marked", req: providertest.Request("home.example.com", "198.51.100.7", "", "", bunnyKey), want: provider.Delivered,
			wantMsg: "A home.example.com → 198.51.100.7 created (ttl 60)", wantA: []string{"198.51.100.7/" + mark}},
		{name: "update", setup: func(f *fakeBunny) { f.add("home", 0, "192.0.2.1", mark) },
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", bunnyKey), want: provider.Delivered, wantMsg: "updated",
			wantA: []string{"198.51.100.7/" + mark}},
		{name: "unchanged", setup: func(f *fakeBunny) { f.add("home", 0, "198.51.100.7", mark) },
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", bunnyKey), want: provider.Delivered, wantMsg: "unchanged"},
		{name: "AAAA at the apex", settings: map[string]any{"zone": "example.com"},
			req: providertest.Request("example.com", "2001:db8::1", "", "", bunnyKey), want: provider.Delivered, wantMsg: "AAAA example.com → 2001:db8::1 created"},
		{name: "an unmarked extra record is never deleted",
			setup: func(f *fakeBunny) {
				f.add("home", 0, "192.0.2.1", mark)
				f.add("home", 0, "203.0.113.5", "")
			},
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", bunnyKey), want: provider.Delivered,
			wantMsg: "left 1 record(s) the broker did not create", wantA: []string{"198.51.100.7/" + mark, "203.0.113.5/"}},
		{name: "a marked extra record is deleted",
			setup: func(f *fakeBunny) {
				f.add("home", 0, "192.0.2.1", mark)
				f.add("home", 0, "192.0.2.2", mark)
			},
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", bunnyKey), want: provider.Delivered,
			wantMsg: "removed 1 other record(s)", wantA: []string{"198.51.100.7/" + mark}},
		{name: "keep_other_addresses: only ours changes",
			setup: func(f *fakeBunny) {
				f.add("home", 0, "192.0.2.1", mark)
				f.add("home", 0, "203.0.113.5", mark) // the second site's broker
			},
			req: func() provider.Request[json.RawMessage] {
				r := providertest.Request("home.example.com", "198.51.100.7", "", "", bunnyKey)
				r.KeepOthers, r.Delivered = true, []netip.Addr{netip.MustParseAddr("192.0.2.1")}
				return r
			}(),
			want: provider.Delivered, wantMsg: "kept 1 other", wantA: []string{"198.51.100.7/" + mark, "203.0.113.5/" + mark}},
		{name: "wrong key", req: providertest.Request("home.example.com", "198.51.100.7", "", "", "wrong-key-123456"),
			want: provider.Failed, wantMsg: "HTTP 401", wantAdvice: "bunny.net refused the API key"},
		{name: "zone not found", req: providertest.Request("home.example.org", "198.51.100.7", "", "", bunnyKey),
			want: provider.Failed, wantMsg: "no zone of the account holds home.example.org"},
		{name: "rate limited",
			setup: func(f *fakeBunny) { f.Serve(providertest.Answer(429, http.Header{"Retry-After": {"9"}}, "")) },
			req:   providertest.Request("home.example.com", "198.51.100.7", "", "", bunnyKey), want: provider.Retry,
			wantMsg: "HTTP 429", wantAdvice: provider.AdviceRateLimited, retryAfter: 9 * time.Second},
		{name: "server error", setup: func(f *fakeBunny) { f.Serve(providertest.Answer(503, nil, "unavailable")) },
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", bunnyKey), want: provider.Retry, wantMsg: "HTTP 503"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeBunny(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			s := map[string]any{"api_url": f.URL}
			for k, v := range tc.settings {
				s[k] = v
			}
			req := tc.req
			req.Settings = providertest.Settings(t, s)
			out := provider.NewBunny(providertest.Deps()).Send(context.Background(), req)
			if out.Result != tc.want || !strings.Contains(out.Message, tc.wantMsg) || !strings.Contains(out.Advice, tc.wantAdvice) {
				t.Fatalf("got %v %q (advice %q), want %v with %q (advice %q)", out.Result, out.Message, out.Advice, tc.want, tc.wantMsg, tc.wantAdvice)
			}
			if out.RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter %v, want %v", out.RetryAfter, tc.retryAfter)
			}
			providertest.CheckOutcome(t, out, bunnyKey, req.Credential)
			if got := f.values("home", 0); tc.wantA != nil && !slices.Equal(got, tc.wantA) {
				t.Errorf("A records %v, want %v", got, tc.wantA)
			}
		})
	}
}

func TestBunnyCheck(t *testing.T) {
	p := provider.NewBunny(providertest.Deps())
	for _, tc := range []struct {
		name, fqdn, key string
		want            []string
	}{
		{"good", "home.example.com", bunnyKey, []string{"credentials accepted: passed", "zone found: passed", "may edit records: unchecked"}},
		{"bad key", "home.example.com", "wrong-key-123456", []string{"credentials accepted: failed"}},
		{"zone missing", "home.example.org", bunnyKey, []string{"credentials accepted: passed", "zone found: failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeBunny(t)
			steps := p.Check(context.Background(), provider.CheckRequest[json.RawMessage]{FQDN: tc.fqdn, Credential: tc.key,
				Settings: providertest.Settings(t, map[string]any{"api_url": f.URL})})
			var got []string
			for _, s := range steps {
				got = append(got, s.Name+": "+string(s.Status))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("steps %v, want %v", got, tc.want)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, c := range f.calls {
				if !strings.HasPrefix(c, "GET ") {
					t.Errorf("the check sent %s", c)
				}
			}
		})
	}
}

func TestBunnySettings(t *testing.T) {
	p := provider.NewBunny(providertest.Deps())
	providertest.Describe(t, p)
	providertest.Validate(t, p, `{"zone": "example.com", "ttl": 300}`, provider.Has{Credential: true})
	providertest.Validate(t, p, `{"zone": "not a zone", "ttl": 5}`, provider.Has{Credential: true},
		"settings.zone: must be a domain name", "settings.ttl: must be 15..86400")
}
