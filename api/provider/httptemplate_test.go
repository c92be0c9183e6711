package provider_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
)

// nastyPassword has every character that breaks a URL, a form, a JSON
// string or a header when inserted unescaped.
const nastyPassword = `p a&s=s#w/o?r%d+"\;é@:`

// templateServer is a local endpoint that records the last request and
// answers what the test says.
type templateServer struct {
	*httptest.Server
	mu     sync.Mutex
	last   *http.Request
	body   string
	status int
	answer string
	header http.Header
}

func newTemplateServer(t *testing.T) *templateServer {
	s := &templateServer{status: 200, answer: "OK", header: http.Header{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.last, s.body = r.Clone(context.Background()), string(b)
		status, answer := s.status, s.answer
		for k, v := range s.header {
			w.Header()[k] = v
		}
		s.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *templateServer) request() (*http.Request, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.body
}

func testHTTPTemplate() provider.Provider {
	hc := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return provider.NewHTTPTemplate(provider.Deps{HTTP: hc, UserAgent: provider.UserAgent("1.2.3")})
}

func settingsJSON(t *testing.T, v map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHTTPTemplateRequests(t *testing.T) {
	srv := newTemplateServer(t)
	srv.answer = "OK <ErrCount>0</ErrCount>" // pleases both success rules
	v4, v6 := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8:1:2::cafe")
	tests := []struct {
		name     string
		settings map[string]any
		target   target
		check    func(t *testing.T, r *http.Request, body string)
	}{
		{
			name: "DuckDNS-shaped, IPv4 in ip=",
			settings: map[string]any{
				"url":            srv.URL + "/update?domains={fqdn}&token={password}&ip={ip}",
				"url_ipv6":       srv.URL + "/update?domains={fqdn}&token={password}&ipv6={ip}",
				"success_status": "200", "success_regexp": "^OK"},
			target: target{FQDN: "home.duckdns.org", Family: 4, Address: v4, Other: v6, Password: nastyPassword},
			check: func(t *testing.T, r *http.Request, _ string) {
				q := r.URL.Query()
				if r.Method != "GET" || r.URL.Path != "/update" || q.Get("domains") != "home.duckdns.org" ||
					q.Get("token") != nastyPassword || q.Get("ip") != "198.51.100.7" || q.Has("ipv6") || len(q) != 3 {
					t.Errorf("request %s %s", r.Method, r.URL.RequestURI())
				}
			},
		},
		{
			name: "DuckDNS-shaped, IPv6 in ipv6= through url_ipv6",
			settings: map[string]any{
				"url":            srv.URL + "/update?domains={fqdn}&token={password}&ip={ip}",
				"url_ipv6":       srv.URL + "/update?domains={fqdn}&token={password}&ipv6={ip}",
				"success_status": "200", "success_regexp": "^OK"},
			target: target{FQDN: "home.duckdns.org", Family: 6, Address: v6, Password: nastyPassword},
			check: func(t *testing.T, r *http.Request, _ string) {
				q := r.URL.Query()
				if q.Get("ipv6") != "2001:db8:1:2::cafe" || q.Has("ip") || q.Get("token") != nastyPassword {
					t.Errorf("request %s", r.URL.RequestURI())
				}
			},
		},
		{
			name: "Namecheap-shaped: host from the username, password escaped",
			settings: map[string]any{
				"url":            srv.URL + "/update?host={username}&domain=example.com&password={password}&ip={ip}",
				"success_status": "200", "success_regexp": "<ErrCount>0</ErrCount>"},
			target: target{FQDN: "example.com", Family: 4, Address: v4, Username: "@", Password: nastyPassword},
			check: func(t *testing.T, r *http.Request, _ string) {
				q := r.URL.Query()
				if q.Get("host") != "@" || q.Get("domain") != "example.com" || q.Get("password") != nastyPassword ||
					q.Get("ip") != "198.51.100.7" || len(q) != 4 {
					t.Errorf("request %s", r.URL.RequestURI())
				}
				if strings.ContainsAny(r.URL.RawQuery, " #\"\\") || strings.Contains(r.URL.RawQuery, "@") {
					t.Errorf("raw query not escaped: %s", r.URL.RawQuery)
				}
			},
		},
		{
			name:     "values in the path and userinfo",
			settings: map[string]any{"url": strings.Replace(srv.URL, "http://", "http://{username}:{password}@", 1) + "/u/{fqdn}/{password}/{ip}"},
			target:   target{FQDN: "a.example.org", Family: 6, Address: v6, Username: "me@example.org", Password: nastyPassword},
			check: func(t *testing.T, r *http.Request, _ string) {
				if want := "/u/a.example.org/" + nastyPassword + "/2001:db8:1:2::cafe"; r.URL.Path != want {
					t.Errorf("path %q, want %q", r.URL.Path, want)
				}
				if u, p, ok := r.BasicAuth(); !ok || u != "me@example.org" || p != nastyPassword {
					t.Errorf("basic auth from userinfo: %q %q %v", u, p, ok)
				}
			},
		},
		{
			name: "POST form body (the default body type)",
			settings: map[string]any{"method": "POST", "url": srv.URL + "/dyn",
				"body": "hostname={fqdn}&myip={ip}&pw={password}"},
			target: target{FQDN: "a.example.org", Family: 4, Address: v4, Password: nastyPassword},
			check: func(t *testing.T, r *http.Request, body string) {
				form, err := url.ParseQuery(body)
				if r.Method != "POST" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || err != nil ||
					form.Get("hostname") != "a.example.org" || form.Get("myip") != "198.51.100.7" || form.Get("pw") != nastyPassword || len(form) != 3 {
					t.Errorf("%s %q body %q", r.Method, r.Header.Get("Content-Type"), body)
				}
			},
		},
		{
			name: "PUT JSON body with a header template",
			settings: map[string]any{"method": "put", "url": srv.URL + "/records/{fqdn}",
				"headers": map[string]string{"Content-Type": "application/json", "Authorization": "Token {password}"},
				"body":    `{"name": "{fqdn}", "a": "{ipv4}", "aaaa": "{ipv6}", "prefix": "{prefix}", "pw": "{password}"}`},
			target: target{FQDN: "a.example.org", Family: 6, Address: v6, Other: v4, Password: nastyPassword},
			check: func(t *testing.T, r *http.Request, body string) {
				var got map[string]string
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatalf("body is not JSON: %v: %s", err, body)
				}
				want := map[string]string{"name": "a.example.org", "a": "198.51.100.7", "aaaa": "2001:db8:1:2::cafe",
					"prefix": "2001:db8:1:2::/64", "pw": nastyPassword}
				for k, v := range want {
					if got[k] != v {
						t.Errorf("%s = %q, want %q", k, got[k], v)
					}
				}
				if r.Method != "PUT" || r.Header.Get("Authorization") != "Token "+nastyPassword {
					t.Errorf("%s, Authorization %q", r.Method, r.Header.Get("Authorization"))
				}
			},
		},
		{
			name:     "basic_auth and the default User-Agent",
			settings: map[string]any{"url": srv.URL + "/nic/update?hostname={fqdn}&myip={ip}", "basic_auth": true},
			target:   target{FQDN: "a.example.org", Family: 4, Address: v4, Username: "alice", Password: nastyPassword},
			check: func(t *testing.T, r *http.Request, _ string) {
				if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != nastyPassword {
					t.Errorf("basic auth %q %q %v", u, p, ok)
				}
				if ua := r.Header.Get("User-Agent"); ua != "ddnsbroker/1.2.3" {
					t.Errorf("User-Agent %q", ua)
				}
			},
		},
		{
			name:     "a family without an address is empty",
			settings: map[string]any{"url": srv.URL + "/u?a={ipv4}&aaaa={ipv6}&p={prefix}"},
			target:   target{FQDN: "a.example.org", Family: 4, Address: v4},
			check: func(t *testing.T, r *http.Request, _ string) {
				if r.URL.RawQuery != "a=198.51.100.7&aaaa=&p=" {
					t.Errorf("query %q", r.URL.RawQuery)
				}
			},
		},
		{
			name:     "the service's User-Agent wins",
			settings: map[string]any{"url": srv.URL + "/u?ip={ip}", "headers": map[string]string{"User-Agent": "mine/1"}},
			target:   target{FQDN: "a.example.org", Family: 4, Address: v4},
			check: func(t *testing.T, r *http.Request, _ string) {
				if ua := r.Header.Get("User-Agent"); ua != "mine/1" {
					t.Errorf("User-Agent %q", ua)
				}
			},
		},
	}
	p := testHTTPTemplate()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if errs := registry().Validate("http", settingsJSON(t, tc.settings), provider.Has{Credential: false}); len(errs) > 0 {
				t.Fatalf("settings rejected: %v", errs)
			}
			out := send(context.Background(), p, settingsJSON(t, tc.settings), tc.target)
			if out.Result != provider.Delivered {
				t.Fatalf("result %v: %s", out.Result, out.Message)
			}
			r, body := srv.request()
			tc.check(t, r, body)
		})
	}
}

