package rest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

func jwtKey() []byte { return secretbox.DeriveKey(secretKey, "jwt") }

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func claims(sub int64, sid string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": "ddnsbroker", "aud": []string{"ddnsbroker-api"}, "sub": fmt.Sprint(sub), "jti": "x1",
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "sid": sid}
}

// sessionOf reads the session id an access token names.
func sessionOf(t *testing.T, access string) string {
	t.Helper()
	c, err := auth.NewAccessTokens(jwtKey(), auth.AccessTokenTTL).Verify(access)
	if err != nil {
		t.Fatal(err)
	}
	return c.SessionID
}

func sign(t *testing.T, m jwt.SigningMethod, c jwt.MapClaims, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBearerTokensAreChecked(t *testing.T) {
	h := newHarness(t)
	session, _ := h.login(adminName, adminPassword)
	me := get[rest.Me](h, session, "/me")
	other := create[rest.User](h, session, "/users", map[string]any{"username": "other", "password": "other-password"})

	sid := sessionOf(t, session)
	valid, _, err := auth.NewAccessTokens(jwtKey(), auth.AccessTokenTTL).Issue(me.Id, sid)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	expired, _, _ := auth.NewAccessTokens(jwtKey(), auth.AccessTokenTTL).
		WithClock(func() time.Time { return time.Now().Add(-time.Hour) }).Issue(me.Id, sid)
	otherKey, _, _ := auth.NewAccessTokens(secretbox.DeriveKey([]byte("another server's secret key, long enough"), "jwt"),
		auth.AccessTokenTTL).Issue(me.Id, sid)
	madeUpSession, _, _ := auth.NewAccessTokens(jwtKey(), auth.AccessTokenTTL).Issue(me.Id, auth.NewFamily())
	otherSession, _ := h.login("other", "other-password")
	// A session belongs to its user: naming another user's session is no way in.
	wrongUser, _, _ := auth.NewAccessTokens(jwtKey(), auth.AccessTokenTTL).Issue(other.Id, sid)
	tamperedClaims := claims(other.Id, sid)
	noExp := claims(me.Id, sid)
	delete(noExp, "exp")
	wrongAud := claims(me.Id, sid)
	wrongAud["aud"] = []string{"somebody-else"}
	wrongIss := claims(me.Id, sid)
	wrongIss["iss"] = "evil"
	noSession := claims(me.Id, sid)
	delete(noSession, "sid")

	cases := map[string]string{
		"no token":                 "",
		"expired token":            expired,
		"signed with another key":  otherKey,
		"alg none":                 b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(claims(me.Id, sid)) + ".",
		"alg None, signature kept": b64(map[string]string{"alg": "None", "typ": "JWT"}) + "." + parts[1] + "." + parts[2],
		"tampered payload":         parts[0] + "." + b64(tamperedClaims) + "." + parts[2],
		"HS512 with the right key": sign(t, jwt.SigningMethodHS512, claims(me.Id, sid), jwtKey()),
		"no session":               sign(t, jwt.SigningMethodHS256, noSession, jwtKey()),
		"a made-up session":        madeUpSession,
		"another user's session":   wrongUser,
		"no expiry":                sign(t, jwt.SigningMethodHS256, noExp, jwtKey()),
		"wrong audience":           sign(t, jwt.SigningMethodHS256, wrongAud, jwtKey()),
		"wrong issuer":             sign(t, jwt.SigningMethodHS256, wrongIss, jwtKey()),
		"garbage":                  "not.a.jwt",
		"unknown api token":        "ddnsb_" + strings.Repeat("a", 26),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			r := h.do(request{method: "GET", path: "/hosts", token: tok}).expect(t, http.StatusUnauthorized)
			if name == "expired token" && !strings.Contains(*r.problem(t).Detail, "expired") {
				t.Errorf("detail %q", *r.problem(t).Detail)
			}
		})
	}
	t.Run("not a bearer scheme", func(t *testing.T) {
		h.do(request{method: "GET", path: "/hosts", header: map[string]string{"Authorization": "Basic YWRtaW46eA=="}}).
			expect(t, http.StatusUnauthorized)
	})
	t.Run("the valid token works", func(t *testing.T) {
		h.do(request{method: "GET", path: "/hosts", token: valid}).expect(t, http.StatusOK)
	})
	t.Run("a deleted account's token stops working", func(t *testing.T) {
		tok := otherSession
		h.do(request{method: "GET", path: "/me", token: tok}).expect(t, http.StatusOK)
		h.do(request{method: "DELETE", path: fmt.Sprintf("/users/%d", other.Id), token: session}).expect(t, http.StatusNoContent)
		h.do(request{method: "GET", path: "/me", token: tok}).expect(t, http.StatusUnauthorized)
	})
}

