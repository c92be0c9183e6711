package delivery

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Result is what one delivery attempt means for the record: the dispatcher
// decides from it whether to mark the address delivered, back off and try
// again, or stop until an admin reconfigures or resyncs the record.
type Result int

const (
	// Delivered means the upstream accepted the address (good/nochg).
	Delivered Result = iota + 1
	// Retry means a transient problem: network error, timeout, HTTP 5xx or
	// 429, 911, dnserr. The same request may be sent again after a backoff.
	Retry
	// Failed means resending cannot help until the record or service is
	// reconfigured or resynced: badauth, !donator, notfqdn, nohost, numhost,
	// badagent, !yours, HTTP 401/403, redirects, anything not understood.
	Failed
	// Blocked means the provider said abuse; sending more makes it worse.
	Blocked
)

// String returns the lowercase name stored and shown to admins.
func (r Result) String() string {
	switch r {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case Failed:
		return "failed"
	case Blocked:
		return "blocked"
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// Outcome is the classified answer of one attempt.
type Outcome struct {
	Result Result
	// Message is what the admin reads, e.g. `HTTP 200: good 198.51.100.7` or
	// `dial tcp 192.0.2.1:443: connect: connection refused`. It holds at most
	// maxMessageBytes bytes of valid UTF-8 on one line and never a secret of
	// the job.
	Message string
	// RetryAfter is the upstream's Retry-After hint, 0 when it sent none.
	RetryAfter time.Duration
}

// maxMessageBytes bounds Outcome.Message so a provider's HTML error page
// cannot bloat the record's status column.
const maxMessageBytes = 512

// maxRetryAfter caps a Retry-After hint so a silly value cannot overflow a
// time.Duration or park a record for weeks.
const maxRetryAfter = 24 * time.Hour

// redactor removes secrets from text that is about to become an
// Outcome.Message: upstream bodies may echo credentials and error strings
// may carry URLs.
type redactor struct {
	secrets []string
}

// newRedactor collects the forms in which the job's password could show up
// in an answer: as is, with whitespace normalized the way messages are,
// URL-escaped, inside the Basic credentials, and the password of a
// `user:pass@` service URL.
func newRedactor(serviceURL, username, password string) redactor {
	var r redactor
	add := func(s string) {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	if password != "" {
		add(password)
		add(oneLine(password))
		add(url.QueryEscape(password))
		add(url.PathEscape(password))
		add(base64.StdEncoding.EncodeToString([]byte(username + ":" + password)))
	}
	if u, err := url.Parse(serviceURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			add(p)
			add(url.QueryEscape(p))
		}
	}
	return r
}

var (
	// urlUserinfo matches the `user:pass@` part of any URL in a message.
	urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s@]*@`)
	// querySecret matches query parameters that carry credentials
	// (dynv6 `token=`, `password=` of URL-credential providers).
	querySecret = regexp.MustCompile(`(?i)\b(pass|password|passwd|pwd|token|secret|key|apikey|api_key)=[^&\s;]*`)
)

// message turns raw text into a safe Outcome.Message: one line of valid
// UTF-8, secrets replaced by ***, at most maxMessageBytes bytes.
func (r redactor) message(raw string) string {
	s := oneLine(raw)
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "***")
	}
	s = urlUserinfo.ReplaceAllString(s, "$1")
	s = querySecret.ReplaceAllString(s, "$1=***")
	return truncateUTF8(s, maxMessageBytes)
}

// oneLine makes text printable on a single line: invalid UTF-8 becomes
// U+FFFD, control characters become spaces, runs of whitespace collapse and
// non-empty lines are joined with "; ".
func oneLine(raw string) string {
	raw = strings.ToValidUTF8(raw, "\uFFFD")
	var lines []string
	for line := range strings.Lines(raw) {
		line = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return ' '
			}
			return r
		}, line)
		if f := strings.Fields(line); len(f) > 0 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return strings.Join(lines, "; ")
}

// truncateUTF8 cuts s to at most max bytes without splitting a rune, marking
// a cut with an ellipsis.
func truncateUTF8(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	cut := max - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
