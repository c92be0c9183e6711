package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/ratelimit"
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

// LoginLimits tune the protection of logins (and of every other check of
// a user's password: password changes, confirmations).
type LoginLimits struct {
	PerAddress   rate.Limit // failures refilled per second, per source group
	AddressBurst int
	PerPair      rate.Limit // failures refilled per second, per (user name, source group)
	PairBurst    int
	PerUser      rate.Limit // failures per second a user name takes before its logins slow down
	UserBurst    int
	MaxDelay     time.Duration // longest slow-down of a user name under attack
	// Sources group client addresses (IPv6 by prefix).
	Sources auth.SourceGroups
}

// DefaultLoginLimits allow a few typos and then one guess every few
// seconds per source; a user name guessed at from many sources slows down
// but is never refused to a source that has not been failing.
func DefaultLoginLimits() LoginLimits {
	return LoginLimits{PerAddress: rate.Every(6 * time.Second), AddressBurst: 10, PerPair: rate.Every(30 * time.Second), PairBurst: 5,
		PerUser: rate.Every(30 * time.Second), UserBurst: 10, MaxDelay: time.Second}
}

// ReauthWindow is how long after giving their password a session may mint
// API tokens without giving it again.
const ReauthWindow = 10 * time.Minute

type logins struct {
	params   auth.Params
	guard    *auth.Guard
	failures *auth.FailureLog
}

func newLogins(l LoginLimits, p auth.Params, failures *auth.FailureLog) *logins {
	if l.PerAddress == 0 && l.AddressBurst == 0 {
		sources := l.Sources
		l = DefaultLoginLimits()
		l.Sources = sources
	}
	return &logins{params: p, failures: failures,
		guard: auth.NewGuard(auth.GuardLimits{Params: p, Verifications: 2,
			PerSource: l.PerAddress, SourceBurst: l.AddressBurst, PerPair: l.PerPair, PairBurst: l.PairBurst,
			PerAccount: l.PerUser, AccountBurst: l.UserBurst, MaxDelay: l.MaxDelay}, l.Sources),
	}
}

var errBadLogin = &auth.UnauthenticatedError{Reason: "wrong user name or password"}

// checkPassword verifies a user's password through the login guard: name
// is the user name as sent, u the account (nil when no account has that
// name, and the check is emulated at the same cost). Failures are limited
// per source group and recorded in the history; the error is *ratelimit.Error
// when the source group has failed too often (nothing was checked).
func (s *Server) checkPassword(ctx context.Context, name string, u *store.User, password string) (bool, error) {
	source := infoFrom(ctx).clientIP
	var rehash bool
	var verr error
	var verify func() bool
	if u != nil {
		verify = func() bool {
			var ok bool
			ok, rehash, verr = auth.VerifyPassword(s.params, u.PasswordHash, password)
			return ok
		}
	}
	ok, err := s.logins.guard.Check(ctx, strings.ToLower(name), source, verify)
	f := auth.Failure{Kind: auth.KindLoginFailed, Reason: auth.FailureBadCredentials, Source: s.logins.guard.Group(source)}
	if u != nil {
		f.Account = u.Username
	} else {
		f.Name = name
	}
	if rl := (*ratelimit.Error)(nil); errors.As(err, &rl) {
		f.Reason = auth.FailureRateLimited
		s.logins.failures.Add(f)
		return false, rl
	} else if err != nil {
		return false, err
	}
	if verr != nil {
		s.log.Error("a user's password hash is unreadable", "user_id", u.ID, "err", verr)
	}
	if !ok {
		s.logins.failures.Add(f)
		return false, nil
	}
	if rehash {
		if h, err := auth.HashPassword(s.params, password); err == nil {
			if err := s.store.RehashUserPassword(ctx, u.ID, u.PasswordHash, h); err != nil {
				s.log.Warn("upgrading a password hash failed", "user_id", u.ID, "err", err)
			}
		}
	}
	return true, nil
}

// confirmPassword checks the caller's own password, given again to
// confirm a sensitive change; it counts as a login attempt, and a wrong
// one is a 403. A session that gave it is recent again (ReauthWindow).
func (s *Server) confirmPassword(ctx context.Context, password string) error {
	p := principal(ctx)
	u, err := s.store.User(ctx, p.UserID)
	if err != nil {
		return err
	}
	ok, err := s.checkPassword(ctx, u.Username, &u, password)
	if err != nil {
		return err
	}
	if !ok {
		return &auth.ForbiddenError{Reason: "the password is wrong"}
	}
	if p.SessionID != "" {
		return s.store.ReauthenticateSession(ctx, p.SessionID)
	}
	return nil
}

// Login checks a password (and the second factor of an account that has
// one) and starts a session: an access token in the body, a refresh token
// in the cookie.
func (s *Server) Login(ctx context.Context, req LoginRequestObject) (LoginResponseObject, error) {
	set, err := s.store.SignInSettings(ctx)
	if err != nil {
		return nil, err
	}
	if !set.PasswordLogin {
		return nil, &apiError{status: http.StatusForbidden, code: codePasswordLoginDisabled,
			detail: "password sign-in is turned off: sign in with single sign-on"}
	}
	u, err := s.store.UserByName(ctx, req.Body.Username)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	account := &u
	if !found {
		account = nil
	}
	ok, err := s.checkPassword(ctx, req.Body.Username, account, req.Body.Password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errBadLogin
	}
	if u.Disabled {
		return nil, &auth.UnauthenticatedError{Reason: "this account is disabled"}
	}
	how := "a password"
	if u.OTPEnabled {
		if req.Body.Otp == nil {
			return nil, errOTPRequired
		}
		ok, err := s.checkSecondFactor(ctx, u, *req.Body.Otp)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &auth.UnauthenticatedError{Reason: "wrong code: send the current code of the authenticator app, or an unused recovery code"}
		}
		how = "a password and a second factor"
	}
	refresh, session, err := s.startSession(ctx, u, how)
	if err != nil {
		return nil, err
	}
	access, claims, err := s.access.Issue(u.ID, session)
	if err != nil {
		return nil, err
	}
	return Login200JSONResponse{Body: s.accessBody(access, claims),
		Headers: Login200ResponseHeaders{SetCookie: s.refreshCookie(ctx, refresh, refreshTTL)}}, nil
}

