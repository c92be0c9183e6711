package rest_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// stepsOf renders a test's steps as "name=status" for comparison.
func stepsOf(r rest.ServiceTestResult) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Name+"="+string(s.Status))
	}
	return out
}

// TestServiceTest: the test endpoints check a Cloudflare service with
// read-only requests and name the step that fails (bad token, missing
// zone, missing permission); with a record they send its address for real.
// Unsaved settings go through the validation of saving.
func TestServiceTest(t *testing.T) {
	h := newHarness(t)
	cf := providertest.NewCloudflare(t)
	tok, _ := h.login(adminName, adminPassword)
	test := func(body map[string]any) rest.ServiceTestResult {
		t.Helper()
		var out rest.ServiceTestResult
		h.do(request{method: "POST", path: "/services/test", token: tok, body: body}).expect(t, http.StatusOK).decode(t, &out)
		return out
	}
	unsaved := func(zone, token string) map[string]any {
		return map[string]any{"name": "cf", "protocol": "cloudflare", "settings": map[string]any{"api_url": cf.API(), "zone": zone},
			"credential": token}
	}
	for _, c := range []struct {
		name, zone, token string
		ok                bool
		want              []string
	}{
		{"good token", "example.com", providertest.CloudflareToken, true,
			[]string{"credentials accepted=passed", "zone found=passed", "may read records=passed", "may edit records=unchecked"}},
		{"bad token", "example.com", "not-the-token-0123456789", false, []string{"credentials accepted=failed"}},
		{"missing zone", "example.org", providertest.CloudflareToken, false, []string{"credentials accepted=passed", "zone found=failed"}},
		{"missing permission", "example.com", providertest.CloudflareZoneToken, false,
			[]string{"credentials accepted=passed", "zone found=passed", "may read records=failed"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := test(unsaved(c.zone, c.token))
			if got.Ok != c.ok || !slices.Equal(stepsOf(got), c.want) {
				t.Fatalf("ok %v steps %v, want %v %v (%+v)", got.Ok, stepsOf(got), c.ok, c.want, got)
			}
			for _, s := range got.Steps {
				if s.Detail == "" || s.Ok != (s.Status != rest.ServiceTestStepStatusFailed) {
					t.Errorf("step %+v: no detail or ok disagrees with status", s)
				}
				if strings.Contains(s.Detail, c.token) {
					t.Errorf("step %q shows the token", s.Name)
				}
			}
		})
	}
	if got := test(unsaved("example.com", providertest.CloudflareZoneToken)); !strings.Contains(got.Steps[2].Detail, "lacks a permission") {
		t.Errorf("missing permission: detail %q does not say what to do", got.Steps[2].Detail)
	}
	// dyndns2 has no read-only check: the step says so, and nothing is sent.
	up := providertest.NewFake(t, nil)
	got := test(map[string]any{"name": "d", "protocol": "dyndns2", "url": up.URL + "/nic/update"})
	if !got.Ok || len(got.Steps) != 1 || got.Steps[0].Status != rest.ServiceTestStepStatusUnchecked ||
		!strings.Contains(got.Steps[0].Detail, "test with a record") || len(up.Requests()) != 0 {
		t.Fatalf("dyndns2: %+v, %d requests", got, len(up.Requests()))
	}
	// The destination policy applies as it does to deliveries.
	got = test(map[string]any{"name": "m", "protocol": "cloudflare", "settings": map[string]any{"api_url": "http://169.254.169.254/client/v4"},
		"credential": providertest.CloudflareToken})
	if got.Ok || !strings.Contains(got.Steps[0].Detail, "metadata address") {
		t.Fatalf("metadata address: %+v", got)
	}

	// Bad input is refused as saving refuses it.
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"api_url not a URL", map[string]any{"name": "x", "protocol": "cloudflare", "settings": map[string]any{"api_url": "ftp://x"}, "credential": "abcdefgh"}, "settings.api_url"},
		{"unknown protocol", map[string]any{"name": "x", "protocol": "nosuch"}, "protocol"},
		{"missing credential", map[string]any{"name": "x", "protocol": "cloudflare"}, "credential"},
		{"unknown setting", map[string]any{"name": "x", "protocol": "cloudflare", "settings": map[string]any{"bogus": 1}, "credential": "abcdefgh"}, "settings.bogus"},
	} {
		r := h.do(request{method: "POST", path: "/services/test", token: tok, body: c.body}).expect(t, http.StatusUnprocessableEntity)
		if p := string(r.body); !strings.Contains(p, `"`+c.field+`"`) {
			t.Errorf("%s: problem %s does not name %s", c.name, p, c.field)
		}
	}

	// A saved service: the stored credential, and a record sent for real.
	newService := func(name, token string) rest.Service {
		return create[rest.Service](h, tok, "/services", map[string]any{"name": name, "protocol": "cloudflare",
			"settings": map[string]any{"api_url": cf.API(), "zone": "example.com"}, "credential": token})
	}
	good, readOnly := newService("cf good", providertest.CloudflareToken), newService("cf read-only", providertest.CloudflareReadToken)
	host := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "home.example.net", "ipv4": "203.0.113.7"})
	rec := create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": good.Id, "fqdn": "home.example.com",
		"ipv6_enabled": false})
	roRec := create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": readOnly.Id, "fqdn": "ro.example.com",
		"ipv6_enabled": false})
	saved := func(id int64, body any) rest.ServiceTestResult {
		t.Helper()
		var out rest.ServiceTestResult
		h.do(request{method: "POST", path: fmt.Sprintf("/services/%d/test", id), token: tok, body: body}).expect(t, http.StatusOK).decode(t, &out)
		return out
	}
	if got := saved(good.Id, nil); !got.Ok || len(got.Steps) != 4 || got.Steps[3].Status != rest.ServiceTestStepStatusUnchecked {
		t.Fatalf("saved, no record: %+v", got)
	}
	got = saved(good.Id, map[string]any{"record_id": rec.Id})
	if !got.Ok || stepsOf(got)[len(got.Steps)-1] != "update sent (A)=passed" {
		t.Fatalf("saved with a record: %v %+v", stepsOf(got), got)
	}
	if recs := cf.Find("A", "home.example.com"); len(recs) != 1 || recs[0].Content != "203.0.113.7" || recs[0].Comment != provider.ManagedMarker {
		t.Fatalf("the record's address was not sent: %+v", recs)
	}
	got = saved(readOnly.Id, map[string]any{"record_id": roRec.Id})
	last := got.Steps[len(got.Steps)-1]
	if got.Ok || last.Name != "update sent (A)" || last.Ok || !strings.Contains(last.Advice, "lacks a permission") {
		t.Fatalf("read-only token with a record: %+v", got)
	}
	// A record of another service, an unknown service.
	r := h.do(request{method: "POST", path: fmt.Sprintf("/services/%d/test", good.Id), token: tok, body: map[string]any{"record_id": roRec.Id}})
	r.expect(t, http.StatusUnprocessableEntity)
	if !strings.Contains(string(r.body), `"record_id"`) {
		t.Errorf("record of another service: %s", r.body)
	}
	h.do(request{method: "POST", path: "/services/999999/test", token: tok}).expect(t, http.StatusNotFound)
}

