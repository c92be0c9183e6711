package rest_test

// Defect 6 of issue 14: sessions end when they are ended.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// After logout the access token is refused by every operation at once,
// not when it expires.
func TestLogoutEndsAccessAtOnce(t *testing.T) {
	h := newHarness(t)
	access, cookie := h.login(adminName, adminPassword)
	other, _ := h.login(adminName, adminPassword)
	get[rest.Me](h, access, "/me")
	h.do(request{method: "POST", path: "/auth/logout", token: access, cookies: []*http.Cookie{cookie}}).expect(t, http.StatusNoContent)
	for _, o := range operations(t) {
		if o.scope == "" {
			continue
		}
		r := h.do(request{method: o.method, path: o.withID("1"), token: access, body: map[string]any{}})
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s with the logged-out token: %d, want 401", o.id, r.status)
		}
	}
	h.do(request{method: "POST", path: "/auth/refresh", cookies: []*http.Cookie{cookie}}).expect(t, http.StatusUnauthorized)
	// Another session of the same user goes on.
	get[rest.Me](h, other, "/me")
	// Logging out without the cookie ends the access token's session too.
	h.do(request{method: "POST", path: "/auth/logout", token: other}).expect(t, http.StatusNoContent)
	h.do(request{method: "GET", path: "/me", token: other}).expect(t, http.StatusUnauthorized)
}

// A user changes their own password with the current one: every other
// session ends, this one and the API tokens stay; a wrong current
// password is a 403 and counts as a failed login.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	h := newHarness(t)
	mine, _ := h.login(adminName, adminPassword)
	stolen, stolenCookie := h.login(adminName, adminPassword)
	script, _ := h.apiToken(mine, "script", "read")

	h.do(request{method: "POST", path: "/me/password", token: mine,
		body: map[string]any{"current_password": "wrong", "new_password": "a-new-password-1"}}).expect(t, http.StatusForbidden)
	if h.failures.Pending() != 1 {
		t.Errorf("the wrong current password was not counted as a failed login (%d pending)", h.failures.Pending())
	}
	get[rest.Me](h, stolen, "/me") // nothing changed yet
	h.do(request{method: "POST", path: "/me/password", token: mine,
		body: map[string]any{"current_password": adminPassword, "new_password": "short"}}).expect(t, http.StatusUnprocessableEntity)
	h.do(request{method: "POST", path: "/me/password", token: mine,
		body: map[string]any{"current_password": adminPassword, "new_password": "a-new-password-1"}}).expect(t, http.StatusNoContent)

	h.do(request{method: "GET", path: "/me", token: stolen}).expect(t, http.StatusUnauthorized)
	h.do(request{method: "POST", path: "/auth/refresh", cookies: []*http.Cookie{stolenCookie}}).expect(t, http.StatusUnauthorized)
	get[rest.Me](h, mine, "/me")
	get[rest.Me](h, script, "/me")
	h.do(request{method: "POST", path: "/auth/login", body: map[string]string{"username": adminName, "password": adminPassword}}).
		expect(t, http.StatusUnauthorized)
	h.login(adminName, "a-new-password-1")
	// API tokens cannot change a password.
	h.do(request{method: "POST", path: "/me/password", token: script,
		body: map[string]any{"current_password": "a-new-password-1", "new_password": "a-new-password-2"}}).expect(t, http.StatusForbidden)
}

// An admin resetting another user's password ends all of that user's
// sessions at once.
func TestPasswordResetEndsTheUsersSessions(t *testing.T) {
	h := newHarness(t)
	admin, _ := h.login(adminName, adminPassword)
	u := create[rest.User](h, admin, "/users", map[string]any{"username": "deputy", "password": "deputy-password"})
	one, _ := h.login("deputy", "deputy-password")
	two, _ := h.login("deputy", "deputy-password")
	h.do(request{method: "PATCH", path: fmt.Sprintf("/users/%d", u.Id), token: admin,
		body: map[string]any{"password": "reset-password"}}).expect(t, http.StatusOK)
	for _, tok := range []string{one, two} {
		h.do(request{method: "GET", path: "/hosts", token: tok}).expect(t, http.StatusUnauthorized)
	}
	get[rest.Me](h, admin, "/me")
	// Renaming alone ends nothing.
	three, _ := h.login("deputy", "reset-password")
	h.do(request{method: "PATCH", path: fmt.Sprintf("/users/%d", u.Id), token: admin,
		body: map[string]any{"username": "deputy2"}}).expect(t, http.StatusOK)
	get[rest.Me](h, three, "/me")
}

// Minting an API token needs a session that gave its password within 10
// minutes, or the password again.
func TestTokenMintingNeedsARecentPassword(t *testing.T) {
	h := newHarness(t)
	access, _ := h.login(adminName, adminPassword)
	h.apiToken(access, "fresh session", "read")
	age := func() {
		if _, err := h.st.Pool.Exec(context.Background(),
			`UPDATE sessions SET authenticated_at = now() - interval '11 minutes'`); err != nil {
			t.Fatal(err)
		}
	}
	age()
	mint := func(body map[string]any) response {
		return h.do(request{method: "POST", path: "/tokens", token: access, body: body})
	}
	p := mint(map[string]any{"name": "old session", "scope": "write"}).expect(t, http.StatusUnprocessableEntity).problem(t)
	if fields := fieldsOf(p); !slices.Equal(fields, []string{"current_password"}) {
		t.Fatalf("fields %v, want current_password", fields)
	}
	mint(map[string]any{"name": "old session", "scope": "write", "current_password": "wrong"}).expect(t, http.StatusForbidden)
	mint(map[string]any{"name": "old session", "scope": "write", "current_password": adminPassword}).expect(t, http.StatusCreated)
	// Giving it made the session recent again.
	mint(map[string]any{"name": "then", "scope": "read"}).expect(t, http.StatusCreated)
	// A refreshed access token is the same session: as old as its login.
	age()
	_, cookie := h.login(adminName, adminPassword)
	age()
	var tok rest.AccessToken
	h.do(request{method: "POST", path: "/auth/refresh", cookies: []*http.Cookie{cookie}}).expect(t, http.StatusOK).decode(t, &tok)
	h.do(request{method: "POST", path: "/tokens", token: tok.AccessToken, body: map[string]any{"name": "refreshed", "scope": "read"}}).
		expect(t, http.StatusUnprocessableEntity)
}
