package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestAccessTokenRoundTrip(t *testing.T) {
	a := NewAccessTokens(testKey, 15*time.Minute)
	tok, c, err := a.Issue(42, "s1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != 42 || got.SessionID != "s1" || got.ID != c.ID || len(got.ID) != 32 || got.ExpiresAt.Sub(got.IssuedAt) != 15*time.Minute {
		t.Errorf("claims %+v", got)
	}
	b, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if !strings.Contains(string(b), `"alg":"HS256"`) {
		t.Errorf("header %s", b)
	}
	if _, c2, _ := a.Issue(42, "s1"); c2.ID == c.ID {
		t.Error("jti repeats")
	}
}

func TestAccessTokenRefusals(t *testing.T) {
	a := NewAccessTokens(testKey, 15*time.Minute)
	valid, _, _ := a.Issue(7, "s1")
	parts := strings.Split(valid, ".")
	past, _, _ := a.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }).Issue(7, "s1")
	future, _, _ := a.WithClock(func() time.Time { return time.Now().Add(time.Hour) }).Issue(7, "s1")
	other, _, _ := NewAccessTokens([]byte("another key, also 32 bytes long!"), time.Minute).Issue(7, "s1")
	claims := func(mut func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "ddnsbroker", "aud": "ddnsbroker-api", "sub": "7", "jti": "j", "sid": "s1",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()}
		mut(c)
		return c
	}
	sign := func(m jwt.SigningMethod, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(testKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(func(jwt.MapClaims) {})).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for name, tok := range map[string]string{
		"expired":          past,
		"issued later":     future,
		"other key":        other,
		"alg none":         none,
		"HS384":            sign(jwt.SigningMethodHS384, claims(func(jwt.MapClaims) {})),
		"tampered":         parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"8"}`)) + "." + parts[2],
		"no exp":           sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { delete(c, "exp") })),
		"no sub":           sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { delete(c, "sub") })),
		"no jti":           sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { delete(c, "jti") })),
		"no iat":           sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { delete(c, "iat") })),
		"no session":       sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { delete(c, "sid") })),
		"session a number": sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["sid"] = 7 })),
		"wrong issuer":     sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["iss"] = "x" })),
		"wrong audience":   sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["aud"] = "x" })),
		"non-numeric sub":  sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["sub"] = "admin" })),
		"empty":            "",
		"two parts":        parts[0] + "." + parts[1],
		"signature padded": valid + "=",
	} {
		if _, err := a.Verify(tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %v, want ErrInvalidToken", name, err)
		}
	}
	if _, err := a.Verify(past); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: %v", err)
	}
}

func TestTokens(t *testing.T) {
	tok, display := NewAPIToken()
	if !IsAPIToken(tok) || !strings.HasPrefix(tok, display) || len(tok) < len(APITokenPrefix)+26 {
		t.Errorf("token %q display %q", tok, display)
	}
	if t2, _ := NewAPIToken(); t2 == tok {
		t.Error("tokens repeat")
	}
	if len(TokenHash(tok)) != 32 || string(TokenHash(tok)) == string(TokenHash(tok+"x")) {
		t.Error("hash")
	}
	if r := NewRefreshToken(); len(r) < 26 || IsAPIToken(r) {
		t.Errorf("refresh %q", r)
	}
	f := NewFamily()
	if len(f) != 36 || f[14] != '4' || strings.Count(f, "-") != 4 {
		t.Errorf("family %q", f)
	}
}

func TestPrincipalScopes(t *testing.T) {
	session := Principal{Method: MethodSession, Scope: ScopeWrite, Username: "a"}
	read := Principal{Method: MethodToken, Scope: ScopeRead, TokenID: 3, TokenName: "r", Username: "a"}
	write := Principal{Method: MethodToken, Scope: ScopeWrite, TokenID: 4, TokenName: "w", Username: "a"}
	for _, c := range []struct {
		p    Principal
		need Scope
		ok   bool
	}{
		{session, ScopeRead, true}, {session, ScopeWrite, true}, {session, ScopeSession, true},
		{read, ScopeRead, true}, {read, ScopeWrite, false}, {read, ScopeSession, false},
		{write, ScopeRead, true}, {write, ScopeWrite, true}, {write, ScopeSession, false},
		{write, Scope("bogus"), false},
	} {
		if got := c.p.Allows(c.need); got != c.ok {
			t.Errorf("%+v needs %s: %v", c.p, c.need, got)
		}
	}
	if session.Actor() != "user a" || read.Actor() != "token r (#3, user a)" {
		t.Errorf("actors %q %q", session.Actor(), read.Actor())
	}
}
