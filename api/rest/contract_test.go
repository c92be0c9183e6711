package rest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// operation is one operation of the spec, as the generic checks need it.
type operation struct {
	id, method, path string
	scope            string // read, write, session; "" for public
	op               *openapi3.Operation
}

func operations(t *testing.T) []operation {
	t.Helper()
	spec, err := rest.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	var out []operation
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			o := operation{id: op.OperationID, method: method, path: path, op: op}
			if op.Security == nil || len(*op.Security) > 0 {
				o.scope, _ = op.Extensions["x-ddnsbroker-scope"].(string)
				if o.scope == "" {
					t.Errorf("%s needs authentication but has no x-ddnsbroker-scope", o.id)
				}
			}
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (o operation) declares(status int) bool { return o.op.Responses.Status(status) != nil }

func (o operation) hasParam(in, name string) bool {
	for _, p := range o.op.Parameters {
		if p.Value.In == in && (name == "" || p.Value.Name == name) {
			return true
		}
	}
	return false
}

// withID fills the path's {id}.
func (o operation) withID(id string) string { return strings.ReplaceAll(o.path, "{id}", id) }

// TestContract calls every operation of openapi.yaml through the real router
// on a real database, checking each answer against the spec, and fails if
// any operation, or any status an operation declares, was never answered.
func TestContract(t *testing.T) {
	h := newHarness(t, func(cfg *config.Serve, opt *app.Options) {
		cfg.PublicURL, opt.Version = "https://ddns.example.test/", "v9.8.7-contract"
	}, withIdP(newIdP(t)))
	ops := operations(t)
	session, refresh := h.login(adminName, adminPassword)
	write, _ := h.apiToken(session, "deploy script", "write")
	read, readID := h.apiToken(session, "dashboard", "read")

	t.Run("401 without credentials", func(t *testing.T) {
		for _, o := range ops {
			if o.scope == "" {
				continue
			}
			r := h.do(request{method: o.method, path: o.withID("1"), body: map[string]any{}})
			if r.status != http.StatusUnauthorized {
				t.Errorf("%s without a token: %d, want 401", o.id, r.status)
			}
			if r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", o.id)
			}
		}
	})

	t.Run("403 for insufficient scope", func(t *testing.T) {
		for _, o := range ops {
			var token string
			switch o.scope {
			case "write":
				token = read
			case "session":
				token = write
			default:
				continue
			}
			r := h.do(request{method: o.method, path: o.withID("1"), token: token, body: map[string]any{}})
			if r.status != http.StatusForbidden {
				t.Errorf("%s with a %s token: %d, want 403", o.id, map[string]string{"write": "read", "session": "write"}[o.scope], r.status)
			}
		}
	})

	t.Run("400 for bodies that are not JSON", func(t *testing.T) {
		for _, o := range ops {
			if !o.declares(http.StatusBadRequest) {
				continue
			}
			if o.op.RequestBody == nil {
				t.Errorf("%s declares 400 but takes no body", o.id)
				continue
			}
			req := request{method: o.method, token: session, path: o.withID("1"), raw: `{"name": `}
			r := h.do(req)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s %s: %d, want 400: %s", o.id, req.path, r.status, r.body)
				continue
			}
			if p := r.problem(t); p.Detail == nil || !strings.Contains(*p.Detail, "not valid JSON") {
				t.Errorf("%s: 400 without a detail saying what is wrong: %s", o.id, r.body)
			}
		}
	})

	t.Run("422 naming the field for values the spec refuses", func(t *testing.T) {
		for _, o := range ops {
			req := request{method: o.method, token: session}
			field := ""
			switch {
			case strings.Contains(o.path, "{id}"):
				req.path, field = o.withID("abc"), "id"
				if o.op.RequestBody != nil {
					req.raw = `{}`
				}
			case o.op.RequestBody != nil:
				req.path, req.raw, field = o.path, `{"no_such_field": 1}`, "no_such_field"
			case o.hasParam("query", "limit"):
				req.path, field = o.path+"?limit=0", "limit"
			case o.hasParam("header", "Last-Event-ID"):
				req.path, field = o.path, "Last-Event-ID"
				req.header = map[string]string{"Last-Event-ID": "not-a-position"}
			case o.hasParam("cookie", ""):
				req.path, field = o.path, "ddnsbroker_refresh"
				req.cookies = []*http.Cookie{{Name: "ddnsbroker_refresh", Value: strings.Repeat("x", 300)}}
			default:
				if o.declares(http.StatusUnprocessableEntity) {
					t.Errorf("%s declares 422 but no generic invalid request is known for it", o.id)
				}
				continue
			}
			r := h.do(req)
			if r.status != http.StatusUnprocessableEntity {
				t.Errorf("%s %s: %d, want 422: %s", o.id, req.path, r.status, r.body)
				continue
			}
			p := r.problem(t)
			if p.Errors == nil || len(*p.Errors) == 0 || !slices.ContainsFunc(*p.Errors, func(e rest.FieldError) bool { return e.Field == field }) {
				t.Errorf("%s: 422 without errors[] naming %s: %s", o.id, field, r.body)
			}
			if p.Detail == nil || !strings.Contains(*p.Detail, field) {
				t.Errorf("%s: 422 whose detail does not name %s: %s", o.id, field, r.body)
			}
		}
	})

	t.Run("404 for unknown ids", func(t *testing.T) {
		for _, o := range ops {
			if !strings.Contains(o.path, "{id}") {
				continue
			}
			req := request{method: o.method, path: o.withID("987654321"), token: session}
			if o.method == http.MethodPatch || o.method == http.MethodPut {
				req.body = map[string]any{}
			}
			if r := h.do(req); r.status != http.StatusNotFound {
				t.Errorf("%s: %d, want 404: %s", o.id, r.status, r.body)
			}
		}
	})

	// The main flow: every operation answering its success status.
	var svc, svc2 rest.Service
	var host rest.HostCreated
	var rec1, rec2 rest.Record
	t.Run("services", func(t *testing.T) {
		svc = create[rest.Service](h, session, "/services", map[string]any{"name": "he.net", "protocol": "dyndns2",
			"url": "https://dyn.dns.he.net/nic/update", "username_is_fqdn": true})
		if svc.Id == 0 || !svc.UsernameIsFqdn || svc.Combined || svc.RecordCount != 0 {
			t.Errorf("created %+v", svc)
		}
		svc2 = create[rest.Service](h, write, "/services", map[string]any{"name": "INWX", "protocol": "dyndns2",
			"url": "https://dyndns.inwx.com/nic/update", "use_myipv6": true})
		list := get[rest.ServiceList](h, read, "/services")
		if len(list.Items) != 2 || list.Items[0].Name != "he.net" || list.NextCursor != nil {
			t.Errorf("list %+v", list)
		}
		got := get[rest.Service](h, read, fmt.Sprintf("/services/%d", svc2.Id))
		if !got.UseMyipv6 || got.Url != "https://dyndns.inwx.com/nic/update" {
			t.Errorf("read %+v", got)
		}
		var patched rest.Service
		h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", svc2.Id), token: write,
			body: map[string]any{"combined": true, "name": "inwx"}}).expect(t, 200).decode(t, &patched)
		if !patched.Combined || !patched.UseMyipv6 || patched.Name != "inwx" {
			t.Errorf("patched %+v", patched)
		}
		// Conflicts and domain rules.
		p := h.do(request{method: "POST", path: "/services", token: session, body: map[string]any{"name": "HE.NET",
			"protocol": "dyndns2", "url": "https://x.example/"}}).expect(t, 409).problem(t)
		if !strings.Contains(*p.Detail, "name already exists") {
			t.Errorf("conflict detail %q", *p.Detail)
		}
		h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", svc2.Id), token: session,
			body: map[string]any{"name": "he.net"}}).expect(t, 409)
		p = h.do(request{method: "POST", path: "/services", token: session, body: map[string]any{"name": "x",
			"protocol": "dyndns2", "url": "https://user:pw@x.example/"}}).expect(t, 422).problem(t)
		if p.Errors == nil || (*p.Errors)[0].Field != "url" || strings.Contains(string(mustJSON(p)), "pw@") {
			t.Errorf("422 %+v", p)
		}
		h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", svc2.Id), token: session,
			body: map[string]any{"url": "ftp://x.example/"}}).expect(t, 422)

		// The other protocols: settings checked by their clients' rules, a
		// write-only credential.
		ns := create[rest.Service](h, write, "/services", map[string]any{"name": "ns1", "protocol": "rfc2136",
			"settings":   map[string]any{"server": "ns1.example.net:53", "zone": "example.net", "key_name": "ddns-key"},
			"credential": "c2VjcmV0LXRzaWcta2V5LWZvci10ZXN0cw=="})
		if ns.Protocol != rest.Rfc2136 || !ns.CredentialSet || ns.Settings["key_name"] != "ddns-key" || ns.Url != "" {
			t.Errorf("rfc2136 service %+v", ns)
		}
		if strings.Contains(string(mustJSON(ns)), "c2VjcmV0") {
			t.Error("the credential came back")
		}
		p = h.do(request{method: "POST", path: "/services", token: write, body: map[string]any{"name": "cf",
			"protocol": "cloudflare", "settings": map[string]any{"ttl": 30, "zone_idd": "x"}}}).expect(t, 422).problem(t)
		if fields := fieldsOf(p); !slices.Equal(fields, []string{"settings.zone_idd", "credential"}) {
			t.Errorf("cloudflare 422 fields %v", fields)
		}
		p = h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", ns.Id), token: write,
			body: map[string]any{"credential": "not base64!"}}).expect(t, 422).problem(t)
		if fields := fieldsOf(p); !slices.Equal(fields, []string{"credential"}) || strings.Contains(string(mustJSON(p)), "not base64!") {
			t.Errorf("credential 422 %+v", p)
		}
		// A new server needs the TSIG secret again: it was entered for the old one.
		p = h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", ns.Id), token: write,
			body: map[string]any{"settings": map[string]any{"server": "[2001:db8::53]:53", "key_name": "ddns-key", "tcp": true}}}).
			expect(t, 422).problem(t)
		if fields := fieldsOf(p); !slices.Equal(fields, []string{"settings.server", "credential"}) {
			t.Errorf("destination change without the credential: fields %v", fields)
		}
		var cleared rest.Service
		h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", ns.Id), token: write,
			body: map[string]any{"settings": map[string]any{"server": "[2001:db8::53]:53", "key_name": "ddns-key", "tcp": true},
				"credential": "c2VjcmV0LXRzaWcta2V5LWZvci10ZXN0cw=="}}).
			expect(t, 200).decode(t, &cleared)
		if cleared.Settings["zone"] != nil || cleared.Settings["tcp"] != true || !cleared.CredentialSet {
			t.Errorf("settings replaced %+v", cleared)
		}
		h.do(request{method: "DELETE", path: fmt.Sprintf("/services/%d", ns.Id), token: write}).expect(t, 204)
	})

	t.Run("service tests", func(t *testing.T) {
		// A dyndns2 service has no read-only check: nothing leaves the host.
		body := map[string]any{"name": "t", "protocol": "dyndns2", "url": "https://dyn.example.test/nic/update"}
		svc := create[rest.Service](h, write, "/services", body)
		var res rest.ServiceTestResult
		h.do(request{method: "POST", path: fmt.Sprintf("/services/%d/test", svc.Id), token: write}).expect(t, 200).decode(t, &res)
		if !res.Ok || len(res.Steps) != 1 || res.Steps[0].Status != rest.ServiceTestStepStatusUnchecked {
			t.Errorf("saved dyndns2 test: %+v", res)
		}
		h.do(request{method: "POST", path: fmt.Sprintf("/services/%d/test", svc.Id), token: write,
			body: map[string]any{"record_id": 999999}}).expect(t, 422)
		var r response
		for range rest.DefaultServiceTestBurst + 1 {
			if r = h.do(request{method: "POST", path: "/services/test", token: write, body: body}); r.status != 200 {
				break
			}
		}
		r.expect(t, 429)
		h.do(request{method: "POST", path: fmt.Sprintf("/services/%d/test", svc.Id), token: write}).expect(t, 429)
		h.do(request{method: "DELETE", path: fmt.Sprintf("/services/%d", svc.Id), token: write}).expect(t, 204)
	})

	t.Run("presets", func(t *testing.T) {
		list := get[rest.PresetList](h, read, "/presets")
		// The built-in catalogue, then each protocol's own presets.
		want := provider.New(provider.Deps{}).Presets()
		if len(list.Items) != len(want) || list.NextCursor != nil {
			t.Fatalf("%d presets, want %d", len(list.Items), len(want))
		}
		for i, p := range list.Items {
			if p.Id != want[i].ID || string(p.Protocol) != want[i].Protocol || !jsonEqual(t, mustJSON(p.Settings), want[i].Settings) {
				t.Errorf("preset %d: %+v, want %+v", i, p, want[i])
			}
		}
	})

	t.Run("protocols", func(t *testing.T) {
		list := get[rest.ProtocolList](h, read, "/protocols")
		if names := provider.New(provider.Deps{}).Names(); len(list.Items) != len(names) || list.Items[0].Protocol != rest.Protocol(names[0]) {
			t.Errorf("protocols %+v, want %v", list.Items, names)
		}
	})

	t.Run("webhooks", func(t *testing.T) {
		var mu sync.Mutex
		var got []*http.Request
		var bodies [][]byte
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got, bodies = append(got, r), append(bodies, b)
			mu.Unlock()
			switch r.URL.Path {
			case "/down":
				w.WriteHeader(http.StatusServiceUnavailable)
			case "/slow": // slower than a request's deadline for database work
				time.Sleep(4500 * time.Millisecond)
			}
		}))
		defer rcv.Close()
		const secret = "hmac-secret-for-the-contract"
		wh := create[rest.Webhook](h, write, "/webhooks", map[string]any{"name": "alerts", "url": rcv.URL + "/hook",
			"secret": secret, "events": []string{"host.stale", "delivery.failed"}})
		if !wh.SecretSet || !wh.Enabled || !slices.Equal(wh.Events, []rest.WebhookEvent{rest.WebhookEventDeliveryFailed, rest.WebhookEventHostStale}) ||
			wh.LastAttemptAt != nil || strings.Contains(string(mustJSON(wh)), secret) {
			t.Errorf("created %+v", wh)
		}
		down := create[rest.Webhook](h, session, "/webhooks", map[string]any{"name": "down", "url": rcv.URL + "/down"})
		if down.SecretSet || len(down.Events) != 4 {
			t.Errorf("created with defaults %+v", down)
		}
		list := get[rest.WebhookList](h, read, "/webhooks?limit=1")
		if len(list.Items) != 1 || list.Items[0].Name != "alerts" || list.NextCursor == nil {
			t.Errorf("list %+v", list)
		}
		get[rest.Webhook](h, read, fmt.Sprintf("/webhooks/%d", wh.Id))

		var res rest.WebhookTestResult
		h.do(request{method: "POST", path: fmt.Sprintf("/webhooks/%d/test", wh.Id), token: write}).expect(t, 200).decode(t, &res)
		if !res.Delivered || res.StatusCode == nil || *res.StatusCode != 200 || res.Error != "" || res.Payload.Event != "webhook.test" {
			t.Errorf("test %+v", res)
		}
		mu.Lock()
		if len(got) != 1 || got[0].Header.Get("X-DDnsBroker-Event") != "webhook.test" ||
			got[0].Header.Get("X-DDnsBroker-Signature") != notify.Sign([]byte(secret), bodies[0]) {
			t.Errorf("receiver got %d requests: %v", len(got), got)
		}
		mu.Unlock()
		h.do(request{method: "POST", path: fmt.Sprintf("/webhooks/%d/test", down.Id), token: write}).expect(t, 200).decode(t, &res)
		if res.Delivered || res.StatusCode == nil || *res.StatusCode != 503 || !strings.HasPrefix(res.Error, "HTTP 503") {
			t.Errorf("test of a failing receiver %+v", res)
		}
		if after := get[rest.Webhook](h, read, fmt.Sprintf("/webhooks/%d", down.Id)); after.LastAttemptAt == nil ||
			after.LastSuccessAt != nil || after.LastError == "" || derefInt(after.LastStatusCode) != 503 {
			t.Errorf("after the failed test %+v", after)
		}
		// A receiver may take longer than the API's 4 s for database work;
		// the test waits for it (up to notify.Timeout) and records the result.
		slow := create[rest.Webhook](h, write, "/webhooks", map[string]any{"name": "slow", "url": rcv.URL + "/slow"})
		h.do(request{method: "POST", path: fmt.Sprintf("/webhooks/%d/test", slow.Id), token: write}).expect(t, 200).decode(t, &res)
		if after := get[rest.Webhook](h, read, fmt.Sprintf("/webhooks/%d", slow.Id)); !res.Delivered || after.LastSuccessAt == nil {
			t.Errorf("test of a slow receiver %+v, then %+v", res, after)
		}

		var patched rest.Webhook
		h.do(request{method: "PATCH", path: fmt.Sprintf("/webhooks/%d", wh.Id), token: write,
			body: map[string]any{"secret": "", "enabled": false, "events": []string{"delivery.recovered"}}}).expect(t, 200).decode(t, &patched)
		if patched.SecretSet || patched.Enabled || len(patched.Events) != 1 || patched.LastSuccessAt == nil {
			t.Errorf("patched %+v", patched)
		}
		// Conflicts and domain rules.
		h.do(request{method: "POST", path: "/webhooks", token: write, body: map[string]any{"name": "ALERTS", "url": rcv.URL}}).expect(t, 409)
		h.do(request{method: "PATCH", path: fmt.Sprintf("/webhooks/%d", down.Id), token: write,
			body: map[string]any{"name": "alerts"}}).expect(t, 409)
		p := h.do(request{method: "POST", path: "/webhooks", token: write, body: map[string]any{"name": "x",
			"url": "https://user:pw@hooks.example/"}}).expect(t, 422).problem(t)
		if fields := fieldsOf(p); !slices.Equal(fields, []string{"url"}) || strings.Contains(string(mustJSON(p)), "pw@") {
			t.Errorf("422 %+v", p)
		}
		h.do(request{method: "PATCH", path: fmt.Sprintf("/webhooks/%d", down.Id), token: write,
			body: map[string]any{"secret": "short"}}).expect(t, 422)
		h.do(request{method: "DELETE", path: fmt.Sprintf("/webhooks/%d", down.Id), token: write}).expect(t, 204)
	})

	t.Run("notifiers", func(t *testing.T) {
		var mu sync.Mutex
		var got []string
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = append(got, r.Method+" "+r.URL.Path+" "+string(b))
			mu.Unlock()
		}))
		defer rcv.Close()
		const token = "contract-token-991"
		var answers []string
		keep := func(r response) response { answers = append(answers, string(r.body)); return r }
		dest := "generic://" + strings.TrimPrefix(rcv.URL, "http://") + "/hook/" + token + "?disabletls=yes"
		var n rest.Notifier
		keep(h.do(request{method: "POST", path: "/notifiers", token: write, body: map[string]any{"name": "chat", "url": dest,
			"events": []string{"host.stale", "delivery.failed"}}})).expect(t, 201).decode(t, &n)
		if n.Kind != rest.NotifierKindShoutrrr || n.Destination != "generic://"+strings.TrimPrefix(rcv.URL, "http://") || !n.Enabled ||
			!slices.Equal(n.Events, []rest.NotifierEvent{rest.NotifierEventDeliveryFailed, rest.NotifierEventHostStale}) {
			t.Errorf("created %+v", n)
		}
		var list rest.NotifierList
		keep(h.do(request{method: "GET", path: "/notifiers", token: read})).expect(t, 200).decode(t, &list)
		kinds := map[rest.NotifierKind]int{}
		for _, it := range list.Items {
			kinds[it.Kind]++
		}
		if kinds[rest.NotifierKindShoutrrr] != 1 || kinds[rest.NotifierKindWebhook] == 0 {
			t.Errorf("list %+v", list)
		}
		keep(h.do(request{method: "GET", path: fmt.Sprintf("/notifiers/%d", n.Id), token: read})).expect(t, 200)
		h.do(request{method: "GET", path: fmt.Sprintf("/webhooks/%d", n.Id), token: read}).expect(t, 404)
		var res rest.NotifierTestResult
		keep(h.do(request{method: "POST", path: fmt.Sprintf("/notifiers/%d/test", n.Id), token: write})).expect(t, 200).decode(t, &res)
		mu.Lock()
		if !res.Delivered || len(got) != 1 || !strings.HasPrefix(got[0], "POST /hook/"+token+" ") || !strings.Contains(got[0], `"webhook.test"`) {
			t.Errorf("test %+v, receiver got %q", res, got)
		}
		mu.Unlock()
		var changed rest.Notifier
		keep(h.do(request{method: "PATCH", path: fmt.Sprintf("/notifiers/%d", n.Id), token: write, body: map[string]any{
			"name": "chat2", "url": "ntfy://ntfy.example.net/" + token, "events": []string{"host.back"}}})).expect(t, 200).decode(t, &changed)
		if changed.Name != "chat2" || changed.Destination != "ntfy://ntfy.example.net" || len(changed.Events) != 1 {
			t.Errorf("changed %+v", changed)
		}
		keep(h.do(request{method: "PATCH", path: fmt.Sprintf("/notifiers/%d", n.Id), token: write,
			body: map[string]any{"name": "alerts"}})).expect(t, 409)
		keep(h.do(request{method: "POST", path: "/notifiers", token: write,
			body: map[string]any{"name": "Alerts", "url": dest}})).expect(t, 409)
		for _, bad := range []string{"https://hooks.example/" + token, "telegram://" + token + "@", "nosuch://" + token} {
			p := keep(h.do(request{method: "POST", path: "/notifiers", token: write,
				body: map[string]any{"name": "bad", "url": bad}})).expect(t, 422).problem(t)
			if fields := fieldsOf(p); !slices.Equal(fields, []string{"url"}) {
				t.Errorf("422 %+v", p)
			}
		}
		keep(h.do(request{method: "DELETE", path: fmt.Sprintf("/notifiers/%d", n.Id), token: write})).expect(t, 204)

		// Heartbeats: the broker's and a host's.
		h.do(request{method: "GET", path: "/heartbeat", token: read}).expect(t, 404)
		var hb rest.Heartbeat
		keep(h.do(request{method: "PUT", path: "/heartbeat", token: write, body: map[string]any{"url": rcv.URL + "/ping/" + token,
			"every_seconds": 60}})).expect(t, 200).decode(t, &hb)
		if hb.Url != rcv.URL || hb.EverySeconds != 60 || hb.FailUrlSet {
			t.Errorf("heartbeat %+v", hb)
		}
		keep(h.do(request{method: "GET", path: "/heartbeat", token: read})).expect(t, 200)
		keep(h.do(request{method: "PUT", path: "/heartbeat", token: write, body: map[string]any{"url": "ftp://x/" + token}})).expect(t, 422)
		h.do(request{method: "DELETE", path: "/heartbeat", token: write}).expect(t, 204)
		h.do(request{method: "DELETE", path: "/heartbeat", token: write}).expect(t, 404)
		h.do(request{method: "PUT", path: "/hosts/999999/heartbeat", token: write, body: map[string]any{"url": rcv.URL}}).expect(t, 404)
		hh := create[rest.HostCreated](h, write, "/hosts", map[string]any{"fqdn": "beat.example.net"})
		path := fmt.Sprintf("/hosts/%d/heartbeat", hh.Id)
		h.do(request{method: "GET", path: path, token: read}).expect(t, 404)
		keep(h.do(request{method: "PUT", path: path, token: write, body: map[string]any{"url": rcv.URL + "/h/" + token,
			"fail_url": rcv.URL + "/h/" + token + "/down"}})).expect(t, 200).decode(t, &hb)
		if !hb.FailUrlSet || hb.EverySeconds != 300 {
			t.Errorf("host heartbeat %+v", hb)
		}
		keep(h.do(request{method: "GET", path: path, token: read})).expect(t, 200)
		h.do(request{method: "DELETE", path: path, token: write}).expect(t, 204)
		h.do(request{method: "DELETE", path: fmt.Sprintf("/hosts/%d", hh.Id), token: write}).expect(t, 204)
		for _, a := range answers {
			if strings.Contains(a, token) {
				t.Errorf("an answer holds the destination's token: %s", a)
			}
		}
	})

	t.Run("hosts", func(t *testing.T) {
		host = create[rest.HostCreated](h, session, "/hosts", map[string]any{"fqdn": "Home.Example.NET.", "ipv4": "203.0.113.7",
			"ipv6_prefix": "2001:db8:77:1::/64", "notes": "the router"})
		if host.Fqdn != "home.example.net" || len(host.Secret) < 26 || deref(host.Ipv4) != "203.0.113.7" ||
			deref(host.Ipv6Prefix) != "2001:db8:77:1::/64" || host.Ipv6 != nil {
			t.Errorf("created %+v", host)
		}
		other := create[rest.HostCreated](h, write, "/hosts", map[string]any{"fqdn": "office.example.net",
			"secret": "office-secret-1234", "enabled": false})
		if other.Secret != "office-secret-1234" || other.Enabled {
			t.Errorf("created %+v", other)
		}
		list := get[rest.HostList](h, read, "/hosts?q=EXAMPLE&enabled=true&stale=false")
		if len(list.Items) != 1 || list.Items[0].Id != host.Id {
			t.Errorf("search %+v", list)
		}
		got := get[rest.Host](h, read, fmt.Sprintf("/hosts/%d", host.Id))
		if got.Notes != "the router" {
			t.Errorf("read %+v", got)
		}
		var patched rest.Host
		h.do(request{method: "PATCH", path: fmt.Sprintf("/hosts/%d", other.Id), token: write,
			body: map[string]any{"enabled": true, "ipv6_enabled": false}}).expect(t, 200).decode(t, &patched)
		if !patched.Enabled || patched.Ipv6Enabled {
			t.Errorf("patched %+v", patched)
		}
		h.do(request{method: "POST", path: "/hosts", token: session, body: map[string]any{"fqdn": "home.example.net"}}).expect(t, 409)
		h.do(request{method: "PATCH", path: fmt.Sprintf("/hosts/%d", other.Id), token: session,
			body: map[string]any{"fqdn": "HOME.example.net"}}).expect(t, 409)
		p := h.do(request{method: "POST", path: "/hosts", token: session, body: map[string]any{"fqdn": "localhost",
			"ipv4": "224.0.0.1"}}).expect(t, 422).problem(t)
		if fields := fieldsOf(p); !slices.Equal(fields, []string{"fqdn", "ipv4"}) {
			t.Errorf("422 fields %v: %+v", fields, p)
		}
		h.do(request{method: "PATCH", path: fmt.Sprintf("/hosts/%d", other.Id), token: session,
			body: map[string]any{"fqdn": "no_dots"}}).expect(t, 422)
		h.do(request{method: "DELETE", path: fmt.Sprintf("/hosts/%d", other.Id), token: write}).expect(t, 204)
	})

	t.Run("records", func(t *testing.T) {
		rec1 = create[rest.Record](h, session, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id,
			"password": "upstream-key-1", "ipv6_netmask": 64, "ipv6_host_identifier": "::cafe"})
		if rec1.Fqdn != "home.example.net" || !rec1.PasswordSet || rec1.Ipv4Netmask != 32 || rec1.Ipv4HostIdentifier != "0.0.0.0" ||
			deref(rec1.EffectiveIpv4) != "203.0.113.7" || deref(rec1.EffectiveIpv6) != "2001:db8:77:1::cafe" ||
			rec1.Status.Ipv4.State != rest.SyncStatePending || deref(rec1.Status.Ipv4.Address) != "203.0.113.7" {
			t.Errorf("created %+v", rec1)
		}
		rec2 = create[rest.Record](h, write, "/records", map[string]any{"host_id": host.Id, "service_id": svc2.Id,
			"fqdn": "nas.example.net", "username": "nas", "ipv4_netmask": 24, "ipv4_host_identifier": "0.0.0.42",
			"ipv6_netmask": 96, "ipv6_host_identifier": "::1"})
		if deref(rec2.EffectiveIpv4) != "203.0.113.42" || rec2.PasswordSet || rec2.EffectiveIpv6 != nil ||
			!hasWarning(rec2, rest.NoIpv6Base) {
			t.Errorf("created %+v", rec2)
		}
		list := get[rest.RecordList](h, read, fmt.Sprintf("/records?host_id=%d&status=pending", host.Id))
		if len(list.Items) != 2 || list.Items[0].Fqdn != "home.example.net" {
			t.Errorf("list %+v", list)
		}
		list = get[rest.RecordList](h, read, fmt.Sprintf("/records?service_id=%d&q=NAS", svc2.Id))
		if len(list.Items) != 1 || list.Items[0].Id != rec2.Id {
			t.Errorf("filtered %+v", list)
		}
		get[rest.Record](h, read, fmt.Sprintf("/records/%d", rec1.Id))
		var patched rest.Record
		h.do(request{method: "PATCH", path: fmt.Sprintf("/records/%d", rec2.Id), token: write,
			body: map[string]any{"ipv4_host_identifier": "0.0.0.43", "password": "nas-key"}}).expect(t, 200).decode(t, &patched)
		if deref(patched.EffectiveIpv4) != "203.0.113.43" || !patched.PasswordSet {
			t.Errorf("patched %+v", patched)
		}
		var preview rest.RecordPreview
		h.do(request{method: "POST", path: "/records/preview", token: read, body: map[string]any{"host_id": host.Id,
			"ipv4_netmask": 16, "ipv4_host_identifier": "10.20.30.40", "ipv6_netmask": 80, "ipv6_host_identifier": "::1"}}).
			expect(t, 200).decode(t, &preview)
		if deref(preview.EffectiveIpv4) != "203.0.30.40" || preview.EffectiveIpv6 != nil || len(preview.Warnings) != 2 ||
			preview.Warnings[0].Code != rest.IdentifierMasked || preview.Warnings[1].Code != rest.NoIpv6Base {
			t.Errorf("preview %+v", preview)
		}
		var q rest.Queued
		h.do(request{method: "POST", path: fmt.Sprintf("/records/%d/resync", rec1.Id), token: write}).expect(t, 200).decode(t, &q)
		if q.Queued != 2 {
			t.Errorf("resync queued %d, want 2 (both families)", q.Queued)
		}
		deliveries := get[rest.DeliveryList](h, read, fmt.Sprintf("/records/%d/deliveries?limit=2", rec1.Id))
		if len(deliveries.Items) != 2 || deliveries.NextCursor == nil || deliveries.Items[0].Reason != rest.Resync {
			t.Errorf("deliveries %+v", deliveries)
		}
		rest2 := get[rest.DeliveryList](h, read, fmt.Sprintf("/records/%d/deliveries?limit=2&cursor=%s", rec1.Id, *deliveries.NextCursor))
		if len(rest2.Items) != 2 || rest2.Items[0].State != rest.DeliveryStateSuperseded || rest2.NextCursor != nil {
			t.Errorf("second page %+v", rest2)
		}
		// Conflicts and domain rules.
		p := h.do(request{method: "POST", path: "/records", token: session, body: map[string]any{"host_id": host.Id,
			"service_id": svc.Id}}).expect(t, 409).problem(t)
		if !strings.Contains(*p.Detail, "already has a record with this FQDN at this service") {
			t.Errorf("conflict %q", *p.Detail)
		}
		h.do(request{method: "PATCH", path: fmt.Sprintf("/records/%d", rec2.Id), token: session,
			body: map[string]any{"service_id": svc.Id, "fqdn": "home.example.net", "password": "nas-key"}}).expect(t, 409)
		p = h.do(request{method: "POST", path: "/records", token: session, body: map[string]any{"host_id": 999,
			"service_id": 998}}).expect(t, 422).problem(t)
		if fields := fieldsOf(p); !slices.Equal(fields, []string{"host_id", "service_id"}) {
			t.Errorf("fields %v", fields)
		}
		h.do(request{method: "PATCH", path: fmt.Sprintf("/records/%d", rec2.Id), token: session,
			body: map[string]any{"ipv6_host_identifier": "10.0.0.1"}}).expect(t, 422)
		h.do(request{method: "POST", path: "/records/preview", token: session, body: map[string]any{"host_id": 999}}).expect(t, 422)
	})

	t.Run("host addresses, secret and resync", func(t *testing.T) {
		var got rest.Host
		h.do(request{method: "PUT", path: fmt.Sprintf("/hosts/%d/addresses", host.Id), token: write,
			body: map[string]any{"ipv4": "198.51.100.9", "ipv6": "2001:db8:ffff::1", "ipv6_prefix": "2001:db8:77:1::/64"}}).
			expect(t, 200).decode(t, &got)
		if deref(got.Ipv4) != "198.51.100.9" || deref(got.Ipv6) != "2001:db8:ffff::1" {
			t.Errorf("addresses %+v", got)
		}
		r := get[rest.Record](h, read, fmt.Sprintf("/records/%d", rec2.Id))
		if deref(r.EffectiveIpv4) != "198.51.100.43" || deref(r.Status.Ipv4.Address) != "198.51.100.43" ||
			deref(r.EffectiveIpv6) != "2001:db8:ffff::1" || !hasWarning(r, rest.Ipv6MixedBase) {
			t.Errorf("record after the address change %+v", r)
		}
		h.do(request{method: "PUT", path: fmt.Sprintf("/hosts/%d/addresses", host.Id), token: write,
			body: map[string]any{"ipv4": "2001:db8::1"}}).expect(t, 422)
		var s rest.HostSecret
		h.do(request{method: "POST", path: fmt.Sprintf("/hosts/%d/secret", host.Id), token: write}).expect(t, 200).decode(t, &s)
		if len(s.Secret) < 26 || s.Secret == host.Secret {
			t.Errorf("new secret %q", s.Secret)
		}
		h.do(request{method: "POST", path: fmt.Sprintf("/hosts/%d/secret", host.Id), token: write,
			body: map[string]any{"secret": "chosen-by-admin"}}).expect(t, 200).decode(t, &s)
		if s.Secret != "chosen-by-admin" {
			t.Errorf("given secret %q", s.Secret)
		}
		var q rest.Queued
		h.do(request{method: "POST", path: fmt.Sprintf("/hosts/%d/resync", host.Id), token: write}).expect(t, 200).decode(t, &q)
		if q.Queued != 4 {
			t.Errorf("host resync queued %d, want 4", q.Queued)
		}
	})

	t.Run("events", func(t *testing.T) {
		all := get[rest.EventList](h, read, "/events?limit=500")
		if len(all.Items) < 10 || all.NextCursor != nil {
			t.Fatalf("events %d", len(all.Items))
		}
		for i := 1; i < len(all.Items); i++ {
			if all.Items[i].Id >= all.Items[i-1].Id {
				t.Fatalf("events not newest first")
			}
		}
		for _, e := range all.Items {
			if strings.HasPrefix(string(e.Kind), "record.") || strings.HasPrefix(string(e.Kind), "service.") || strings.HasPrefix(string(e.Kind), "host.") {
				if !strings.HasPrefix(e.Actor, "user admin") && !strings.HasPrefix(e.Actor, "token deploy script") {
					t.Errorf("event %s without actor: %q", e.Kind, e.Actor)
				}
			}
		}
		var paged []rest.Event
		cursor := ""
		for range 50 {
			page := get[rest.EventList](h, read, "/events?limit=3&host_id="+strconv.FormatInt(host.Id, 10)+cursor)
			paged = append(paged, page.Items...)
			if page.NextCursor == nil {
				break
			}
			cursor = "&cursor=" + url.QueryEscape(*page.NextCursor)
		}
		want := 0
		for _, e := range all.Items {
			if e.HostId != nil && *e.HostId == host.Id {
				want++
			}
		}
		if len(paged) != want || want < 5 {
			t.Errorf("paged %d host events, want %d", len(paged), want)
		}
		kinds := get[rest.EventList](h, read, "/events?kind=record.&since="+url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)))
		for _, e := range kinds.Items {
			if !strings.HasPrefix(string(e.Kind), "record.") {
				t.Errorf("kind filter let %s through", e.Kind)
			}
		}
		if len(kinds.Items) < 3 {
			t.Errorf("record events %d", len(kinds.Items))
		}
		none := get[rest.EventList](h, read, "/events?until="+url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)))
		if len(none.Items) != 0 {
			t.Errorf("until filter: %d", len(none.Items))
		}
		h.do(request{method: "GET", path: "/events?cursor=bm9wZQ", token: read}).expect(t, 422)
	})

	t.Run("users and tokens", func(t *testing.T) {
		u := create[rest.User](h, session, "/users", map[string]any{"username": "second", "password": "second-password"})
		list := get[rest.UserList](h, read, "/users?limit=1")
		if len(list.Items) != 1 || list.NextCursor == nil {
			t.Errorf("users %+v", list)
		}
		get[rest.User](h, read, fmt.Sprintf("/users/%d", u.Id))
		var patched rest.User
		h.do(request{method: "PATCH", path: fmt.Sprintf("/users/%d", u.Id), token: session,
			body: map[string]any{"username": "deputy", "password": "another-password"}}).expect(t, 200).decode(t, &patched)
		if patched.Username != "deputy" {
			t.Errorf("patched %+v", patched)
		}
		h.login("deputy", "another-password")
		h.do(request{method: "POST", path: "/users", token: session, body: map[string]any{"username": "ADMIN",
			"password": "whatever-long"}}).expect(t, 409)
		h.do(request{method: "PATCH", path: fmt.Sprintf("/users/%d", u.Id), token: session,
			body: map[string]any{"username": "admin"}}).expect(t, 409)
		me := get[rest.Me](h, session, "/me")
		h.do(request{method: "DELETE", path: fmt.Sprintf("/users/%d", me.Id), token: session}).expect(t, 409)
		h.do(request{method: "DELETE", path: fmt.Sprintf("/users/%d", u.Id), token: session}).expect(t, 204)

		tokens := get[rest.ApiTokenList](h, read, "/tokens")
		if len(tokens.Items) != 2 || tokens.Items[0].Username != adminName || tokens.Items[1].LastUsedAt == nil {
			t.Errorf("tokens %+v", tokens)
		}
		tok := get[rest.ApiToken](h, read, fmt.Sprintf("/tokens/%d", readID))
		if tok.Scope != rest.Read || !strings.HasPrefix(read, tok.Prefix) {
			t.Errorf("token %+v", tok)
		}
		h.do(request{method: "POST", path: "/tokens", token: session, body: map[string]any{"name": "old",
			"scope": "read", "expires_at": time.Now().Add(-time.Minute).Format(time.RFC3339)}}).expect(t, 422)
		_, tmpID := h.apiToken(session, "temporary", "read")
		h.do(request{method: "DELETE", path: fmt.Sprintf("/tokens/%d", tmpID), token: session}).expect(t, 204)
		me = get[rest.Me](h, write, "/me")
		if me.AuthMethod != rest.Token || me.Scope != rest.Write || me.TokenId == nil {
			t.Errorf("me with a token %+v", me)
		}
	})

	t.Run("status", func(t *testing.T) {
		if setup := get[rest.Setup](h, read, "/setup"); setup.PublicUrl == nil || *setup.PublicUrl != "https://ddns.example.test" {
			t.Errorf("setup %+v", setup)
		}
		plain := newHarness(t)
		plainSession, _ := plain.login(adminName, adminPassword)
		if setup := get[rest.Setup](plain, plainSession, "/setup"); setup.PublicUrl != nil {
			t.Errorf("setup without a public URL %+v", setup)
		}
		// The router setup takes DDNSBROKER_PUBLIC_URL, or the URL asked for.
		rs := get[rest.RouterSetup](h, read, fmt.Sprintf("/hosts/%d/setup", host.Id))
		if rs.Url != "https://ddns.example.test" || len(rs.Items) != 9 || !strings.Contains(rs.Items[0].Text, "password='YOUR-UPDATE-SECRET'") {
			t.Errorf("setup %+v", rs)
		}
		rs = get[rest.RouterSetup](h, read, fmt.Sprintf("/hosts/%d/setup?url=%s", host.Id, url.QueryEscape("http://[2001:db8::1]:8080/")))
		if rs.Url != "http://[2001:db8::1]:8080" || rs.Items[1].Client != rest.Inadyn || rs.Items[1].Warning == nil {
			t.Errorf("setup for an IPv6 address %+v", rs)
		}
		p := h.do(request{method: "GET", path: fmt.Sprintf("/hosts/%d/setup?url=ftp://x", host.Id), token: read}).expect(t, 422).problem(t)
		if f := fieldsOf(p); len(f) != 1 || f[0] != "url" {
			t.Errorf("problem %+v", p)
		}
		st := get[rest.Status](h, read, "/status")
		if st.Hosts.Total != 1 || st.Records.Total != 2 || st.Records.States.Pending != 4 || st.Deliveries.Pending != 4 ||
			st.Deliveries.Superseded == 0 || st.OldestPendingAgeSeconds == nil || st.Version != "v9.8.7-contract" {
			t.Errorf("status %+v", st)
		}
	})

	t.Run("deletes", func(t *testing.T) {
		p := h.do(request{method: "DELETE", path: fmt.Sprintf("/hosts/%d", host.Id), token: write}).expect(t, 409).problem(t)
		if *p.Detail != "the host still has 2 records; delete them first" {
			t.Errorf("detail %q", *p.Detail)
		}
		p = h.do(request{method: "DELETE", path: fmt.Sprintf("/services/%d", svc.Id), token: write}).expect(t, 409).problem(t)
		if !strings.Contains(*p.Detail, "1 record;") {
			t.Errorf("detail %q", *p.Detail)
		}
		h.do(request{method: "DELETE", path: fmt.Sprintf("/records/%d", rec1.Id), token: write}).expect(t, 204)
		h.do(request{method: "DELETE", path: fmt.Sprintf("/records/%d", rec2.Id), token: write}).expect(t, 204)
		h.do(request{method: "DELETE", path: fmt.Sprintf("/services/%d", svc.Id), token: write}).expect(t, 204)
		h.do(request{method: "DELETE", path: fmt.Sprintf("/hosts/%d", host.Id), token: write}).expect(t, 204)
	})

	t.Run("two-factor sign-in and sign-in rules", func(t *testing.T) {
		if m := get[rest.SignInMethods](h, "", "/auth/methods"); !m.Password || m.Sso == nil {
			t.Errorf("methods %+v", m)
		}
		if s := get[rest.SignInSettings](h, read, "/settings/sign-in"); s.Require2fa || !s.PasswordLogin || !s.Sso {
			t.Errorf("settings %+v", s)
		}
		// The broker's own settings are admins' only.
		create[rest.User](h, session, "/users", map[string]any{"username": "contract-user", "password": "contract-user-Passw0rd", "role": "user"})
		user, _ := h.login("contract-user", "contract-user-Passw0rd")
		for _, path := range []string{"/settings/sign-in", "/heartbeat"} {
			h.do(request{method: "GET", path: path, token: user}).expect(t, 403)
		}
		secret, _ := enrolOTP(t, h, session)
		h.do(request{method: "POST", path: "/me/otp", token: session}).expect(t, 409)
		h.do(request{method: "POST", path: "/me/otp/confirm", token: session, body: map[string]any{"code": "123456"}}).expect(t, 409)
		h.do(request{method: "POST", path: "/auth/login", body: loginBody("")}).expect(t, 401)
		h.do(request{method: "PUT", path: "/settings/sign-in", token: session,
			body: map[string]any{"require_2fa": true, "password_login": false}}).expect(t, 200)
		h.do(request{method: "POST", path: "/auth/login", body: loginBody("")}).expect(t, 403)
		h.do(request{method: "PUT", path: "/settings/sign-in", token: session,
			body: map[string]any{"require_2fa": false, "password_login": true}}).expect(t, 200)
		h.do(request{method: "DELETE", path: "/me/otp", token: session,
			body: map[string]any{"code": otpCode(t, secret, time.Now().Add(30*time.Second))}}).expect(t, 204)
		h.do(request{method: "DELETE", path: "/me/otp", token: session, body: map[string]any{"code": "123456"}}).expect(t, 409)
	})

	t.Run("session", func(t *testing.T) {
		r := h.do(request{method: "POST", path: "/auth/refresh", cookies: []*http.Cookie{refresh}}).expect(t, 200)
		next := refreshCookieOf(t, r)
		h.do(request{method: "POST", path: "/auth/logout", token: session, cookies: []*http.Cookie{next}}).expect(t, 204)
		h.do(request{method: "POST", path: "/auth/refresh", cookies: []*http.Cookie{next}}).expect(t, 401)
		h.do(request{method: "POST", path: "/auth/login", body: map[string]any{"username": adminName,
			"password": "wrong"}}).expect(t, 401)
	})

	// Last, since it exhausts the login limits of this client address.
	t.Run("login rate limit", func(t *testing.T) {
		late, _ := h.login(adminName, adminPassword)
		limited := create[rest.Service](h, late, "/services", map[string]any{"name": "limited", "protocol": "dyndns2",
			"url": "https://dyn.example/nic/update"})
		h.do(request{method: "POST", path: "/me/password", token: late,
			body: map[string]any{"current_password": adminPassword, "new_password": adminPassword}}).expect(t, 204)
		var r response
		for i := range 20 {
			r = h.do(request{method: "POST", path: "/auth/login", body: map[string]any{"username": fmt.Sprint("nobody", i), "password": "guess"}})
			if r.status == http.StatusTooManyRequests {
				break
			}
		}
		r.expect(t, 429)
		if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
		}
		// Every check of a password from this source is refused now.
		h.do(request{method: "POST", path: "/me/password", token: late,
			body: map[string]any{"current_password": adminPassword, "new_password": "0123456789a"}}).expect(t, 429)
		h.do(request{method: "POST", path: "/tokens", token: late,
			body: map[string]any{"name": "x", "scope": "read", "current_password": adminPassword}}).expect(t, 429)
		h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", limited.Id), token: late,
			body: map[string]any{"url": "https://elsewhere.example/nic/update", "current_password": adminPassword}}).expect(t, 429)
		h.do(request{method: "DELETE", path: "/me/otp", token: late, body: map[string]any{"password": adminPassword}}).expect(t, 429)
	})

	t.Run("live stream and address history", func(t *testing.T) {
		h.openStream(read, "", "").close()
		fresh := create[rest.HostCreated](h, write, "/hosts", map[string]any{"fqdn": "history.example.net"})
		hist := get[rest.HostHistory](h, read, fmt.Sprintf("/hosts/%d/history", fresh.Id))
		if hist.Items == nil {
			t.Errorf("history %+v", hist)
		}
	})

	t.Run("every operation and declared status was answered", func(t *testing.T) {
		for _, o := range ops {
			for code := range o.op.Responses.Map() {
				if code == "default" {
					continue
				}
				status, _ := strconv.Atoi(code)
				if !h.seen[o.id][status] {
					t.Errorf("%s (%s %s): status %d was never answered", o.id, o.method, o.path, status)
				}
			}
		}
	})
}

func derefInt(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func fieldsOf(p rest.Problem) []string {
	if p.Errors == nil {
		return nil
	}
	var out []string
	for _, e := range *p.Errors {
		out = append(out, e.Field)
	}
	return out
}

func hasWarning(r rest.Record, code rest.WarningCode) bool {
	for _, w := range r.Warnings {
		if w.Code == code {
			return true
		}
	}
	return false
}

// jsonEqual compares two JSON texts by value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return string(mustJSON(x)) == string(mustJSON(y))
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
