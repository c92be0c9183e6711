package provider_test

import (
	"encoding/json"
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
	godaddyCred       = "dKxyz12345_AbCdEfGhIjKlMn:SeCrEt0123456789abcd"
	godaddyIneligible = "dLsmall0000_AccountKey0000:SmallSecret0000000000"
)

// godaddyFake is GoDaddy's Domains API v1 as its reference
// (https://developer.godaddy.com/doc/endpoint/domains) describes it:
// Authorization "sso-key KEY:SECRET", domains by name, records by type and
// relative name, PUT with an array replacing them all, Error answers
// {code, message, fields}; an account that does not qualify gets 403
// ACCESS_DENIED with valid keys.
type godaddyFake struct {
	mu      sync.Mutex
	domains map[string]bool
	records map[string][]godaddyRec // "domain/type/name"
	puts    int
}

type godaddyRec struct {
	Data string `json:"data"`
	Name string `json:"name"`
	TTL  int    `json:"ttl"`
	Type string `json:"type"`
}

func newGoDaddyFake() *godaddyFake {
	return &godaddyFake{domains: map[string]bool{"example.com": true}, records: map[string][]godaddyRec{}}
}

func (f *godaddyFake) set(typ, name string, ttl int, datas ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var recs []godaddyRec
	for _, d := range datas {
		recs = append(recs, godaddyRec{Data: d, Name: name, TTL: ttl, Type: typ})
	}
	f.records["example.com/"+typ+"/"+name] = recs
}

func (f *godaddyFake) datas(typ, name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.records["example.com/"+typ+"/"+name] {
		out = append(out, r.Data)
	}
	return out
}

func (f *godaddyFake) serve(w http.ResponseWriter, r *http.Request) {
	switch auth := r.Header.Get("Authorization"); auth {
	case "sso-key " + godaddyCred:
	case "sso-key " + godaddyIneligible:
		providertest.JSON(403, `{"code":"ACCESS_DENIED","message":"Authenticated user is not allowed access"}`)(w, r)
		return
	case "":
		providertest.JSON(401, `{"code":"MISSING_CREDENTIALS","message":"Unauthorized : Credentials must be specified"}`)(w, r)
		return
	default:
		providertest.JSON(401, `{"code":"UNABLE_TO_AUTHENTICATE","message":"Unauthorized : Could not authenticate API key/secret"}`)(w, r)
		return
	}
	rest, _ := strings.CutPrefix(r.URL.Path, "/v1/domains")
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	if rest == "" {
		providertest.JSON(200, `[{"domain":"example.com","domainId":1234,"status":"ACTIVE"}]`)(w, r)
		return
	}
	if !f.domains[parts[0]] {
		providertest.JSON(404, `{"code":"UNKNOWN_DOMAIN","message":"The given domain is not registered, or does not have a zone file"}`)(w, r)
		return
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		providertest.JSON(200, `{"domain":"`+parts[0]+`","domainId":1234,"status":"ACTIVE","nameServers":["ns1.domaincontrol.com"]}`)(w, r)
	case len(parts) == 4 && parts[1] == "records" && r.Method == http.MethodGet:
		recs := f.records[parts[0]+"/"+parts[2]+"/"+parts[3]]
		if recs == nil {
			recs = []godaddyRec{}
		}
		b, _ := json.Marshal(recs)
		providertest.JSON(200, string(b))(w, r)
	case len(parts) == 4 && parts[1] == "records" && r.Method == http.MethodPut:
		var in []struct {
			Data *string `json:"data"`
			TTL  int     `json:"ttl"`
		}
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&in) != nil {
			providertest.JSON(422, `{"code":"INVALID_BODY","fields":[{"code":"UNEXPECTED_TYPE","message":"is not a array","path":"records"}],"message":"Request body doesn't fulfill schema, see details in `+"`fields`"+`"}`)(w, r)
			return
		}
		var recs []godaddyRec
		for _, rec := range in {
			if rec.Data == nil {
				providertest.JSON(422, `{"code":"INVALID_BODY","fields":[{"code":"MISSING_REQUIRED","message":"is required","path":"records[0].data"}],"message":"Request body doesn't fulfill schema"}`)(w, r)
				return
			}
			if a, err := netip.ParseAddr(*rec.Data); err != nil || a.Is4() != (parts[2] == "A") {
				providertest.JSON(400, `{"code":"INVALID_VALUE_ENUM","message":"data is not a valid address"}`)(w, r)
				return
			}
			recs = append(recs, godaddyRec{Data: *rec.Data, Name: parts[3], TTL: rec.TTL, Type: parts[2]})
		}
		f.puts++
		f.records[parts[0]+"/"+parts[2]+"/"+parts[3]] = recs
		w.WriteHeader(200)
	default:
		providertest.JSON(404, `{"code":"NOT_FOUND","message":"Not found"}`)(w, r)
	}
}

