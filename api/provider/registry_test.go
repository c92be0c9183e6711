package provider_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// TestRegistryHasEveryProtocol: each name the registry lists finds its
// provider, which goes by that name and describes itself under it.
func TestRegistryHasEveryProtocol(t *testing.T) {
	r := registry()
	if len(r.Names()) == 0 {
		t.Fatal("the registry is empty")
	}
	for _, name := range r.Names() {
		p, ok := r.Provider(name)
		if !ok || p == nil {
			t.Fatalf("protocol %s has no provider", name)
		}
		if p.Name() != name || p.Describe().Protocol != name {
			t.Errorf("protocol %s: provider named %q, describes %q", name, p.Name(), p.Describe().Protocol)
		}
	}
	if _, ok := r.Provider("nsupdate"); ok {
		t.Error("an unknown protocol has a provider")
	}
}

func TestValidateSettings(t *testing.T) {
	tests := []struct {
		name          string
		protocol      string
		settings      string
		hasCredential bool
		want          []string // "field: part of the message", in order; none means valid
	}{
		// dyndns2
		{name: "dyndns2 he.net", protocol: "dyndns2", settings: `{"url": "https://dyn.dns.he.net/nic/update", "username_is_fqdn": true}`},
		{name: "dyndns2 without url", protocol: "dyndns2", settings: `{}`, want: []string{"settings.url: is required"}},
		{name: "dyndns2 url with a password", protocol: "dyndns2", settings: `{"url": "https://u:p@x.example/"}`,
			want: []string{"settings.url: must not contain a username or password"}},
		{name: "dyndns2 with a credential", protocol: "dyndns2", settings: `{"url": "https://x.example/"}`, hasCredential: true,
			want: []string{"credential: dyndns2 services have no credential"}},
		{name: "dyndns2 typo", protocol: "dyndns2", settings: `{"url": "https://x.example/", "usename_is_fqdn": true}`,
			want: []string{"settings.usename_is_fqdn: is not a setting of this protocol"}},
		{name: "dyndns2 wrong type", protocol: "dyndns2", settings: `{"url": "https://x.example/", "combined": "yes"}`,
			want: []string{"settings.combined: must be a JSON boolean"}},
		{name: "settings not an object", protocol: "dyndns2", settings: `["https://x.example/"]`,
			want: []string{"settings: must be a JSON object"}},
		{name: "unknown protocol", protocol: "nsupdate", settings: `{}`, want: []string{"protocol: must be one of dyndns2, rfc2136, http, cloudflare"}},

		// rfc2136
		{name: "rfc2136 full", protocol: "rfc2136", hasCredential: true,
			settings: `{"server": "ns1.example.net:53", "zone": "example.net", "key_name": "ddns-key.example.net", "algorithm": "hmac-sha512", "ttl": 300, "tcp": true}`},
		{name: "rfc2136 minimal, IPv6 server", protocol: "rfc2136", hasCredential: true, settings: `{"server": "[2001:db8::53]:5353", "key_name": "k"}`},
		{name: "rfc2136 hmac-md5", protocol: "rfc2136", hasCredential: true, settings: `{"server": "192.0.2.53:53", "key_name": "k", "algorithm": "hmac-md5"}`},
		{name: "rfc2136 everything wrong", protocol: "rfc2136",
			settings: `{"server": "ns1.example.net", "zone": "bad zone", "algorithm": "hmac-sha1", "ttl": 0}`,
			want: []string{"settings.server: must be host:port", "settings.zone: must be a domain name", "settings.key_name: is required",
				"settings.algorithm: must be hmac-sha256, hmac-sha512 or hmac-md5", "settings.ttl: must be 1..86400",
				"credential: is required: the TSIG secret"}},
		{name: "rfc2136 port out of range", protocol: "rfc2136", hasCredential: true, settings: `{"server": "ns1.example.net:70000", "key_name": "k"}`,
			want: []string{"settings.server: port must be 1..65535"}},
		{name: "rfc2136 ttl too long", protocol: "rfc2136", hasCredential: true, settings: `{"server": "ns1.example.net:53", "key_name": "k", "ttl": 86401}`,
			want: []string{"settings.ttl: must be 1..86400"}},

		// http
		{name: "http DuckDNS", protocol: "http", settings: `{"url": "https://www.duckdns.org/update?domains={fqdn}&token={password}&ip={ip}", "success_status": "200", "success_regexp": "^OK"}`},
		{name: "http POST JSON", protocol: "http",
			settings: `{"method": "POST", "url": "https://x.example/api", "headers": {"Content-Type": "application/json", "Authorization": "Bearer {password}"}, "body": "{\"ip\": \"{ip}\"}"}`},
		{name: "http address placeholder only in the body", protocol: "http",
			settings: `{"method": "PATCH", "url": "https://x.example/api", "body": "ip={ip}"}`},
		{name: "http without url", protocol: "http", settings: `{"method": "GET"}`, want: []string{"settings.url: is required"}},
		{name: "http ftp", protocol: "http", settings: `{"url": "ftp://x.example/{ip}"}`, want: []string{"settings.url: must be an http or https URL"}},
		{name: "http unparsable url", protocol: "http", settings: `{"url": "https://x.example:port/{ip}"}`,
			want: []string{"settings.url: is not a valid URL"}},
		{name: "http method DELETE", protocol: "http", settings: `{"url": "https://x.example/?ip={ip}", "method": "DELETE"}`,
			want: []string{"settings.method: must be GET, POST, PUT or PATCH"}},
		{name: "http unknown and uppercase placeholders", protocol: "http", settings: `{"url": "https://x.example/?ip={IP}&h={host}"}`,
			want: []string{"settings.url: placeholder {IP} must be written in lowercase", "settings.url: unknown placeholder {host}",
				"settings.url: uses no address placeholder"}},
		{name: "http no address anywhere", protocol: "http", settings: `{"url": "https://x.example/?h={fqdn}"}`,
			want: []string{"settings.url: uses no address placeholder"}},
		{name: "http literal password in userinfo", protocol: "http", settings: `{"url": "https://me:secret@x.example/?ip={ip}"}`,
			want: []string{"settings.url: must not contain a literal password"}},
		{name: "http body with GET", protocol: "http", settings: `{"url": "https://x.example/", "body": "ip={ip}"}`,
			want: []string{"settings.body: is only sent with POST, PUT or PATCH"}},
		{name: "http bad headers", protocol: "http",
			settings: `{"url": "https://x.example/?ip={ip}", "headers": {"Bad Name": "x", "Host": "y", "X-A": "a\nb", "X-B": "{nope}"}}`,
			want: []string{"settings.headers.Bad Name: is not a valid header name", "settings.headers.Host: is set by the HTTP client",
				"settings.headers.X-A: must not contain line breaks", "settings.headers.X-B: unknown placeholder {nope}"}},
		{name: "http status range and regexp", protocol: "http", settings: `{"url": "https://x.example/?ip={ip}", "success_status": "299-200", "success_regexp": "(ok"}`,
			want: []string{"settings.success_status: the range must go from low to high", "settings.success_regexp: does not compile"}},
		{name: "http status out of bounds", protocol: "http", settings: `{"url": "https://x.example/?ip={ip}", "success_status": "600"}`,
			want: []string{"settings.success_status: must be a status or a range"}},
		{name: "http with a credential", protocol: "http", settings: `{"url": "https://x.example/?ip={ip}"}`, hasCredential: true,
			want: []string{"credential: http services have no credential"}},

		// cloudflare
		{name: "cloudflare defaults", protocol: "cloudflare", settings: `{}`, hasCredential: true},
		{name: "cloudflare full", protocol: "cloudflare", hasCredential: true,
			settings: `{"zone": "example.com", "zone_id": "023e105f4ecef8ad9ca31a8372d0c353", "ttl": 60, "proxied": true, "api_url": "http://127.0.0.1:8787/client/v4"}`},
		{name: "cloudflare ttl 1 is automatic", protocol: "cloudflare", settings: `{"ttl": 1}`, hasCredential: true},
		{name: "cloudflare everything wrong", protocol: "cloudflare",
			settings: `{"zone": "exa mple.com", "zone_id": "../x", "ttl": 30, "api_url": "file:///etc/passwd"}`,
			want: []string{"settings.zone: must be a domain name", "settings.zone_id: must be a Cloudflare zone id",
				"settings.ttl: must be 1 (automatic) or 60..86400", "settings.api_url: must be an http or https URL",
				"credential: is required: the API token"}},
		{name: "cloudflare ttl too long", protocol: "cloudflare", settings: `{"ttl": 86401}`, hasCredential: true,
			want: []string{"settings.ttl: must be 1 (automatic) or 60..86400"}},

		// drift check, common to every protocol
		{name: "drift on dyndns2", protocol: "dyndns2", settings: `{"url": "https://x.example/", "drift_resolver": "9.9.9.9:53", "drift_interval": "15m"}`},
		{name: "drift on rfc2136, IPv6 resolver, default interval", protocol: "rfc2136", hasCredential: true,
			settings: `{"server": "ns1.example.net:53", "key_name": "k", "drift_resolver": "[2620:fe::fe]:53"}`},
		{name: "drift on http, name resolver, bounds", protocol: "http",
			settings: `{"url": "https://x.example/?ip={ip}", "drift_resolver": "ns1.example.net:53", "drift_interval": "24h"}`},
		{name: "drift on cloudflare, empty resolver is off", protocol: "cloudflare", hasCredential: true,
			settings: `{"drift_resolver": "", "drift_interval": "1m"}`},
		{name: "drift resolver without port", protocol: "dyndns2", settings: `{"url": "https://x.example/", "drift_resolver": "9.9.9.9"}`,
			want: []string{"settings.drift_resolver: must be host:port"}},
		{name: "drift resolver bad port", protocol: "cloudflare", hasCredential: true, settings: `{"drift_resolver": "9.9.9.9:0"}`,
			want: []string{"settings.drift_resolver: port must be 1..65535"}},
		{name: "drift interval not a duration", protocol: "http", settings: `{"url": "https://x.example/?ip={ip}", "drift_interval": "hourly"}`,
			want: []string{"settings.drift_interval: must be a duration such as 15m or 1h"}},
		{name: "drift interval too short and too long", protocol: "rfc2136",
			settings: `{"server": "ns1.example.net:53", "key_name": "k", "drift_resolver": "bad host:53", "drift_interval": "30s"}`,
			want: []string{"settings.drift_resolver: host must be an IP address or a host name", "settings.drift_interval: must be between 1m and 24h",
				"credential: is required"}},
		{name: "drift interval too long", protocol: "dyndns2", settings: `{"url": "https://x.example/", "drift_interval": "25h"}`,
			want: []string{"settings.drift_interval: must be between 1m and 24h"}},
		{name: "drift interval a number", protocol: "dyndns2", settings: `{"url": "https://x.example/", "drift_interval": 60}`,
			want: []string{"settings.drift_interval: must be a JSON string"}},
		{name: "drift on proxied cloudflare records", protocol: "cloudflare", hasCredential: true,
			settings: `{"proxied": true, "drift_resolver": "1.1.1.1:53", "drift_interval": "1s"}`,
			want:     []string{"settings.drift_resolver: cannot check proxied records", "settings.drift_interval: must be between 1m and 24h"}},
		{name: "drift on unproxied cloudflare records", protocol: "cloudflare", hasCredential: true,
			settings: `{"proxied": false, "drift_resolver": "1.1.1.1:53"}`},
		{name: "drift typo", protocol: "http", settings: `{"url": "https://x.example/?ip={ip}", "drift_resolvr": "9.9.9.9:53"}`,
			want: []string{"settings.drift_resolvr: is not a setting of this protocol"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := registry().Validate(tc.protocol, json.RawMessage(tc.settings), provider.Has{Credential: tc.hasCredential})
			var got []string
			for _, e := range errs {
				got = append(got, e.Field+": "+e.Message)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("errors:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("error %d = %q, want it to start with %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestValidateSettingsNeverQuotesValues(t *testing.T) {
	const token = "SECRETTOKEN123"
	settings := `{"url": "ftp://x.example/?token=` + token + `", "headers": {"X-Token": "` + token + `\n"}}`
	for _, e := range registry().Validate("http", json.RawMessage(settings), provider.Has{Credential: false}) {
		if strings.Contains(e.Message, token) {
			t.Fatalf("message quotes a value: %v", e)
		}
	}
}

func TestValidateCredential(t *testing.T) {
	tests := []struct {
		protocol, credential, want string
	}{
		{"rfc2136", "c2VjcmV0c2VjcmV0c2VjcmV0", ""},
		{"rfc2136", "  c2VjcmV0c2VjcmV0c2VjcmV0\n", ""},
		{"rfc2136", "not base64!", "credential: must be base64"},
		{"rfc2136", "", "credential: is empty"},
		{"cloudflare", "Yx1-abc_DEF123", ""},
		{"cloudflare", "two words", "credential: must be one word"},
		{"cloudflare", "", "credential: is empty"},
		{"dyndns2", "x", "credential: dyndns2 services have no credential"},
		{"http", "x", "credential: http services have no credential"},
		{"nsupdate", "x", "protocol: must be one of"},
	}
	for _, tc := range tests {
		errs := registry().ValidateCredential(tc.protocol, tc.credential)
		got := ""
		if len(errs) > 0 {
			got = errs[0].Field + ": " + errs[0].Message
		}
		if (tc.want == "") != (got == "") || !strings.HasPrefix(got, tc.want) {
			t.Errorf("ValidateCredential(%s, %q) = %q, want %q", tc.protocol, tc.credential, got, tc.want)
		}
		if tc.credential != "" && strings.Contains(got, tc.credential) {
			t.Errorf("message repeats the credential: %q", got)
		}
	}
}

// TestMigrationAllowsEveryProtocol proves every registered protocol can be
// stored, that the database refuses only malformed names since version 11,
// and that migrating below version 11 or 3 refuses
// while services use the new protocols instead of deleting them.
func TestMigrationAllowsEveryProtocol(t *testing.T) {
	u := storetest.NewEmptyURL(t)
	m, err := store.NewMigrator(u)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Up(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for _, p := range registry().Names() {
		svc, err := st.CreateService(ctx, store.NewService{Name: "svc " + p, Protocol: p})
		if err != nil {
			t.Fatalf("protocol %s cannot be stored: %v", p, err)
		}
		// Protocols added after version 11 are stored; future_dns below
		// stands for them all when migrating down.
		if !slices.Contains([]string{"dyndns2", "rfc2136", "http", "cloudflare"}, p) {
			if _, err := st.Pool.Exec(ctx, `DELETE FROM services WHERE id = $1`, svc.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Version 10 knew only the first four protocols: the services of later
	// ones go before the downgrade below, which would refuse them.
	if _, err := st.Pool.Exec(ctx, `DELETE FROM services WHERE protocol NOT IN ('dyndns2', 'rfc2136', 'http', 'cloudflare')`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateService(ctx, store.NewService{Name: "svc bad", Protocol: "NS Update!"}); err == nil {
		t.Fatal("a protocol name of another form was stored")
	}
	// Since version 11 the database keeps only the form of a name: a new
	// provider needs no migration. Going below 11 refuses while a service
	// uses a protocol version 10 did not know, and deletes nothing.
	future, err := st.CreateService(ctx, store.NewService{Name: "svc future", Protocol: "future_dns"})
	if err != nil {
		t.Fatalf("a well-formed protocol name: %v", err)
	}
	for v, _, _ := m.Version(); v > 11; v, _, _ = m.Version() {
		if err := m.Down(1); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Down(1); err == nil || !strings.Contains(err.Error(), "services use the protocol(s) ") || !strings.Contains(err.Error(), "future_dns") {
		t.Fatalf("down below 11 with a future_dns service: %v", err)
	}
	// Protocols added since version 11 block the way down too.
	if _, err := st.Pool.Exec(ctx, `DELETE FROM services WHERE id = $1 OR protocol NOT IN ('dyndns2', 'rfc2136', 'http', 'cloudflare')`, future.ID); err != nil {
		t.Fatal(err)
	}
	if err := m.Down(1); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateService(ctx, store.NewService{Name: "svc nsupdate", Protocol: "nsupdate"}); err == nil {
		t.Fatal("version 10 stored an unknown protocol")
	}
	// Later migrations first, one at a time: numbers may have gaps.
	for v, _, _ := m.Version(); v > 3; v, _, _ = m.Version() {
		if err := m.Down(1); err != nil {
			t.Fatal(err)
		}
	}
	err = m.Down(1)
	if err == nil || !strings.Contains(err.Error(), "services use the protocol(s) cloudflare, http, rfc2136") {
		t.Fatalf("down with rfc2136/http/cloudflare services: %v", err)
	}
	var n int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM services`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("services after the refused down: %d %v", n, err)
	}
}

func TestParseDrift(t *testing.T) {
	for _, tc := range []struct {
		settings string
		want     provider.Drift
		err      bool
	}{
		{settings: `{}`},
		{settings: `null`},
		{settings: `{"url": "x", "drift_interval": "5m"}`},
		{settings: `{"drift_resolver": "127.0.0.1:5353"}`, want: provider.Drift{Resolver: "127.0.0.1:5353", Interval: time.Hour}},
		{settings: `{"drift_resolver": "127.0.0.1:53", "drift_interval": "90m"}`, want: provider.Drift{Resolver: "127.0.0.1:53", Interval: 90 * time.Minute}},
		{settings: `{"drift_resolver": "127.0.0.1"}`, err: true},
		{settings: `{"drift_resolver": "127.0.0.1:53", "drift_interval": "10s"}`, err: true},
		{settings: `{"drift_resolver": 53}`, err: true},
	} {
		got, err := provider.ParseDrift(json.RawMessage(tc.settings))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseDrift(%s) = %+v, %v; want %+v, error %v", tc.settings, got, err, tc.want, tc.err)
		}
	}
}
