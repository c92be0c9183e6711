package provider_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const (
	porkbunKey    = "pk1_5299b57125c8f3cdf347d2fe0e713311ee3a1e11"
	porkbunSecret = "sk1_7d119e3f656b00ae042980302e1425a04163c476"
	porkbunCred   = porkbunKey + ":" + porkbunSecret
)

// porkbunFake is Porkbun's API v3 as https://porkbun.com/api/json/v3/documentation
// describes it: every call a POST whose JSON body holds apikey and
// secretapikey, answers {"status":"SUCCESS"|"ERROR","message":…}, records
// by id with FQDN names and string TTLs, domains that must be opted in to
// API access, "Invalid domain." for anything but a registered domain.
type porkbunFake struct {
	mu      sync.Mutex
	optedIn map[string]bool // registered domains → API access on
	records map[string]*pbRecord
	nextID  int
	writes  []string
}

type pbRecord struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Content string `json:"content"`
	TTL     string `json:"ttl"`
	Prio    string `json:"prio"`
	Notes   string `json:"notes"`
}

func newPorkbunFake() *porkbunFake {
	return &porkbunFake{optedIn: map[string]bool{"example.com": true, "example.org": false}, records: map[string]*pbRecord{}, nextID: 100}
}

func (f *porkbunFake) add(name, typ, content, notes string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	id := fmt.Sprint(f.nextID)
	f.records[id] = &pbRecord{ID: id, Name: name, Type: typ, Content: content, TTL: "600", Prio: "0", Notes: notes}
	return id
}

// find lists name's records of typ as "content|notes", sorted.
func (f *porkbunFake) find(name, typ string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.records {
		if r.Name == name && r.Type == typ {
			out = append(out, r.Content+"|"+r.Notes)
		}
	}
	sort.Strings(out)
	return out
}

func pbError(w http.ResponseWriter, msg string) {
	providertest.JSON(400, `{"status":"ERROR","message":"`+msg+`"}`)(w, nil)
}

func (f *porkbunFake) serve(w http.ResponseWriter, r *http.Request) {
	var in map[string]any
	if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&in) != nil {
		pbError(w, "All API calls must be a POST with a JSON body.")
		return
	}
	if in["apikey"] != porkbunKey || in["secretapikey"] != porkbunSecret {
		pbError(w, "Invalid API key. (002)")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/json/v3")
	if path == "/ping" {
		providertest.JSON(200, `{"status":"SUCCESS","yourIp":"127.0.0.1"}`)(w, r)
		return
	}
	parts := strings.Split(strings.TrimPrefix(path, "/dns/"), "/")
	if !strings.HasPrefix(path, "/dns/") || len(parts) < 2 {
		pbError(w, "Invalid endpoint.")
		return
	}
	op, domain := parts[0], parts[1]
	f.mu.Lock()
	defer f.mu.Unlock()
	opted, known := f.optedIn[domain]
	switch {
	case !known:
		pbError(w, "Invalid domain.")
		return
	case !opted:
		pbError(w, "Domain is not opted in to API access.")
		return
	}
	str := func(k string) string { v, _ := in[k].(string); return v }
	fqdn := func(sub string) string {
		if sub == "" {
			return domain
		}
		return sub + "." + domain
	}
	switch {
	case op == "retrieveByNameType" && len(parts) == 4:
		list := []pbRecord{}
		for _, rec := range f.records {
			if rec.Type == parts[2] && rec.Name == fqdn(parts[3]) {
				list = append(list, *rec)
			}
		}
		sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
		b, _ := json.Marshal(map[string]any{"status": "SUCCESS", "cloudflare": "enabled", "records": list})
		providertest.JSON(200, string(b))(w, r)
	case op == "create" && len(parts) == 2:
		if _, err := netip.ParseAddr(str("content")); err != nil || str("ttl") == "" {
			pbError(w, "Create error: We were unable to create the DNS record.")
			return
		}
		f.nextID++
		id := fmt.Sprint(f.nextID)
		f.records[id] = &pbRecord{ID: id, Name: fqdn(str("name")), Type: str("type"), Content: str("content"), TTL: str("ttl"), Notes: str("notes")}
		f.writes = append(f.writes, "create "+str("content"))
		providertest.JSON(200, fmt.Sprintf(`{"status":"SUCCESS","id":%s}`, id))(w, r)
	case op == "edit" && len(parts) == 3:
		rec := f.records[parts[2]]
		if rec == nil {
			pbError(w, "Edit error: We were unable to edit the DNS record.")
			return
		}
		rec.Name, rec.Type, rec.Content, rec.TTL, rec.Notes = fqdn(str("name")), str("type"), str("content"), str("ttl"), str("notes")
		f.writes = append(f.writes, "edit "+parts[2]+" "+str("content"))
		providertest.JSON(200, `{"status":"SUCCESS"}`)(w, r)
	case op == "delete" && len(parts) == 3:
		if f.records[parts[2]] == nil {
			pbError(w, "Delete error: Invalid record id.")
			return
		}
		delete(f.records, parts[2])
		f.writes = append(f.writes, "delete "+parts[2])
		providertest.JSON(200, `{"status":"SUCCESS"}`)(w, r)
	default:
		pbError(w, "Invalid endpoint.")
	}
}

