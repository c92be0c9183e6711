package provider_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const (
	gcProject = "my-project"
	gcEmail   = "ddns@my-project.iam.gserviceaccount.com"
	gcKeyID   = "0123456789abcdef0123456789abcdef01234567"
)

var (
	gcKeysOnce        sync.Once
	gcGood, gcRotated *rsa.PrivateKey
)

// gcKeys are two RSA keys: the service account's, and one Google does not
// know (a rotated key with the same id).
func gcKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	gcKeysOnce.Do(func() {
		var err error
		if gcGood, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if gcRotated, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return gcGood, gcRotated
}

// gcKeyJSON is a service account key file as the Cloud console writes it.
func gcKeyJSON(t testing.TB, key *rsa.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(map[string]string{
		"type": "service_account", "project_id": gcProject, "private_key_id": gcKeyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": gcEmail, "client_id": "123456789012345678901",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token",
	}, "", "  ")
	return string(b)
}

// fakeGoogle plays Google's OAuth token endpoint (/token: the JWT bearer
// grant, the assertion's RS256 signature verified with the service
// account's public key, its claims checked as Google documents them) and
// Cloud DNS API v1 (/dns/v1: managed zones, record sets; bearer tokens
// it issued), answering Google's error JSON.
type fakeGoogle struct {
	mu      sync.Mutex
	public  *rsa.PublicKey
	tokens  map[string]bool
	issued  int
	zones   map[string]string // managed zone name → DNS name
	private map[string]bool
	sets    map[string]gcSet // zone|name.|type
	// fail answers an action ("token", "listZones", "getZone", "list",
	// "create", "patch") after authentication.
	fail map[string]http.HandlerFunc
}

type gcSet struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	TTL     int      `json:"ttl"`
	RRDatas []string `json:"rrdatas"`
}

func newFakeGoogle(t testing.TB) *fakeGoogle {
	good, _ := gcKeys(t)
	return &fakeGoogle{public: &good.PublicKey, tokens: map[string]bool{},
		zones:   map[string]string{"example-com": "example.com.", "example-com-private": "example.com.", "example-org": "example.org."},
		private: map[string]bool{"example-com-private": true},
		sets:    map[string]gcSet{}, fail: map[string]http.HandlerFunc{}}
}

func (f *fakeGoogle) put(zone, name, typ string, ttl int, values ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sets[zone+"|"+name+".|"+typ] = gcSet{Name: name + ".", Type: typ, TTL: ttl, RRDatas: values}
}

func (f *fakeGoogle) get(zone, name, typ string) (gcSet, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sets[zone+"|"+name+".|"+typ]
	return s, ok
}

func gcError(status int, reason, statusText, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"errors":[{"message":%q,"domain":"global","reason":%q}],"status":%q}}`,
			status, msg, msg, reason, statusText)
	}
}

func oauthError(status int, code, desc string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":%q,"error_description":%q}`, code, desc)
	}
}

