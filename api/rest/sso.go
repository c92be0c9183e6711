package rest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/sso"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// Single sign-on is a browser flow, not JSON: the route table
// (api/httpserver) mounts these two paths beside the API.
const (
	SSOStartPath    = BasePath + "/auth/oidc/start"
	SSOCallbackPath = BasePath + "/auth/oidc/callback"
	// ssoCookie holds the sign-in in progress (state, nonce, PKCE
	// verifier), sealed, for the browser that started it only.
	ssoCookie = "ddnsbroker_sso"
	ssoPath   = BasePath + "/auth/oidc"
	ssoTTL    = 10 * time.Minute
)

// pendingSSO is what the cookie holds.
type pendingSSO struct {
	sso.Pending
	Expires int64 `json:"e"`
}

// GetSignInMethods tells the login page what to offer.
func (s *Server) GetSignInMethods(ctx context.Context, _ GetSignInMethodsRequestObject) (GetSignInMethodsResponseObject, error) {
	set, err := s.store.SignInSettings(ctx)
	if err != nil {
		return nil, err
	}
	out := GetSignInMethods200JSONResponse{Password: set.PasswordLogin}
	if s.sso != nil {
		out.Sso = &struct {
			Name     string `json:"name"`
			StartUrl string `json:"start_url"`
		}{Name: s.sso.Name(), StartUrl: SSOStartPath}
	}
	return out, nil
}

// SSOStart sends the browser to the identity provider.
func (s *Server) SSOStart(c echo.Context) error {
	return s.browser(c, func(c echo.Context) error {
		if s.sso == nil {
			return notFound("single sign-on is not configured")
		}
		ctx := c.Request().Context()
		to, pend, err := s.sso.Begin(ctx, s.ssoRedirect(ctx))
		if err != nil {
			s.log.Warn("single sign-on: the identity provider cannot be reached", "err", err)
			return s.ssoFailed(c, "provider_unreachable")
		}
		b, _ := json.Marshal(pendingSSO{Pending: pend, Expires: time.Now().Add(ssoTTL).Unix()})
		sealed, _ := s.box.Seal(string(b))
		s.setSSOCookie(c, base64.RawURLEncoding.EncodeToString(sealed), ssoTTL)
		return c.Redirect(http.StatusFound, to)
	})
}

// SSOCallback is where the identity provider sends the browser back: it
// checks the answer against the sign-in this browser started, finds or
// creates the account and starts a session (the refresh cookie); the web
// app takes over from there. Every failure sends the browser to the login
// page with the reason.
func (s *Server) SSOCallback(c echo.Context) error {
	return s.browser(c, func(c echo.Context) error {
		if s.sso == nil {
			return notFound("single sign-on is not configured")
		}
		ctx := c.Request().Context()
		s.setSSOCookie(c, "", -1) // a sign-in is tried once
		q := c.QueryParams()
		if q.Get("error") != "" {
			return s.ssoFailed(c, "provider_refused")
		}
		pend, ok := s.pendingSSO(c)
		if !ok {
			return s.ssoFailed(c, "expired")
		}
		id, err := s.sso.Finish(ctx, s.ssoRedirect(ctx), pend.Pending, q.Get("state"), q.Get("code"))
		switch {
		case errors.Is(err, sso.ErrState), errors.Is(err, sso.ErrNonce):
			return s.ssoFailed(c, "mismatch")
		case err != nil:
			s.log.Warn("single sign-on failed", "err", err)
			return s.ssoFailed(c, "unverified")
		}
		u, err := s.ssoAccount(ctx, id)
		if errors.Is(err, errDisabled) {
			return s.ssoFailed(c, "account_disabled")
		}
		if err != nil {
			return err
		}
		refresh, _, err := s.startSession(ctx, u, "single sign-on")
		if err != nil {
			return err
		}
		c.Response().Header().Add(echo.HeaderSetCookie, s.refreshCookie(ctx, refresh, refreshTTL))
		return c.Redirect(http.StatusSeeOther, "/")
	})
}

var errDisabled = errors.New("the account is disabled")