// TestPorkbunAnswerTable: create, update, unchanged, keep_other_addresses,
// the marker rule, and Porkbun's errors.
func TestPorkbunAnswerTable(t *testing.T) {
	req := func(fqdn, addr string) provider.Request[json.RawMessage] {
		return providertest.Request(fqdn, addr, "", "", porkbunCred)
	}
	zone := map[string]any{"zone": "example.com"}
	keep := req("home.example.com", "198.51.100.9")
	keep.KeepOthers, keep.Delivered = true, []netip.Addr{netip.MustParseAddr("198.51.100.7")}
	notKeep := keep
	notKeep.KeepOthers = false
	const mark = "managed by ddnsbroker"
	type row struct {
		c     providertest.Case
		setup func(f *porkbunFake)
		want  []string // home's A records afterwards, "content|notes"
		name  string   // the record name to look at ("": home.example.com)
	}
	rows := []row{
		{c: providertest.Case{Name: "created, domain found from the name", Request: req("home.example.com", "198.51.100.7"), Requests: 3,
			Want: provider.Delivered, WantMessage: "A home.example.com → 198.51.100.7 created (ttl 600)",
			Check: func(t *testing.T, seen []providertest.Seen) {
				var calls []string
				for _, s := range seen {
					calls = append(calls, s.Method+" "+s.Path)
				}
				want := []string{"POST /api/json/v3/dns/retrieveByNameType/home.example.com/A/",
					"POST /api/json/v3/dns/retrieveByNameType/example.com/A/home", "POST /api/json/v3/dns/create/example.com"}
				var body map[string]string
				_ = json.Unmarshal([]byte(seen[2].Body), &body)
				if !slices.Equal(calls, want) || body["name"] != "home" || body["ttl"] != "600" || body["notes"] != mark ||
					body["apikey"] != porkbunKey || body["secretapikey"] != porkbunSecret {
					t.Errorf("calls %v, create body %s", calls, seen[2].Body)
				}
			}},
			want: []string{"198.51.100.7|" + mark}},
		{c: providertest.Case{Name: "apex AAAA updated", Settings: zone, Request: req("example.com", "2001:db8::2"), Requests: 2,
			Want: provider.Delivered, WantMessage: "AAAA example.com → 2001:db8::2 updated",
			Check: func(t *testing.T, seen []providertest.Seen) {
				if seen[0].Path != "/api/json/v3/dns/retrieveByNameType/example.com/AAAA/" {
					t.Errorf("apex read %s", seen[0].Path)
				}
			}},
			setup: func(f *porkbunFake) { f.add("example.com", "AAAA", "2001:db8::1", "") },
			name:  "example.com", want: []string{"2001:db8::2|" + mark}},
		{c: providertest.Case{Name: "unchanged: no write", Settings: zone, Request: req("home.example.com", "198.51.100.7"),
			Want: provider.Delivered, WantMessage: "198.51.100.7 unchanged"},
			setup: func(f *porkbunFake) { f.add("home.example.com", "A", "198.51.100.7", mark) },
			want:  []string{"198.51.100.7|" + mark}},
		{c: providertest.Case{Name: "keep_other_addresses: only ours changes", Settings: zone, Request: keep, Requests: 2,
			Want: provider.Delivered, WantMessage: "updated"},
			setup: func(f *porkbunFake) {
				f.add("home.example.com", "A", "203.0.113.5", "")
				f.add("home.example.com", "A", "198.51.100.7", mark)
			},
			want: []string{"198.51.100.9|" + mark, "203.0.113.5|"}},
		{c: providertest.Case{Name: "without keep_other_addresses, another's record is not deleted", Settings: zone, Request: notKeep, Requests: 2,
			Want: provider.Delivered, WantMessage: "left 1 other record(s) the broker did not create", WantAdvice: "delete them at Porkbun"},
			setup: func(f *porkbunFake) {
				f.add("home.example.com", "A", "203.0.113.5", "")
				f.add("home.example.com", "A", "198.51.100.7", mark)
			},
			want: []string{"198.51.100.9|" + mark, "203.0.113.5|"}},
		{c: providertest.Case{Name: "surplus records of the broker are deleted", Settings: zone, Request: notKeep, Requests: 3,
			Want: provider.Delivered, WantMessage: "1 updated, 1 removed"},
			setup: func(f *porkbunFake) {
				f.add("home.example.com", "A", "198.51.100.7", mark)
				f.add("home.example.com", "A", "198.51.100.8", mark)
			},
			want: []string{"198.51.100.9|" + mark}},
		{c: providertest.Case{Name: "wrong keys", Settings: zone, Request: providertest.Request("home.example.com", "198.51.100.7", "", "", "pk1_wrong123:sk1_wrong456"),
			Want: provider.Failed, WantMessage: "HTTP 400: Invalid API key. (002)", WantAdvice: "Porkbun refused the keys"}},
		{c: providertest.Case{Name: "API access off for the domain", Request: req("home.example.org", "198.51.100.7"), Requests: 2,
			Want: provider.Failed, WantMessage: "Domain is not opted in to API access.", WantAdvice: "switch on API ACCESS"}},
		{c: providertest.Case{Name: "domain not in the account", Request: req("home.example.net", "198.51.100.7"), Requests: 2,
			Want: provider.Failed, WantMessage: "no domain of the account holds home.example.net", WantAdvice: "check the service's domain"}},
		{c: providertest.Case{Name: "rate limited (202)", Settings: zone, Request: req("home.example.com", "198.51.100.7"),
			Serve: providertest.Answer(202, http.Header{"Retry-After": {"60"}}, ""),
			Want:  provider.Retry, WantMessage: "HTTP 202: rate limited", WantRetryAfter: time.Minute}},
		{c: providertest.Case{Name: "server error", Settings: zone, Request: req("home.example.com", "198.51.100.7"),
			Serve: providertest.Answer(503, nil, "<html>503 Service Temporarily Unavailable</html>"), Want: provider.Retry, WantMessage: "HTTP 503"}},
		{c: providertest.Case{Name: "retired host", Settings: zone, Request: req("home.example.com", "198.51.100.7"),
			Serve: providertest.Answer(403, http.Header{"Server": {"awselb/2.0"}}, "<html><body><h1>403 Forbidden</h1></body></html>"),
			Want:  provider.Failed, WantMessage: "HTTP 403", WantAdvice: "only on api.porkbun.com"}},
		{c: providertest.Case{Name: "secret echoed back is redacted", Settings: zone, Request: req("home.example.com", "198.51.100.7"),
			Serve: providertest.JSON(400, `{"status":"ERROR","message":"bad key `+porkbunSecret+`"}`),
			Want:  provider.Failed, WantMessage: "bad key ***"}},
	}
	for _, rw := range rows {
		f := newPorkbunFake()
		if rw.setup != nil {
			rw.setup(f)
		}
		if rw.c.Serve == nil {
			rw.c.Serve = f.serve
		}
		rw.c.Path = "/api/json/v3"
		providertest.Run(t, provider.NewPorkbun(providertest.Deps()), "api_url", []providertest.Case{rw.c})
		if rw.want != nil {
			name := rw.name
			if name == "" {
				name = "home.example.com"
			}
			typ := "A"
			if strings.Contains(rw.want[0], ":") && strings.Count(rw.want[0], ":") > 1 {
				typ = "AAAA"
			}
			t.Run(rw.c.Name+" state", func(t *testing.T) {
				if got := f.find(name, typ); !slices.Equal(got, rw.want) {
					t.Errorf("records %v, want %v", got, rw.want)
				}
			})
		}
	}
}

