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
	ncCustomer = "123456"
	ncKey      = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijklmn"
	ncPassword = "nc-Secret-Password-42"
	ncPath     = "/run/webservice/servers/endpoint.php"
)

// fakeNetcup is netcup's CCP JSON API as its endpoint documentation
// describes it: every call a POST of {"action","param"} to endpoint.php?JSON,
// login with customer number, API key and API password giving an
// apisessionid that every other call carries with the customer number and
// the key (never the password), answers always HTTP 200 with status and
// statuscode in the body, records with string values, updateDnsRecords
// changing only the records it lists.
type fakeNetcup struct {
	*providertest.Fake
	mu       sync.Mutex
	sessions map[string]bool
	zones    map[string][]ncRecord // domain → records
	nextID   int
	actions  []string
	// fault, when set, answers an action instead of the API (by action).
	fault func(action string) (code int, short, long string, ok bool)
}

type ncRecord struct {
	ID           string `json:"id"`
	Hostname     string `json:"hostname"`
	Type         string `json:"type"`
	Priority     string `json:"priority"`
	Destination  string `json:"destination"`
	DeleteRecord bool   `json:"deleterecord"`
	State        string `json:"state"`
}

func newFakeNetcup(t *testing.T) *fakeNetcup {
	f := &fakeNetcup{sessions: map[string]bool{}, zones: map[string][]ncRecord{"example.com": {
		{ID: "100", Hostname: "@", Type: "MX", Priority: "10", Destination: "mail.example.com", State: "yes"},
	}}}
	f.Fake = providertest.NewFake(t, f.serve)
	return f
}

func (f *fakeNetcup) url() string { return f.URL + ncPath + "?JSON" }

func (f *fakeNetcup) add(zone, host, typ, dest string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.zones[zone] = append(f.zones[zone], ncRecord{ID: fmt.Sprint(500 + f.nextID), Hostname: host, Type: typ, Destination: dest, Priority: "0", State: "yes"})
}

// values are the destinations of host's records of typ, sorted.
func (f *fakeNetcup) values(zone, host, typ string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.zones[zone] {
		if r.Hostname == host && r.Type == typ {
			out = append(out, r.Destination)
		}
	}
	slices.Sort(out)
	return out
}

func (f *fakeNetcup) takeActions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.actions
	f.actions = nil
	return a
}

func ncAnswer(w http.ResponseWriter, action string, code int, short, long string, data any) {
	status := "success"
	if code != 2000 {
		status = "error"
	}
	if data == nil {
		data = ""
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"serverrequestid": "srv1", "clientrequestid": "", "action": action,
		"status": status, "statuscode": code, "shortmessage": short, "longmessage": long, "responsedata": data})
}