func TestAPITokenScopes(t *testing.T) {
	h := newHarness(t)
	session, _ := h.login(adminName, adminPassword)
	read, _ := h.apiToken(session, "reader", "read")
	write, writeID := h.apiToken(session, "writer", "write")

	h.do(request{method: "GET", path: "/hosts", token: read}).expect(t, http.StatusOK)
	p := h.do(request{method: "POST", path: "/hosts", token: read, body: map[string]any{"fqdn": "a.example.net"}}).
		expect(t, http.StatusForbidden).problem(t)
	if !strings.Contains(*p.Detail, "read-scope") {
		t.Errorf("detail %q", *p.Detail)
	}
	h.do(request{method: "POST", path: "/records/preview", token: read, body: map[string]any{"host_id": 1}}).
		expect(t, http.StatusUnprocessableEntity) // previews change nothing
	h.do(request{method: "POST", path: "/hosts", token: write, body: map[string]any{"fqdn": "a.example.net"}}).
		expect(t, http.StatusCreated)
	h.do(request{method: "POST", path: "/tokens", token: write, body: map[string]any{"name": "x", "scope": "write"}}).
		expect(t, http.StatusForbidden)
	h.do(request{method: "POST", path: "/users", token: write, body: map[string]any{"username": "x", "password": "0123456789"}}).
		expect(t, http.StatusForbidden)

	// The token is stored as its SHA-256 only.
	var stored []byte
	if err := h.st.Pool.QueryRow(context.Background(), `SELECT token_hash FROM api_tokens WHERE id = $1`, writeID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if string(stored) != string(auth.TokenHash(write)) {
		t.Error("stored hash is not the SHA-256 of the token")
	}

	// Revoked and expired tokens are refused.
	h.do(request{method: "DELETE", path: fmt.Sprintf("/tokens/%d", writeID), token: session}).expect(t, http.StatusNoContent)
	h.do(request{method: "GET", path: "/hosts", token: write}).expect(t, http.StatusUnauthorized)
	past := time.Now().Add(-time.Second)
	expired, prefix := auth.NewAPIToken()
	if _, err := h.st.CreateAPIToken(context.Background(), store.NewAPIToken{UserID: 1, Name: "old", Scope: "read",
		Prefix: prefix, Hash: auth.TokenHash(expired), ExpiresAt: &past}); err != nil {
		t.Fatal(err)
	}
	p = h.do(request{method: "GET", path: "/hosts", token: expired}).expect(t, http.StatusUnauthorized).problem(t)
	if !strings.Contains(*p.Detail, "expired") {
		t.Errorf("detail %q", *p.Detail)
	}
}

func TestRefreshTokens(t *testing.T) {
	h := newHarness(t)
	refresh := func(c *http.Cookie) response {
		return h.do(request{method: "POST", path: "/auth/refresh", cookies: []*http.Cookie{c}})
	}

	t.Run("cookie attributes", func(t *testing.T) {
		_, c := h.login(adminName, adminPassword)
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/api/v1/auth" || c.Secure || c.MaxAge <= 0 {
			t.Errorf("cookie %+v", c)
		}
	})
	t.Run("rotation", func(t *testing.T) {
		_, a := h.login(adminName, adminPassword)
		r := refresh(a).expect(t, http.StatusOK)
		var tok rest.AccessToken
		r.decode(t, &tok)
		if tok.TokenType != rest.Bearer || tok.ExpiresIn != 900 {
			t.Errorf("token %+v", tok)
		}
		h.do(request{method: "GET", path: "/me", token: tok.AccessToken}).expect(t, http.StatusOK)
		b := refreshCookieOf(t, r)
		if b.Value == a.Value {
			t.Fatal("refresh token did not rotate")
		}
		// The spent token comes back at once: another tab sharing the
		// cookie refreshed at the same moment, which is no theft.
		c := refreshCookieOf(t, refresh(a).expect(t, http.StatusOK))
		refresh(b).expect(t, http.StatusOK)
		// It comes back later: it was copied. The session dies.
		if _, err := h.st.Pool.Exec(context.Background(),
			`UPDATE refresh_tokens SET revoked_at = revoked_at - interval '1 minute' WHERE revoked_at IS NOT NULL`); err != nil {
			t.Fatal(err)
		}
		p := refresh(a).expect(t, http.StatusUnauthorized).problem(t)
		if !strings.Contains(*p.Detail, "already used") {
			t.Errorf("detail %q", *p.Detail)
		}
		refresh(c).expect(t, http.StatusUnauthorized)
		// The session's access tokens die with it.
		h.do(request{method: "GET", path: "/me", token: tok.AccessToken}).expect(t, http.StatusUnauthorized)
		fresh, _ := h.login(adminName, adminPassword)
		ev := get[rest.EventList](h, fresh, "/events?kind=auth.refresh_reused")
		if len(ev.Items) != 1 {
			t.Errorf("reuse events %d", len(ev.Items))
		}
	})
	t.Run("two tabs refresh at once", func(t *testing.T) {
		_, a := h.login(adminName, adminPassword)
		answers := make(chan response, 2)
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { answers <- refresh(a) })
		}
		wg.Wait()
		close(answers)
		for r := range answers {
			refresh(refreshCookieOf(t, r.expect(t, http.StatusOK))).expect(t, http.StatusOK)
		}
	})
	t.Run("logout revokes", func(t *testing.T) {
		access, c := h.login(adminName, adminPassword)
		r := h.do(request{method: "POST", path: "/auth/logout", token: access, cookies: []*http.Cookie{c}}).expect(t, http.StatusNoContent)
		if cleared := refreshCookieOf(t, r); cleared.MaxAge >= 0 || cleared.Value != "" {
			t.Errorf("logout cookie %+v", cleared)
		}
		refresh(c).expect(t, http.StatusUnauthorized)
	})
	t.Run("a new password ends sessions", func(t *testing.T) {
		access, c := h.login(adminName, adminPassword)
		u := create[rest.User](h, access, "/users", map[string]any{"username": "second", "password": "second-password"})
		_, c2 := h.login("second", "second-password")
		h.do(request{method: "PATCH", path: fmt.Sprintf("/users/%d", u.Id), token: access,
			body: map[string]any{"password": "a-new-password"}}).expect(t, http.StatusOK)
		refresh(c2).expect(t, http.StatusUnauthorized)
		refresh(c).expect(t, http.StatusOK)
	})
	t.Run("no or unknown cookie", func(t *testing.T) {
		h.do(request{method: "POST", path: "/auth/refresh"}).expect(t, http.StatusUnauthorized)
		refresh(&http.Cookie{Name: "ddnsbroker_refresh", Value: "forged"}).expect(t, http.StatusUnauthorized)
	})
}

