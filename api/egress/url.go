package egress

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
)

// ErrURLUserinfo is CheckURL's answer to a URL with a user name or
// password in it; callers add where those belong instead.
var ErrURLUserinfo = errors.New("must not contain a user name or password")

// CheckURL accepts an absolute http(s) URL that names a host, without a
// user name, password or fragment, and without any space or control
// character anywhere (Go's parser lets some through, and they would be sent
// as they are): what every URL the broker calls (service endpoints,
// webhooks) must be. Its errors never quote the URL, whose query may hold a
// token; callers name the field.
func CheckURL(s string) error {
	if msg := CheckURLText(s); msg != "" {
		return errors.New(msg)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must be an http or https URL")
	case u.Opaque != "":
		return errors.New("must be an absolute URL such as https://host/path")
	case u.User != nil:
		return ErrURLUserinfo
	case u.Host == "" || u.Hostname() == "":
		return errors.New("must name a host")
	case !validURLHost(u.Hostname()):
		return errors.New("must name a host by a DNS name or an IP address")
	case u.Port() != "" && !validPort(u.Port()):
		return errors.New("has a port outside 1..65535")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return errors.New("must not have a #fragment")
	}
	return nil
}

// CheckURLText returns why s cannot be a URL the broker sends, by its
// characters alone, or "".
func CheckURLText(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "must not contain spaces, line breaks or control characters (percent-encode them)"
	}
	return ""
}

// validURLHost accepts an IP address (IPv6 without a zone) or a DNS name
// of letters, digits, hyphens and underscores.
func validURLHost(h string) bool {
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Zone() == ""
	}
	return dnsname.IsHostName(strings.TrimSuffix(h, "."))
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}