func (f *fakeGoogle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/token" {
		f.token(w, r)
		return
	}
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || !f.tokens[strings.TrimPrefix(auth, "Bearer ")] {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		gcError(401, "authError", "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.")(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/dns/v1/projects/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) < 2 || parts[1] != "managedZones" {
		gcError(404, "notFound", "NOT_FOUND", "Not Found")(w, r)
		return
	}
	if parts[0] != gcProject {
		gcError(403, "forbidden", "PERMISSION_DENIED", "The caller does not have permission")(w, r)
		return
	}
	action := ""
	switch {
	case len(parts) == 2 && r.Method == "GET":
		action = "listZones"
	case len(parts) == 3 && r.Method == "GET":
		action = "getZone"
	case len(parts) == 4 && parts[3] == "rrsets" && r.Method == "GET":
		action = "list"
	case len(parts) == 4 && parts[3] == "rrsets" && r.Method == "POST":
		action = "create"
	case len(parts) == 6 && parts[3] == "rrsets" && r.Method == "PATCH":
		action = "patch"
	default:
		gcError(400, "invalid", "INVALID_ARGUMENT", "unsupported request "+r.Method+" "+r.URL.Path)(w, r)
		return
	}
	if h := f.fail[action]; h != nil {
		h(w, r)
		return
	}
	if action != "listZones" {
		if _, ok := f.zones[parts[2]]; !ok {
			gcError(404, "notFound", "NOT_FOUND", "The 'parameters.managedZone' resource named '"+parts[2]+"' does not exist.")(w, r)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	switch action {
	case "listZones":
		zones := []map[string]string{}
		for name, dns := range f.zones {
			if q := r.URL.Query().Get("dnsName"); q == "" || q == dns {
				vis := "public"
				if f.private[name] {
					vis = "private"
				}
				zones = append(zones, map[string]string{"kind": "dns#managedZone", "name": name, "dnsName": dns, "visibility": vis, "id": "1234"})
			}
		}
		slices.SortFunc(zones, func(a, b map[string]string) int { return strings.Compare(b["name"], a["name"]) }) // the private zone first
		_ = json.NewEncoder(w).Encode(map[string]any{"managedZones": zones})
	case "getZone":
		_ = json.NewEncoder(w).Encode(map[string]string{"name": parts[2], "dnsName": f.zones[parts[2]]})
	case "list":
		q := r.URL.Query()
		if q.Get("type") != "" && q.Get("name") == "" {
			gcError(400, "required", "INVALID_ARGUMENT", "name is required with type")(w, r)
			return
		}
		sets := []gcSet{}
		for k, s := range f.sets {
			if strings.HasPrefix(k, parts[2]+"|") && (q.Get("name") == "" || s.Name == q.Get("name")) && (q.Get("type") == "" || s.Type == q.Get("type")) {
				sets = append(sets, s)
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "dns#resourceRecordSetsListResponse", "rrsets": sets})
	case "create", "patch":
		var in gcSet
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &in); err != nil || in.TTL < 1 || len(in.RRDatas) == 0 || r.Header.Get("Content-Type") != "application/json" {
			gcError(400, "invalid", "INVALID_ARGUMENT", "Invalid value for 'entity.rrset'")(w, r)
			return
		}
		zoneDNS := f.zones[parts[2]]
		if in.Name != zoneDNS && !strings.HasSuffix(in.Name, "."+zoneDNS) {
			gcError(400, "invalid", "INVALID_ARGUMENT", "Invalid value for 'entity.rrset.name': '"+in.Name+"'")(w, r)
			return
		}
		key := parts[2] + "|" + in.Name + "|" + in.Type
		_, exists := f.sets[key]
		if action == "create" && exists {
			gcError(409, "alreadyExists", "ALREADY_EXISTS", "The resource 'entity.rrset' named '"+in.Name+"' already exists")(w, r)
			return
		}
		if action == "patch" {
			name, _ := url.PathUnescape(parts[4])
			if !exists || name != in.Name || parts[5] != in.Type {
				gcError(404, "notFound", "NOT_FOUND", "The 'entity.rrset' resource named '"+name+"' does not exist.")(w, r)
				return
			}
		}
		f.sets[key] = in
		_ = json.NewEncoder(w).Encode(in)
	}
}

// token is the JWT bearer grant: the assertion is an RS256 JWT whose
// signature the service account's public key verifies (checked here with
// crypto/rsa, not the JWT library the provider signs with), issued by the
// account for the token endpoint, with a Cloud DNS scope and at most an
// hour of life.
func (f *fakeGoogle) token(w http.ResponseWriter, r *http.Request) {
	if h := f.fail["token"]; h != nil {
		h(w, r)
		return
	}
	_ = r.ParseForm()
	if r.Method != "POST" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthError(400, "unsupported_grant_type", "Invalid grant_type: "+r.PostForm.Get("grant_type"))(w, r)
		return
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		oauthError(400, "invalid_grant", "Invalid JWT: not three parts")(w, r)
		return
	}
	var header struct{ Alg, Typ, Kid string }
	var claims struct {
		Iss, Scope, Aud string
		Iat, Exp        int64
	}
	h, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	c, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(h, &header) != nil || json.Unmarshal(c, &claims) != nil {
		oauthError(400, "invalid_grant", "Invalid JWT: undecodable")(w, r)
		return
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if header.Alg != "RS256" || header.Kid != gcKeyID || rsa.VerifyPKCS1v15(f.public, crypto.SHA256, digest[:], sig) != nil {
		oauthError(400, "invalid_grant", "Invalid JWT Signature.")(w, r)
		return
	}
	now := time.Now().Unix()
	if claims.Iss != gcEmail || claims.Aud != "http://"+r.Host+"/token" ||
		!slices.Contains(strings.Fields(claims.Scope), "https://www.googleapis.com/auth/ndev.clouddns.readwrite") {
		oauthError(400, "invalid_grant", "Invalid JWT: iss, aud or scope")(w, r)
		return
	}
	if claims.Exp-claims.Iat > 3600 || claims.Iat > now+300 || claims.Exp < now {
		oauthError(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")(w, r)
		return
	}
	f.issued++
	tok := fmt.Sprintf("ya29.fake-access-token-%d", f.issued)
	f.tokens[tok] = true
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"expires_in":3599,"token_type":"Bearer"}`, tok)
}

// urlCase is one attempt against a fake provider whose base URLs (API
// and sign-in) all point at one local server: providertest.Run sets only
// one URL setting.
type urlCase struct {
	name     string
	settings map[string]any
	request  provider.Request[json.RawMessage]
	serve    http.HandlerFunc
	requests int // 0: one; -1: none
	want     provider.Result
	msg      string
	advice   string
	retry    time.Duration
	after    func(t *testing.T, seen []providertest.Seen)
}

// runURLCases runs each case with a fresh provider and fake; urls maps
// each URL setting to its path on the fake.
func runURLCases(t *testing.T, newProvider func(provider.Deps) provider.Provider, urls map[string]string, cases []urlCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := providertest.NewFake(t, tc.serve)
			s := map[string]any{}
			for k, path := range urls {
				s[k] = fake.URL + path
			}
			for k, v := range tc.settings {
				s[k] = v
			}
			req := tc.request
			req.Settings = providertest.Settings(t, s)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out := newProvider(providertest.Deps()).Send(ctx, req)
			if out.Result != tc.want || !strings.Contains(out.Message, tc.msg) || !strings.Contains(out.Advice, tc.advice) || out.RetryAfter != tc.retry {
				t.Errorf("got %v %q (advice %q, retry after %v), want %v containing %q (advice %q, retry after %v)",
					out.Result, out.Message, out.Advice, out.RetryAfter, tc.want, tc.msg, tc.advice, tc.retry)
			}
			providertest.CheckOutcome(t, out, req.Password, req.Credential)
			seen := fake.Requests()
			want := tc.requests
			switch {
			case want == 0:
				want = 1
			case want < 0:
				want = 0
			}
			if len(seen) != want {
				var lines []string
				for _, s := range seen {
					lines = append(lines, s.Method+" "+s.Path)
				}
				t.Errorf("the attempt made %d requests, want %d:\n%s", len(seen), want, strings.Join(lines, "\n"))
			}
			for _, s := range seen {
				if s.Header.Get("User-Agent") != "ddnsbroker/test" {
					t.Errorf("%s %s without the User-Agent", s.Method, s.Path)
				}
			}
			if tc.after != nil {
				tc.after(t, seen)
			}
		})
	}
}

// runURLChecks runs Check with each case's settings against a fake whose
// URLs (urls) all point at one local server, and refuses requests that
// could change DNS (token requests are POSTs to tokenPath and allowed).
func runURLChecks(t *testing.T, p provider.Provider, urls map[string]string, tokenPath string, cases []providertest.CheckCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			fake := providertest.NewFake(t, tc.Serve)
			s := map[string]any{}
			for k, path := range urls {
				s[k] = fake.URL + path
			}
			for k, v := range tc.Settings {
				s[k] = v
			}
			req := tc.Request
			req.Settings = providertest.Settings(t, s)
			steps := p.Check(t.Context(), req)
			var got, want []string
			for _, st := range steps {
				got = append(got, st.Name+": "+string(st.Status))
				if len(req.Credential) >= 6 && strings.Contains(st.Detail, req.Credential) {
					t.Errorf("step %q shows the credential", st.Name)
				}
			}
			for _, w := range tc.Want {
				want = append(want, w.Name+": "+string(w.Status))
			}
			if !slices.Equal(got, want) {
				t.Errorf("steps\n  %s\nwant\n  %s\n(%+v)", strings.Join(got, "\n  "), strings.Join(want, "\n  "), steps)
			}
			for _, r := range fake.Requests() {
				if r.Method != "GET" && r.Path != tokenPath {
					t.Errorf("the check sent %s %s, which may change DNS", r.Method, r.Path)
				}
			}
		})
	}
}

var gcURLs = map[string]string{"api_url": "/dns/v1", "token_url": "/token"}

func TestGoogleCloudDNSAnswerTable(t *testing.T) {
	good, rotated := gcKeys(t)
	key, wrongKey := gcKeyJSON(t, good), gcKeyJSON(t, rotated)
	req := func(fqdn, addr string) provider.Request[json.RawMessage] {
		return providertest.Request(fqdn, addr, "", "", key)
	}
	keep := req("home.example.com", "198.51.100.7")
	keep.KeepOthers, keep.Delivered = true, []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	replace := keep
	replace.KeepOthers = false
	zone := map[string]any{"zone": "example-com"}
	type spec struct {
		urlCase
		setup func(f *fakeGoogle)
		state func(t *testing.T, f *fakeGoogle)
	}
	wantSet := func(name, typ string, ttl int, values ...string) func(t *testing.T, f *fakeGoogle) {
		return func(t *testing.T, f *fakeGoogle) {
			t.Helper()
			s, ok := f.get("example-com", name, typ)
			if !ok || s.TTL != ttl || !slices.Equal(s.RRDatas, values) {
				t.Errorf("rrset %s %s = %+v (exists %v), want ttl %d %v", name, typ, s, ok, ttl, values)
			}
		}
	}
	specs := []spec{
		{urlCase: urlCase{name: "created, public zone found by name", request: req("home.example.com", "198.51.100.7"), requests: 5,
			want: provider.Delivered, msg: "A home.example.com → 198.51.100.7 created (ttl 300)",
			after: func(t *testing.T, seen []providertest.Seen) {
				if seen[1].Query.Get("dnsName") != "home.example.com." || seen[2].Query.Get("dnsName") != "example.com." ||
					seen[3].Header.Get("Authorization") != "Bearer ya29.fake-access-token-1" || seen[4].Method != "POST" ||
					seen[4].Path != "/dns/v1/projects/my-project/managedZones/example-com/rrsets" {
					t.Errorf("requests %+v", seen)
				}
			}},
			state: wantSet("home.example.com", "A", 300, "198.51.100.7")},
		{urlCase: urlCase{name: "AAAA created in the configured zone", settings: map[string]any{"zone": "example-com", "ttl": 60},
			request: req("home.example.com", "2001:db8::7"), requests: 3, want: provider.Delivered, msg: "AAAA home.example.com → 2001:db8::7 created (ttl 60)"},
			state: wantSet("home.example.com", "AAAA", 60, "2001:db8::7")},
		{urlCase: urlCase{name: "updated with PATCH", settings: zone, request: req("home.example.com", "198.51.100.8"), requests: 3,
			want: provider.Delivered, msg: "updated",
			after: func(t *testing.T, seen []providertest.Seen) {
				if seen[2].Method != "PATCH" || seen[2].Path != "/dns/v1/projects/my-project/managedZones/example-com/rrsets/home.example.com./A" {
					t.Errorf("update %s %s", seen[2].Method, seen[2].Path)
				}
			}},
			setup: func(f *fakeGoogle) { f.put("example-com", "home.example.com", "A", 300, "198.51.100.7") },
			state: wantSet("home.example.com", "A", 300, "198.51.100.8")},
		{urlCase: urlCase{name: "unchanged: read, no write", settings: zone, request: req("home.example.com", "198.51.100.7"), requests: 2,
			want: provider.Delivered, msg: "unchanged"},
			setup: func(f *fakeGoogle) { f.put("example-com", "home.example.com", "A", 300, "198.51.100.7") }},
		{urlCase: urlCase{name: "keep_other_addresses: only ours is replaced", settings: zone, request: keep, requests: 3, want: provider.Delivered},
			setup: func(f *fakeGoogle) { f.put("example-com", "home.example.com", "A", 300, "192.0.2.1", "203.0.113.50") },
			state: wantSet("home.example.com", "A", 300, "203.0.113.50", "198.51.100.7")},
		{urlCase: urlCase{name: "without keep_other_addresses the set becomes ours", settings: zone, request: replace, requests: 3, want: provider.Delivered},
			setup: func(f *fakeGoogle) { f.put("example-com", "home.example.com", "A", 300, "192.0.2.1", "203.0.113.50") },
			state: wantSet("home.example.com", "A", 300, "198.51.100.7")},
		{urlCase: urlCase{name: "a key Google does not know: the signature fails", settings: zone,
			request: providertest.Request("home.example.com", "198.51.100.7", "", "", wrongKey),
			want:    provider.Failed, msg: "getting an access token: HTTP 400: invalid_grant Invalid JWT Signature.", advice: "create a new JSON key"}},
		{urlCase: urlCase{name: "no permission to change record sets", settings: zone, request: req("home.example.com", "198.51.100.7"), requests: 3,
			want: provider.Failed, msg: "HTTP 403: forbidden Forbidden", advice: "roles/dns.admin"},
			setup: func(f *fakeGoogle) { f.fail["create"] = gcError(403, "forbidden", "PERMISSION_DENIED", "Forbidden") }},
		{urlCase: urlCase{name: "API not enabled", settings: zone, request: req("home.example.com", "198.51.100.7"), requests: 2,
			want: provider.Failed, msg: "accessNotConfigured", advice: "not enabled"},
			setup: func(f *fakeGoogle) {
				f.fail["list"] = gcError(403, "accessNotConfigured", "PERMISSION_DENIED", "Cloud DNS API has not been used in project 1234 before or it is disabled.")
			}},
		{urlCase: urlCase{name: "managed zone missing", settings: map[string]any{"zone": "no-such-zone"}, request: req("home.example.com", "198.51.100.7"),
			requests: 2, want: provider.Failed, msg: "HTTP 404: notFound The 'parameters.managedZone' resource named 'no-such-zone' does not exist.", advice: "check the service's project and zone"}},
		{urlCase: urlCase{name: "no public zone holds the name", request: req("home.example.net", "198.51.100.7"), requests: 3,
			want: provider.Failed, msg: "no public managed zone of project my-project holds home.example.net"}},
		{urlCase: urlCase{name: "rate limited with Retry-After", settings: zone, request: req("home.example.com", "198.51.100.7"), requests: 2,
			want: provider.Retry, msg: "HTTP 429: rateLimitExceeded", advice: provider.AdviceRateLimited, retry: 30 * time.Second},
			setup: func(f *fakeGoogle) {
				f.fail["list"] = func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Retry-After", "30")
					gcError(429, "rateLimitExceeded", "RESOURCE_EXHAUSTED", "Rate Limit Exceeded")(w, r)
				}
			}},
		{urlCase: urlCase{name: "backend error is retried", settings: zone, request: req("home.example.com", "198.51.100.7"), requests: 3,
			want: provider.Retry, msg: "HTTP 503: backendError"},
			setup: func(f *fakeGoogle) {
				f.put("example-com", "home.example.com", "A", 300, "192.0.2.1")
				f.fail["patch"] = gcError(503, "backendError", "UNAVAILABLE", "Backend Error")
			}},
		{urlCase: urlCase{name: "created meanwhile (409) is retried", settings: zone, request: req("home.example.com", "198.51.100.7"), requests: 3,
			want: provider.Retry, msg: "HTTP 409: alreadyExists"},
			setup: func(f *fakeGoogle) {
				f.fail["create"] = gcError(409, "alreadyExists", "ALREADY_EXISTS", "already exists")
			}},
		{urlCase: urlCase{name: "token endpoint down is retried", settings: zone, request: req("home.example.com", "198.51.100.7"),
			want: provider.Retry, msg: "getting an access token: HTTP 503"},
			setup: func(f *fakeGoogle) { f.fail["token"] = providertest.Answer(503, nil, "Service Unavailable") }},
		{urlCase: urlCase{name: "not a key", settings: zone, request: providertest.Request("home.example.com", "198.51.100.7", "", "", "just-a-token-123"),
			requests: -1, want: provider.Failed, msg: "the service's key must be a service account's JSON key"}},
	}
	for _, sp := range specs {
		f := newFakeGoogle(t)
		if sp.setup != nil {
			sp.setup(f)
		}
		c := sp.urlCase
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
		runURLCases(t, provider.NewGoogleCloudDNS, gcURLs, []urlCase{c})
	}
}

// TestGoogleCloudDNSToken: the access token is reused until it nears its
// expiry; a cached token that Google stops accepting is a retry, and the
// next attempt signs in again.
func TestGoogleCloudDNSToken(t *testing.T) {
	good, _ := gcKeys(t)
	f := newFakeGoogle(t)
	fake := providertest.NewFake(t, f.ServeHTTP)
	p := provider.NewGoogleCloudDNS(providertest.Deps())
	send := func(addr string) provider.Outcome {
		req := providertest.Request("home.example.com", addr, "", "", gcKeyJSON(t, good))
		req.Settings = providertest.Settings(t, map[string]any{"api_url": fake.URL + "/dns/v1", "token_url": fake.URL + "/token", "zone": "example-com"})
		return p.Send(t.Context(), req)
	}
	tokens := func() int {
		n := 0
		for _, r := range fake.Requests() {
			if r.Path == "/token" {
				n++
			}
		}
		return n
	}
	for _, addr := range []string{"198.51.100.1", "198.51.100.2"} {
		if out := send(addr); out.Result != provider.Delivered {
			t.Fatalf("%v %s", out.Result, out.Message)
		}
	}
	if n := tokens(); n != 1 {
		t.Fatalf("%d token requests for two deliveries, want 1", n)
	}
	f.mu.Lock()
	clear(f.tokens) // Google revokes the token
	f.mu.Unlock()
	if out := send("198.51.100.3"); out.Result != provider.Retry || !strings.Contains(out.Message, "HTTP 401: authError") {
		t.Fatalf("revoked token: %v %s", out.Result, out.Message)
	}
	if out := send("198.51.100.3"); out.Result != provider.Delivered || tokens() != 2 {
		t.Fatalf("after the revoked token: %v %s, %d token requests", out.Result, out.Message, tokens())
	}
}

func TestGoogleCloudDNSCheck(t *testing.T) {
	good, rotated := gcKeys(t)
	ok := newFakeGoogle(t)
	denied := newFakeGoogle(t)
	denied.fail["listZones"] = gcError(403, "forbidden", "PERMISSION_DENIED", "Forbidden")
	req := provider.CheckRequest[json.RawMessage]{FQDN: "home.example.com", Credential: gcKeyJSON(t, good)}
	bad := req
	bad.Credential = gcKeyJSON(t, rotated)
	passed := []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
		{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}
	zoneFailed := []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}
	runURLChecks(t, provider.NewGoogleCloudDNS(providertest.Deps()), gcURLs, "/token", []providertest.CheckCase{
		{Name: "zone by name", Request: req, Serve: ok.ServeHTTP, Want: passed},
		{Name: "zone by its name setting", Settings: map[string]any{"zone": "example-com"}, Request: req, Serve: ok.ServeHTTP, Want: passed},
		{Name: "unknown key", Request: bad, Serve: ok.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing zone", Settings: map[string]any{"zone": "no-such-zone"}, Request: req, Serve: ok.ServeHTTP, Want: zoneFailed},
		{Name: "no permission", Request: req, Serve: denied.ServeHTTP, Want: zoneFailed},
	})
}

func TestGoogleCloudDNSValidate(t *testing.T) {
	good, _ := gcKeys(t)
	p := provider.NewGoogleCloudDNS(providertest.Deps())
	providertest.Validate(t, p, `{"project": "my-project", "zone": "example-com", "ttl": 60}`, provider.Has{Credential: true})
	providertest.Validate(t, p, `{"zone": "example.com", "ttl": 0, "token_url": "ftp://x"}`, provider.Has{Credential: true},
		"settings.zone: must be the managed zone's name", "settings.token_url: ", "settings.ttl: must be 1..86400")
	if errs := p.ValidateCredential(gcKeyJSON(t, good)); errs != nil {
		t.Errorf("a key file refused: %v", errs)
	}
	for _, bad := range []string{"ya29.token", `{"type": "authorized_user", "client_id": "x"}`,
		`{"type": "service_account", "client_email": "a@b", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`} {
		errs := p.ValidateCredential(bad)
		if len(errs) != 1 || errs[0].Field != "credential" || strings.Contains(errs[0].Message, bad) {
			t.Errorf("credential %q: %v", bad, errs)
		}
	}
}