func TestRefreshCookieIsSecureBehindTrustedTLSProxy(t *testing.T) {
	h := newHarness(t, func(cfg *config.Serve, _ *app.Options) {
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	r := h.do(request{method: "POST", path: "/auth/login", body: map[string]string{"username": adminName, "password": adminPassword},
		header: map[string]string{"X-Forwarded-Proto": "https"}}).expect(t, http.StatusOK)
	if c := refreshCookieOf(t, r); !c.Secure {
		t.Errorf("cookie over a trusted TLS proxy is not Secure: %+v", c)
	}
	h2 := newHarness(t) // no trusted proxies: the header is anyone's claim
	r = h2.do(request{method: "POST", path: "/auth/login", body: map[string]string{"username": adminName, "password": adminPassword},
		header: map[string]string{"X-Forwarded-Proto": "https"}}).expect(t, http.StatusOK)
	if c := refreshCookieOf(t, r); c.Secure {
		t.Errorf("cookie Secure on the word of an untrusted peer: %+v", c)
	}
}

// TestSecretsStayOut runs a session through every secret-bearing operation,
// the dyndns2 endpoint included, and then looks for each secret in every
// response and every log line.
func TestSecretsStayOut(t *testing.T) {
	h := newHarness(t)
	access, refresh := h.login(adminName, adminPassword)
	apiTok, _ := h.apiToken(access, "script", "write")
	svc := create[rest.Service](h, apiTok, "/services", map[string]any{"name": "he", "protocol": "dyndns2",
		"url": "https://dyn.example/nic/update"})
	host := create[rest.HostCreated](h, apiTok, "/hosts", map[string]any{"fqdn": "home.example.net"})
	given := create[rest.HostCreated](h, apiTok, "/hosts", map[string]any{"fqdn": "cabin.example.net", "secret": "Cabin-Secret-42"})
	const recordPassword, newRecordPassword, userPassword = "Upstream-Pa55-one", "Upstream-Pa55-two", "User-Pa55word-x"
	rec := create[rest.Record](h, apiTok, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id,
		"username": "home", "password": recordPassword})
	h.do(request{method: "PATCH", path: fmt.Sprintf("/records/%d", rec.Id), token: apiTok,
		body: map[string]any{"password": newRecordPassword}}).expect(t, http.StatusOK)
	var rotated rest.HostSecret
	h.do(request{method: "POST", path: fmt.Sprintf("/hosts/%d/secret", host.Id), token: apiTok}).expect(t, http.StatusOK).decode(t, &rotated)
	create[rest.User](h, access, "/users", map[string]any{"username": "second", "password": userPassword})
	h.login("second", userPassword)
	h.do(request{method: "POST", path: "/auth/login", body: map[string]string{"username": adminName, "password": "Wrong-" + userPassword}}).
		expect(t, http.StatusUnauthorized)
	// A router update, credentials in the query as some routers send them, and one with a wrong secret.
	for _, q := range []string{
		"username=home.example.net&password=" + url.QueryEscape(rotated.Secret) + "&myip=203.0.113.5",
		"username=home.example.net&password=" + url.QueryEscape(host.Secret) + "&myip=203.0.113.6",
	} {
		res, err := http.Get(h.url + "/nic/update?" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		h.responses = append(h.responses, string(body))
	}
	// A service credential and a webhook secret, set, changed and used.
	const serviceToken, webhookSecret = "Cf-Api-Token-Secret-9", "Webhook-Hmac-Secret-7"
	cf := create[rest.Service](h, apiTok, "/services", map[string]any{"name": "cf", "protocol": "cloudflare", "credential": "Cf-First-Token-1"})
	h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", cf.Id), token: apiTok,
		body: map[string]any{"credential": serviceToken}}).expect(t, http.StatusOK)
	h.do(request{method: "PATCH", path: fmt.Sprintf("/services/%d", cf.Id), token: apiTok,
		body: map[string]any{"credential": "not a token"}}).expect(t, http.StatusUnprocessableEntity)
	rcv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer rcv.Close()
	wh := create[rest.Webhook](h, apiTok, "/webhooks", map[string]any{"name": "ops", "url": rcv.URL, "secret": webhookSecret})
	h.do(request{method: "POST", path: fmt.Sprintf("/webhooks/%d/test", wh.Id), token: apiTok}).expect(t, http.StatusOK)
	refreshed := refreshCookieOf(t, h.do(request{method: "POST", path: "/auth/refresh", cookies: []*http.Cookie{refresh}}))
	// Read everything back.
	for _, p := range []string{"/hosts", fmt.Sprintf("/hosts/%d", host.Id), "/records", fmt.Sprintf("/records/%d", rec.Id),
		fmt.Sprintf("/records/%d/deliveries", rec.Id), "/events?limit=500", "/tokens", "/users", "/me", "/status", "/services",
		"/webhooks", fmt.Sprintf("/services/%d", cf.Id)} {
		h.do(request{method: "GET", path: p, token: access}).expect(t, http.StatusOK)
	}

	count := func(s string) int {
		n := 0
		for _, r := range h.responses {
			if strings.Contains(r, s) {
				n++
			}
		}
		return n
	}
	// Secrets shown once are in exactly their one response; the rest in none.
	for _, c := range []struct {
		name, secret string
		responses    int
	}{
		{"generated host secret", host.Secret, 1},
		{"given host secret", given.Secret, 1},
		{"rotated host secret", rotated.Secret, 1},
		{"API token", apiTok, 1},
		{"refresh token", refresh.Value, 1},
		{"rotated refresh token", refreshed.Value, 1},
		{"record password", recordPassword, 0},
		{"new record password", newRecordPassword, 0},
		{"admin password", adminPassword, 0},
		{"user password", userPassword, 0},
		{"service credential", serviceToken, 0},
		{"first service credential", "Cf-First-Token-1", 0},
		{"refused service credential", "not a token", 0},
		{"webhook secret", webhookSecret, 0},
	} {
		if n := count(c.secret); n != c.responses {
			t.Errorf("%s appears in %d responses, want %d", c.name, n, c.responses)
		}
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "route=/api/v1/hosts") || !strings.Contains(logs, "route=/nic/update") {
		t.Fatalf("captured no request logs:\n%s", logs)
	}
	for name, secret := range map[string]string{"host secret": host.Secret, "given host secret": given.Secret,
		"rotated host secret": rotated.Secret, "API token": apiTok, "access token": access, "refresh token": refresh.Value,
		"record password": recordPassword, "new record password": newRecordPassword, "admin password": adminPassword,
		"user password": userPassword, "service credential": serviceToken, "webhook secret": webhookSecret} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s is in the logs", name)
		}
	}
}

