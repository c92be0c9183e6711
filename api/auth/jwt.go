package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Access tokens are what the web app sends with each API request after a
// login: short-lived JWTs signed with HS256 under a key derived from the
// server's secret, so any replica can verify them without a database read
// of the token itself.
const (
	AccessTokenTTL = 15 * time.Minute
	jwtIssuer      = "ddnsbroker"
	jwtAudience    = "ddnsbroker-api"
)

// ErrInvalidToken means a bearer token is malformed, forged, expired or
// otherwise not acceptable. Its wrapped text says which, for logs and for
// the client; it never contains the token.
var ErrInvalidToken = errors.New("invalid token")

// AccessTokens issues and verifies access tokens.
type AccessTokens struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewAccessTokens uses key (32 bytes from secretbox.DeriveKey(secret, "jwt"))
// for tokens valid for ttl.
func NewAccessTokens(key []byte, ttl time.Duration) *AccessTokens {
	return &AccessTokens{key: key, ttl: ttl, now: time.Now}
}

// WithClock returns a copy that reads the time from now (tests issue
// tokens in the past with it).
func (a *AccessTokens) WithClock(now func() time.Time) *AccessTokens {
	c := *a
	c.now = now
	return &c
}

// TTL is how long a new token is valid.
func (a *AccessTokens) TTL() time.Duration { return a.ttl }

// AccessClaims are what a verified token says.
type AccessClaims struct {
	UserID int64
	// SessionID names the login the token belongs to (its refresh-token
	// family), so that ending the session ends the token at once: the
	// bearer middleware looks the session up on every request.
	SessionID string
	ID        string // jti
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// jwtClaims are the registered claims plus the session id.
type jwtClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
}

// Issue signs a token for a user's session.
func (a *AccessTokens) Issue(userID int64, sessionID string) (string, AccessClaims, error) {
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	now := a.now().Truncate(time.Second)
	c := AccessClaims{UserID: userID, SessionID: sessionID, ID: hex.EncodeToString(jti[:]), IssuedAt: now, ExpiresAt: now.Add(a.ttl)}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    jwtIssuer,
		Audience:  jwt.ClaimStrings{jwtAudience},
		Subject:   strconv.FormatInt(userID, 10),
		ID:        c.ID,
		IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
		ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
	}, SessionID: sessionID})
	s, err := tok.SignedString(a.key)
	if err != nil {
		return "", AccessClaims{}, fmt.Errorf("sign access token: %w", err)
	}
	return s, c, nil
}

// Verify checks a token's signature (HS256 only: "none" and every other
// algorithm are refused before any key is used), issuer, audience, expiry,
// issue time, subject, id and session.
func (a *AccessTokens) Verify(token string) (AccessClaims, error) {
	var jc jwtClaims
	_, err := jwt.ParseWithClaims(token, &jc, func(t *jwt.Token) (any, error) {
		if t.Method != jwt.SigningMethodHS256 {
			return nil, fmt.Errorf("unexpected signing method %v", t.Header["alg"])
		}
		return a.key, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(jwtIssuer),
		jwt.WithAudience(jwtAudience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(a.now),
		jwt.WithStrictDecoding(),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return AccessClaims{}, fmt.Errorf("%w: the access token has expired", ErrInvalidToken)
	case err != nil:
		return AccessClaims{}, fmt.Errorf("%w: the access token is not valid", ErrInvalidToken)
	}
	rc := jc.RegisteredClaims
	id, err := strconv.ParseInt(rc.Subject, 10, 64)
	if err != nil || id <= 0 || rc.ID == "" || rc.IssuedAt == nil {
		return AccessClaims{}, fmt.Errorf("%w: the access token lacks its subject, id or issue time", ErrInvalidToken)
	}
	if jc.SessionID == "" {
		return AccessClaims{}, fmt.Errorf("%w: the access token names no session: log in again", ErrInvalidToken)
	}
	return AccessClaims{UserID: id, SessionID: jc.SessionID, ID: rc.ID, IssuedAt: rc.IssuedAt.Time, ExpiresAt: rc.ExpiresAt.Time}, nil
}
