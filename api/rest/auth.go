package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// The refresh cookie: httpOnly so scripts cannot read it, SameSite=Strict
// and scoped to the auth paths so it travels only to refresh and logout.
const (
	refreshCookie = "ddnsbroker_refresh"
	refreshPath   = BasePath + "/auth"
	refreshTTL    = 30 * 24 * time.Hour
	// refreshGrace is how long a spent refresh token is still accepted while
	// its session lives: tabs sharing the cookie may refresh together.
	refreshGrace = 10 * time.Second
)

// LoginLimits tune the rate limits of failed logins.
type LoginLimits struct {
	PerAddress   rate.Limit // failures refilled per second, per client address
	AddressBurst int
	PerUser      rate.Limit // failures refilled per second, per user name
	UserBurst    int
}

// DefaultLoginLimits allow a few typos and then one guess every few seconds.
func DefaultLoginLimits() LoginLimits {
	return LoginLimits{PerAddress: rate.Every(6 * time.Second), AddressBurst: 10, PerUser: rate.Every(30 * time.Second), UserBurst: 10}
}

type logins struct {
	params  auth.Params
	perAddr *auth.AttemptLimiter
	perUser *auth.AttemptLimiter
	gate    *auth.Gate
	audit   *auth.KeyedLimiter // bounds the history lines failed logins write
}

func newLogins(l LoginLimits, p auth.Params) *logins {
	if l == (LoginLimits{}) {
		l = DefaultLoginLimits()
	}
	return &logins{params: p,
		perAddr: auth.NewAttemptLimiter(auth.NewKeyedLimiter(l.PerAddress, l.AddressBurst, 100_000)),
		perUser: auth.NewAttemptLimiter(auth.NewKeyedLimiter(l.PerUser, l.UserBurst, 100_000)),
		gate:    auth.NewGate(2),
		audit:   auth.NewKeyedLimiter(5, 20, 1),
	}
}

var errBadLogin = &auth.UnauthenticatedError{Reason: "wrong user name or password"}

// Login checks a password and starts a session: an access token in the
// body, a refresh token in the cookie.
func (s *Server) Login(ctx context.Context, req LoginRequestObject) (LoginResponseObject, error) {
	info := infoFrom(ctx)
	addr, name := info.clientIP.String(), strings.ToLower(req.Body.Username)
	// Failure tokens are reserved before the slow hash and given back on
	// success, so concurrent guesses cannot overshoot the limits.
	release, err := auth.ReserveAttempt(ctx, auth.AttemptKey{Limiter: s.logins.perAddr, Key: addr},
		auth.AttemptKey{Limiter: s.logins.perUser, Key: name})
	if rl := (*auth.RateLimitedError)(nil); errors.As(err, &rl) {
		return nil, &rateLimited{retryAfter: rl.RetryAfter}
	} else if err != nil {
		return nil, err
	}
	u, err := s.store.UserByName(ctx, req.Body.Username)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		release(false)
		return nil, err
	}
	var ok, rehash bool
	var verr error
	if gerr := s.logins.gate.Do(ctx, func() {
		if found {
			ok, rehash, verr = auth.VerifyPassword(s.params, u.PasswordHash, req.Body.Password)
		} else {
			auth.DummyVerify(s.params, req.Body.Password) // unknown users cost what wrong passwords cost
		}
	}); gerr != nil {
		release(false)
		return nil, gerr
	}
	release(!ok)
	if verr != nil {
		s.log.Error("a user's password hash is unreadable", "user_id", u.ID, "err", verr)
	}
	if !ok {
		if allowed, _ := s.logins.audit.Allow(""); allowed {
			e := store.Event{Kind: "auth.login_failed", Actor: "address " + addr,
				Message: fmt.Sprintf("failed login as %q from %s", truncate(req.Body.Username, 64), addr)}
			if err := s.store.AddEvent(ctx, e); err != nil {
				s.log.Warn("recording a failed login failed", "err", err)
			}
		}
		return nil, errBadLogin
	}
	if rehash {
		if h, err := auth.HashPassword(s.params, req.Body.Password); err == nil {
			if err := s.store.RehashUserPassword(ctx, u.ID, u.PasswordHash, h); err != nil {
				s.log.Warn("upgrading a password hash failed", "user_id", u.ID, "err", err)
			}
		}
	}
	refresh := auth.NewRefreshToken()
	var access string
	var claims auth.AccessClaims
	err = s.store.InTx(ctx, func(q *store.Queries) error {
		if err := q.TouchUserLogin(ctx, u.ID); err != nil {
			return err
		}
		if err := q.CreateRefreshToken(ctx, u.ID, auth.TokenHash(refresh), auth.NewFamily(), time.Now().Add(refreshTTL)); err != nil {
			return err
		}
		if access, claims, err = s.access.Issue(u.ID); err != nil {
			return err
		}
		return event(ctx, q, store.Event{Kind: "auth.login", Actor: "user " + u.Username,
			Message: fmt.Sprintf("%s logged in from %s", u.Username, addr)}, nil)
	})
	if err != nil {
		return nil, err
	}
	return Login200JSONResponse{Body: s.accessBody(access, claims),
		Headers: Login200ResponseHeaders{SetCookie: s.refreshCookie(ctx, refresh, refreshTTL)}}, nil
}

