package provider_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
)

func TestPresetsPassValidation(t *testing.T) {
	idPattern := regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)
	seen := map[string]bool{}
	// The registry's catalogue: the built-in presets and each protocol's own.
	for _, p := range registry().Presets() {
		t.Run(p.ID, func(t *testing.T) {
			if errs := registry().Validate(p.Protocol, p.Settings, provider.Has{Credential: p.Credential != nil}); len(errs) > 0 {
				t.Fatalf("settings rejected: %v", errs)
			}
			if !idPattern.MatchString(p.ID) || seen[p.ID] {
				t.Errorf("id %q is not URL-safe or not unique", p.ID)
			}
			seen[p.ID] = true
			if p.Name == "" || p.Notes == "" || !strings.HasPrefix(p.DocsURL, "https://") {
				t.Errorf("name, notes or https docs URL missing: %+v", p)
			}
			if len(p.Families) == 0 {
				t.Error("no address families")
			}
			var settings map[string]any
			if err := json.Unmarshal(p.Settings, &settings); err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Edit {
				if _, ok := settings[e.Key]; !ok || e.Help == "" {
					t.Errorf("edit names setting %q, which the preset lacks or does not explain", e.Key)
				}
			}
			needsPassword := p.Protocol == provider.ProtocolDyndns2 ||
				strings.Contains(string(p.Settings), "{password}")
			if needsPassword != (p.RecordPassword != nil) {
				t.Errorf("record password described = %v, used = %v", p.RecordPassword != nil, needsPassword)
			}
			if strings.Contains(string(p.Settings), "{username}") && p.RecordUsername == nil {
				t.Error("the settings use {username} but the preset does not ask for it")
			}
			if p.Protocol == provider.ProtocolDyndns2 && settings["username_is_fqdn"] != true && p.RecordUsername == nil {
				t.Error("a dyndns2 preset needs a record username unless the username is the FQDN")
			}
			// Whether a provider takes both families in one request is
			// written in each dyndns2 preset, from its documentation.
			if _, ok := settings["combined"].(bool); p.Protocol == provider.ProtocolDyndns2 && !ok {
				t.Error("a dyndns2 preset must set combined (true or false) from the provider's documentation")
			}
		})
	}
	for _, want := range []string{"he.net", "desec", "dynv6", "noip", "inwx", "ovh", "strato", "dyn", "duckdns", "cloudflare", "namecheap"} {
		if !seen[want] {
			t.Errorf("catalogue lacks %s", want)
		}
	}
}

func TestPresetsAreFreshCopies(t *testing.T) {
	a := provider.Presets()
	a[0].Settings[0] = 'X'
	a[0].Families[0] = 99
	b := provider.Presets()
	if b[0].Settings[0] != '{' || b[0].Families[0] == 99 {
		t.Fatal("Presets() shares its values between calls")
	}
	out, err := json.Marshal(b[0])
	if err != nil || !strings.Contains(string(out), `"record_password":{"label":`) || !strings.Contains(string(out), `"docs_url":"https://`) {
		t.Fatalf("preset JSON: %s %v", out, err)
	}
}

