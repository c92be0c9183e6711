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
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const (
	gandiPAT    = "pat_0123456789abcdef0123456789abcdef01234567"
	gandiAPIKey = "AbCdEfGh0123456789IjKlMn"
)

// gandiFake is LiveDNS v5 as https://api.gandi.net/docs/livedns/ and
// https://api.gandi.net/docs/authentication/ describe it: Authorization
// "Bearer <PAT>" (a bad or expired token is 403) or "Apikey <key>" (a bad
// key is 401), domains by name, one RRset per name and type replaced by
// PUT (201), TTLs below 300 refused with the validation error shape.
type gandiFake struct {
	mu      sync.Mutex
	domains map[string]map[string]*gandiSet // domain → "name/type" → RRset
	// denied are domains the PAT has no permission on.
	denied map[string]bool
	puts   int
}

type gandiSet struct {
	TTL    int      `json:"rrset_ttl"`
	Values []string `json:"rrset_values"`
}

func newGandiFake() *gandiFake {
	return &gandiFake{domains: map[string]map[string]*gandiSet{"example.com": {}, "example.org": {}},
		denied: map[string]bool{"example.org": true}}
}

func (f *gandiFake) set(domain, name, typ string, ttl int, values ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.domains[domain][name+"/"+typ] = &gandiSet{TTL: ttl, Values: values}
}

func (f *gandiFake) get(domain, name, typ string) gandiSet {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.domains[domain][name+"/"+typ]; s != nil {
		return *s
	}
	return gandiSet{}
}

func gandiErr(w http.ResponseWriter, status int, object, cause, message string) {
	b, _ := json.Marshal(map[string]any{"code": status, "message": message, "object": object, "cause": cause})
	providertest.JSON(status, string(b))(w, nil)
}

func (f *gandiFake) serve(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "Bearer "+gandiPAT, auth == "Apikey "+gandiAPIKey:
	case strings.HasPrefix(auth, "Bearer "):
		gandiErr(w, 403, "HTTPForbidden", "Forbidden", "Access was denied to this resource.")
		return
	default:
		gandiErr(w, 401, "HTTPUnauthorized", "Unauthorized", "The server could not verify that you are authorized to access the URL requested.")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v5/livedns/domains")
	if !ok {
		gandiErr(w, 404, "HTTPNotFound", "Not Found", "The resource could not be found.")
		return
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	f.mu.Lock()
	defer f.mu.Unlock()
	if rest == "" && r.Method == http.MethodGet {
		var list []map[string]string
		for d := range f.domains {
			list = append(list, map[string]string{"fqdn": d})
		}
		b, _ := json.Marshal(list)
		providertest.JSON(200, string(b))(w, r)
		return
	}
	records, known := f.domains[parts[0]]
	switch {
	case !known:
		gandiErr(w, 404, "HTTPNotFound", "Not Found", "The resource could not be found.")
		return
	case f.denied[parts[0]] && strings.HasPrefix(auth, "Bearer "):
		gandiErr(w, 403, "HTTPForbidden", "Forbidden", "Access was denied to this resource.")
		return
	}
	switch {
	case len(parts) == 1 && r.Method == http.MethodGet:
		providertest.JSON(200, `{"fqdn":"`+parts[0]+`","automatic_snapshots":true}`)(w, r)
	case len(parts) == 4 && parts[1] == "records" && r.Method == http.MethodGet:
		s := records[parts[2]+"/"+parts[3]]
		if s == nil {
			gandiErr(w, 404, "HTTPNotFound", "Not Found", "Can't find the DNS record")
			return
		}
		b, _ := json.Marshal(map[string]any{"rrset_name": parts[2], "rrset_type": parts[3], "rrset_ttl": s.TTL, "rrset_values": s.Values})
		providertest.JSON(200, string(b))(w, r)
	case len(parts) == 4 && parts[1] == "records" && r.Method == http.MethodPut:
		var in gandiSet
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&in) != nil || len(in.Values) == 0 {
			providertest.JSON(400, `{"status":"error","errors":[{"location":"body","name":"rrset_values","description":"Missing data for required field."}]}`)(w, r)
			return
		}
		if in.TTL < 300 {
			providertest.JSON(400, `{"status":"error","errors":[{"location":"body","name":"rrset_ttl","description":"`+
				strconv.Itoa(in.TTL)+` is less than minimum value 300"}]}`)(w, r)
			return
		}
		for _, v := range in.Values {
			if a, err := netip.ParseAddr(v); err != nil || a.Is4() != (parts[3] == "A") {
				providertest.JSON(400, `{"status":"error","errors":[{"location":"body","name":"rrset_values","description":"invalid value"}]}`)(w, r)
				return
			}
		}
		f.puts++
		records[parts[2]+"/"+parts[3]] = &in
		providertest.JSON(201, `{"message":"DNS Record Created"}`)(w, r)
	default:
		gandiErr(w, 405, "HTTPMethodNotAllowed", "Method Not Allowed", "The method is not allowed for the requested URL.")
	}
}

