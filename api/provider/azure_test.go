package provider_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const (
	azTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	azClient = "11111111-2222-3333-4444-555555555555"
	azSub    = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	azSecret = "Q~abcdefghijklmnopqrstuvwxyz0123456789AB"
)

// fakeAzure plays Microsoft Entra ID's token endpoint (client
// credentials: tenant, client id, client secret and the Resource Manager
// scope checked, AADSTS errors) and Azure Resource Manager's DNS record
// sets (api-version 2018-05-01, bearer tokens it issued, the app's role
// actions, etags), answering ARM's error JSON.
type fakeAzure struct {
	mu      sync.Mutex
	tokens  map[string]bool
	issued  int
	actions []string // the app's role: patterns with *
	sets    map[string]*azSet
	etag    int
	fail    map[string]http.HandlerFunc // "token", "get", "put", "zone"
}

type azSet struct {
	Etag       string `json:"etag"`
	Properties struct {
		Metadata map[string]string `json:"metadata,omitempty"`
		TTL      int               `json:"TTL"`
		A        []struct {
			IPv4 string `json:"ipv4Address"`
		} `json:"ARecords,omitempty"`
		AAAA []struct {
			IPv6 string `json:"ipv6Address"`
		} `json:"AAAARecords,omitempty"`
	} `json:"properties"`
}

func newFakeAzure() *fakeAzure {
	return &fakeAzure{tokens: map[string]bool{}, actions: []string{"Microsoft.Network/dnsZones/*"}, sets: map[string]*azSet{}, fail: map[string]http.HandlerFunc{}}
}

func (f *fakeAzure) put(rel, typ string, ttl int, meta map[string]string, values ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &azSet{}
	s.Properties.TTL, s.Properties.Metadata = ttl, meta
	for _, v := range values {
		if typ == "A" {
			s.Properties.A = append(s.Properties.A, struct {
				IPv4 string `json:"ipv4Address"`
			}{v})
		} else {
			s.Properties.AAAA = append(s.Properties.AAAA, struct {
				IPv6 string `json:"ipv6Address"`
			}{v})
		}
	}
	f.etag++
	s.Etag = fmt.Sprintf("etag-%d", f.etag)
	f.sets[typ+"/"+rel] = s
}

// values are a record set's addresses, its TTL and metadata.
func (f *fakeAzure) values(rel, typ string) ([]string, int, map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sets[typ+"/"+rel]
	if !ok {
		return nil, 0, nil
	}
	var out []string
	for _, a := range s.Properties.A {
		out = append(out, a.IPv4)
	}
	for _, a := range s.Properties.AAAA {
		out = append(out, a.IPv6)
	}
	return out, s.Properties.TTL, s.Properties.Metadata
}

func armError(status int, code, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Ms-Request-Id", "5c3f0b1e-0000-0000-0000-000000000000")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`, code, msg)
	}
}

func aadError(status int, code string, aadsts int, desc string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":%q,"error_description":"AADSTS%d: %s Trace ID: 0000 Correlation ID: 0000 Timestamp: 2026-01-01 00:00:00Z","error_codes":[%d],"timestamp":"2026-01-01 00:00:00Z","trace_id":"0000","correlation_id":"0000","error_uri":"https://login.microsoftonline.com/error?code=%d"}`,
			code, aadsts, desc, aadsts, aadsts)
	}
}

// allowed tells whether the app's role grants action (patterns: * at
// the end matches the rest, inside it one path segment).
func (f *fakeAzure) allowed(action string) bool {
	action = strings.ToLower(action)
	for _, p := range f.actions {
		p = strings.ToLower(p)
		if ok, _ := path.Match(p, action); ok || strings.HasSuffix(p, "/*") && strings.HasPrefix(action, strings.TrimSuffix(p, "*")) {
			return true
		}
	}
	return false
}