func TestPorkbunCheck(t *testing.T) {
	f := newPorkbunFake()
	check := func(name, fqdn, cred string, want ...providertest.StepWant) providertest.CheckCase {
		// Porkbun reads with POST too: a check may POST, but only to
		// /ping and the retrieve calls (see the Serve guard).
		return providertest.CheckCase{Name: name, Path: "/api/json/v3", Mutating: []string{http.MethodPut, http.MethodPatch, http.MethodDelete},
			Serve: func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasSuffix(r.URL.Path, "/ping") && !strings.Contains(r.URL.Path, "/dns/retrieve") {
					t.Errorf("the check called %s, which may change DNS", r.URL.Path)
				}
				f.serve(w, r)
			},
			Request: provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: cred}, Want: want}
	}
	passed := providertest.StepWant{Name: "credentials accepted", Status: provider.StepPassed}
	providertest.RunChecks(t, provider.NewPorkbun(providertest.Deps()), "api_url", []providertest.CheckCase{
		check("good keys and domain", "home.example.com", porkbunCred, passed,
			providertest.StepWant{Name: "zone found", Status: provider.StepPassed},
			providertest.StepWant{Name: "may edit records", Status: provider.StepPassed}),
		check("bad keys", "home.example.com", "pk1_bad000:sk1_bad000",
			providertest.StepWant{Name: "credentials accepted", Status: provider.StepFailed}),
		check("missing domain", "home.example.net", porkbunCred, passed,
			providertest.StepWant{Name: "zone found", Status: provider.StepFailed}),
		check("API access off", "home.example.org", porkbunCred, passed,
			providertest.StepWant{Name: "zone found", Status: provider.StepPassed},
			providertest.StepWant{Name: "may edit records", Status: provider.StepFailed}),
	})
}

