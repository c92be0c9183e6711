package rest_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// checkNoStore fails unless an answer forbids caches to keep it.
func checkNoStore(t *testing.T, what string, r response) {
	t.Helper()
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: %d with Cache-Control %q, want no-store", what, r.status, cc)
	}
	if p := r.header.Get("Pragma"); p != "no-cache" {
		t.Errorf("%s: %d with Pragma %q, want no-cache", what, r.status, p)
	}
}

// TestEveryAnswerIsNoStore walks the spec's operations, without and with
// credentials, and the answers that carry secrets (login, refresh, a new
// token, a new host and its rotated secret): every /api/v1 answer, success
// or problem, says Cache-Control: no-store and Pragma: no-cache.
func TestEveryAnswerIsNoStore(t *testing.T) {
	h := newHarness(t)
	r := h.do(request{method: "POST", path: "/auth/login", body: map[string]string{"username": adminName, "password": adminPassword}})
	checkNoStore(t, "login", r.expect(t, http.StatusOK))
	var tok rest.AccessToken
	r.decode(t, &tok)
	session, refresh := tok.AccessToken, refreshCookieOf(t, r)
	checkNoStore(t, "refresh", h.do(request{method: "POST", path: "/auth/refresh", cookies: []*http.Cookie{refresh}}).expect(t, http.StatusOK))
	checkNoStore(t, "token creation", h.do(request{method: "POST", path: "/tokens", token: session,
		body: map[string]any{"name": "script", "scope": "write"}}).expect(t, http.StatusCreated))
	r = h.do(request{method: "POST", path: "/hosts", token: session, body: map[string]any{"fqdn": "home.example.net"}})
	checkNoStore(t, "host creation", r.expect(t, http.StatusCreated))
	var host rest.HostCreated
	r.decode(t, &host)
	checkNoStore(t, "secret rotation", h.do(request{method: "POST", path: fmt.Sprintf("/hosts/%d/secret", host.Id), token: session}).
		expect(t, http.StatusOK))

	id := strconv.FormatInt(host.Id, 10)
	statuses := map[int]bool{}
	for _, o := range operations(t) {
		if o.path == "/auth/logout" {
			continue // would end the session the walk uses
		}
		for _, token := range []string{"", session} {
			if o.path == "/events/stream" && token != "" {
				h.openStream(token, "", "").close() // stays open; checks its headers
				statuses[http.StatusOK] = true
				continue
			}
			req := request{method: o.method, path: o.withID(id), token: token}
			if o.op.RequestBody != nil {
				req.body = map[string]any{}
			}
			r := h.do(req)
			statuses[r.status] = true
			checkNoStore(t, fmt.Sprintf("%s %s (%s)", o.method, req.path, o.id), r)
		}
	}
	for _, extra := range []request{
		{method: "GET", path: "/no-such-thing", token: session},
		{method: "POST", path: "/hosts", token: session, body: map[string]any{"fqdn": "no_dots"}},
		{method: "POST", path: "/hosts", token: session, raw: `{"fqdn": `},
		{method: "PUT", path: "/hosts", token: session},
		{method: "POST", path: "/hosts", token: session, raw: `{"fqdn": "` + strings.Repeat("x", 2<<20) + `"}`},
	} {
		r := h.do(extra)
		statuses[r.status] = true
		checkNoStore(t, extra.method+" "+extra.path, r)
	}
	for _, want := range []int{200, 204, 400, 401, 404, 405, 413, 422} {
		if !statuses[want] {
			t.Errorf("the walk met no %d answer: %v", want, statuses)
		}
	}
}
