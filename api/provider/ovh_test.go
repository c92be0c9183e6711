package provider_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const (
	ovhAK       = "7kbG7Bk7S9Nt7ZSV"
	ovhAS       = "EXEgWIz07P0HYwtQDs7cNIqCiQaWSuHF"
	ovhCK       = "MtSwSrPpNjqfVSmJhLbPyr2i45lSDTJh"
	ovhReadOnly = "ReadOnlyConsumerKey0123456789abc"
	ovhCred     = ovhAS + ":" + ovhCK
)

// ovhFake is OVHcloud's API as "First steps with the OVHcloud API"
// describes its authentication and the API console its /domain/zone
// routes: every call but /auth/time carries X-Ovh-Application,
// X-Ovh-Consumer, X-Ovh-Timestamp and X-Ovh-Signature, which the fake
// recomputes from the application secret it knows ("$1$" + SHA1 of
// AS+CK+METHOD+URL+BODY+TIMESTAMP); its clock is an hour ahead of the
// test's, so a client that signs with its own time instead of /auth/time
// is refused. Records change in a draft that POST .../refresh publishes.
type ovhFake struct {
	mu     sync.Mutex
	skew   time.Duration
	zones  map[string]bool
	draft  map[int64]*ovhRec // the records as the API edits them
	live   map[int64]ovhRec  // what the zone serves: the draft at the last refresh
	nextID int64
	// failRefresh makes the next refresh answer 500.
	failRefresh bool
	refreshes   int
}

type ovhRec struct {
	ID        int64  `json:"id"`
	Zone      string `json:"zone"`
	FieldType string `json:"fieldType"`
	SubDomain string `json:"subDomain"`
	Target    string `json:"target"`
	TTL       int    `json:"ttl"`
}

func newOVHFake() *ovhFake {
	return &ovhFake{skew: time.Hour, zones: map[string]bool{"example.com": true, "sub.example.com": true},
		draft: map[int64]*ovhRec{}, live: map[int64]ovhRec{}, nextID: 5051234560}
}

func (f *ovhFake) add(sub, typ, target string, ttl int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	r := ovhRec{ID: f.nextID, Zone: "example.com", FieldType: typ, SubDomain: sub, Target: target, TTL: ttl}
	f.draft[r.ID] = &r
	f.live[r.ID] = r
}

// served lists what the zone serves for sub and typ, "target/ttl", sorted.
func (f *ovhFake) served(sub, typ string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.live {
		if r.SubDomain == sub && r.FieldType == typ {
			out = append(out, r.Target+"/"+strconv.Itoa(r.TTL))
		}
	}
	sort.Strings(out)
	return out
}

func ovhErr(w http.ResponseWriter, status int, body string) {
	w.Header().Set("X-Ovh-Queryid", "EU.ext-1.6530e0d8.12345.abc")
	providertest.JSON(status, body)(w, nil)
}