// TestGandiAnswerTable: create, update, unchanged, keep_other_addresses,
// both credential forms, and each error LiveDNS documents.
func TestGandiAnswerTable(t *testing.T) {
	req := func(fqdn, addr, cred string) provider.Request[json.RawMessage] {
		return providertest.Request(fqdn, addr, "", "", cred)
	}
	zone := map[string]any{"zone": "example.com"}
	type row struct {
		c     providertest.Case
		setup func(f *gandiFake)
		after func(t *testing.T, f *gandiFake)
	}
	keep := req("home.example.com", "198.51.100.9", gandiPAT)
	keep.KeepOthers, keep.Delivered = true, []netip.Addr{netip.MustParseAddr("198.51.100.7")}
	notKeep := keep
	notKeep.KeepOthers = false
	rows := []row{
		{c: providertest.Case{Name: "created, domain found from the name", Request: req("home.example.com", "198.51.100.7", gandiPAT),
			Requests: 4, Want: provider.Delivered, WantMessage: "A home.example.com → 198.51.100.7 created (ttl 300)",
			Check: func(t *testing.T, seen []providertest.Seen) {
				var paths []string
				for _, s := range seen {
					paths = append(paths, s.Method+" "+s.Path)
				}
				want := []string{"GET /v5/livedns/domains/home.example.com", "GET /v5/livedns/domains/example.com",
					"GET /v5/livedns/domains/example.com/records/home/A", "PUT /v5/livedns/domains/example.com/records/home/A"}
				if !slices.Equal(paths, want) || seen[3].Body != `{"rrset_ttl":300,"rrset_values":["198.51.100.7"]}` {
					t.Errorf("requests %v body %s", paths, seen[3].Body)
				}
			}},
			after: func(t *testing.T, f *gandiFake) {
				if got := f.get("example.com", "home", "A"); !slices.Equal(got.Values, []string{"198.51.100.7"}) {
					t.Errorf("RRset %+v", got)
				}
			}},
		{c: providertest.Case{Name: "apex AAAA with the API key, updated", Settings: map[string]any{"zone": "example.com", "token_type": "apikey", "ttl": 600},
			Request: req("example.com", "2001:db8::1", gandiAPIKey), Requests: 2, Want: provider.Delivered, WantMessage: "AAAA example.com → 2001:db8::1 updated (ttl 600)",
			Check: func(t *testing.T, seen []providertest.Seen) {
				if seen[1].Path != "/v5/livedns/domains/example.com/records/@/AAAA" || seen[1].Header.Get("Authorization") != "Apikey "+gandiAPIKey {
					t.Errorf("request %+v", seen[1])
				}
			}},
			setup: func(f *gandiFake) { f.set("example.com", "@", "AAAA", 600, "2001:db8::99") }},
		{c: providertest.Case{Name: "unchanged: no write", Settings: zone, Request: req("home.example.com", "198.51.100.7", gandiPAT),
			Want: provider.Delivered, WantMessage: "unchanged"},
			setup: func(f *gandiFake) { f.set("example.com", "home", "A", 300, "198.51.100.7") },
			after: func(t *testing.T, f *gandiFake) {
				if f.puts != 0 {
					t.Error("an unchanged RRset was written")
				}
			}},
		{c: providertest.Case{Name: "keep_other_addresses: only ours changes", Settings: zone, Request: keep, Requests: 2,
			Want: provider.Delivered, WantMessage: "updated"},
			setup: func(f *gandiFake) { f.set("example.com", "home", "A", 300, "198.51.100.7", "203.0.113.5") },
			after: func(t *testing.T, f *gandiFake) {
				if got := f.get("example.com", "home", "A").Values; !slices.Equal(got, []string{"203.0.113.5", "198.51.100.9"}) {
					t.Errorf("RRset %v, want the other address kept and ours replaced", got)
				}
			}},
		{c: providertest.Case{Name: "without keep_other_addresses the RRset becomes ours", Settings: zone, Request: notKeep, Requests: 2,
			Want: provider.Delivered, WantMessage: "updated"},
			setup: func(f *gandiFake) { f.set("example.com", "home", "A", 300, "198.51.100.7", "203.0.113.5") },
			after: func(t *testing.T, f *gandiFake) {
				if got := f.get("example.com", "home", "A").Values; !slices.Equal(got, []string{"198.51.100.9"}) {
					t.Errorf("RRset %v", got)
				}
			}},
		{c: providertest.Case{Name: "wrong token: 403", Settings: zone, Request: req("home.example.com", "198.51.100.7", "pat_wrong0123456789"),
			Want: provider.Failed, WantMessage: "HTTP 403: Forbidden: Access was denied", WantAdvice: "renew it"}},
		{c: providertest.Case{Name: "wrong API key: 401", Settings: map[string]any{"zone": "example.com", "token_type": "apikey"},
			Request: req("home.example.com", "198.51.100.7", "WrongKey0123456789"),
			Want:    provider.Failed, WantMessage: "HTTP 401: Unauthorized", WantAdvice: "Gandi refused the credential"}},
		{c: providertest.Case{Name: "no permission on the domain", Request: req("home.example.org", "198.51.100.7", gandiPAT), Requests: 2,
			Want: provider.Failed, WantMessage: "finding domain example.org: HTTP 403", WantAdvice: "Manage domain name technical configurations"}},
		{c: providertest.Case{Name: "domain not on LiveDNS", Request: req("home.example.net", "198.51.100.7", gandiPAT), Requests: 2,
			Want: provider.Failed, WantMessage: "no LiveDNS domain holds home.example.net (asked for home.example.net, example.net)",
			WantAdvice: "LiveDNS name servers"}},
		{c: providertest.Case{Name: "TTL refused", Settings: map[string]any{"zone": "example.com", "ttl": 60}, Request: req("home.example.com", "198.51.100.7", gandiPAT),
			Requests: 2, Want: provider.Failed, WantMessage: "HTTP 400: rrset_ttl: 60 is less than minimum value 300", WantAdvice: "300 or more"}},
		{c: providertest.Case{Name: "rate limited", Settings: zone, Request: req("home.example.com", "198.51.100.7", gandiPAT),
			Serve: providertest.Answer(429, http.Header{"Retry-After": {"20"}}, `{"code":429,"message":"Too Many Requests","object":"HTTPTooManyRequests","cause":"Too Many Requests"}`),
			Want:  provider.Retry, WantMessage: "HTTP 429", WantAdvice: "1000 requests a minute", WantRetryAfter: 20 * time.Second}},
		{c: providertest.Case{Name: "server error", Settings: zone, Request: req("home.example.com", "198.51.100.7", gandiPAT),
			Serve: providertest.Answer(502, nil, "<html>Bad Gateway</html>"), Want: provider.Retry, WantMessage: "HTTP 502"}},
		{c: providertest.Case{Name: "token echoed back is redacted", Settings: zone, Request: req("home.example.com", "198.51.100.7", gandiPAT),
			Serve: providertest.JSON(400, `{"code":400,"message":"bad header Bearer `+gandiPAT+`","object":"HTTPBadRequest","cause":"Bad Request"}`),
			Want:  provider.Failed, WantMessage: "Bearer ***"}},
	}
	for _, rw := range rows {
		f := newGandiFake()
		if rw.setup != nil {
			rw.setup(f)
		}
		if rw.c.Serve == nil {
			rw.c.Serve = f.serve
		}
		rw.c.Path = "/v5/livedns"
		providertest.Run(t, provider.NewGandi(providertest.Deps()), "api_url", []providertest.Case{rw.c})
		if rw.after != nil {
			t.Run(rw.c.Name+" state", func(t *testing.T) { rw.after(t, f) })
		}
	}
}