// TestServiceTestIsRateLimited: past its allowance a user gets 429 with
// Retry-After, and nothing reaches the provider.
func TestServiceTestIsRateLimited(t *testing.T) {
	h := newHarness(t, func(_ *config.Serve, opt *app.Options) { opt.ServiceTestBurst = 2 })
	cf := providertest.NewFake(t, providertest.JSON(200, `{"success":true,"errors":[],"result":{"status":"active"}}`))
	tok, _ := h.login(adminName, adminPassword)
	body := map[string]any{"name": "cf", "protocol": "cloudflare", "settings": map[string]any{"api_url": cf.URL}, "credential": "abcdefgh12"}
	for range 2 {
		h.do(request{method: "POST", path: "/services/test", token: tok, body: body}).expect(t, http.StatusOK)
	}
	n := len(cf.Requests())
	r := h.do(request{method: "POST", path: "/services/test", token: tok, body: body}).expect(t, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") == "" || len(cf.Requests()) != n {
		t.Fatalf("429 without Retry-After, or the provider was contacted: %v, %d → %d", r.header, n, len(cf.Requests()))
	}
}

// TestRecordKeepOtherAddresses: the option is off by default, set on
// creation, changed by a patch, and served.
func TestRecordKeepOtherAddresses(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	svc := create[rest.Service](h, tok, "/services", map[string]any{"name": "cf", "protocol": "cloudflare", "credential": "abcdefgh12"})
	host := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "home.example.net"})
	plain := create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id, "fqdn": "a.example.com"})
	keep := create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id, "fqdn": "b.example.com",
		"keep_other_addresses": true})
	if plain.KeepOtherAddresses || !keep.KeepOtherAddresses {
		t.Fatalf("created: %v %v", plain.KeepOtherAddresses, keep.KeepOtherAddresses)
	}
	var patched rest.Record
	h.do(request{method: "PATCH", path: fmt.Sprintf("/records/%d", keep.Id), token: tok, body: map[string]any{"keep_other_addresses": false}}).
		expect(t, http.StatusOK).decode(t, &patched)
	if patched.KeepOtherAddresses || get[rest.Record](h, tok, fmt.Sprintf("/records/%d", keep.Id)).KeepOtherAddresses {
		t.Fatal("patch did not turn it off")
	}
	h.do(request{method: "PATCH", path: fmt.Sprintf("/records/%d", keep.Id), token: tok, body: map[string]any{"keep_other_addresses": "yes"}}).
		expect(t, http.StatusUnprocessableEntity)
}

// TestRecordDropWhenStale: the option is off by default, set on creation,
// changed by a patch, served, and a wrong type is a field error.
func TestRecordDropWhenStale(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	svc := create[rest.Service](h, tok, "/services", map[string]any{"name": "cf", "protocol": "cloudflare", "credential": "abcdefgh12"})
	host := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "home.example.net"})
	plain := create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id, "fqdn": "a.example.com"})
	drop := create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id, "fqdn": "b.example.com",
		"drop_when_stale": true})
	if plain.DropWhenStale || !drop.DropWhenStale {
		t.Fatalf("created: %v %v", plain.DropWhenStale, drop.DropWhenStale)
	}
	var patched rest.Record
	h.do(request{method: "PATCH", path: fmt.Sprintf("/records/%d", drop.Id), token: tok, body: map[string]any{"drop_when_stale": false}}).
		expect(t, http.StatusOK).decode(t, &patched)
	if patched.DropWhenStale || get[rest.Record](h, tok, fmt.Sprintf("/records/%d", drop.Id)).DropWhenStale {
		t.Fatal("patch did not turn it off")
	}
	h.do(request{method: "PATCH", path: fmt.Sprintf("/records/%d", drop.Id), token: tok, body: map[string]any{"drop_when_stale": "yes"}}).
		expect(t, http.StatusUnprocessableEntity)
}
