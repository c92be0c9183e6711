package rest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

const adminGroup = "broker-admins"

// newIdP runs a local OpenID provider (on 127.0.0.1) for the test.
func newIdP(t *testing.T) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

func withIdP(m *mockoidc.MockOIDC) tweak {
	return func(cfg *config.Serve, _ *app.Options) {
		c := m.Config()
		cfg.OIDC = config.OIDC{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
			AdminGroup: adminGroup, Name: "Test IdP"}
	}
}

// browser is a client with cookies that stops at the web app: it returns
// where the broker sent it last.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if !strings.HasPrefix(req.URL.Path, rest.BasePath) && !strings.HasPrefix(req.URL.Path, "/oidc") {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// ssoSignIn runs the whole flow in b and returns where the broker sent
// the browser at the end.
func ssoSignIn(t *testing.T, h *harness, b *http.Client) *url.URL {
	t.Helper()
	return follow(t, b, h.url+rest.SSOStartPath)
}

func follow(t *testing.T, b *http.Client, to string) *url.URL {
	t.Helper()
	res, err := b.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET %s: status %d, want 303", to, res.StatusCode)
	}
	loc, err := res.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// browserSession trades the browser's refresh cookie for an access token.
func browserSession(t *testing.T, h *harness, b *http.Client) (string, bool) {
	t.Helper()
	res, err := b.Post(h.url+rest.BasePath+"/auth/refresh", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", false
	}
	var tok rest.AccessToken
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken, true
}

func TestSingleSignOn(t *testing.T) {
	m := newIdP(t)
	h := newHarness(t, withIdP(m))
	ctx := context.Background()

	methods := get[rest.SignInMethods](h, "", "/auth/methods")
	if !methods.Password || methods.Sso == nil || methods.Sso.Name != "Test IdP" || methods.Sso.StartUrl != rest.SSOStartPath {
		t.Fatalf("methods %+v", methods)
	}

	// The first sign-in creates the account, as a user.
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-alice", PreferredUsername: "alice", Email: "alice@example.test", Groups: []string{"staff"}})
	b := browser(t)
	if loc := ssoSignIn(t, h, b); loc.Path != "/" {
		t.Fatalf("signed in: sent to %s", loc)
	}
	access, ok := browserSession(t, h, b)
	if !ok {
		t.Fatal("no session after single sign-on")
	}
	me := get[rest.Me](h, access, "/me")
	if me.Username != "alice" || me.Sso == nil || !*me.Sso {
		t.Errorf("me %+v", me)
	}
	alice, err := h.st.UserByName(ctx, "alice")
	if err != nil || alice.Role != store.RoleUser || !alice.SSO {
		t.Fatalf("alice %+v %v", alice, err)
	}
	// The second sign-in finds the same account.
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-alice", PreferredUsername: "alice", Groups: []string{"staff"}})
	if loc := ssoSignIn(t, h, browser(t)); loc.Path != "/" {
		t.Fatalf("second sign-in: sent to %s", loc)
	}
	if users, _ := h.st.Users(ctx); len(users) != 2 {
		t.Errorf("%d accounts, want admin and alice", len(users))
	}

	// The admin group makes admins; a name that is taken (the local admin)
	// is numbered, never taken over.
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-carol", PreferredUsername: adminName, Groups: []string{"staff", adminGroup}})
	b2 := browser(t)
	if loc := ssoSignIn(t, h, b2); loc.Path != "/" {
		t.Fatalf("admin sign-in: sent to %s", loc)
	}
	carol, err := h.st.UserByOIDC(ctx, m.Issuer(), "sub-carol")
	if err != nil || carol.Role != store.RoleAdmin || carol.Username != adminName+"-2" {
		t.Fatalf("carol %+v %v", carol, err)
	}
	local, _ := h.st.UserByName(ctx, adminName)
	if local.SSO {
		t.Error("the local admin was taken over")
	}

	// A disabled account cannot sign in; its sessions end at once.
	admin, _ := h.login(adminName, adminPassword)
	h.do(request{method: "PATCH", path: "/users/" + strconv.FormatInt(alice.ID, 10), token: admin, body: map[string]any{"disabled": true}}).expect(t, http.StatusOK)
	h.do(request{method: "GET", path: "/me", token: access}).expect(t, http.StatusUnauthorized)
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-alice", PreferredUsername: "alice"})
	b3 := browser(t)
	loc := ssoSignIn(t, h, b3)
	if loc.Path != "/login" || loc.Query().Get("sso_error") != "account_disabled" {
		t.Errorf("disabled account: sent to %s", loc)
	}
	if _, ok := browserSession(t, h, b3); ok {
		t.Error("a disabled account got a session")
	}
	// Nor with its password (it has none anybody knows) or refresh tokens.
	if _, ok := browserSession(t, h, b); ok {
		t.Error("the disabled account's refresh cookie still works")
	}

	// Password sign-in can be turned off now that single sign-on exists.
	var e rest.OtpEnrolment
	h.do(request{method: "POST", path: "/me/otp", token: admin}).expect(t, http.StatusCreated).decode(t, &e)
	h.do(request{method: "PUT", path: "/settings/sign-in", token: admin, body: map[string]bool{"require_2fa": false, "password_login": false}}).
		expect(t, http.StatusOK)
	r := h.do(request{method: "POST", path: "/auth/login", body: loginBody("")}).expect(t, http.StatusForbidden)
	if p := r.problem(t); p.Code == nil || *p.Code != "password_login_disabled" {
		t.Errorf("password login when off: %s", r.body)
	}
	if m := get[rest.SignInMethods](h, "", "/auth/methods"); m.Password {
		t.Error("methods still offer passwords")
	}
}

