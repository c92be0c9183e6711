// Package dnsname validates the DNS names that hosts, records and update
// requests carry, so that every part of the broker agrees on one spelling of a
// name: lowercase, without the trailing dot.
package dnsname

import (
	"errors"
	"fmt"
	"strings"
)

const (
	maxNameLen  = 253
	maxLabelLen = 63
)

// Normalize lowercases s, strips one trailing dot and checks that the result is
// a fully qualified name fit to be published: at most 253 characters, at least
// two labels of 1..63 letters, digits, hyphens or underscores, no label starting
// or ending with a hyphen, and a last label that is not all digits (so an IPv4
// address is never taken for a name). Underscores are allowed because
// _acme-challenge style records are ordinary DNS names.
//
// The error says what is wrong in words a router owner can act on.
func Normalize(s string) (string, error) {
	if s == "" {
		return "", errors.New("name is empty")
	}
	// ASCII-only lowercasing: strings.ToLower would turn the Kelvin sign into
	// "k" and let a look-alike name pass as a valid one.
	name := lowerASCII(strings.TrimSuffix(s, "."))
	if name == "" {
		return "", errors.New("name is empty")
	}
	if len(name) > maxNameLen {
		return "", fmt.Errorf("name is %d characters long, at most %d allowed", len(name), maxNameLen)
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return "", errors.New("name must have at least two labels, like host.example.com")
	}
	for i, label := range labels {
		if err := checkLabel(label); err != nil {
			return "", fmt.Errorf("label %d: %w", i+1, err)
		}
	}
	if allDigits(labels[len(labels)-1]) {
		return "", errors.New("last label must not be all digits")
	}
	return name, nil
}

// checkLabel reports why one label of an already lowercased name is not usable.
func checkLabel(label string) error {
	if label == "" {
		return errors.New("empty label")
	}
	if len(label) > maxLabelLen {
		return fmt.Errorf("label is %d characters long, at most %d allowed", len(label), maxLabelLen)
	}
	if label[0] == '-' || label[len(label)-1] == '-' {
		return errors.New("label must not start or end with a hyphen")
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return errors.New("only letters, digits, hyphens and underscores are allowed")
		}
	}
	return nil
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsHostName tells whether s names a host the way URLs and service
// settings do: dot-separated labels of 1..63 letters, digits, hyphens and
// underscores, 253 characters in all, one label allowed (localhost, a
// server on the admin's network). Looser than Normalize, which checks
// names fit to be published.
func IsHostName(s string) bool {
	if s == "" || len(s) > maxNameLen {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > maxLabelLen {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