func (f *fakeNetcup) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action string         `json:"action"`
		Param  map[string]any `json:"param"`
	}
	if r.Method != http.MethodPost || r.URL.Path != ncPath || r.URL.RawQuery != "JSON" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || json.NewDecoder(r.Body).Decode(&req) != nil {
		ncAnswer(w, "", 4013, "Validation Error.", "Message is empty.", nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, req.Action)
	if f.fault != nil {
		if code, short, long, ok := f.fault(req.Action); ok {
			ncAnswer(w, req.Action, code, short, long, nil)
			return
		}
	}
	p := func(k string) string { s, _ := req.Param[k].(string); return s }
	if req.Action == "login" {
		if p("customernumber") != ncCustomer || p("apikey") != ncKey || p("apipassword") != ncPassword {
			ncAnswer(w, "login", 4013, "Validation Error.", "More than 180 requests per minute. Please wait and retry later. Please contact our customer service to find out if the limitation of requests can be increased.", nil)
			return
		}
		f.nextID++
		id := fmt.Sprintf("sess%06d", f.nextID)
		f.sessions[id] = true
		ncAnswer(w, "login", 2000, "Login successful", "Session has been created successful.", map[string]string{"apisessionid": id})
		return
	}
	if _, sent := req.Param["apipassword"]; sent || p("customernumber") != ncCustomer || p("apikey") != ncKey || !f.sessions[p("apisessionid")] {
		ncAnswer(w, req.Action, 4001, "The session id is not in a valid format.", "The session id is not in a valid format.", nil)
		return
	}
	domain := p("domainname")
	records, known := f.zones[domain]
	switch req.Action {
	case "logout":
		delete(f.sessions, p("apisessionid"))
		ncAnswer(w, "logout", 2000, "Logout successful", "Session has been terminated successful.", nil)
	case "infoDnsZone":
		if !known {
			ncAnswer(w, req.Action, 5028, "Getting DNS zone failed", "The zone "+domain+" could not be found.", nil)
			return
		}
		ncAnswer(w, req.Action, 2000, "DNS zone found", "DNS zone was found.", map[string]string{"name": domain, "ttl": "86400", "serial": "2024010101"})
	case "infoDnsRecords":
		switch {
		case !known:
			ncAnswer(w, req.Action, 5028, "Getting DNS records failed", "The zone "+domain+" could not be found.", nil)
		case len(records) == 0:
			ncAnswer(w, req.Action, 5029, "Getting DNS records failed", "Can not get DNS records for zone. The zone does not "+domain+" contain any DNS records.", nil)
		default:
			ncAnswer(w, req.Action, 2000, "DNS records found", "DNS Records for this zone were found.", map[string]any{"dnsrecords": records})
		}
	case "updateDnsRecords":
		if !known {
			ncAnswer(w, req.Action, 5028, "Update of DNS records failed", "Can not update (all) DNS records for zone. The zone "+domain+" could not be found.", nil)
			return
		}
		set, _ := req.Param["dnsrecordset"].(map[string]any)
		list, _ := set["dnsrecords"].([]any)
		for _, item := range list {
			m, _ := item.(map[string]any)
			str := func(k string) string { s, _ := m[k].(string); return s }
			if _, err := netip.ParseAddr(str("destination")); err != nil || str("hostname") == "" {
				ncAnswer(w, req.Action, 4013, "Validation Error.", "der Host darf nicht leer sein oder aus Sonderzeichen bestehen", nil)
				return
			}
			del, _ := m["deleterecord"].(bool)
			id := str("id")
			i := slices.IndexFunc(records, func(r ncRecord) bool { return r.ID == id })
			switch {
			case id == "":
				f.nextID++
				records = append(records, ncRecord{ID: fmt.Sprint(500 + f.nextID), Hostname: str("hostname"), Type: str("type"),
					Destination: str("destination"), Priority: "0", State: "yes"})
			case i < 0:
				ncAnswer(w, req.Action, 5030, "Update of DNS records failed", "DNS record "+id+" not found.", nil)
				return
			case del:
				records = slices.Delete(records, i, i+1)
			default:
				records[i].Destination = str("destination")
			}
		}
		f.zones[domain] = records
		ncAnswer(w, req.Action, 2000, "DNS records successful updated", "The given DNS records for this zone were updated.", map[string]any{"dnsrecords": records})
	default:
		ncAnswer(w, req.Action, 4013, "Validation Error.", "Unknown action.", nil)
	}
}

func ncRequest(fqdn string, addrs ...string) provider.Request[json.RawMessage] {
	r := providertest.Request(fqdn, addrs[0], "", "", ncPassword)
	for _, a := range addrs[1:] {
		r.Addresses = append(r.Addresses, netip.MustParseAddr(a))
	}
	return r
}

