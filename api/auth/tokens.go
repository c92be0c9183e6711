package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"strings"
)

// APITokenPrefix starts every API token, so that a token found in a log or
// a repository is recognisable (and secret scanners can be taught it), and
// so the server can tell an API token from a JWT without parsing.
const APITokenPrefix = "ddnsb_"

// NewAPIToken returns a new API token (≥ 128 random bits) and the short
// prefix stored beside its hash, to recognise it in a list.
func NewAPIToken() (token, display string) {
	token = APITokenPrefix + strings.ToLower(rand.Text())
	return token, token[:len(APITokenPrefix)+6]
}

// IsAPIToken tells an API token from an access token.
func IsAPIToken(s string) bool { return strings.HasPrefix(s, APITokenPrefix) }

// NewRefreshToken returns a new refresh token (≥ 128 random bits).
func NewRefreshToken() string { return rand.Text() }

// TokenHash is how API and refresh tokens are stored: they are random and
// long, so a fast hash is enough, and lookups by hash need no slow KDF.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// NewFamily returns a random UUID (version 4) naming a login's chain of
// refresh tokens.
func NewFamily() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[c>>4], hexd[c&0xf])
	}
	return string(out)
}