func TestGandiCheck(t *testing.T) {
	f := newGandiFake()
	check := func(name, fqdn, cred string, want ...providertest.StepWant) providertest.CheckCase {
		return providertest.CheckCase{Name: name, Path: "/v5/livedns", Serve: f.serve,
			Request: provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: cred}, Want: want}
	}
	providertest.RunChecks(t, provider.NewGandi(providertest.Deps()), "api_url", []providertest.CheckCase{
		check("good token and domain", "home.example.com", gandiPAT,
			providertest.StepWant{Name: "credentials accepted", Status: provider.StepPassed},
			providertest.StepWant{Name: "zone found", Status: provider.StepPassed},
			providertest.StepWant{Name: "may edit records", Status: provider.StepUnchecked}),
		check("bad token", "home.example.com", "pat_expired0123456789",
			providertest.StepWant{Name: "credentials accepted", Status: provider.StepFailed}),
		check("missing domain", "home.example.net", gandiPAT,
			providertest.StepWant{Name: "credentials accepted", Status: provider.StepPassed},
			providertest.StepWant{Name: "zone found", Status: provider.StepFailed}),
		check("no permission on the domain", "home.example.org", gandiPAT,
			providertest.StepWant{Name: "credentials accepted", Status: provider.StepPassed},
			providertest.StepWant{Name: "zone found", Status: provider.StepFailed}),
	})
}