// startSession records a sign-in of u (how: by what means, for the
// history) and starts its session; it returns the first refresh token and
// the session's id.
func (s *Server) startSession(ctx context.Context, u store.User, how string) (refresh, session string, err error) {
	refresh, session = auth.NewRefreshToken(), auth.NewFamily()
	err = s.store.InTx(ctx, func(q *store.Queries) error {
		if err := q.TouchUserLogin(ctx, u.ID); err != nil {
			return err
		}
		if err := q.CreateSession(ctx, session, u.ID); err != nil {
			return err
		}
		if err := q.CreateRefreshToken(ctx, u.ID, auth.TokenHash(refresh), session, time.Now().Add(refreshTTL)); err != nil {
			return err
		}
		return event(ctx, q, store.Event{Kind: store.EventAuthLogin, Actor: "user " + u.Username,
			Message: fmt.Sprintf("%s logged in from %s with %s", u.Username, infoFrom(ctx).clientIP, how)}, nil)
	})
	return refresh, session, err
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
		sess, u, err := q.SessionUser(ctx, family)
		if errors.Is(err, store.ErrNotFound) || err == nil && (sess.EndedAt != nil || sess.UserID != userID || u.Disabled) {
			return errNoSession
		}
		if err != nil {
			return err
		}
		if err := q.CreateRefreshToken(ctx, u.ID, auth.TokenHash(next), family, time.Now().Add(refreshTTL)); err != nil {
			return err
		}
		access, claims, err = s.access.Issue(u.ID, family)
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
				return event(ctx, q, store.Event{Kind: store.EventAuthRefreshReused, Actor: "address " + infoFrom(ctx).clientIP.String(),
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

// Logout ends the session of the access token (its access tokens stop
// working at once) and the one of the refresh cookie, and clears the
// cookie.
func (s *Server) Logout(ctx context.Context, req LogoutRequestObject) (LogoutResponseObject, error) {
	var sessions []string
	if id := principal(ctx).SessionID; id != "" {
		sessions = append(sessions, id)
	}
	if c := req.Params.DdnsbrokerRefresh; c != nil && *c != "" {
		family, _, err := s.store.RefreshTokenFamily(ctx, auth.TokenHash(*c))
		switch {
		case err == nil && !slices.Contains(sessions, family):
			sessions = append(sessions, family)
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	if len(sessions) > 0 {
		if err := s.store.InTx(ctx, func(q *store.Queries) error {
			for _, id := range sessions {
				if _, err := q.RevokeRefreshFamily(ctx, id); err != nil {
					return err
				}
			}
			return event(ctx, q, store.Event{Kind: store.EventAuthLogout, Message: principal(ctx).Username + " logged out"}, nil)
		}); err != nil {
			return nil, err
		}
	}
	return Logout204Response{Headers: Logout204ResponseHeaders{SetCookie: s.refreshCookie(ctx, "", -1)}}, nil
}

// ChangeMyPassword sets the caller's password, given the current one. A
// wrong current password counts as a failed login. Every other session of
// the user ends (one of them may be whoever learnt the old password); this
// one and the user's API tokens stay.
func (s *Server) ChangeMyPassword(ctx context.Context, req ChangeMyPasswordRequestObject) (ChangeMyPasswordResponseObject, error) {
	p := principal(ctx)
	u, err := s.store.User(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	ok, err := s.checkPassword(ctx, u.Username, &u, req.Body.CurrentPassword)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &auth.ForbiddenError{Reason: "the current password is wrong"}
	}
	hash, err := auth.HashPassword(s.params, req.Body.NewPassword)
	if err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(q *store.Queries) error {
		if err := q.SetUserPassword(ctx, u.ID, hash, p.SessionID); err != nil {
			return err
		}
		if err := q.ReauthenticateSession(ctx, p.SessionID); err != nil {
			return err
		}
		return event(ctx, q, store.Event{Kind: store.EventUserPasswordChanged,
			Message: fmt.Sprintf("%s changed their password; their other sessions were ended", u.Username)},
			map[string]any{"user_id": u.ID})
	})
	if err != nil {
		return nil, err
	}
	return ChangeMyPassword204Response{}, nil
}

// GetMe describes the caller.
func (s *Server) GetMe(ctx context.Context, _ GetMeRequestObject) (GetMeResponseObject, error) {
	p := principal(ctx)
	u, err := s.store.User(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	me := GetMe200JSONResponse{Id: u.ID, Username: u.Username, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
		LastLoginAt: utcPtr(u.LastLoginAt), AuthMethod: MeAuthMethod(p.Method), Scope: TokenScope(p.Scope), Role: Role(u.Role)}
	if p.HostIDs != nil {
		me.HostIds = &p.HostIDs
	}
	if p.Method == auth.MethodToken {
		me.TokenId = ptr(p.TokenID)
	}
	me.OtpEnabled, me.Sso, me.OtpEnrolmentRequired = ptr(u.OTPEnabled), ptr(u.SSO), ptr(p.OTPEnrolmentRequired)
	if u.OTPEnabled {
		n, err := s.store.RecoveryCodesLeft(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		me.RecoveryCodesLeft = ptr(n)
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