// ssoAccount finds the account of an identity, or creates it: an admin
// when the identity is in the admin group, a user otherwise. The group
// decides the role again at every sign-in when an admin group is set.
func (s *Server) ssoAccount(ctx context.Context, id sso.Identity) (store.User, error) {
	role := store.RoleUser
	if id.Admin {
		role = store.RoleAdmin
	}
	var u store.User
	err := s.store.InTx(ctx, func(q *store.Queries) error {
		var err error
		u, err = q.UserByOIDC(ctx, id.Issuer, id.Subject)
		switch {
		case err == nil && u.Disabled:
			return errDisabled
		case err == nil:
			if !s.sso.MapsRoles() || u.Role == role {
				return nil
			}
			if err := q.SetUserRole(ctx, u.ID, role); err != nil {
				return err
			}
			u.Role = role
			return event(ctx, q, store.Event{Kind: store.EventUserUpdated, Actor: "single sign-on",
				Message: fmt.Sprintf("%s is now %s by their groups at the identity provider", u.Username, role)},
				map[string]any{"user_id": u.ID, "fields": []string{"role"}})
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		name, err := freeUsername(ctx, q, id.Username)
		if err != nil {
			return err
		}
		// Nobody knows this password: the account signs in through the
		// identity provider only.
		hash, err := auth.HashPassword(s.params, auth.NewRefreshToken())
		if err != nil {
			return err
		}
		if u, err = q.CreateOIDCUser(ctx, name, hash, role, id.Issuer, id.Subject); err != nil {
			return err
		}
		return event(ctx, q, store.Event{Kind: store.EventUserCreated, Actor: "single sign-on",
			Message: fmt.Sprintf("account %s (%s) created at its first single sign-on", u.Username, role)},
			map[string]any{"user_id": u.ID})
	})
	return u, err
}

var notInUsername = regexp.MustCompile(`[^A-Za-z0-9._@-]+`)

// freeUsername makes a user name the schema takes from what the provider
// calls the user, numbered when it is taken: an identity never takes over
// an existing account by its name.
func freeUsername(ctx context.Context, q *store.Queries, want string) (string, error) {
	base := strings.TrimLeft(notInUsername.ReplaceAllString(want, "-"), "._@-")
	if r := []rune(base); len(r) > 56 {
		base = string(r[:56])
	}
	if base == "" {
		base = "user"
	}
	for i := 1; i <= 100; i++ {
		name := base
		if i > 1 {
			name = fmt.Sprintf("%s-%d", base, i)
		}
		_, err := q.UserByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return name, nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", conflict("no free user name for %q", base)
}

// ssoRedirect is the callback URL the provider has registered: on the
// public URL when set, else where the request came in.
func (s *Server) ssoRedirect(ctx context.Context) string {
	base := s.publicURL
	if base == "" {
		base = infoFrom(ctx).origin
	}
	return base + SSOCallbackPath
}

func (s *Server) pendingSSO(c echo.Context) (pendingSSO, bool) {
	var p pendingSSO
	ck, err := c.Cookie(ssoCookie)
	if err != nil {
		return p, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return p, false
	}
	text, err := s.box.Open(raw, s.box.KeyID())
	if err != nil || json.Unmarshal([]byte(text), &p) != nil || time.Now().Unix() > p.Expires {
		return p, false
	}
	return p, true
}

// setSSOCookie sets (maxAge < 0: deletes) the sign-in cookie. SameSite=Lax:
// the callback is a navigation from the provider's site.
func (s *Server) setSSOCookie(c echo.Context, value string, maxAge time.Duration) {
	ck := &http.Cookie{Name: ssoCookie, Value: value, Path: ssoPath, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: infoFrom(c.Request().Context()).secure, MaxAge: int(maxAge.Seconds())}
	if maxAge < 0 {
		ck.MaxAge = -1
	}
	c.Response().Header().Add(echo.HeaderSetCookie, ck.String())
}

// ssoFailed sends the browser to the login page, which says why: code is
// one of a fixed few (the page words them), so that a link to the login
// page cannot make it say anything else.
func (s *Server) ssoFailed(c echo.Context, code string) error {
	return c.Redirect(http.StatusSeeOther, "/login?sso_error="+url.QueryEscape(code))
}

// browser runs a handler of the browser flow with what the API's routes
// get from their group: no caching, the request's information, errors as
// problems.
func (s *Server) browser(c echo.Context, h echo.HandlerFunc) error {
	return noStore(s.problems(s.requestInfo(h)))(c)
}
