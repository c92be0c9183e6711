package auth

import (
	"crypto/rand"
	"strings"
)

// NewSecret returns a new host update secret: at least 128 random bits as 26+
// characters of lowercase base32 (a–z, 2–7). Routers put it in URLs unescaped
// and in web forms that choke on punctuation, and users may retype it from a
// screen, so it has one case and no symbols.
//
// The error is always nil today (crypto/rand cannot fail since Go 1.24); it is
// part of the signature so a future source of randomness may report failure.
func NewSecret() (string, error) {
	return strings.ToLower(rand.Text()), nil
}
