package provider

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
	// Message is what the admin reads in the API, e.g. `HTTP 200: good
	// 198.51.100.7` or `dial tcp 192.0.2.1:443: connect: connection
	// refused`. It holds at most maxMessageBytes bytes of valid UTF-8 on
	// one line, never a secret of the job, and of a provider's answer at
	// most its first line, maxAnswerShown bytes (redactor.answer): whoever
	// may point a service at an address must not read what answers there.
	Message string
	// Advice says in plain words what the user can do about it, e.g. "the
	// provider refused the username or password: check the record's
	// credentials"; empty when there is nothing to do (delivered, a retry
	// that needs no help). Each protocol's table of answers gives it.
	Advice string
	// Answer is more of the provider's answer (every line, redacted, at
	// most maxMessageBytes) for the log, where an operator diagnoses a
	// provider; empty when the message says it all.
	Answer string
	// RetryAfter is the upstream's Retry-After hint, 0 when it sent none.
	RetryAfter time.Duration
}

// joinAdvice is a step's detail from an outcome: its message, and what to
// do about it when the protocol's table says.
func joinAdvice(message, advice string) string {
	if advice == "" {
		return message
	}
	return message + " (" + advice + ")"
}

// maxMessageBytes bounds Outcome.Message so a provider's HTML error page
// cannot bloat the record's status column.
const maxMessageBytes = 512

// maxAnswerShown bounds what Outcome.Message quotes of a provider's answer.
const maxAnswerShown = 200

// maxRetryAfter caps a Retry-After hint so a silly value cannot overflow a
// time.Duration or park a record for weeks.
const maxRetryAfter = 24 * time.Hour

// minRedacted is the length from which a credential is replaced by ***
// wherever it occurs. Replacing shorter ones garbles ordinary words (a
// password "p" turned root_password into root_***assword) and tells the
// reader which letters the password has; an answer that contains a shorter
// one is not shown at all (answerWithCredential).
const minRedacted = 6

// answerWithCredential replaces an answer that contains a credential too
// short to be cut out of it.
const answerWithCredential = "the answer contained a credential and is not shown"

// redactor removes secrets from text that is about to become an
// Outcome.Message: upstream bodies may echo credentials and error strings
// may carry URLs.
type redactor struct {
	long  []string // replaced by *** wherever they occur
	short []string // shorter than minRedacted: an answer holding one is not shown
}

// newRedactor collects the forms in which the job's password could show up
// in an answer: as is, with whitespace normalized the way messages are,
// URL-escaped, inside the Basic credentials, and the password of a
// `user:pass@` service URL.
func newRedactor(serviceURL, username, password string) redactor {
	var r redactor
	if password != "" {
		r.addSecret(password)
		r.add(base64.StdEncoding.EncodeToString([]byte(username + ":" + password)))
	}
	if u, err := url.Parse(serviceURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			r.add(p, url.QueryEscape(p))
		}
	}
	return r
}

// addSecret registers a secret in the forms an answer may echo it: as
// is, with whitespace normalized the way messages are, and URL-escaped.
func (r *redactor) addSecret(secret string) {
	if secret != "" {
		r.add(secret, oneLine(secret), url.QueryEscape(secret), url.PathEscape(secret))
	}
}

// add registers forms of a credential, each by its own length: an escaped
// or encoded form is as telling as the credential.
func (r *redactor) add(forms ...string) {
	for _, f := range forms {
		switch {
		case f == "":
		case utf8.RuneCountInString(f) >= minRedacted:
			r.long = append(r.long, f)
		default:
			r.short = append(r.short, f)
		}
	}
}

var (
	// urlUserinfo matches the `user:pass@` part of any URL in a message.
	urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s@]*@`)
	// querySecret matches query parameters that carry credentials
	// (dynv6 `token=`, `password=` of URL-credential providers).
	querySecret = regexp.MustCompile(`(?i)\b(pass|password|passwd|pwd|token|secret|key|apikey|api_key)=[^&\s;]*`)
)

// message turns raw text into a safe Outcome.Message: one line of valid
// UTF-8, secrets replaced by ***, at most maxMessageBytes bytes. Text that
// quotes a provider's answer takes the answer through answer first.
func (r redactor) message(raw string) string {
	return truncateUTF8(r.redact(oneLine(raw)), maxMessageBytes)
}

// answer is what a message may quote of a provider's answer (a body or a
// header): its first non-empty line, cleaned like a message, credentials
// replaced by ***, cut to maxAnswerShown bytes after that (a cut never
// leaves part of a credential). A first line that holds a credential too
// short to cut out is replaced by answerWithCredential.
func (r redactor) answer(raw string) string {
	line := ""
	for l := range strings.Lines(raw) {
		if line = oneLine(l); line != "" {
			break
		}
	}
	if r.hasShort(line) {
		return answerWithCredential
	}
	return truncateUTF8(r.redact(line), maxAnswerShown)
}

// detail is Outcome.Answer: every line of an answer, redacted, for the
// log; "" when answer already shows all of it.
func (r redactor) detail(raw string) string {
	s := oneLine(raw)
	d := answerWithCredential
	if !r.hasShort(s) {
		d = truncateUTF8(r.redact(s), maxMessageBytes)
	}
	if d == r.answer(raw) {
		return ""
	}
	return d
}

func (r redactor) hasShort(s string) bool {
	for _, secret := range r.short {
		if strings.Contains(s, secret) {
			return true
		}
	}
	return false
}

// redact replaces every whole occurrence of a long credential, the
// userinfo of URLs and the values of credential query parameters.
func (r redactor) redact(s string) string {
	for _, secret := range r.long {
		s = strings.ReplaceAll(s, secret, "***")
	}
	s = urlUserinfo.ReplaceAllString(s, "$1")
	return querySecret.ReplaceAllString(s, "$1=***")
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