// RefreshSession rotates the refresh token. A token presented a second time
// (after refreshGrace) means it was copied: the whole session is revoked.
func (s *Server) RefreshSession(ctx context.Context, req RefreshSessionRequestObject) (RefreshSessionResponseObject, error) {
	if req.Params.DdnsbrokerRefresh == nil || *req.Params.DdnsbrokerRefresh == "" {
		return nil, &auth.UnauthenticatedError{Reason: "no session: log in first"}
	}
	hash := auth.TokenHash(*req.Params.DdnsbrokerRefresh)
	next := auth.NewRefreshToken()
	var access string
	var claims auth.AccessClaims
	var reused bool
	err := s.store.InTx(ctx, func(q *store.Queries) error {
		userID, family, err := q.UseRefreshToken(ctx, hash)
		if errors.Is(err, store.ErrNotFound) {
			userID, family, err = q.ReuseRefreshToken(ctx, hash, refreshGrace)
		}
		if errors.Is(err, store.ErrNotFound) {
			return errNoSession
		}
		if err != nil {
			return err
		}
		u, err := q.User(ctx, userID)
		if err != nil {
			return err
		}
		if err := q.CreateRefreshToken(ctx, u.ID, auth.TokenHash(next), family, time.Now().Add(refreshTTL)); err != nil {
			return err
		}
		access, claims, err = s.access.Issue(u.ID)
		return err
	})
	if errors.Is(err, errNoSession) {
		// Spent or revoked: if it was spent, someone holds a copy. Revoke
		// the session it belongs to, whoever asks.
		family, revoked, ferr := s.store.RefreshTokenFamily(ctx, hash)
		if ferr == nil && revoked {
			if err := s.store.InTx(ctx, func(q *store.Queries) error {
				live, err := q.RevokeRefreshFamily(ctx, family)
				if err != nil || live == 0 { // the session had already ended
					return err
				}
				reused = true
				return event(ctx, q, store.Event{Kind: "auth.refresh_reused", Actor: "address " + infoFrom(ctx).clientIP.String(),
					Message: "a spent refresh token was presented again; its session is revoked"}, nil)
			}); err != nil {
				return nil, err
			}
		} else if ferr != nil && !errors.Is(ferr, store.ErrNotFound) {
			return nil, ferr
		}
		reason := "the session has expired or was ended: log in again"
		if reused {
			reason = "this refresh token was already used; the session is revoked: log in again"
		}
		return nil, &auth.UnauthenticatedError{Reason: reason}
	}
	if err != nil {
		return nil, err
	}
	return RefreshSession200JSONResponse{Body: s.accessBody(access, claims),
		Headers: RefreshSession200ResponseHeaders{SetCookie: s.refreshCookie(ctx, next, refreshTTL)}}, nil
}

var errNoSession = errors.New("no live refresh token")

// Logout revokes the cookie's session and clears the cookie.
func (s *Server) Logout(ctx context.Context, req LogoutRequestObject) (LogoutResponseObject, error) {
	if c := req.Params.DdnsbrokerRefresh; c != nil && *c != "" {
		family, _, err := s.store.RefreshTokenFamily(ctx, auth.TokenHash(*c))
		switch {
		case err == nil:
			if err := s.store.InTx(ctx, func(q *store.Queries) error {
				if _, err := q.RevokeRefreshFamily(ctx, family); err != nil {
					return err
				}
				return event(ctx, q, store.Event{Kind: "auth.logout", Message: principal(ctx).Username + " logged out"}, nil)
			}); err != nil {
				return nil, err
			}
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	return Logout204Response{Headers: Logout204ResponseHeaders{SetCookie: s.refreshCookie(ctx, "", -1)}}, nil
}

// GetMe describes the caller.
func (s *Server) GetMe(ctx context.Context, _ GetMeRequestObject) (GetMeResponseObject, error) {
	p := principal(ctx)
	u, err := s.store.User(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	me := GetMe200JSONResponse{Id: u.ID, Username: u.Username, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
		LastLoginAt: utcPtr(u.LastLoginAt), AuthMethod: MeAuthMethod(p.Method), Scope: TokenScope(p.Scope)}
	if p.Method == auth.MethodToken {
		me.TokenId = ptr(p.TokenID)
	}
	return me, nil
}

func (s *Server) accessBody(token string, c auth.AccessClaims) AccessToken {
	return AccessToken{AccessToken: token, TokenType: Bearer, ExpiresIn: int(c.ExpiresAt.Sub(c.IssuedAt).Seconds())}
}

// refreshCookie formats the cookie; maxAge < 0 deletes it. It is Secure when
// the request came over TLS (directly or via a trusted proxy), so that a
// plain-HTTP development setup still works.
func (s *Server) refreshCookie(ctx context.Context, value string, maxAge time.Duration) string {
	c := &http.Cookie{Name: refreshCookie, Value: value, Path: refreshPath, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: infoFrom(ctx).secure, MaxAge: int(maxAge.Seconds())}
	if maxAge < 0 {
		c.MaxAge = -1
	}
	return c.String()
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return string(r)
}
