package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// Scope is what an operation of the JSON API needs of its caller.
type Scope string

// Scopes, from least to most demanding.
const (
	// ScopeRead operations change nothing; any valid credential may call them.
	ScopeRead Scope = "read"
	// ScopeWrite operations change hosts, records and services: a logged-in
	// user or a write-scope API token.
	ScopeWrite Scope = "write"
	// ScopeSession operations manage accounts and tokens: only a logged-in
	// user, so that a leaked script token cannot mint itself successors.
	ScopeSession Scope = "session"
)

// Ways a caller authenticated.
const (
	MethodSession = "session" // an access token from login
	MethodToken   = "token"   // an API token
	// MethodCommand is an admin command run with the database's URL
	// (ddnsbroker apply); Username names the command.
	MethodCommand = "command"
)

// Principal is who is calling.
type Principal struct {
	UserID    int64
	Username  string
	Method    string // MethodSession or MethodToken
	Scope     Scope  // ScopeRead or ScopeWrite
	TokenID   int64  // the API token's, when Method is MethodToken
	TokenName string
	// SessionID and AuthenticatedAt describe the login of a MethodSession
	// principal: its session, and when its password was last given.
	SessionID       string
	AuthenticatedAt time.Time
	// Role is the account's: store.RoleAdmin or store.RoleUser.
	Role string
	// OTPEnrolmentRequired: admins require two-factor sign-in and this
	// session's account has none yet (nor came by single sign-on); it may
	// only enrol.
	OTPEnrolmentRequired bool
	// HostIDs, when not nil, are the only hosts a host-scoped API token
	// reaches.
	HostIDs []int64
}

// Access is what the principal may see and change in the store.
func (p Principal) Access() store.Access {
	if p.Role == store.RoleAdmin && p.HostIDs == nil {
		return store.Access{All: true}
	}
	return store.Access{Owner: p.UserID, Hosts: p.HostIDs}
}

// Admin tells whether the principal acts with an admin's rights.
func (p Principal) Admin() bool { return p.Access().All }

// Actor names the principal in the history.
func (p Principal) Actor() string {
	if p.Method == MethodToken {
		return fmt.Sprintf("token %s (#%d, user %s)", p.TokenName, p.TokenID, p.Username)
	}
	if p.Method == MethodCommand {
		return "command " + p.Username
	}
	return "user " + p.Username
}

// Allows tells whether the principal may call an operation needing need.
func (p Principal) Allows(need Scope) bool {
	switch need {
	case ScopeRead:
		return true
	case ScopeWrite:
		return p.Scope == ScopeWrite
	case ScopeSession:
		return p.Method == MethodSession
	}
	return false
}

// UnauthenticatedError means the request carries no acceptable credential;
// Reason is fit to show the client.
type UnauthenticatedError struct{ Reason string }

func (e *UnauthenticatedError) Error() string { return "unauthenticated: " + e.Reason }

// ForbiddenError means the credential is valid but does not allow the
// operation; Reason is fit to show the client.
type ForbiddenError struct{ Reason string }

func (e *ForbiddenError) Error() string { return "forbidden: " + e.Reason }

type principalKey struct{}

// WithPrincipal stores the caller in a context.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller stored by the bearer middleware.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Bearer authenticates JSON API requests by their Authorization header: an
// access token (JWT) or an API token.
type Bearer struct {
	store  *store.Store
	access *AccessTokens
	now    func() time.Time
}

// NewBearer builds the authenticator.
func NewBearer(s *store.Store, access *AccessTokens) *Bearer {
	return &Bearer{store: s, access: access, now: time.Now}
}

// Authenticate checks an Authorization header value. Errors are
// *UnauthenticatedError, or a store error when the database cannot answer.
func (b *Bearer) Authenticate(ctx context.Context, header string) (Principal, error) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if header == "" {
		return Principal{}, &UnauthenticatedError{"an Authorization: Bearer header is required"}
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Principal{}, &UnauthenticatedError{"the Authorization header must be: Bearer <token>"}
	}
	if IsAPIToken(token) {
		return b.apiToken(ctx, token)
	}
	c, err := b.access.Verify(token)
	if err != nil {
		return Principal{}, &UnauthenticatedError{strings.TrimPrefix(err.Error(), ErrInvalidToken.Error()+": ")}
	}
	// The session must still be live and its account exist: logging out,
	// changing the password or deleting the user ends access at once, on
	// every replica, without waiting for the token to expire.
	sess, u, err := b.store.SessionUser(ctx, c.SessionID)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && sess.UserID != c.UserID:
		return Principal{}, &UnauthenticatedError{"the session of this access token no longer exists: log in again"}
	case err != nil:
		return Principal{}, err
	case sess.EndedAt != nil:
		return Principal{}, &UnauthenticatedError{"the session of this access token has ended: log in again"}
	case u.Disabled:
		return Principal{}, &UnauthenticatedError{"this account is disabled"}
	}
	return Principal{UserID: u.ID, Username: u.Username, Method: MethodSession, Scope: ScopeWrite,
		SessionID: sess.ID, AuthenticatedAt: sess.AuthenticatedAt, Role: u.Role,
		OTPEnrolmentRequired: sess.Require2FA && !u.OTPEnabled && !u.SSO}, nil
}

func (b *Bearer) apiToken(ctx context.Context, token string) (Principal, error) {
	t, err := b.store.APITokenByHash(ctx, TokenHash(token))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, &UnauthenticatedError{"the API token is not valid"}
	}
	if err != nil {
		return Principal{}, err
	}
	if t.ExpiresAt != nil && !b.now().Before(*t.ExpiresAt) {
		return Principal{}, &UnauthenticatedError{"the API token has expired"}
	}
	if err := b.store.TouchAPIToken(ctx, t.ID); err != nil {
		return Principal{}, err
	}
	return Principal{UserID: t.UserID, Username: t.Username, Method: MethodToken, Scope: Scope(t.Scope),
		TokenID: t.ID, TokenName: t.Name, Role: t.Role, HostIDs: t.HostIDs}, nil
}

// Require is the middleware of an operation needing need: it authenticates
// the request, refuses what the credential does not allow, and stores the
// principal in the request's context. Its errors are *UnauthenticatedError,
// *ForbiddenError or store errors, for the API's error translation.
func (b *Bearer) Require(need Scope) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			p, err := b.Authenticate(r.Context(), r.Header.Get(echo.HeaderAuthorization))
			if err != nil {
				return err
			}
			if !p.Allows(need) {
				reason := "a read-scope token cannot change anything; use a write-scope token"
				if need == ScopeSession {
					reason = "managing accounts and tokens needs a logged-in user, not an API token"
				}
				return &ForbiddenError{reason}
			}
			c.SetRequest(r.WithContext(WithPrincipal(r.Context(), p)))
			return next(c)
		}
	}
}