// TestGoDaddyAnswerTable: create, update, unchanged, keep_other_addresses
// and GoDaddy's errors.
func TestGoDaddyAnswerTable(t *testing.T) {
	req := func(fqdn, addr, cred string) provider.Request[json.RawMessage] {
		return providertest.Request(fqdn, addr, "", "", cred)
	}
	zone := map[string]any{"zone": "example.com"}
	keep := req("home.example.com", "198.51.100.9", godaddyCred)
	keep.KeepOthers, keep.Delivered = true, []netip.Addr{netip.MustParseAddr("198.51.100.7")}
	notKeep := keep
	notKeep.KeepOthers = false
	type row struct {
		c         providertest.Case
		setup     func(f *godaddyFake)
		typ, name string
		want      []string
		puts      int
	}
	rows := []row{
		{c: providertest.Case{Name: "created, domain found from the name", Request: req("home.example.com", "198.51.100.7", godaddyCred), Requests: 4,
			Want: provider.Delivered, WantMessage: "A home.example.com → 198.51.100.7 created (ttl 600)",
			Check: func(t *testing.T, seen []providertest.Seen) {
				var calls []string
				for _, s := range seen {
					calls = append(calls, s.Method+" "+s.Path)
				}
				want := []string{"GET /v1/domains/home.example.com", "GET /v1/domains/example.com",
					"GET /v1/domains/example.com/records/A/home", "PUT /v1/domains/example.com/records/A/home"}
				if !slices.Equal(calls, want) || seen[3].Body != `[{"data":"198.51.100.7","ttl":600}]` ||
					seen[3].Header.Get("Authorization") != "sso-key "+godaddyCred {
					t.Errorf("calls %v body %s", calls, seen[3].Body)
				}
			}},
			typ: "A", name: "home", want: []string{"198.51.100.7"}, puts: 1},
		{c: providertest.Case{Name: "apex AAAA updated", Settings: map[string]any{"zone": "example.com", "ttl": 3600},
			Request: req("example.com", "2001:db8::2", godaddyCred), Requests: 2, Want: provider.Delivered, WantMessage: "AAAA example.com → 2001:db8::2 updated (ttl 3600)"},
			setup: func(f *godaddyFake) { f.set("AAAA", "@", 3600, "2001:db8::1") },
			typ:   "AAAA", name: "@", want: []string{"2001:db8::2"}, puts: 1},
		{c: providertest.Case{Name: "unchanged: no write", Settings: zone, Request: req("home.example.com", "198.51.100.7", godaddyCred),
			Want: provider.Delivered, WantMessage: "unchanged"},
			setup: func(f *godaddyFake) { f.set("A", "home", 600, "198.51.100.7") },
			typ:   "A", name: "home", want: []string{"198.51.100.7"}},
		{c: providertest.Case{Name: "keep_other_addresses: only ours changes", Settings: zone, Request: keep, Requests: 2,
			Want: provider.Delivered, WantMessage: "updated"},
			setup: func(f *godaddyFake) { f.set("A", "home", 600, "203.0.113.5", "198.51.100.7") },
			typ:   "A", name: "home", want: []string{"203.0.113.5", "198.51.100.9"}, puts: 1},
		{c: providertest.Case{Name: "without keep_other_addresses the name holds only ours", Settings: zone, Request: notKeep, Requests: 2,
			Want: provider.Delivered, WantMessage: "updated"},
			setup: func(f *godaddyFake) { f.set("A", "home", 600, "203.0.113.5", "198.51.100.7") },
			typ:   "A", name: "home", want: []string{"198.51.100.9"}, puts: 1},
		{c: providertest.Case{Name: "wrong key", Settings: zone, Request: req("home.example.com", "198.51.100.7", "wrongkey:wrongsecret"),
			Want: provider.Failed, WantMessage: "HTTP 401: UNABLE_TO_AUTHENTICATE: Unauthorized : Could not authenticate", WantAdvice: "not a test \"OTE\" key"}},
		{c: providertest.Case{Name: "account not allowed", Settings: zone, Request: req("home.example.com", "198.51.100.7", godaddyIneligible),
			Want: provider.Failed, WantMessage: "HTTP 403: ACCESS_DENIED", WantAdvice: "accounts that qualify"}},
		{c: providertest.Case{Name: "domain not in the account", Settings: map[string]any{"zone": "example.net"},
			Request: req("home.example.net", "198.51.100.7", godaddyCred),
			Want:    provider.Failed, WantMessage: "HTTP 404: UNKNOWN_DOMAIN", WantAdvice: "check the service's domain"}},
		{c: providertest.Case{Name: "no domain holds the name", Request: req("home.example.net", "198.51.100.7", godaddyCred), Requests: 2,
			Want: provider.Failed, WantMessage: "no domain of the account holds home.example.net"}},
		{c: providertest.Case{Name: "rate limited: retryAfterSec", Settings: zone, Request: req("home.example.com", "198.51.100.7", godaddyCred),
			Serve: providertest.JSON(429, `{"code":"TOO_MANY_REQUESTS","message":"Too many requests received within interval","retryAfterSec":42}`),
			Want:  provider.Retry, WantMessage: "HTTP 429: TOO_MANY_REQUESTS", WantAdvice: "60 requests a minute", WantRetryAfter: 42 * time.Second}},
		{c: providertest.Case{Name: "server error", Settings: zone, Request: req("home.example.com", "198.51.100.7", godaddyCred),
			Serve: providertest.JSON(500, `{"code":"INTERNAL_SERVER_ERROR","message":"Internal server error"}`), Want: provider.Retry, WantMessage: "HTTP 500"}},
		{c: providertest.Case{Name: "secret echoed back is redacted", Settings: zone, Request: req("home.example.com", "198.51.100.7", godaddyCred),
			Serve: providertest.JSON(400, `{"code":"BAD","message":"bad header sso-key `+godaddyCred+`"}`), Want: provider.Failed, WantMessage: "sso-key ***"}},
	}
	for _, rw := range rows {
		f := newGoDaddyFake()
		if rw.setup != nil {
			rw.setup(f)
		}
		if rw.c.Serve == nil {
			rw.c.Serve = f.serve
		}
		providertest.Run(t, provider.NewGoDaddy(providertest.Deps()), "api_url", []providertest.Case{rw.c})
		t.Run(rw.c.Name+" state", func(t *testing.T) {
			if rw.want != nil {
				if got := f.datas(rw.typ, rw.name); !slices.Equal(got, rw.want) {
					t.Errorf("records %v, want %v", got, rw.want)
				}
			}
			if f.puts != rw.puts {
				t.Errorf("%d writes, want %d", f.puts, rw.puts)
			}
		})
	}
}

