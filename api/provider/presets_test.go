package provider_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
)

func TestPresetsPassValidation(t *testing.T) {
	idPattern := regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)
	seen := map[string]bool{}
	for _, p := range provider.Presets() {
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