// TestHTTPPresetsSendWhatTheProviderExpects points the http presets at a
// local server and checks each family lands in the provider's parameter,
// with the password intact.
func TestHTTPPresetsSendWhatTheProviderExpects(t *testing.T) {
	srv := newTemplateServer(t)
	answers := map[string]string{"duckdns": "OK", "desec": "good", "dynv6": "addresses updated",
		"ddnss": "<html>Updated 1 hostname.</html>", "dnsexit": `{"code": 0, "message": "Success"}`,
		"regfish":   "success|100|update succeeded!",
		"namecheap": "<interface-response><ErrCount>0</ErrCount><Done>true</Done></interface-response>"}
	v4, v6 := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::7")
	tests := []struct {
		preset     string
		family     int
		wantQuery  map[string]string // parameters with the password as "PW"
		wantHeader map[string]string
	}{
		{"duckdns", 4, map[string]string{"domains": "home.duckdns.org", "token": "PW", "ip": "198.51.100.7"}, nil},
		{"duckdns", 6, map[string]string{"domains": "home.duckdns.org", "token": "PW", "ipv6": "2001:db8::7"}, nil},
		{"desec", 4, map[string]string{"hostname": "home.duckdns.org", "myipv4": "198.51.100.7", "myipv6": "preserve"},
			map[string]string{"Authorization": "Token PW"}},
		{"desec", 6, map[string]string{"hostname": "home.duckdns.org", "myipv4": "preserve", "myipv6": "2001:db8::7"},
			map[string]string{"Authorization": "Token PW"}},
		{"dynv6", 4, map[string]string{"hostname": "home.duckdns.org", "token": "PW", "ipv4": "198.51.100.7"}, nil},
		{"dynv6", 6, map[string]string{"hostname": "home.duckdns.org", "token": "PW", "ipv6": "2001:db8::7"}, nil},
		{"namecheap", 4, map[string]string{"host": "www", "domain": "example.com", "password": "PW", "ip": "198.51.100.7"}, nil},
		// both families in one request
		{"ddnss", 4, map[string]string{"key": "PW", "host": "home.duckdns.org", "ip": "198.51.100.7", "ip6": "2001:db8::7"}, nil},
		{"dnsexit", 4, map[string]string{"apikey": "PW", "host": "home.duckdns.org", "ip": "198.51.100.7"}, nil},
		{"dnsexit", 6, map[string]string{"apikey": "PW", "host": "home.duckdns.org", "ip": "2001:db8::7"}, nil},
		{"regfish", 4, map[string]string{"fqdn": "home.duckdns.org", "thisipv4": "0", "ipv4": "198.51.100.7", "forcehost": "1",
			"authtype": "secure", "token": "PW"}, nil},
		{"regfish", 6, map[string]string{"fqdn": "home.duckdns.org", "thisipv6": "0", "ipv6": "2001:db8::7", "forcehost": "1",
			"authtype": "secure", "token": "PW"}, nil},
	}
	// Every http preset is in the table.
	for _, p := range provider.Presets() {
		if p.Protocol == provider.ProtocolHTTP && !slices.ContainsFunc(tests, func(tc struct {
			preset     string
			family     int
			wantQuery  map[string]string
			wantHeader map[string]string
		}) bool {
			return tc.preset == p.ID
		}) {
			t.Errorf("http preset %s has no row in this table", p.ID)
		}
	}
	presets := map[string]provider.Preset{}
	for _, p := range provider.Presets() {
		presets[p.ID] = p
	}
	p := testHTTPTemplate()
	for _, tc := range tests {
		t.Run(tc.preset+" IPv"+string(rune('0'+tc.family)), func(t *testing.T) {
			var s map[string]any
			if err := json.Unmarshal(presets[tc.preset].Settings, &s); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"url", "url_ipv6"} {
				if u, ok := s[k].(string); ok {
					parsed, _ := url.Parse(strings.SplitN(u, "?", 2)[0])
					s[k] = srv.URL + parsed.Path + "?" + strings.SplitN(u, "?", 2)[1]
				}
			}
			target := target{FQDN: "home.duckdns.org", Family: tc.family, Address: v4, Other: v6, Username: "www", Password: nastyPassword}
			if tc.family == 6 {
				target.Address, target.Other = v6, v4
			}
			srv.mu.Lock()
			srv.answer = answers[tc.preset]
			srv.mu.Unlock()
			out := send(context.Background(), p, settingsJSON(t, s), target)
			if out.Result != provider.Delivered {
				t.Fatalf("%v %s", out.Result, out.Message)
			}
			r, _ := srv.request()
			q := r.URL.Query()
			if len(q) != len(tc.wantQuery) {
				t.Errorf("query %s has other parameters than %v", r.URL.RawQuery, tc.wantQuery)
			}
			for k, v := range tc.wantQuery {
				if v == "PW" {
					v = nastyPassword
				}
				if q.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, q.Get(k), v)
				}
			}
			for k, v := range tc.wantHeader {
				if got := r.Header.Get(k); got != strings.ReplaceAll(v, "PW", nastyPassword) {
					t.Errorf("header %s = %q", k, got)
				}
			}
			if r.Method != http.MethodGet {
				t.Errorf("method %s", r.Method)
			}
		})
	}
}

