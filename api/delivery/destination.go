package delivery

import (
	"encoding/json"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Destinations are where a service sends the secrets it holds (its own
// credential and its records' passwords), each as scheme://host:port:
// the endpoint of dyndns2, the origins of both URL templates of http, the
// API of cloudflare, "dns://host:port" for rfc2136. A stored secret may only
// go to the destinations it was entered for, so the API asks for it again
// (or removes it) when they change. Settings it cannot read give no
// destination; validation refuses them anyway.
func Destinations(protocol string, settings json.RawMessage) []string {
	var out []string
	switch protocol {
	case ProtocolDyndns2:
		var s dyndns2Service
		if readSettings(settings, &s) == nil {
			out = append(out, origin(s.URL))
		}
	case ProtocolHTTP:
		var s httpService
		if readSettings(settings, &s) == nil {
			out = append(out, origin(expand(s.URL, validationValues, escapeURLValue)))
			if s.URLIPv6 != "" {
				out = append(out, origin(expand(s.URLIPv6, validationValues, escapeURLValue)))
			}
		}
	case ProtocolCloudflare:
		var s cloudflareService
		if readSettings(settings, &s) == nil {
			api := s.APIURL
			if api == "" {
				api = cloudflareAPIURL
			}
			out = append(out, origin(api))
		}
	case ProtocolRFC2136:
		var s rfc2136Service
		if readSettings(settings, &s) == nil {
			if host, port, err := splitServer(s.Server); err == nil {
				out = append(out, "dns://"+net.JoinHostPort(strings.ToLower(strings.TrimSuffix(host, ".")), strconv.Itoa(port)))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// DestinationKeys are the settings that decide a protocol's Destinations.
func DestinationKeys(protocol string) []string {
	switch protocol {
	case ProtocolDyndns2:
		return []string{"url"}
	case ProtocolHTTP:
		return []string{"url", "url_ipv6"}
	case ProtocolCloudflare:
		return []string{"api_url"}
	case ProtocolRFC2136:
		return []string{"server"}
	}
	return nil
}

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
