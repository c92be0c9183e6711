package rest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// TestServiceProtocols: settings of every protocol are checked by the rules
// of its client before they are stored, the credential is sealed and never
// shown, and changing either re-sends the service's records.
func TestServiceProtocols(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	fail := func(body map[string]any, fields ...string) rest.Problem {
		t.Helper()
		p := h.do(request{method: "POST", path: "/services", token: tok, body: body}).expect(t, http.StatusUnprocessableEntity).problem(t)
		if got := fieldsOf(p); !slices.Equal(got, fields) {
			t.Errorf("%v: fields %v, want %v (%+v)", body, got, fields, p)
		}
		return p
	}

	t.Run("validation", func(t *testing.T) {
		fail(map[string]any{"name": "d", "protocol": "dyndns2"}, "url")
		fail(map[string]any{"name": "d", "protocol": "dyndns2", "settings": map[string]any{}}, "settings.url")
		fail(map[string]any{"name": "d", "protocol": "dyndns2", "url": "https://x.example/u", "credential": "tok"}, "credential")
		fail(map[string]any{"name": "d", "protocol": "dyndns2", "settings": map[string]any{"url": "https://x.example/u", "combined": "yes"}},
			"settings.combined")
		fail(map[string]any{"name": "c", "protocol": "cloudflare", "url": "https://x.example/", "credential": "tok"}, "url")
		fail(map[string]any{"name": "c", "protocol": "cloudflare", "credential": "two words"}, "credential")
		fail(map[string]any{"name": "c", "protocol": "cloudflare", "settings": map[string]any{"ttl": 5}, "credential": "tok"}, "settings.ttl")
		fail(map[string]any{"name": "r", "protocol": "rfc2136", "settings": map[string]any{"server": "ns1"}, "credential": "a2V5"},
			"settings.server", "settings.key_name")
		p := fail(map[string]any{"name": "x", "protocol": "http",
			"settings": map[string]any{"url": "https://x.example/u?h={FQDN}&k=s3cr3t-in-url", "method": "DELETE"}},
			"settings.method", "settings.url", "settings.url") // a lowercase placeholder, and none with the address
		if strings.Contains(string(mustJSON(p)), "s3cr3t") {
			t.Errorf("a problem quotes the URL: %+v", p)
		}
		// The spec still refuses what is not an object or not a protocol.
		h.do(request{method: "POST", path: "/services", token: tok, body: map[string]any{"name": "x", "protocol": "nsupdate"}}).expect(t, 422)
		h.do(request{method: "POST", path: "/services", token: tok, body: map[string]any{"name": "x", "protocol": "http",
			"settings": "url"}}).expect(t, 422)
	})

	t.Run("dyndns2 by settings or shorthands", func(t *testing.T) {
		a := create[rest.Service](h, tok, "/services", map[string]any{"name": "by settings", "protocol": "dyndns2",
			"settings": map[string]any{"url": "https://dyndns.inwx.com/nic/update", "use_myipv6": true}})
		if a.Url != "https://dyndns.inwx.com/nic/update" || !a.UseMyipv6 || a.Combined || a.CredentialSet ||
			len(a.Settings) != 4 || a.Settings["combined"] != false {
			t.Errorf("by settings %+v", a)
		}
		b := create[rest.Service](h, tok, "/services", map[string]any{"name": "both", "protocol": "dyndns2",
			"settings": map[string]any{"url": "https://a.example/u", "combined": true}, "url": "https://b.example/u"})
		if b.Url != "https://b.example/u" || !b.Combined || b.Settings["url"] != "https://b.example/u" {
			t.Errorf("shorthand wins %+v", b)
		}
	})

	t.Run("http", func(t *testing.T) {
		duck := provider.Presets()[slices.IndexFunc(provider.Presets(), func(p provider.Preset) bool { return p.ID == "duckdns" })]
		var settings map[string]any
		if err := jsonUnmarshal(duck.Settings, &settings); err != nil {
			t.Fatal(err)
		}
		svc := create[rest.Service](h, tok, "/services", map[string]any{"name": "Duck DNS", "protocol": "http", "settings": settings})
		if svc.Protocol != rest.Http || svc.Url != settings["url"] || svc.CredentialSet || !jsonEqual(t, mustJSON(svc.Settings), duck.Settings) {
			t.Errorf("http service %+v", svc)
		}
		// Shorthands belong to dyndns2.
		p := h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", svc.Id), token: tok,
			body: map[string]any{"combined": true}}).expect(t, 422).problem(t)
		if fields := fieldsOf(p); !slices.Equal(fields, []string{"combined"}) {
			t.Errorf("fields %v", fields)
		}
		// "" removes a credential; an http service has none, so nothing changes.
		h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", svc.Id), token: tok,
			body: map[string]any{"credential": ""}}).expect(t, 200)
	})

	t.Run("credential sealed, never shown, changes re-send", func(t *testing.T) {
		const token = "cf-api-token-Value-123"
		svc := create[rest.Service](h, tok, "/services", map[string]any{"name": "Cloudflare", "protocol": "cloudflare",
			"settings": map[string]any{"ttl": 1, "zone": "example.net"}, "credential": token})
		if !svc.CredentialSet || svc.Settings["zone"] != "example.net" || svc.Url != "" {
			t.Errorf("created %+v", svc)
		}
		stored, err := h.st.Service(context.Background(), svc.Id)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(stored.Credentials), token) || strings.Contains(string(stored.Settings), token) {
			t.Error("the credential is stored in clear")
		}
		if plain, err := h.box.Open(stored.Credentials, stored.CredentialsKey); err != nil || plain != token {
			t.Errorf("sealed credential opens to %q, %v", plain, err)
		}

		host := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "home.example.net", "ipv4": "203.0.113.7"})
		rec := create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id, "ipv6_enabled": false})
		deliveries := func() int {
			return len(get[rest.DeliveryList](h, tok, fmt.Sprintf("/records/%d/deliveries", rec.Id)).Items)
		}
		count := deliveries()
		step := func(name string, body map[string]any, status, queued int) rest.Service {
			t.Helper()
			var out rest.Service
			r := h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", svc.Id), token: tok, body: body}).expect(t, status)
			if status == 200 {
				r.decode(t, &out)
			}
			if n := deliveries(); n-count != queued {
				t.Errorf("%s: %d deliveries queued, want %d", name, n-count, queued)
			}
			count = deliveries()
			return out
		}
		step("name only", map[string]any{"name": "CF"}, 200, 0)
		step("same settings", map[string]any{"settings": map[string]any{"zone": "example.net", "ttl": 1}}, 200, 0)
		got := step("settings", map[string]any{"settings": map[string]any{"zone": "example.net", "ttl": 120, "proxied": false}}, 200, 1)
		if got.Settings["ttl"] != float64(120) || got.Settings["proxied"] != false {
			t.Errorf("settings %+v", got.Settings)
		}
		step("credential", map[string]any{"credential": "another-token"}, 200, 1)
		step("removing a required credential", map[string]any{"credential": ""}, 422, 0)
		step("bad settings", map[string]any{"settings": map[string]any{"zone_id": "not an id"}}, 422, 0)
		// The drift check's keys are checked, but changing them resends nothing.
		drift := map[string]any{"zone": "example.net", "ttl": 120, "proxied": false, "drift_resolver": "127.0.0.1:53", "drift_interval": "15m"}
		if got := step("drift check on", map[string]any{"settings": drift}, 200, 0); got.Settings["drift_resolver"] != "127.0.0.1:53" {
			t.Errorf("settings %+v", got.Settings)
		}
		bad := maps.Clone(drift)
		bad["drift_interval"], bad["drift_resolver"] = "5s", "127.0.0.1"
		prob := h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", svc.Id), token: tok,
			body: map[string]any{"settings": bad}}).expect(t, 422).problem(t)
		var badFields []string
		for _, e := range *prob.Errors {
			badFields = append(badFields, e.Field)
		}
		if !slices.Equal(badFields, []string{"settings.drift_resolver", "settings.drift_interval"}) {
			t.Errorf("a bad drift check is answered with errors on %v", badFields)
		}
		delete(drift, "drift_resolver")
		delete(drift, "drift_interval")
		step("drift check off", map[string]any{"settings": drift}, 200, 0)
		if got := get[rest.Service](h, tok, fmt.Sprintf("/services/%d", svc.Id)); !got.CredentialSet || got.Settings["ttl"] != float64(120) {
			t.Errorf("a refused change was applied: %+v", got)
		}

		events := get[rest.EventList](h, tok, fmt.Sprintf("/events?service_id=%d&kind=service.updated", svc.Id))
		var fields []string
		for _, e := range events.Items {
			for _, f := range e.Data["fields"].([]any) {
				fields = append(fields, f.(string))
			}
		}
		slices.Sort(fields)
		if !slices.Equal(fields, []string{"credential", "drift_interval", "drift_interval", "drift_resolver", "drift_resolver", "name", "proxied", "ttl"}) {
			t.Errorf("changed fields in events: %v", fields)
		}
		for _, r := range h.responses {
			if strings.Contains(r, token) || strings.Contains(r, "another-token") {
				t.Fatalf("a response carries the credential: %s", r)
			}
		}
		if strings.Contains(h.logs.String(), token) {
			t.Error("the log carries the credential")
		}
	})
}