// TestMalformedRequests throws what a fuzzer or a careless script would at
// the API: each gets a 4xx problem, none a 500 (the harness fails on any).
func TestMalformedRequests(t *testing.T) {
	h := newHarness(t)
	access, _ := h.login(adminName, adminPassword)
	huge := `{"fqdn": "a.example.net", "notes": "` + strings.Repeat("x", 2<<20) + `"}`
	cases := []struct {
		name   string
		req    request
		status int
		field  string
	}{
		{"not JSON", request{method: "POST", path: "/hosts", raw: "fqdn=a.example.net"}, 400, ""},
		{"truncated JSON", request{method: "POST", path: "/hosts", raw: `{"fqdn": "a.exa`}, 400, ""},
		{"JSON array", request{method: "POST", path: "/hosts", raw: `[1, 2]`}, 400, ""},
		{"wrong type", request{method: "POST", path: "/hosts", raw: `{"fqdn": 5}`}, 422, "fqdn"},
		{"wrong nested type", request{method: "POST", path: "/records", raw: `{"host_id": "1", "service_id": 1}`}, 422, "host_id"},
		{"missing field", request{method: "POST", path: "/hosts", raw: `{}`}, 422, "fqdn"},
		{"unknown field", request{method: "POST", path: "/hosts", raw: `{"fqdn": "a.example.net", "admin": true}`}, 422, "admin"},
		{"null body", request{method: "POST", path: "/hosts", raw: `null`}, 400, ""},
		{"wrong content type", request{method: "POST", path: "/hosts", raw: `{"fqdn": "a.example.net"}`, contentType: "text/plain"}, 400, ""},
		{"empty body", request{method: "POST", path: "/hosts"}, 400, ""},
		{"huge body", request{method: "POST", path: "/hosts", raw: huge}, 413, ""},
		{"netmask out of range", request{method: "POST", path: "/records", raw: `{"host_id": 1, "service_id": 1, "ipv4_netmask": 33}`}, 422, "ipv4_netmask"},
		{"id not a number", request{method: "GET", path: "/hosts/abc"}, 422, "id"},
		{"id too large", request{method: "GET", path: "/hosts/99999999999999999999"}, 422, "id"},
		{"id negative", request{method: "GET", path: "/hosts/-1"}, 422, "id"},
		{"id zero", request{method: "GET", path: "/records/0"}, 422, "id"},
		{"id fractional", request{method: "DELETE", path: "/services/1.5"}, 422, "id"},
		{"limit not a number", request{method: "GET", path: "/hosts?limit=all"}, 422, "limit"},
		{"limit too large", request{method: "GET", path: "/hosts?limit=100000"}, 422, "limit"},
		{"bad enum", request{method: "GET", path: "/records?status=sleeping"}, 422, "status"},
		{"bad date", request{method: "GET", path: "/events?since=yesterday"}, 422, "since"},
		{"bad cursor", request{method: "GET", path: "/hosts?cursor=!!"}, 422, "cursor"},
		{"forged cursor", request{method: "GET", path: "/hosts?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"a":1}`))}, 422, "cursor"},
		{"int64 overflow", request{method: "POST", path: "/records", raw: `{"host_id": 9223372036854775808, "service_id": 1}`}, 422, "host_id"},
		{"NUL in a body string", request{method: "POST", path: "/hosts", raw: `{"fqdn": "a.example.net", "notes": "a\u0000b"}`}, 422, "notes"},
		{"NUL in a query", request{method: "GET", path: "/hosts?q=%00"}, 422, "q"},
		{"NUL in a path", request{method: "GET", path: "/hosts/1%00"}, 422, "id"},
		{"unknown path", request{method: "GET", path: "/nothing/here"}, 404, ""},
		{"api root", request{method: "GET", path: ""}, 404, ""},
		{"method not allowed", request{method: "PUT", path: "/hosts"}, 405, ""},
		{"method not allowed with id", request{method: "POST", path: "/hosts/1"}, 405, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.req.token = access
			r := h.do(c.req)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
			if c.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			// The detail says what is wrong in words, naming the field.
			if p := r.problem(t); c.status < 500 && (p.Detail == nil || strings.Contains(*p.Detail, "API description") ||
				c.field != "" && !strings.Contains(*p.Detail, c.field)) {
				t.Errorf("detail %v: want a sentence naming %q", deref(p.Detail), c.field)
			}
			if c.field != "" {
				found := false
				for _, f := range fieldsOf(r.problem(t)) {
					found = found || f == c.field
				}
				if !found {
					t.Errorf("errors do not name %q: %s", c.field, r.body)
				}
			}
		})
	}
}

// TestHugeChunkedBody: a body without Content-Length is cut at 1 MiB too.
// It is served in-process: over TCP the server closes the connection while
// the client still sends, which the client sees as a reset.
func TestHugeChunkedBody(t *testing.T) {
	h := newHarness(t)
	access, _ := h.login(adminName, adminPassword)
	for _, target := range []string{"POST /api/v1/hosts", "PATCH /api/v1/records/1", "PUT /api/v1/hosts/1/addresses"} {
		method, path, _ := strings.Cut(target, " ")
		body := io.MultiReader(strings.NewReader(`{"notes": "`), strings.NewReader(strings.Repeat("x", 2<<20)), strings.NewReader(`"}`))
		req := httptest.NewRequest(method, path, body)
		req.ContentLength = -1
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+access)
		rec := httptest.NewRecorder()
		h.echo.ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s %s", target, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
}

// TestDatabaseUnavailable: with the database gone, the API answers 503
// problems, never 500s or hangs.
func TestDatabaseUnavailable(t *testing.T) {
	st, err := store.Open(context.Background(), "postgres://nobody:nothing@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	a, err := app.Build(testConfig(t), app.Options{Store: st, Log: log, Version: "test", PasswordParams: auth.TestParams})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(a.Server.Echo)
	defer ts.Close()
	tok, _, _ := auth.NewAccessTokens(jwtKey(), auth.AccessTokenTTL).Issue(1, auth.NewFamily())
	for _, r := range []struct{ method, path, token, body string }{
		{"GET", "/hosts", tok, ""},
		{"POST", "/auth/login", "", `{"username": "admin", "password": "x"}`},
		{"GET", "/status", "ddnsb_abcdefghijklmnopqrstuvwxyz", ""},
	} {
		req, _ := http.NewRequest(r.method, ts.URL+rest.BasePath+r.path, strings.NewReader(r.body))
		if r.token != "" {
			req.Header.Set("Authorization", "Bearer "+r.token)
		}
		if r.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d %s %s", r.method, r.path, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
	if strings.Contains(logs.String(), "nothing@") {
		t.Error("the database password is in the logs")
	}
}

// Concurrent wrong logins cannot overshoot the limit: each reserves its
// failure before the slow hash, so a burst of 24 parallel guesses gets as
// many verifications as the burst allows and 429 for the rest.
func TestConcurrentLoginGuessesStayWithinTheLimit(t *testing.T) {
	const burst, guesses = 4, 24
	h := newHarness(t, func(_ *config.Serve, opt *app.Options) {
		// Real argon2id cost, so that guesses overlap while they hash.
		opt.PasswordParams = auth.DefaultParams
		opt.LoginLimits = rest.LoginLimits{PerAddress: rate.Every(time.Hour), AddressBurst: burst,
			PerUser: rate.Every(time.Hour), UserBurst: 100}
	})
	statuses := make(chan int, guesses)
	var wg sync.WaitGroup
	for i := range guesses {
		wg.Go(func() {
			r := h.do(request{method: "POST", path: "/auth/login",
				body: map[string]string{"username": fmt.Sprint("guess", i), "password": "wrong"}})
			statuses <- r.status
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[http.StatusUnauthorized] != burst || count[http.StatusTooManyRequests] != guesses-burst {
		t.Fatalf("answers %v, want %d × 401 and %d × 429", count, burst, guesses-burst)
	}
	// A right password from the same address is refused too, until it refills.
	h.do(request{method: "POST", path: "/auth/login", body: map[string]string{"username": adminName, "password": adminPassword}}).
		expect(t, http.StatusTooManyRequests)
}