func TestGoDaddyCheck(t *testing.T) {
	f := newGoDaddyFake()
	check := func(name, fqdn, cred string, want ...providertest.StepWant) providertest.CheckCase {
		return providertest.CheckCase{Name: name, Serve: f.serve,
			Request: provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: cred}, Want: want}
	}
	passed := providertest.StepWant{Name: "credentials accepted", Status: provider.StepPassed}
	providertest.RunChecks(t, provider.NewGoDaddy(providertest.Deps()), "api_url", []providertest.CheckCase{
		check("good key and domain", "home.example.com", godaddyCred, passed,
			providertest.StepWant{Name: "zone found", Status: provider.StepPassed},
			providertest.StepWant{Name: "may edit records", Status: provider.StepUnchecked}),
		check("bad key", "home.example.com", "bad:key",
			providertest.StepWant{Name: "credentials accepted", Status: provider.StepFailed}),
		check("account not allowed", "home.example.com", godaddyIneligible,
			providertest.StepWant{Name: "credentials accepted", Status: provider.StepFailed}),
		check("missing domain", "home.example.net", godaddyCred, passed,
			providertest.StepWant{Name: "zone found", Status: provider.StepFailed}),
	})
}

func TestGoDaddyOneRequestPerAttempt(t *testing.T) {
	providertest.OneRequestPerAttempt(t, provider.NewGoDaddy, `[{"data":"198.51.100.7","name":"home","ttl":600,"type":"A"}]`,
		func(url string) map[string]any { return map[string]any{"api_url": url, "zone": "example.com"} },
		func(int) provider.Request[json.RawMessage] {
			return providertest.Request("home.example.com", "198.51.100.7", "", "", godaddyCred)
		})
}

func TestGoDaddyValidate(t *testing.T) {
	p := provider.NewGoDaddy(providertest.Deps())
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{"zone":"example.com","ttl":600}`, has)
	providertest.Validate(t, p, `{"ttl":60}`, has, "settings.ttl: must be 600..")
	providertest.Validate(t, p, `{"zone":"a b"}`, has, "settings.zone: must be a domain name")
	for cred, ok := range map[string]bool{godaddyCred: true, "keyonly": false, ":secret": false, "a:b:c": false} {
		if errs := p.ValidateCredential(cred); (len(errs) == 0) != ok {
			t.Errorf("credential %q: %v", cred, errs)
		}
	}
}
