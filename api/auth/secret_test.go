package auth

import (
	"regexp"
	"testing"
)

func TestNewSecret(t *testing.T) {
	// 26 base32 characters carry 130 bits; anything shorter cannot hold 128.
	shape := regexp.MustCompile(`^[a-z2-7]{26,}$`)
	seen := make(map[string]bool)
	for range 1000 {
		s, err := NewSecret()
		if err != nil {
			t.Fatalf("NewSecret: %v", err)
		}
		if !shape.MatchString(s) {
			t.Fatalf("secret %q is not 26+ characters of lowercase base32", s)
		}
		if seen[s] {
			t.Fatalf("secret %q returned twice", s)
		}
		seen[s] = true
	}
}