func TestHTTPTemplateClassification(t *testing.T) {
	srv := newTemplateServer(t)
	duck := map[string]any{"url": srv.URL + "/update?domains={fqdn}&token={password}&ip={ip}", "success_status": "200", "success_regexp": "^OK"}
	namecheap := map[string]any{"url": srv.URL + "/update?host={username}&domain=example.com&password={password}&ip={ip}",
		"success_status": "200", "success_regexp": "<ErrCount>0</ErrCount>"}
	plain := map[string]any{"url": srv.URL + "/u?ip={ip}"}
	ncAnswer := func(errs string, count int) string {
		return `<?xml version="1.0" encoding="utf-16"?><interface-response><Command>SETDNSHOST</Command><Language>eng</Language>` +
			`<ErrCount>` + string(rune('0'+count)) + `</ErrCount>` + errs + `<Done>true</Done></interface-response>`
	}
	tests := []struct {
		name       string
		settings   map[string]any
		status     int
		answer     string
		header     http.Header
		want       provider.Result
		wantMsg    string
		retryAfter time.Duration
	}{
		{name: "DuckDNS OK", settings: duck, status: 200, answer: "OK", want: provider.Delivered, wantMsg: "HTTP 200: OK"},
		{name: "DuckDNS KO", settings: duck, status: 200, answer: "KO", want: provider.Failed, wantMsg: "HTTP 200: KO (does not match the success pattern)"},
		{name: "DuckDNS OK with verbose lines", settings: duck, status: 200, answer: "OK\n198.51.100.7\n\nUPDATED", want: provider.Delivered},
		{name: "Namecheap success", settings: namecheap, status: 200, answer: ncAnswer("", 0), want: provider.Delivered},
		{name: "Namecheap error", settings: namecheap, status: 200, want: provider.Failed,
			answer: ncAnswer("<errors><Err1>Passwords do not match</Err1></errors>", 1), wantMsg: "Passwords do not match"},
		{name: "5xx is retried", settings: plain, status: 502, answer: "bad gateway", want: provider.Retry, wantMsg: "HTTP 502: bad gateway"},
		{name: "429 is retried after Retry-After", settings: plain, status: 429, header: http.Header{"Retry-After": {"120"}},
			want: provider.Retry, wantMsg: "HTTP 429", retryAfter: 2 * time.Minute},
		{name: "redirect is not followed", settings: plain, status: 302, header: http.Header{"Location": {"https://elsewhere.example/"}},
			want: provider.Failed, wantMsg: "redirect to https://elsewhere.example/ not followed"},
		{name: "401 fails", settings: plain, status: 401, answer: "unauthorized", want: provider.Failed, wantMsg: "HTTP 401"},
		{name: "404 fails", settings: plain, status: 404, want: provider.Failed, wantMsg: "HTTP 404: Not Found"},
		{name: "status outside a single-status rule", settings: duck, status: 204, want: provider.Failed, wantMsg: "HTTP 204"},
		{name: "status range", settings: map[string]any{"url": srv.URL + "/u?ip={ip}", "success_status": "200-204"},
			status: 204, want: provider.Delivered},
		{name: "an echoed password is redacted", settings: duck, status: 200, want: provider.Failed,
			answer: "KO: bad token " + nastyPassword + " / " + url.QueryEscape(nastyPassword), wantMsg: "bad token *** / ***"},
	}
	p := testHTTPTemplate()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.mu.Lock()
			srv.status, srv.answer, srv.header = tc.status, tc.answer, tc.header
			srv.mu.Unlock()
			out := send(context.Background(), p, settingsJSON(t, tc.settings), target{FQDN: "home.example.org",
				Family: 4, Address: netip.MustParseAddr("198.51.100.7"), Username: "@", Password: nastyPassword})
			if out.Result != tc.want || !strings.Contains(out.Message, tc.wantMsg) {
				t.Fatalf("got %v %q, want %v containing %q", out.Result, out.Message, tc.want, tc.wantMsg)
			}
			if strings.Contains(out.Message, nastyPassword) || strings.Contains(out.Message, url.QueryEscape(nastyPassword)) {
				t.Fatalf("message leaks the password: %q", out.Message)
			}
			if out.RetryAfter != tc.retryAfter {
				t.Fatalf("RetryAfter = %v, want %v", out.RetryAfter, tc.retryAfter)
			}
		})
	}
}

func TestHTTPTemplateNetworkErrorIsRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	out := send(context.Background(), testHTTPTemplate(), settingsJSON(t, map[string]any{"url": addr + "/u?pw={password}&ip={ip}"}),
		target{FQDN: "a.example.org", Family: 4, Address: netip.MustParseAddr("192.0.2.1"), Password: nastyPassword})
	if out.Result != provider.Retry || !strings.Contains(out.Message, "refused") || strings.Contains(out.Message, "p%20a") {
		t.Fatalf("got %v %q", out.Result, out.Message)
	}
}

func TestHTTPTemplateBadSettingsFail(t *testing.T) {
	target := target{FQDN: "a.example.org", Family: 4, Address: netip.MustParseAddr("192.0.2.1"), Password: "line\r\nbreak"}
	tests := []struct {
		name     string
		settings string
		wantMsg  string
	}{
		{"not http", `{"url": "ftp://example.org/{ip}"}`, "http or https"},
		{"body with GET", `{"url": "http://127.0.0.1:1/?ip={ip}", "body": "x={ip}"}`, "GET"},
		{"bad status rule", `{"url": "http://127.0.0.1:1/?ip={ip}", "success_status": "2xx"}`, "success rule"},
		{"bad regexp", `{"url": "http://127.0.0.1:1/?ip={ip}", "success_regexp": "("}`, "success_regexp"},
		{"line break into a header", `{"url": "http://127.0.0.1:1/?ip={ip}", "headers": {"X-Pw": "{password}"}}`, "line break"},
		{"unreadable", `{"url": 5}`, "unreadable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := send(context.Background(), testHTTPTemplate(), json.RawMessage(tc.settings), target)
			if out.Result != provider.Failed || !strings.Contains(out.Message, tc.wantMsg) {
				t.Fatalf("got %v %q, want failed mentioning %q", out.Result, out.Message, tc.wantMsg)
			}
		})
	}
}