// TestDyndns2PresetsSendWhatTheProviderDocuments points every dyndns2
// preset at a local server and checks the request each provider's update
// page describes: the path, hostname and myip (or myipv6, both families
// in one request where the provider takes them so), and the Basic login.
func TestDyndns2PresetsSendWhatTheProviderDocuments(t *testing.T) {
	type seen struct {
		path  string
		query url.Values
		auth  string
	}
	var (
		mu  sync.Mutex
		got []seen
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		mu.Lock()
		got = append(got, seen{path: r.URL.Path, query: r.URL.Query(), auth: user + ":" + pass})
		mu.Unlock()
		_, _ = io.WriteString(w, "good 198.51.100.7\n")
	}))
	t.Cleanup(srv.Close)
	v4, v6 := "198.51.100.7", "2001:db8::7"
	// want: the path, the query besides hostname (system= of OVH kept), and the login ("FQDN" = the record's name).
	tests := map[string]struct {
		path  string
		query map[string]string
		user  string
	}{
		"he.net":           {"/nic/update", map[string]string{"myip": v4}, "FQDN"},
		"noip":             {"/nic/update", map[string]string{"myip": v4 + "," + v6}, "user"},
		"inwx":             {"/nic/update", map[string]string{"myip": v4, "myipv6": v6}, "user"},
		"ovh":              {"/nic/update", map[string]string{"system": "dyndns", "myip": v4}, "user"},
		"strato":           {"/nic/update", map[string]string{"myip": v4 + "," + v6}, "user"},
		"dyn":              {"/v3/update", map[string]string{"myip": v4 + "," + v6}, "user"},
		"all-inkl":         {"/", map[string]string{"myip": v4 + "," + v6}, "user"},
		"changeip":         {"/nic/update", map[string]string{"myip": v4}, "user"},
		"ddnsbroker":       {"/nic/update", map[string]string{"myip": v4 + "," + v6}, "user"},
		"dnshome":          {"/dyndns.php", map[string]string{"myip": v4}, "FQDN"},
		"dnsomatic":        {"/nic/update", map[string]string{"myip": v4}, "user"},
		"domaindiscount24": {"/update.php", map[string]string{"myip": v4}, "user"},
		"dynu":             {"/nic/update", map[string]string{"myip": v4, "myipv6": v6}, "user"},
		"easydns":          {"/dyn/generic.php", map[string]string{"myip": v4}, "user"},
		"freedns":          {"/nic/update", map[string]string{"myip": v4}, "user"},
		"infomaniak":       {"/nic/update", map[string]string{"myip": v4}, "user"},
		"ipv64":            {"/nic/update", map[string]string{"myip": v4 + "," + v6}, "user"},
		"loopia":           {"/", map[string]string{"myip": v4}, "user"},
		"now-dns":          {"/update", map[string]string{"myip": v4}, "user"},
		"nsupdate.info":    {"/nic/update", map[string]string{"myip": v4}, "FQDN"},
		"selfhost":         {"/nic/update", map[string]string{"myip": v4}, "user"},
		"servercow":        {"/dyndns/api.php", map[string]string{"myip": v4}, "user"},
		"spdyn":            {"/nic/update", map[string]string{"myip": v4}, "user"},
		"variomedia":       {"/nic/update", map[string]string{"myip": v4}, "user"},
		"ydns":             {"/api/v1/update/", map[string]string{"myip": v4}, "user"},
		"zoneedit":         {"/auth/dynamic.html", map[string]string{"myip": v4}, "user"},
	}
	p, _ := registry().Provider(provider.ProtocolDyndns2)
	for _, preset := range provider.Presets() {
		if preset.Protocol != provider.ProtocolDyndns2 {
			continue
		}
		want, ok := tests[preset.ID]
		if !ok {
			t.Errorf("dyndns2 preset %s has no row in this table", preset.ID)
			continue
		}
		t.Run(preset.ID, func(t *testing.T) {
			var s map[string]any
			if err := json.Unmarshal(preset.Settings, &s); err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(s["url"].(string))
			if err != nil || u.Scheme != "https" {
				t.Fatalf("url %q is not https", s["url"])
			}
			local, _ := url.Parse(srv.URL)
			u.Scheme, u.Host = local.Scheme, local.Host
			s["url"] = u.String()
			mu.Lock()
			got = nil
			mu.Unlock()
			tg := target{FQDN: "home.example.com", Family: 4, Address: netip.MustParseAddr(v4), Other: netip.MustParseAddr(v6),
				Username: "user", Password: nastyPassword}
			if want.user == "FQDN" {
				tg.Username = "" // the form leaves it empty: the service logs in with the FQDN
			}
			if out := send(context.Background(), p, settingsJSON(t, s), tg); out.Result != provider.Delivered {
				t.Fatalf("%v %s", out.Result, out.Message)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("%d requests, want 1", len(got))
			}
			r := got[0]
			if r.path != want.path {
				t.Errorf("path %s, want %s", r.path, want.path)
			}
			q := map[string]string{}
			for k := range r.query {
				if k != "hostname" {
					q[k] = r.query.Get(k)
				}
			}
			if r.query.Get("hostname") != "home.example.com" || !maps.Equal(q, want.query) {
				t.Errorf("query %v, want hostname and %v", r.query, want.query)
			}
			user := strings.ReplaceAll(want.user, "FQDN", "home.example.com")
			if r.auth != user+":"+nastyPassword {
				t.Errorf("login %q, want %q with the password", r.auth, user)
			}
		})
	}
	if n := len(provider.Presets()); n < 34 {
		t.Errorf("the catalogue has %d presets, want at least 34 before the native protocols' own", n)
	}
}