func TestPorkbunOneRequestPerAttempt(t *testing.T) {
	providertest.OneRequestPerAttempt(t, provider.NewPorkbun,
		`{"status":"SUCCESS","records":[{"id":"1","name":"home.example.com","type":"A","content":"198.51.100.7","ttl":"600","notes":"managed by ddnsbroker"}]}`,
		func(url string) map[string]any { return map[string]any{"api_url": url, "zone": "example.com"} },
		func(int) provider.Request[json.RawMessage] {
			return providertest.Request("home.example.com", "198.51.100.7", "", "", porkbunCred)
		})
}

func TestPorkbunValidate(t *testing.T) {
	p := provider.NewPorkbun(providertest.Deps())
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{"zone":"example.com","ttl":600}`, has)
	providertest.Validate(t, p, `{"ttl":300}`, has, "settings.ttl: must be 600..")
	providertest.Validate(t, p, `{"api_url":"https://porkbun.com/api/json/v3"}`, has, "settings.api_url: Porkbun's API answers only on api.porkbun.com")
	providertest.Validate(t, p, `{"zone":"not a name"}`, has, "settings.zone: must be a domain name")
	for cred, ok := range map[string]bool{porkbunCred: true, porkbunKey: false, ":" + porkbunSecret: false, "a:b:c": false, "pk1 x:sk1": false} {
		if errs := p.ValidateCredential(cred); (len(errs) == 0) != ok {
			t.Errorf("credential %q: %v", cred, errs)
		}
		for _, e := range p.ValidateCredential(cred) {
			if strings.Contains(e.Message, cred) {
				t.Errorf("the message repeats the credential: %s", e.Message)
			}
		}
	}
}