func TestHTTPTemplateCombines(t *testing.T) {
	p := provider.NewHTTPTemplate(provider.Deps{HTTP: nil, UserAgent: provider.UserAgent("test")})
	for settings, want := range map[string]bool{
		`{"url": "https://x.example/u?h={fqdn}&ip={ip}"}`:                                         false,
		`{"url": "https://x.example/u?v4={ipv4}&v6={ipv6}"}`:                                      true,
		`{"url": "https://x.example/u?v4={ipv4}", "body": "prefix={prefix}", "method": "POST"}`:   true,
		`{"url": "https://x.example/u?v4={ipv4}", "headers": {"X-V6": "{ipv6}"}}`:                 true,
		`{"url": "https://x.example/u?ip={ipv4}", "url_ipv6": "https://x.example/u?ipv6={ipv6}"}`: false,
		`{"url": "https://x.example/u?v6={ipv6}"}`:                                                false,
		`not json`: false,
	} {
		if got := p.Combines([]byte(settings)); got != want {
			t.Errorf("Combines(%s) = %v, want %v", settings, got, want)
		}
	}
	d := provider.NewDyndns2(provider.Deps{})
	for settings, want := range map[string]bool{`{"url": "https://x.example/nic/update"}`: false,
		`{"url": "https://x.example/nic/update", "combined": true}`: true, `{"url": "https://x.example/", "use_myipv6": true}`: true} {
		if got := d.Combines([]byte(settings)); got != want {
			t.Errorf("dyndns2 Combines(%s) = %v, want %v", settings, got, want)
		}
	}
}