func (f *fakeAzure) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/login/") {
		f.token(w, r)
		return
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || !f.tokens[strings.TrimPrefix(auth, "Bearer ")] {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.windows.net/`+azTenant+`", error="invalid_token"`)
		armError(401, "InvalidAuthenticationToken", "The access token is invalid.")(w, r)
		return
	}
	zonePrefix := "/subscriptions/" + azSub + "/resourceGroups/dns/providers/Microsoft.Network/dnsZones/"
	switch {
	case !strings.HasPrefix(r.URL.Path, "/subscriptions/"+azSub+"/"):
		armError(404, "SubscriptionNotFound", "The subscription '"+strings.Split(r.URL.Path, "/")[2]+"' could not be found.")(w, r)
		return
	case !strings.HasPrefix(r.URL.Path, "/subscriptions/"+azSub+"/resourceGroups/dns/"):
		armError(404, "ResourceGroupNotFound", "Resource group '"+strings.Split(r.URL.Path, "/")[4]+"' could not be found.")(w, r)
		return
	}
	rest := strings.Split(strings.TrimPrefix(r.URL.Path, zonePrefix), "/")
	if rest[0] != "example.com" {
		if len(rest) == 1 {
			armError(404, "ResourceNotFound", "The Resource 'Microsoft.Network/dnszones/"+rest[0]+"' under resource group 'dns' was not found.")(w, r)
		} else {
			armError(404, "ParentResourceNotFound", "Can not perform requested operation on nested resource. Parent resource '"+rest[0]+"' not found.")(w, r)
		}
		return
	}
	if len(rest) == 4 && rest[1] == "providers" && rest[2] == "Microsoft.Authorization" && rest[3] == "permissions" {
		if r.URL.Query().Get("api-version") != "2022-04-01" {
			armError(400, "InvalidApiVersionParameter", "The api-version is invalid.")(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"value": []map[string]any{{"actions": f.actions, "notActions": []string{}}}})
		return
	}
	if r.URL.Query().Get("api-version") != "2018-05-01" {
		armError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")(w, r)
		return
	}
	if len(rest) == 1 && r.Method == "GET" {
		if h := f.fail["zone"]; h != nil {
			h(w, r)
			return
		}
		fmt.Fprint(w, `{"name":"example.com","type":"Microsoft.Network/dnszones","location":"global","properties":{"zoneType":"Public"}}`)
		return
	}
	if len(rest) != 3 || (rest[1] != "A" && rest[1] != "AAAA") {
		armError(400, "BadRequest", "unsupported "+r.URL.Path)(w, r)
		return
	}
	typ, rel, key := rest[1], rest[2], rest[1]+"/"+rest[2]
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch r.Method {
	case "GET":
		if h := f.fail["get"]; h != nil {
			h(w, r)
			return
		}
		if !f.allowed("Microsoft.Network/dnsZones/" + typ + "/read") {
			armError(403, "AuthorizationFailed", "The client '"+azClient+"' does not have authorization to perform action 'Microsoft.Network/dnsZones/"+typ+"/read'.")(w, r)
			return
		}
		s, ok := f.sets[key]
		if !ok {
			w.WriteHeader(404)
			fmt.Fprintf(w, `{"code":"NotFound","message":"The resource record '%s' does not exist in resource group 'dns' of subscription '%s'."}`, rel, azSub)
			return
		}
		_ = json.NewEncoder(w).Encode(s)
	case "PUT":
		if h := f.fail["put"]; h != nil {
			h(w, r)
			return
		}
		if !f.allowed("Microsoft.Network/dnsZones/" + typ + "/write") {
			armError(403, "AuthorizationFailed", "The client '"+azClient+"' with object id '0000' does not have authorization to perform action 'Microsoft.Network/dnsZones/"+typ+"/write' over scope '/subscriptions/"+azSub+"/resourceGroups/dns/providers/Microsoft.Network/dnszones/example.com/"+typ+"/"+rel+"' or the scope is invalid.")(w, r)
			return
		}
		old, exists := f.sets[key]
		if r.Header.Get("If-None-Match") == "*" && exists || r.Header.Get("If-Match") != "" && (!exists || old.Etag != r.Header.Get("If-Match")) {
			armError(412, "PreconditionFailed", "The Record set "+rel+" has been modified (etag mismatch).")(w, r)
			return
		}
		var in azSet
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &in); err != nil || in.Properties.TTL < 1 ||
			(typ == "A") != (len(in.Properties.A) > 0) || (typ == "AAAA") != (len(in.Properties.AAAA) > 0) {
			armError(400, "BadRequest", "The record set is not valid.")(w, r)
			return
		}
		for _, a := range in.Properties.A {
			if ip, err := netip.ParseAddr(a.IPv4); err != nil || !ip.Is4() {
				armError(400, "BadRequest", "The IPv4 address is not valid.")(w, r)
				return
			}
		}
		f.etag++
		in.Etag = fmt.Sprintf("etag-%d", f.etag)
		f.sets[key] = &in
		if exists {
			w.WriteHeader(200)
		} else {
			w.WriteHeader(201)
		}
		_ = json.NewEncoder(w).Encode(in)
	default:
		armError(405, "MethodNotAllowed", r.Method)(w, r)
	}
}