// TestNetcupAnswerTable: each row is one attempt against the fake CCP
// API: the records before, the request, and what netcup's answer means
// (result, message, advice, wait), the records after and the calls made.
func TestNetcupAnswerTable(t *testing.T) {
	rate := func(action string) func(string) (int, string, string, bool) {
		return func(a string) (int, string, string, bool) {
			return 4013, "Validation Error.", "More than 180 requests per minute. Please wait and retry later.", a == action
		}
	}
	tests := []struct {
		name       string
		settings   map[string]any // customer_number, api_key, api_url added
		setup      func(f *fakeNetcup)
		req        provider.Request[json.RawMessage]
		want       provider.Result
		wantMsg    string
		wantAdvice string
		retryAfter time.Duration
		wantA      []string // A values of home afterwards (nil: not checked)
		wantAAAA   []string
		actions    []string
	}{
		{name: "create, domain found by asking for the name's parents",
			req: ncRequest("home.example.com", "198.51.100.7"), want: provider.Delivered, wantMsg: "A home.example.com → 198.51.100.7 created",
			wantA:   []string{"198.51.100.7"},
			actions: []string{"login", "infoDnsZone", "infoDnsRecords", "updateDnsRecords", "logout"}},
		{name: "update", settings: map[string]any{"zone": "example.com"},
			setup: func(f *fakeNetcup) { f.add("example.com", "home", "A", "192.0.2.1") },
			req:   ncRequest("home.example.com", "198.51.100.7"), want: provider.Delivered, wantMsg: "updated",
			wantA: []string{"198.51.100.7"}, actions: []string{"login", "infoDnsRecords", "updateDnsRecords", "logout"}},
		{name: "unchanged: no write", settings: map[string]any{"zone": "example.com"},
			setup: func(f *fakeNetcup) { f.add("example.com", "home", "AAAA", "2001:db8:0:0::7") },
			req:   ncRequest("home.example.com", "2001:db8::7"), want: provider.Delivered, wantMsg: "AAAA home.example.com → 2001:db8::7 unchanged",
			wantAAAA: []string{"2001:db8:0:0::7"}, actions: []string{"login", "infoDnsRecords", "logout"}},
		{name: "apex", settings: map[string]any{"zone": "example.com"},
			req: ncRequest("example.com", "198.51.100.9"), want: provider.Delivered, wantMsg: "created",
			actions: []string{"login", "infoDnsRecords", "updateDnsRecords", "logout"}},
		{name: "empty zone (5029) is a zone without records", settings: map[string]any{"zone": "example.net"},
			setup: func(f *fakeNetcup) { f.zones["example.net"] = nil },
			req:   ncRequest("home.example.net", "198.51.100.7"), want: provider.Delivered, wantMsg: "created",
			actions: []string{"login", "infoDnsRecords", "updateDnsRecords", "logout"}},
		{name: "without keep_other_addresses the name holds exactly ours", settings: map[string]any{"zone": "example.com"},
			setup: func(f *fakeNetcup) {
				f.add("example.com", "home", "A", "192.0.2.1")
				f.add("example.com", "home", "A", "192.0.2.2")
			},
			req: ncRequest("home.example.com", "198.51.100.7"), want: provider.Delivered, wantMsg: "updated, removed 1 other record(s)",
			wantA: []string{"198.51.100.7"}},
		{name: "keep_other_addresses: only ours changes", settings: map[string]any{"zone": "example.com"},
			setup: func(f *fakeNetcup) {
				f.add("example.com", "home", "A", "192.0.2.1")   // ours, delivered before
				f.add("example.com", "home", "A", "203.0.113.5") // the second site's
			},
			req: func() provider.Request[json.RawMessage] {
				r := ncRequest("home.example.com", "198.51.100.7")
				r.KeepOthers, r.Delivered = true, []netip.Addr{netip.MustParseAddr("192.0.2.1")}
				return r
			}(),
			want: provider.Delivered, wantMsg: "updated; kept 1 other address(es)", wantA: []string{"198.51.100.7", "203.0.113.5"}},
		{name: "keep_other_addresses, nothing delivered yet: ours is added", settings: map[string]any{"zone": "example.com"},
			setup: func(f *fakeNetcup) { f.add("example.com", "home", "A", "203.0.113.5") },
			req: func() provider.Request[json.RawMessage] {
				r := ncRequest("home.example.com", "198.51.100.7")
				r.KeepOthers = true
				return r
			}(),
			want: provider.Delivered, wantMsg: "created; kept 1", wantA: []string{"198.51.100.7", "203.0.113.5"}},
		{name: "two addresses: an RRset", settings: map[string]any{"zone": "example.com"},
			req: ncRequest("home.example.com", "198.51.100.7", "198.51.100.8"), want: provider.Delivered,
			wantA: []string{"198.51.100.7", "198.51.100.8"}},
		{name: "wrong API password: netcup's words, no retry", settings: map[string]any{"zone": "example.com"},
			req: providertest.Request("home.example.com", "198.51.100.7", "", "", "wrong-password-1"), want: provider.Failed,
			wantMsg: "login: HTTP 200: 4013 Validation Error. More than 180 requests", wantAdvice: "netcup refused the login",
			actions: []string{"login"}},
		{name: "expired session: login again once", settings: map[string]any{"zone": "example.com"},
			setup: func(f *fakeNetcup) {
				n := 0
				f.fault = func(a string) (int, string, string, bool) {
					n++
					if a == "infoDnsRecords" && n == 2 {
						clear(f.sessions) // netcup let the session expire
					}
					return 4001, "The session id is not in a valid format.", "", a == "infoDnsRecords" && n == 2
				}
			},
			req: ncRequest("home.example.com", "198.51.100.7"), want: provider.Delivered,
			actions: []string{"login", "infoDnsRecords", "login", "infoDnsRecords", "updateDnsRecords", "logout"}},
		{name: "rate limited: retried after a minute", settings: map[string]any{"zone": "example.com"},
			setup: func(f *fakeNetcup) { f.fault = rate("infoDnsRecords") },
			req:   ncRequest("home.example.com", "198.51.100.7"), want: provider.Retry, wantMsg: "180 requests per minute",
			wantAdvice: provider.AdviceRateLimited, retryAfter: time.Minute, actions: []string{"login", "infoDnsRecords", "logout"}},
		{name: "domain not in the account (or moved to CloudDNS)", settings: map[string]any{"zone": "example.org"},
			req: ncRequest("home.example.org", "198.51.100.7"), want: provider.Failed, wantMsg: "5028",
			wantAdvice: "CloudDNS", actions: []string{"login", "infoDnsRecords", "logout"}},
		{name: "no domain holds the name", req: ncRequest("home.example.org", "198.51.100.7"), want: provider.Failed,
			wantMsg: "no domain of the account holds home.example.org (asked for example.org, home.example.org)",
			actions: []string{"login", "infoDnsZone", "infoDnsZone", "logout"}},
		{name: "record refused", settings: map[string]any{"zone": "example.com"},
			setup: func(f *fakeNetcup) {
				f.fault = func(a string) (int, string, string, bool) {
					return 4013, "Validation Error.", "der Host darf nicht leer sein oder aus Sonderzeichen bestehen", a == "updateDnsRecords"
				}
			},
			req: ncRequest("home.example.com", "198.51.100.7"), want: provider.Failed, wantMsg: "updateDnsRecords example.com: HTTP 200: 4013",
			wantAdvice: provider.AdviceRefused},
		{name: "server error is retried", settings: map[string]any{"zone": "example.com"},
			setup: func(f *fakeNetcup) { f.Serve(providertest.Answer(503, nil, "<html>Service Unavailable</html>")) },
			req:   ncRequest("home.example.com", "198.51.100.7"), want: provider.Retry, wantMsg: "login: HTTP 503"},
		{name: "not netcup's JSON", settings: map[string]any{"zone": "example.com"},
			setup: func(f *fakeNetcup) { f.Serve(providertest.Answer(200, nil, "<html>captive portal</html>")) },
			req:   ncRequest("home.example.com", "198.51.100.7"), want: provider.Failed, wantMsg: "not netcup API JSON"},
		{name: "no customer number", settings: map[string]any{"customer_number": ""},
			req: ncRequest("home.example.com", "198.51.100.7"), want: provider.Failed, wantMsg: "customer_number or api_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeNetcup(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			s := map[string]any{"customer_number": ncCustomer, "api_key": ncKey, "api_url": f.url()}
			for k, v := range tc.settings {
				s[k] = v
			}
			req := tc.req
			req.Settings = providertest.Settings(t, s)
			out := provider.NewNetcup(providertest.Deps()).Send(context.Background(), req)
			if out.Result != tc.want || !strings.Contains(out.Message, tc.wantMsg) || !strings.Contains(out.Advice, tc.wantAdvice) {
				t.Fatalf("got %v %q (advice %q), want %v with %q (advice %q)", out.Result, out.Message, out.Advice, tc.want, tc.wantMsg, tc.wantAdvice)
			}
			if out.RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter %v, want %v", out.RetryAfter, tc.retryAfter)
			}
			providertest.CheckOutcome(t, out, ncPassword, ncKey, req.Credential)
			if got := f.values("example.com", "home", "A"); tc.wantA != nil && !slices.Equal(got, tc.wantA) {
				t.Errorf("A records %v, want %v", got, tc.wantA)
			}
			if got := f.values("example.com", "home", "AAAA"); tc.wantAAAA != nil && !slices.Equal(got, tc.wantAAAA) {
				t.Errorf("AAAA records %v, want %v", got, tc.wantAAAA)
			}
			if got := f.takeActions(); tc.actions != nil && !slices.Equal(got, tc.actions) {
				t.Errorf("actions %v, want %v", got, tc.actions)
			}
			if mx := f.values("example.com", "@", "MX"); len(mx) != 1 {
				t.Errorf("the zone's other records were touched: MX %v", mx)
			}
			f.mu.Lock()
			open := len(f.sessions)
			f.mu.Unlock()
			if open != 0 {
				t.Errorf("%d session(s) left open: every attempt logs out", open)
			}
		})
	}
}