func (f *ovhFake) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/1.0")
	now := time.Now().Add(f.skew)
	if path == "/auth/time" {
		providertest.JSON(200, strconv.FormatInt(now.Unix(), 10))(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	h := r.Header
	switch {
	case h.Get("X-Ovh-Application") != ovhAK:
		ovhErr(w, 403, `{"errorCode":"INVALID_KEY","httpCode":"403 Forbidden","message":"Invalid application key"}`)
		return
	case h.Get("X-Ovh-Consumer") != ovhCK && h.Get("X-Ovh-Consumer") != ovhReadOnly:
		ovhErr(w, 403, `{"errorCode":"INVALID_CREDENTIAL","httpCode":"403 Forbidden","message":"This credential is not valid"}`)
		return
	}
	ts, _ := strconv.ParseInt(h.Get("X-Ovh-Timestamp"), 10, 64)
	target := "http://" + r.Host + r.URL.RequestURI()
	sum := sha1.Sum([]byte(ovhAS + "+" + h.Get("X-Ovh-Consumer") + "+" + r.Method + "+" + target + "+" + string(body) + "+" + h.Get("X-Ovh-Timestamp")))
	if h.Get("X-Ovh-Signature") != "$1$"+hex.EncodeToString(sum[:]) {
		ovhErr(w, 400, `{"errorCode":"INVALID_SIGNATURE","httpCode":"400 Bad Request","message":"Invalid signature"}`)
		return
	}
	if d := now.Unix() - ts; d > 60 || d < -60 {
		// The exact error of a stale timestamp is not documented.
		ovhErr(w, 400, `{"errorCode":"QUERY_TIME_OUT","httpCode":"400 Bad Request","message":"Query out of time"}`)
		return
	}
	if len(body) > 0 && !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		ovhErr(w, 400, `{"class":"Client::BadRequest","message":"Content-Type must be application/json"}`)
		return
	}
	if h.Get("X-Ovh-Consumer") == ovhReadOnly && r.Method != http.MethodGet {
		ovhErr(w, 403, `{"errorCode":"NOT_GRANTED_CALL","httpCode":"403 Forbidden","message":"This call has not been granted"}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if path == "/auth/currentCredential" {
		rules := `[{"method":"GET","path":"/domain/zone/*"},{"method":"POST","path":"/domain/zone/*"},{"method":"PUT","path":"/domain/zone/*"},{"method":"DELETE","path":"/domain/zone/*"}]`
		if h.Get("X-Ovh-Consumer") == ovhReadOnly {
			rules = `[{"method":"GET","path":"/*"}]`
		}
		providertest.JSON(200, `{"credentialId":1,"status":"validated","rules":`+rules+`}`)(w, r)
		return
	}
	if path == "/domain/zone" && r.Method == http.MethodGet {
		var list []string
		for z := range f.zones {
			list = append(list, z)
		}
		sort.Strings(list)
		b, _ := json.Marshal(list)
		providertest.JSON(200, string(b))(w, r)
		return
	}
	parts := strings.Split(strings.TrimPrefix(path, "/domain/zone/"), "/")
	if !strings.HasPrefix(path, "/domain/zone/") || !f.zones[parts[0]] {
		ovhErr(w, 404, `{"class":"Client::NotFound","message":"This service does not exist"}`)
		return
	}
	zone := parts[0]
	var in ovhRec
	if len(body) > 0 && json.Unmarshal(body, &in) != nil {
		ovhErr(w, 400, `{"class":"Client::BadRequest","message":"Invalid JSON"}`)
		return
	}
	badTarget := func() bool {
		_, err := netip.ParseAddr(in.Target)
		return err != nil
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		providertest.JSON(200, `{"name":"`+zone+`","hasDnsAnycast":false,"nameServers":["dns1.ovh.net"]}`)(w, r)
	case len(parts) == 2 && parts[1] == "refresh" && r.Method == http.MethodPost:
		if f.failRefresh {
			f.failRefresh = false
			ovhErr(w, 500, `{"class":"Server::InternalServerError","message":"Internal server error"}`)
			return
		}
		f.refreshes++
		f.live = map[int64]ovhRec{}
		for id, rec := range f.draft {
			f.live[id] = *rec
		}
		w.WriteHeader(204)
	case len(parts) == 2 && parts[1] == "record" && r.Method == http.MethodGet:
		q := r.URL.Query()
		ids := []int64{}
		for id, rec := range f.draft {
			if rec.Zone == zone && (!q.Has("fieldType") || rec.FieldType == q.Get("fieldType")) && (!q.Has("subDomain") || rec.SubDomain == q.Get("subDomain")) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		b, _ := json.Marshal(ids)
		providertest.JSON(200, string(b))(w, r)
	case len(parts) == 2 && parts[1] == "record" && r.Method == http.MethodPost:
		if badTarget() || (in.FieldType != "A" && in.FieldType != "AAAA") {
			ovhErr(w, 400, `{"class":"Client::BadRequest","message":"Invalid target"}`)
			return
		}
		f.nextID++
		in.ID, in.Zone = f.nextID, zone
		if in.TTL > 0 && in.TTL < 60 {
			in.TTL = 60
		}
		f.draft[in.ID] = &in
		b, _ := json.Marshal(in)
		providertest.JSON(200, string(b))(w, r)
	case len(parts) == 3 && parts[1] == "record":
		id, _ := strconv.ParseInt(parts[2], 10, 64)
		rec := f.draft[id]
		if rec == nil || rec.Zone != zone {
			ovhErr(w, 404, fmt.Sprintf(`{"class":"Client::NotFound","message":"The requested object (id = %s) does not exist"}`, parts[2]))
			return
		}
		switch r.Method {
		case http.MethodGet:
			b, _ := json.Marshal(rec)
			providertest.JSON(200, string(b))(w, r)
		case http.MethodPut:
			if badTarget() {
				ovhErr(w, 400, `{"class":"Client::BadRequest","message":"Invalid target"}`)
				return
			}
			rec.SubDomain, rec.Target, rec.TTL = in.SubDomain, in.Target, in.TTL
			providertest.JSON(200, "null")(w, r)
		case http.MethodDelete:
			delete(f.draft, id)
			providertest.JSON(200, "null")(w, r)
		}
	default:
		ovhErr(w, 404, `{"class":"Client::NotFound","message":"Got an invalid (or empty) URL"}`)
	}
}

func ovhSettings(extra map[string]any) map[string]any {
	s := map[string]any{"application_key": ovhAK}
	for k, v := range extra {
		s[k] = v
	}
	return s
}

// TestOVHAnswerTable: create, update, unchanged, keep_other_addresses,
// the signature (a wrong secret fails), the refresh, and OVH's errors.
func TestOVHAnswerTable(t *testing.T) {
	req := func(fqdn, addr, cred string) provider.Request[json.RawMessage] {
		return providertest.Request(fqdn, addr, "", "", cred)
	}
	zone := ovhSettings(map[string]any{"zone": "example.com"})
	keep := req("home.example.com", "198.51.100.9", ovhCred)
	keep.KeepOthers, keep.Delivered = true, []netip.Addr{netip.MustParseAddr("198.51.100.7")}
	notKeep := keep
	notKeep.KeepOthers = false
	type row struct {
		c         providertest.Case
		setup     func(f *ovhFake)
		sub, typ  string
		want      []string // served afterwards, "target/ttl"
		refreshes int
	}
	rows := []row{
		{c: providertest.Case{Name: "created: zone found among the account's, refreshed", Settings: ovhSettings(nil),
			Request: req("home.example.com", "198.51.100.7", ovhCred), Requests: 5,
			Want: provider.Delivered, WantMessage: "A home.example.com → 198.51.100.7 created (ttl 60), zone refreshed",
			Check: func(t *testing.T, seen []providertest.Seen) {
				var calls []string
				for _, s := range seen {
					calls = append(calls, s.Method+" "+s.Path+" "+s.Query.Encode())
				}
				want := []string{"GET /1.0/auth/time ", "GET /1.0/domain/zone ", "GET /1.0/domain/zone/example.com/record fieldType=A&subDomain=home",
					"POST /1.0/domain/zone/example.com/record ", "POST /1.0/domain/zone/example.com/refresh "}
				if !slices.Equal(calls, want) || seen[3].Body != `{"fieldType":"A","subDomain":"home","target":"198.51.100.7","ttl":60}` {
					t.Errorf("calls\n%s\nbody %s", strings.Join(calls, "\n"), seen[3].Body)
				}
			}},
			sub: "home", typ: "A", want: []string{"198.51.100.7/60"}, refreshes: 1},
		{c: providertest.Case{Name: "sub-zone chosen over its parent, AAAA updated", Settings: ovhSettings(map[string]any{"ttl": 300}),
			Request: req("h.sub.example.com", "2001:db8::2", ovhCred), Requests: 6, Want: provider.Delivered, WantMessage: "AAAA h.sub.example.com → 2001:db8::2 updated"},
			setup: func(f *ovhFake) {
				f.mu.Lock()
				f.nextID++
				f.draft[f.nextID] = &ovhRec{ID: f.nextID, Zone: "sub.example.com", FieldType: "AAAA", SubDomain: "h", Target: "2001:db8::1", TTL: 300}
				f.mu.Unlock()
			}, refreshes: 1},
		{c: providertest.Case{Name: "unchanged: no write, no refresh", Settings: zone, Request: req("home.example.com", "198.51.100.7", ovhCred),
			Requests: 3, Want: provider.Delivered, WantMessage: "198.51.100.7 unchanged (ttl 60)"},
			setup: func(f *ovhFake) { f.add("home", "A", "198.51.100.7", 60) },
			sub:   "home", typ: "A", want: []string{"198.51.100.7/60"}},
		{c: providertest.Case{Name: "keep_other_addresses: only ours changes", Settings: zone, Request: keep, Requests: 6,
			Want: provider.Delivered, WantMessage: "updated"},
			setup: func(f *ovhFake) { f.add("home", "A", "203.0.113.5", 60); f.add("home", "A", "198.51.100.7", 60) },
			sub:   "home", typ: "A", want: []string{"198.51.100.9/60", "203.0.113.5/60"}, refreshes: 1},
		{c: providertest.Case{Name: "without keep_other_addresses the name holds only ours", Settings: zone, Request: notKeep, Requests: 7,
			Want: provider.Delivered, WantMessage: "1 updated, 1 removed"},
			setup: func(f *ovhFake) { f.add("home", "A", "203.0.113.5", 60); f.add("home", "A", "198.51.100.7", 60) },
			sub:   "home", typ: "A", want: []string{"198.51.100.9/60"}, refreshes: 1},
		{c: providertest.Case{Name: "wrong application secret: the signature is refused", Settings: zone,
			Request: req("home.example.com", "198.51.100.7", "WrongSecretWrongSecretWrongSecr:"+ovhCK), Requests: 2,
			Want: provider.Failed, WantMessage: "HTTP 400: INVALID_SIGNATURE: Invalid signature (query id EU.", WantAdvice: "check the application secret"}},
		{c: providertest.Case{Name: "unknown application key", Settings: ovhSettings(map[string]any{"zone": "example.com", "application_key": "UnknownAppKey000"}),
			Request: req("home.example.com", "198.51.100.7", ovhCred), Requests: 2,
			Want: provider.Failed, WantMessage: "HTTP 403: INVALID_KEY", WantAdvice: "check the service's application_key"}},
		{c: providertest.Case{Name: "consumer key not valid", Settings: zone,
			Request: req("home.example.com", "198.51.100.7", ovhAS+":NotValidatedConsumerKey00000000"), Requests: 2,
			Want: provider.Failed, WantMessage: "HTTP 403: INVALID_CREDENTIAL: This credential is not valid", WantAdvice: "validation URL"}},
		{c: providertest.Case{Name: "consumer key without write rights", Settings: zone,
			Request: req("home.example.com", "198.51.100.7", ovhAS+":"+ovhReadOnly), Requests: 3,
			Want: provider.Failed, WantMessage: "creating A home.example.com → 198.51.100.7: HTTP 403: NOT_GRANTED_CALL", WantAdvice: "GET, POST, PUT and DELETE on /domain/zone/*"}},
		{c: providertest.Case{Name: "zone not in the account", Settings: ovhSettings(map[string]any{"zone": "example.net"}),
			Request: req("home.example.net", "198.51.100.7", ovhCred), Requests: 2,
			Want: provider.Failed, WantMessage: "HTTP 404: Client::NotFound: This service does not exist", WantAdvice: "check the service's zone and region"}},
		{c: providertest.Case{Name: "no zone holds the name", Settings: ovhSettings(nil),
			Request: req("home.example.net", "198.51.100.7", ovhCred), Requests: 2,
			Want: provider.Failed, WantMessage: "no zone of the account holds home.example.net"}},
		{c: providertest.Case{Name: "refresh fails: retried", Settings: zone, Request: req("home.example.com", "198.51.100.7", ovhCred), Requests: 4,
			Want: provider.Retry, WantMessage: "refreshing zone example.com: HTTP 500"},
			setup: func(f *ovhFake) { f.failRefresh = true }},
		{c: providertest.Case{Name: "rate limited", Settings: zone, Request: req("home.example.com", "198.51.100.7", ovhCred),
			Serve: providertest.Answer(429, http.Header{"Retry-After": {"10"}}, `{"message":"Too many requests"}`),
			Want:  provider.Retry, WantMessage: "HTTP 429", WantAdvice: provider.AdviceRateLimited, WantRetryAfter: 10 * time.Second}},
		{c: providertest.Case{Name: "server error", Settings: zone, Request: req("home.example.com", "198.51.100.7", ovhCred),
			Serve: providertest.Answer(503, nil, "<html>503</html>"), Want: provider.Retry, WantMessage: "HTTP 503"}},
	}
	for _, rw := range rows {
		f := newOVHFake()
		if rw.setup != nil {
			rw.setup(f)
		}
		if rw.c.Serve == nil {
			rw.c.Serve = f.serve
		}
		rw.c.Path = "/1.0"
		providertest.Run(t, provider.NewOVH(providertest.Deps()), "api_url", []providertest.Case{rw.c})
		t.Run(rw.c.Name+" state", func(t *testing.T) {
			if rw.want != nil {
				if got := f.served(rw.sub, rw.typ); !slices.Equal(got, rw.want) {
					t.Errorf("served %v, want %v", got, rw.want)
				}
			}
			if f.refreshes != rw.refreshes {
				t.Errorf("%d refreshes, want %d", f.refreshes, rw.refreshes)
			}
		})
	}
}

// TestOVHRefreshAfterAFailedOne: records written but not refreshed are
// published by the next delivery, although it finds nothing to change.
func TestOVHRefreshAfterAFailedOne(t *testing.T) {
	f := newOVHFake()
	f.failRefresh = true
	fake := providertest.NewFake(t, f.serve)
	p := provider.NewOVH(providertest.Deps())
	r := providertest.Request("home.example.com", "198.51.100.7", "", "", ovhCred)
	r.Settings = providertest.Settings(t, ovhSettings(map[string]any{"zone": "example.com", "api_url": fake.URL + "/1.0"}))
	if out := p.Send(t.Context(), r); out.Result != provider.Retry {
		t.Fatalf("first attempt: %v %s", out.Result, out.Message)
	}
	if got := f.served("home", "A"); len(got) != 0 {
		t.Fatalf("served before any refresh: %v", got)
	}
	out := p.Send(t.Context(), r)
	if out.Result != provider.Delivered || !strings.Contains(out.Message, "unchanged (ttl 60), zone refreshed") {
		t.Fatalf("second attempt: %v %s", out.Result, out.Message)
	}
	if got := f.served("home", "A"); !slices.Equal(got, []string{"198.51.100.7/60"}) {
		t.Fatalf("served %v", got)
	}
}

func TestOVHCheck(t *testing.T) {
	f := newOVHFake()
	check := func(name, fqdn, cred string, want ...providertest.StepWant) providertest.CheckCase {
		return providertest.CheckCase{Name: name, Path: "/1.0", Serve: f.serve, Settings: ovhSettings(nil),
			Request: provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: cred}, Want: want}
	}
	passed := providertest.StepWant{Name: "credentials accepted", Status: provider.StepPassed}
	zoneFound := providertest.StepWant{Name: "zone found", Status: provider.StepPassed}
	providertest.RunChecks(t, provider.NewOVH(providertest.Deps()), "api_url", []providertest.CheckCase{
		check("good keys and zone", "home.example.com", ovhCred, passed, zoneFound,
			providertest.StepWant{Name: "may edit records", Status: provider.StepPassed}),
		check("wrong secret", "home.example.com", "WrongSecretWrongSecretWrongSecr:"+ovhCK,
			providertest.StepWant{Name: "credentials accepted", Status: provider.StepFailed}),
		check("missing zone", "home.example.net", ovhCred, passed, providertest.StepWant{Name: "zone found", Status: provider.StepFailed}),
		check("read-only consumer key", "home.example.com", ovhAS+":"+ovhReadOnly, passed, zoneFound,
			providertest.StepWant{Name: "may edit records", Status: provider.StepFailed}),
	})
}

// TestOVHOneRequestPerAttempt: the fake answers every request alike, with
// a time, so warm-up attempts stop at the record list (not a list) after
// leaving idle connections behind; the measured attempt's first request
// then meets the misbehaving provider.
func TestOVHOneRequestPerAttempt(t *testing.T) {
	providertest.OneRequestPerAttempt(t, provider.NewOVH, "1700000000",
		func(url string) map[string]any {
			return ovhSettings(map[string]any{"api_url": url, "zone": "example.com"})
		},
		func(int) provider.Request[json.RawMessage] {
			return providertest.Request("home.example.com", "198.51.100.7", "", "", ovhCred)
		})
}

func TestOVHValidate(t *testing.T) {
	p := provider.NewOVH(providertest.Deps())
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{"application_key":"`+ovhAK+`","endpoint":"ovh-ca","zone":"example.com","ttl":0}`, has)
	providertest.Validate(t, p, `{}`, has, "settings.application_key: is required")
	providertest.Validate(t, p, `{"application_key":"x","endpoint":"ovh-mars"}`, has, "settings.endpoint: must be one of ovh-eu")
	providertest.Validate(t, p, `{"application_key":"x","ttl":-1}`, has, "settings.ttl: must be 0..86400")
	for cred, ok := range map[string]bool{ovhCred: true, ovhAS: false, ovhAS + ":": false, "a:b:c": false} {
		if errs := p.ValidateCredential(cred); (len(errs) == 0) != ok {
			t.Errorf("credential %q: %v", cred, errs)
		}
	}
	for endpoint, dest := range map[string]string{"": "https://eu.api.ovh.com:443", "ovh-ca": "https://ca.api.ovh.com:443", "ovh-us": "https://api.us.ovhcloud.com:443"} {
		got := p.Destinations(json.RawMessage(`{"application_key":"x","endpoint":"` + endpoint + `"}`))
		if !slices.Equal(got, []string{dest}) {
			t.Errorf("endpoint %q: destinations %v, want %s", endpoint, got, dest)
		}
	}
}

// TestOVHSignature checks the signer against a signature computed by
// hand from OVH's formula.
func TestOVHSignature(t *testing.T) {
	f := newOVHFake()
	f.skew = 0
	fake := providertest.NewFake(t, f.serve)
	p := provider.NewOVH(providertest.Deps())
	r := providertest.Request("home.example.com", "198.51.100.7", "", "", ovhCred)
	r.Settings = providertest.Settings(t, ovhSettings(map[string]any{"zone": "example.com", "api_url": fake.URL + "/1.0"}))
	if out := p.Send(t.Context(), r); out.Result != provider.Delivered {
		t.Fatalf("%v %s", out.Result, out.Message)
	}
	for _, s := range fake.Requests()[1:] {
		u := fake.URL + s.Path
		if len(s.Query) > 0 {
			u += "?" + s.Query.Encode()
		}
		sum := sha1.Sum([]byte(strings.Join([]string{ovhAS, ovhCK, s.Method, u, s.Body, s.Header.Get("X-Ovh-Timestamp")}, "+")))
		if got := s.Header.Get("X-Ovh-Signature"); got != "$1$"+hex.EncodeToString(sum[:]) {
			t.Errorf("%s %s signed %s", s.Method, u, got)
		}
	}
}