func (f *fakeAzure) token(w http.ResponseWriter, r *http.Request) {
	if h := f.fail["token"]; h != nil {
		h(w, r)
		return
	}
	_ = r.ParseForm()
	form := r.PostForm
	switch {
	case r.Method != "POST" || r.URL.Path != "/login/"+azTenant+"/oauth2/v2.0/token":
		aadError(400, "invalid_request", 90002, "Tenant '"+strings.Split(r.URL.Path, "/")[2]+"' not found.")(w, r)
	case form.Get("grant_type") != "client_credentials":
		aadError(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")(w, r)
	case form.Get("client_id") != azClient:
		aadError(400, "unauthorized_client", 700016, "Application with identifier '"+form.Get("client_id")+"' was not found in the directory.")(w, r)
	case form.Get("client_secret") != azSecret:
		aadError(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")(w, r)
	case form.Get("scope") != "http://"+r.Host+"/.default":
		aadError(400, "invalid_scope", 1002012, "The provided value for scope is not valid.")(w, r)
	default:
		f.issued++
		tok := fmt.Sprintf("eyJ0eXAiOiJKV1Qi.fake-%d", f.issued)
		f.tokens[tok] = true
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":%q}`, tok)
	}
}

var azURLs = map[string]string{"api_url": "", "login_url": "/login"}

func azSettings(kv ...any) map[string]any {
	s := map[string]any{"tenant_id": azTenant, "client_id": azClient, "subscription_id": azSub, "resource_group": "dns", "zone": "example.com"}
	for i := 0; i+1 < len(kv); i += 2 {
		s[kv[i].(string)] = kv[i+1]
	}
	return s
}

func TestAzureAnswerTable(t *testing.T) {
	req := func(fqdn, addr string) provider.Request[json.RawMessage] {
		return providertest.Request(fqdn, addr, "", "", azSecret)
	}
	keep := req("home.example.com", "198.51.100.7")
	keep.KeepOthers, keep.Delivered = true, []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	replace := keep
	replace.KeepOthers = false
	type spec struct {
		urlCase
		setup func(f *fakeAzure)
		state func(t *testing.T, f *fakeAzure)
	}
	wantSet := func(rel, typ string, ttl int, meta string, values ...string) func(t *testing.T, f *fakeAzure) {
		return func(t *testing.T, f *fakeAzure) {
			t.Helper()
			got, gotTTL, gotMeta := f.values(rel, typ)
			if !slices.Equal(got, values) || gotTTL != ttl || fmt.Sprint(gotMeta) != meta {
				t.Errorf("record set %s %s = %v ttl %d metadata %v, want %v ttl %d metadata %s", typ, rel, got, gotTTL, gotMeta, values, ttl, meta)
			}
		}
	}
	specs := []spec{
		{urlCase: urlCase{name: "created with the broker's marker", request: req("home.example.com", "198.51.100.7"), requests: 3,
			want: provider.Delivered, msg: "A home.example.com → 198.51.100.7 created (ttl 300)",
			after: func(t *testing.T, seen []providertest.Seen) {
				put := seen[2]
				if put.Method != "PUT" || put.Path != "/subscriptions/"+azSub+"/resourceGroups/dns/providers/Microsoft.Network/dnsZones/example.com/A/home" ||
					put.Query.Get("api-version") != "2018-05-01" || put.Header.Get("If-None-Match") != "*" ||
					put.Header.Get("Authorization") != "Bearer eyJ0eXAiOiJKV1Qi.fake-1" {
					t.Errorf("PUT %+v", put)
				}
			}},
			state: wantSet("home", "A", 300, "map[managedby:managed by ddnsbroker]", "198.51.100.7")},
		{urlCase: urlCase{name: "AAAA at the apex", settings: map[string]any{"ttl": 60}, request: req("example.com", "2001:db8::7"), requests: 3,
			want: provider.Delivered, msg: "AAAA example.com → 2001:db8::7 created (ttl 60)"},
			state: wantSet("@", "AAAA", 60, "map[managedby:managed by ddnsbroker]", "2001:db8::7")},
		{urlCase: urlCase{name: "updated, guarded by the etag, metadata kept", request: req("home.example.com", "198.51.100.8"), requests: 3,
			want: provider.Delivered, msg: "updated",
			after: func(t *testing.T, seen []providertest.Seen) {
				if seen[2].Header.Get("If-Match") != "etag-1" {
					t.Errorf("If-Match %q", seen[2].Header.Get("If-Match"))
				}
			}},
			setup: func(f *fakeAzure) { f.put("home", "A", 300, map[string]string{"owner": "ops"}, "198.51.100.7") },
			state: wantSet("home", "A", 300, "map[owner:ops]", "198.51.100.8")},
		{urlCase: urlCase{name: "unchanged: read, no write", request: req("home.example.com", "198.51.100.7"), requests: 2,
			want: provider.Delivered, msg: "unchanged"},
			setup: func(f *fakeAzure) { f.put("home", "A", 300, nil, "198.51.100.7") }},
		{urlCase: urlCase{name: "keep_other_addresses: only ours is replaced", request: keep, requests: 3, want: provider.Delivered},
			setup: func(f *fakeAzure) { f.put("home", "A", 300, nil, "192.0.2.1", "203.0.113.50") },
			state: wantSet("home", "A", 300, "map[]", "203.0.113.50", "198.51.100.7")},
		{urlCase: urlCase{name: "without keep_other_addresses the set becomes ours", request: replace, requests: 3, want: provider.Delivered},
			setup: func(f *fakeAzure) { f.put("home", "A", 300, nil, "192.0.2.1", "203.0.113.50") },
			state: wantSet("home", "A", 300, "map[]", "198.51.100.7")},
		{urlCase: urlCase{name: "wrong client secret", request: providertest.Request("home.example.com", "198.51.100.7", "", "", "wrong-secret-value-000"),
			want: provider.Failed, msg: "getting an access token: HTTP 401: invalid_client AADSTS7000215: Invalid client secret provided.", advice: "secrets expire"}},
		{urlCase: urlCase{name: "unknown client id", settings: map[string]any{"client_id": "99999999-2222-3333-4444-555555555555"},
			request: req("home.example.com", "198.51.100.7"), want: provider.Failed, msg: "unauthorized_client AADSTS700016", advice: "check tenant_id, client_id"}},
		{urlCase: urlCase{name: "no role to write", request: req("home.example.com", "198.51.100.7"), requests: 3,
			want: provider.Failed, msg: "HTTP 403: AuthorizationFailed The client '" + azClient + "'", advice: "DNS Zone Contributor"},
			setup: func(f *fakeAzure) { f.actions = []string{"Microsoft.Network/dnsZones/*/read"} }},
		{urlCase: urlCase{name: "zone missing", settings: map[string]any{"zone": "example.net"}, request: req("home.example.net", "198.51.100.7"), requests: 2,
			want: provider.Failed, msg: "HTTP 404: ParentResourceNotFound", advice: "no such DNS zone"}},
		{urlCase: urlCase{name: "resource group missing", settings: map[string]any{"resource_group": "nope"}, request: req("home.example.com", "198.51.100.7"),
			requests: 2, want: provider.Failed, msg: "HTTP 404: ResourceGroupNotFound", advice: "resource_group"}},
		{urlCase: urlCase{name: "name outside the zone", request: req("home.example.org", "198.51.100.7"), requests: -1,
			want: provider.Failed, msg: "record home.example.org is not in zone example.com"}},
		{urlCase: urlCase{name: "throttled with Retry-After", request: req("home.example.com", "198.51.100.7"), requests: 2,
			want: provider.Retry, msg: "HTTP 429: TooManyRequests", advice: provider.AdviceRateLimited, retry: 17 * time.Second},
			setup: func(f *fakeAzure) {
				f.fail["get"] = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Retry-After", "17")
					armError(429, "TooManyRequests", "The request is being throttled.")(w, r)
				}
			}},
		{urlCase: urlCase{name: "changed meanwhile (412) is retried", request: req("home.example.com", "198.51.100.8"), requests: 3,
			want: provider.Retry, msg: "HTTP 412: PreconditionFailed"},
			setup: func(f *fakeAzure) {
				f.put("home", "A", 300, nil, "198.51.100.7")
				f.fail["put"] = armError(412, "PreconditionFailed", "The Record set home has been modified (etag mismatch).")
			}},
		{urlCase: urlCase{name: "server error is retried", request: req("home.example.com", "198.51.100.7"), requests: 2,
			want: provider.Retry, msg: "HTTP 500: InternalServerError"},
			setup: func(f *fakeAzure) {
				f.fail["get"] = armError(500, "InternalServerError", "Encountered internal server error.")
			}},
	}
	for _, sp := range specs {
		f := newFakeAzure()
		if sp.setup != nil {
			sp.setup(f)
		}
		c := sp.urlCase
		c.settings = azSettings()
		for k, v := range sp.settings {
			c.settings[k] = v
		}
		c.serve = f.ServeHTTP
		after, state := c.after, sp.state
		c.after = func(t *testing.T, seen []providertest.Seen) {
			if after != nil {
				after(t, seen)
			}
			if state != nil {
				state(t, f)
			}
		}
		runURLCases(t, provider.NewAzure, azURLs, []urlCase{c})
	}
}

// TestAzureTokenReused: one sign-in serves several deliveries.
func TestAzureTokenReused(t *testing.T) {
	f := newFakeAzure()
	fake := providertest.NewFake(t, f.ServeHTTP)
	p := provider.NewAzure(providertest.Deps())
	for _, addr := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
		req := providertest.Request("home.example.com", addr, "", "", azSecret)
		req.Settings = providertest.Settings(t, azSettings("api_url", fake.URL, "login_url", fake.URL+"/login"))
		if out := p.Send(t.Context(), req); out.Result != provider.Delivered {
			t.Fatalf("%v %s", out.Result, out.Message)
		}
	}
	if f.issued != 1 {
		t.Errorf("%d sign-ins for three deliveries, want 1", f.issued)
	}
}

