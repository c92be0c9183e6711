package rest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// TestAddressWithLengthSetsAddressAndPrefix: MikroTik RouterOS scripts send
// the interface's address with its length; the host keeps both the address
// and the prefix, as the API shows.
func TestAddressWithLengthSetsAddressAndPrefix(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	host := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "mikrotik.example.net", "secret": "router-secret-1"})
	for _, q := range []string{"myip=2001:db8:1:2::5/64", "myipv6=2001:db8:1:2::5/64", "ipv6=2001:db8:1:2::5/64"} {
		t.Run(q, func(t *testing.T) {
			// Start from other values, so that each form is seen to set both.
			h.do(request{method: "PUT", path: fmt.Sprintf("/hosts/%d/addresses", host.Id), token: tok,
				body: map[string]any{"ipv6": "2001:db8:ffff::1", "ipv6_prefix": "2001:db8:9::/48"}}).expect(t, 200)
			req, _ := http.NewRequest("GET", h.url+"/nic/update?"+q, nil)
			req.SetBasicAuth("mikrotik.example.net", "router-secret-1")
			res, err := h.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || string(body) != "good 2001:db8:1:2::5\n" {
				t.Fatalf("answer %d %q", res.StatusCode, body)
			}
			got := get[rest.Host](h, tok, fmt.Sprintf("/hosts/%d", host.Id))
			if deref(got.Ipv6) != "2001:db8:1:2::5" || deref(got.Ipv6Prefix) != "2001:db8:1:2::/64" {
				t.Fatalf("host ipv6 %q prefix %q, want 2001:db8:1:2::5 and 2001:db8:1:2::/64", deref(got.Ipv6), deref(got.Ipv6Prefix))
			}
		})
	}
}

// TestRouterSetup: without DDNSBROKER_PUBLIC_URL the setup uses the scheme
// and host a request came in on (a trusted proxy's forwarded ones); the
// answers that reveal a secret carry the setup with it filled in, escaped
// for each format; the setup read later has the placeholder.
func TestRouterSetup(t *testing.T) {
	h := newHarness(t, func(cfg *config.Serve, _ *app.Options) {
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	tok, _ := h.login(adminName, adminPassword)
	text := func(rs rest.RouterSetup, client rest.RouterSetupItemClient) string {
		for _, it := range rs.Items {
			if it.Client == client {
				return it.Text
			}
		}
		t.Fatalf("no %s in %+v", client, rs)
		return ""
	}

	created := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "router.example.net", "secret": `q'u\o"t#e&p%3a:x@y`})
	if want := h.url; created.Setup.Url != want {
		t.Errorf("setup URL %q, want the request's %q", created.Setup.Url, want)
	}
	if s := text(created.Setup, rest.Ddclient); !strings.Contains(s, `password='q'u\o"t#e&p%3a:x@y'`) {
		t.Errorf("ddclient with the secret:\n%s", s)
	}
	if s := text(created.Setup, rest.Inadyn); !strings.Contains(s, `password       = "q'u\\o\"t#e&p%3a:x@y"`) {
		t.Errorf("inadyn with the secret:\n%s", s)
	}

	// Through a trusted proxy: its forwarded scheme and host.
	r := h.do(request{method: "POST", path: fmt.Sprintf("/hosts/%d/secret", created.Id), token: tok,
		header: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ddns.example.net"}}).expect(t, 200)
	var rotated rest.HostSecret
	r.decode(t, &rotated)
	if rotated.Setup.Url != "https://ddns.example.net" {
		t.Errorf("setup URL behind the proxy %q", rotated.Setup.Url)
	}
	if len(rotated.Secret) < 26 || !strings.Contains(text(rotated.Setup, rest.Curl), "router.example.net:"+rotated.Secret+"' 'https://ddns.example.net/nic/update") {
		t.Errorf("curl with the new secret %q:\n%s", rotated.Secret, text(rotated.Setup, rest.Curl))
	}

	// Read later: the placeholder, never a secret.
	later := get[rest.RouterSetup](h, tok, fmt.Sprintf("/hosts/%d/setup", created.Id))
	for _, it := range later.Items {
		if strings.Contains(it.Text, rotated.Secret) || !strings.Contains(it.Text, "YOUR-UPDATE-SECRET") {
			t.Errorf("%s: the secret or no placeholder:\n%s", it.Client, it.Text)
		}
	}
	// A host header that cannot be a router's URL is a clear error, and
	// creating a host with it stores nothing (its secret would be lost).
	p := h.do(request{method: "POST", path: "/hosts", token: tok, body: map[string]any{"fqdn": "lost.example.net"},
		header: map[string]string{"X-Forwarded-Host": "bad host!"}}).expect(t, 422).problem(t)
	if f := fieldsOf(p); len(f) != 1 || f[0] != "url" {
		t.Errorf("problem %+v", p)
	}
	if list := get[rest.HostList](h, tok, "/hosts?q=lost"); len(list.Items) != 0 {
		t.Errorf("a host was stored: %+v", list.Items)
	}
	h.do(request{method: "GET", path: "/hosts/999999/setup", token: tok}).expect(t, 404)
}