// TestSettingsSchemasMatchPresets: the spec's per-protocol settings schemas
// name every key the built-in presets use. They document `settings` (which
// the API takes as a free-form object and checks with the provider registry), so
// nothing references them and oapi-codegen prunes them from the embedded
// spec: the test reads openapi.yaml.
func TestSettingsSchemasMatchPresets(t *testing.T) {
	spec, err := openapi3.NewLoader().LoadFromFile("../../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// A protocol's settings schema is its name, capitalized, + "Settings"
	// (cloudflare: CloudflareSettings), so a new provider adds no line here.
	schema := func(protocol string) string { return strings.ToUpper(protocol[:1]) + protocol[1:] + "Settings" }
	registry := provider.New(provider.Deps{})
	for _, p := range registry.Names() {
		if spec.Components.Schemas[schema(p)] == nil {
			t.Errorf("protocol %s has no settings schema %s", p, schema(p))
		}
		if !slices.Contains(spec.Components.Schemas["Protocol"].Value.Enum, any(p)) {
			t.Errorf("protocol %s is not in the Protocol enum", p)
		}
	}
	for _, p := range registry.Presets() {
		var settings map[string]any
		if err := jsonUnmarshal(p.Settings, &settings); err != nil {
			t.Fatal(err)
		}
		ref := spec.Components.Schemas[schema(p.Protocol)]
		if ref == nil {
			continue // reported above
		}
		for key := range settings {
			if ref.Value.Properties[key] == nil {
				t.Errorf("preset %s: settings key %s is not in %s", p.ID, key, schema(p.Protocol))
			}
		}
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestListProtocols: GET /protocols describes every registered protocol
// with its settings, credential and families, so a form can be built for
// a protocol the web app does not know.
func TestListProtocols(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	list := get[rest.ProtocolList](h, tok, "/protocols")
	want := provider.New(provider.Deps{}).Descriptions()
	if len(list.Items) != len(want) || list.NextCursor != nil {
		t.Fatalf("%d protocols, want %d", len(list.Items), len(want))
	}
	for i, p := range list.Items {
		w := want[i]
		if string(p.Protocol) != w.Protocol || p.Title != w.Title || len(p.Settings) != len(w.Settings) ||
			len(p.Families) != len(w.Families) || string(p.Together) != string(w.Together) || (p.Credential == nil) != (w.Credential == nil) {
			t.Errorf("protocol %d: %+v, want %+v", i, p, w)
		}
	}
	cf := list.Items[slices.IndexFunc(list.Items, func(p rest.ProtocolDescription) bool { return p.Protocol == "cloudflare" })]
	api := cf.Settings[slices.IndexFunc(cf.Settings, func(f rest.ProtocolField) bool { return f.Key == "api_url" })]
	if api.Type != "url" || api.Default != "https://api.cloudflare.com/client/v4" || !api.Destination || cf.Credential == nil ||
		cf.Credential.Label != "API token" || cf.RecordPassword != nil {
		t.Errorf("cloudflare %+v, api_url %+v", cf, api)
	}
	h.do(request{method: "GET", path: "/protocols"}).expect(t, http.StatusUnauthorized)
}
