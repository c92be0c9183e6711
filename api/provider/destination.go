package provider

import (
	"net"
	"net/url"
	"strings"
)

// origin is scheme://host:port of an http(s) URL, with the default port
// written out and the host in lower case, so that two spellings of one
// place compare equal; anything unreadable is kept as it is.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), port)
}