func TestAzureCheck(t *testing.T) {
	ok, reader := newFakeAzure(), newFakeAzure()
	reader.actions = []string{"Microsoft.Network/dnsZones/read", "Microsoft.Network/dnsZones/*/read", "Microsoft.Authorization/*/read"}
	req := provider.CheckRequest[json.RawMessage]{FQDN: "home.example.com", Credential: azSecret}
	bad := req
	bad.Credential = "wrong-secret-value-000"
	runURLChecks(t, provider.NewAzure(providertest.Deps()), azURLs, "/login/"+azTenant+"/oauth2/v2.0/token", []providertest.CheckCase{
		{Name: "good", Settings: azSettings(), Request: req, Serve: ok.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepPassed}}},
		{Name: "wrong secret", Settings: azSettings(), Request: bad, Serve: ok.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing zone", Settings: azSettings("zone", "example.net"), Request: req, Serve: ok.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
		{Name: "reader role only", Settings: azSettings(), Request: req, Serve: reader.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepFailed}}},
	})
}

func TestAzureValidate(t *testing.T) {
	p := provider.NewAzure(providertest.Deps())
	providertest.Validate(t, p, `{"tenant_id": "contoso.onmicrosoft.com", "client_id": "`+azClient+`", "subscription_id": "`+azSub+
		`", "resource_group": "dns-rg", "zone": "example.com", "ttl": 60}`, provider.Has{Credential: true})
	providertest.Validate(t, p, `{"tenant_id": "x y", "client_id": "app", "subscription_id": "sub", "resource_group": "a/b", "zone": "bad zone"}`,
		provider.Has{Credential: true},
		"settings.tenant_id: must be", "settings.client_id: must be", "settings.subscription_id: must be", "settings.resource_group: must be", "settings.zone: must be")
	providertest.Validate(t, p, `{}`, provider.Has{},
		"settings.tenant_id: is required", "settings.client_id: is required", "settings.subscription_id: is required",
		"settings.resource_group: is required", "settings.zone: is required", "credential: is required")
}