func TestGandiOneRequestPerAttempt(t *testing.T) {
	providertest.OneRequestPerAttempt(t, provider.NewGandi,
		`{"rrset_name":"home","rrset_type":"A","rrset_ttl":300,"rrset_values":["198.51.100.7"]}`,
		func(url string) map[string]any { return map[string]any{"api_url": url, "zone": "example.com"} },
		func(int) provider.Request[json.RawMessage] {
			return providertest.Request("home.example.com", "198.51.100.7", "", "", gandiPAT)
		})
}

func TestGandiValidate(t *testing.T) {
	p := provider.NewGandi(providertest.Deps())
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{"zone":"example.com","ttl":300,"token_type":"pat"}`, has)
	providertest.Validate(t, p, `{}`, has)
	providertest.Validate(t, p, `{"ttl":60}`, has, "settings.ttl: must be 300..2592000")
	providertest.Validate(t, p, `{"token_type":"oauth"}`, has, "settings.token_type: must be one of pat, apikey")
	providertest.Validate(t, p, `{"zone":"not a name"}`, has, "settings.zone: must be a domain name")
	providertest.Validate(t, p, `{"api_url":"ftp://x"}`, has, "settings.api_url:")
	providertest.Validate(t, p, `{}`, provider.Has{}, "credential: is required")
}