// The callback accepts only the answer to the sign-in its browser
// started: state, nonce and the browser's cookie must all match.
func TestSingleSignOnRefusesForeignAnswers(t *testing.T) {
	m := newIdP(t)
	h := newHarness(t, withIdP(m))
	refused := func(t *testing.T, b *http.Client, callback string) {
		t.Helper()
		loc := follow(t, b, callback)
		if loc.Path != "/login" || loc.Query().Get("sso_error") == "" {
			t.Errorf("sent to %s, want the login page with the reason", loc)
		}
		if _, ok := browserSession(t, h, b); ok {
			t.Error("a refused sign-in got a session")
		}
	}

	t.Run("wrong state", func(t *testing.T) {
		b := browser(t)
		auth := start(t, h, b)
		if auth.Query().Get("code_challenge_method") != "S256" || auth.Query().Get("code_challenge") == "" || auth.Query().Get("nonce") == "" {
			t.Errorf("authorization URL without PKCE or nonce: %s", auth)
		}
		cb := authorize(t, b, auth)
		q := cb.Query()
		q.Set("state", q.Get("state")+"x")
		cb.RawQuery = q.Encode()
		refused(t, b, cb.String())
	})

	t.Run("wrong nonce", func(t *testing.T) {
		// Two sign-ins in one browser: the second one's cookie (its state,
		// nonce and PKCE verifier) is what the callback holds. The provider
		// answers the second one in all but the nonce, which is the first's.
		b := browser(t)
		first := start(t, h, b)
		second := start(t, h, b)
		q := second.Query()
		q.Set("nonce", first.Query().Get("nonce"))
		second.RawQuery = q.Encode()
		refused(t, b, authorize(t, b, second).String())
	})

	t.Run("another browser", func(t *testing.T) {
		cb := authorize(t, browser(t), start(t, h, browser(t)))
		refused(t, browser(t), cb.String())
	})

	t.Run("the provider refused", func(t *testing.T) {
		b := browser(t)
		start(t, h, b)
		refused(t, b, h.url+rest.SSOCallbackPath+"?error=access_denied")
	})

	t.Run("not configured", func(t *testing.T) {
		plain := newHarness(t)
		res, err := http.Get(plain.url + rest.SSOStartPath)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("start without single sign-on: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
	})
}

// start begins a sign-in in b and returns the provider's authorization URL.
func start(t *testing.T, h *harness, b *http.Client) *url.URL {
	t.Helper()
	return redirect(t, b, h.url+rest.SSOStartPath, http.StatusFound)
}

// authorize goes through the provider and returns the callback URL it sends the browser to.
func authorize(t *testing.T, b *http.Client, auth *url.URL) *url.URL {
	t.Helper()
	return redirect(t, b, auth.String(), http.StatusFound)
}

func redirect(t *testing.T, b *http.Client, to string, status int) *url.URL {
	t.Helper()
	nb := *b
	nb.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := nb.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != status {
		t.Fatalf("GET %s: %d, want %d", to, res.StatusCode, status)
	}
	loc, err := res.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