// TestNetcupCachesTheDomain: the domain found for a name is asked for once.
func TestNetcupCachesTheDomain(t *testing.T) {
	f := newFakeNetcup(t)
	p := provider.NewNetcup(providertest.Deps())
	req := ncRequest("a.b.example.com", "198.51.100.7")
	req.Settings = providertest.Settings(t, map[string]any{"customer_number": ncCustomer, "api_key": ncKey, "api_url": f.url()})
	for i, want := range [][]string{
		{"login", "infoDnsZone", "infoDnsRecords", "updateDnsRecords", "logout"},
		{"login", "infoDnsRecords", "logout"},
	} {
		if out := p.Send(context.Background(), req); out.Result != provider.Delivered {
			t.Fatalf("attempt %d: %v %s", i, out.Result, out.Message)
		}
		if got := f.takeActions(); !slices.Equal(got, want) {
			t.Errorf("attempt %d: actions %v, want %v", i, got, want)
		}
	}
	if got := f.values("example.com", "a.b", "A"); !slices.Equal(got, []string{"198.51.100.7"}) {
		t.Errorf("records %v", got)
	}
}

func TestNetcupCheck(t *testing.T) {
	p := provider.NewNetcup(providertest.Deps())
	for _, tc := range []struct {
		name     string
		fqdn     string
		password string
		zone     string
		want     []providertest.StepWant
	}{
		{name: "good", fqdn: "home.example.com", password: ncPassword, want: []providertest.StepWant{
			{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepPassed},
			{Name: "may edit records", Status: provider.StepUnchecked}}},
		{name: "bad password", fqdn: "home.example.com", password: "wrong-password-1", want: []providertest.StepWant{
			{Name: "credentials accepted", Status: provider.StepFailed}}},
		{name: "domain setting not in the account", zone: "example.org", password: ncPassword, want: []providertest.StepWant{
			{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
		{name: "nothing to look for", password: ncPassword, want: []providertest.StepWant{
			{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepUnchecked}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeNetcup(t)
			settings := map[string]any{"customer_number": ncCustomer, "api_key": ncKey, "api_url": f.url()}
			if tc.zone != "" {
				settings["zone"] = tc.zone
			}
			steps := p.Check(context.Background(), provider.CheckRequest[json.RawMessage]{FQDN: tc.fqdn, Credential: tc.password,
				Settings: providertest.Settings(t, settings)})
			var got, want []string
			for _, s := range steps {
				got = append(got, s.Name+": "+string(s.Status))
				if strings.Contains(s.Detail, ncPassword) || strings.Contains(s.Detail, ncKey) {
					t.Errorf("step shows a secret: %q", s.Detail)
				}
			}
			for _, w := range tc.want {
				want = append(want, w.Name+": "+string(w.Status))
			}
			if !slices.Equal(got, want) {
				t.Errorf("steps %v, want %v (%+v)", got, want, steps)
			}
			if slices.Contains(f.takeActions(), "updateDnsRecords") {
				t.Error("the check changed DNS")
			}
		})
	}
}

func TestNetcupSettings(t *testing.T) {
	p := provider.NewNetcup(providertest.Deps())
	providertest.Describe(t, p)
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{"customer_number": "123456", "api_key": "abc123"}`, has)
	providertest.Validate(t, p, `{}`, has, "settings.customer_number: is required", "settings.api_key: is required")
	providertest.Validate(t, p, `{"customer_number": "12a", "api_key": "a b", "zone": "not a domain", "api_url": "ftp://x"}`, has,
		"settings.customer_number: must be your netcup customer number", "settings.api_key: must be an API key",
		"settings.zone: must be a domain name", "settings.api_url: must be an http or https URL")
	providertest.Validate(t, p, `{"customer_number": "1", "api_key": "k"}`, provider.Has{}, "credential: is required: the API password")
}
