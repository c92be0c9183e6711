package rest_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

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
