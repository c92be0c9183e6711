package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
)

// Job is one update to send: the record's name and credentials and the
// address(es) for this request.
type Job struct {
	FQDN string
	// Username is the Basic username. Empty means the FQDN when the service
	// says UsernameIsFQDN, and no authentication otherwise.
	Username string
	Password string
	// IPv4 and IPv6 are the addresses of this request; the zero value leaves
	// a family out. By default the dispatcher sends one family per job
	// because he.net and others reject both in one request.
	IPv4 netip.Addr
	IPv6 netip.Addr
}

// Dyndns2Settings are a dyndns2 service's options.
type Dyndns2Settings struct {
	// URL is the update endpoint, e.g. https://dyn.dns.he.net/nic/update or
	// https://www.ovh.com/nic/update?system=dyndns; its query is kept.
	URL string
	// UsernameIsFQDN sends the record FQDN as the Basic username (he.net).
	UsernameIsFQDN bool
	// UseMyIPv6 sends IPv6 in `myipv6=` instead of `myip=` (INWX).
	UseMyIPv6 bool
}

// Dyndns2Client delivers addresses to upstream dyndns2 services.
type Dyndns2Client struct {
	hc        *http.Client
	userAgent string
}

// RequestTimeout bounds one request to a provider, answer included.
const RequestTimeout = 30 * time.Second

const (
	// maxAnswerBytes bounds how much of an answer is read: a dyndns2 answer
	// is a few short lines, anything longer is an error page.
	maxAnswerBytes = 4 << 10
)

// NewDyndns2Client returns a client on the default outbound HTTP client
// (newUpstreamHTTPClient). Providers block clients without a descriptive
// agent, so requests carry `User-Agent: ddnsbroker/<version>`.
func NewDyndns2Client(version string) *Dyndns2Client {
	return NewDyndns2ClientWith(newUpstreamHTTPClient(), version)
}

// NewDyndns2ClientWith uses hc as is: serve passes the client of its
// destination policy (egress.NewClient), tests their own; hc must set its
// own timeouts and redirect policy (return http.ErrUseLastResponse, or 3xx
// answers are never seen). A nil hc gets the client of NewDyndns2Client.
func NewDyndns2ClientWith(hc *http.Client, version string) *Dyndns2Client {
	if hc == nil {
		return NewDyndns2Client(version)
	}
	if version == "" {
		version = "dev"
	}
	return &Dyndns2Client{hc: hc, userAgent: "ddnsbroker/" + version}
}

// Send makes one update request and classifies the answer. It never
// returns an error: everything the dispatcher needs, including why a
// request could not even be built, is in the Outcome.
func (c *Dyndns2Client) Send(ctx context.Context, s Dyndns2Settings, j Job) Outcome {
	user := j.Username
	if user == "" && s.UsernameIsFQDN {
		user = j.FQDN
	}
	red := newRedactor(s.URL, user, j.Password)

	target, err := dyndns2URL(s, j)
	if err != nil {
		return Outcome{Result: Failed, Message: red.message(err.Error())}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return Outcome{Result: Failed, Message: red.message("invalid service url: " + errText(err))}
	}
	req.Header.Set("User-Agent", c.userAgent)
	if user != "" {
		req.SetBasicAuth(user, j.Password)
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return transportOutcome(ctx, "", err, red)
	}
	defer resp.Body.Close() // unread rest included: the connection is not reused
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		// The status arrived but the answer did not: whether the update
		// was applied is unknown, and resending it is harmless.
		return transportOutcome(ctx, "reading answer: ", err, red)
	}

	result, text := classifyDyndns2(resp.StatusCode, resp.Header.Get("Location"), string(body), red.answer)
	if result == Delivered {
		if reason := otherAddress(string(body), j.IPv4, j.IPv6); reason != "" {
			// The provider did not take what was sent (a pair it cannot
			// read, a parameter it ignores): resending it changes nothing.
			result, text = Failed, reason+" ("+text+")"
		}
	}
	return Outcome{
		Result:     result,
		Message:    red.message(text),
		Answer:     red.detail(string(body)),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
}

// dyndns2URL builds `<url>?hostname=<fqdn>&myip=<addr>`, appending to a
// query the service URL already has (OVH's ?system=dyndns).
//
// With UseMyIPv6 an IPv6 address goes in myipv6 and myip is sent only when
// the job has an IPv4 address. INWX sets the A record to 127.0.0.1 when
// myip is omitted, but inventing an IPv4 here would be worse; a dispatcher
// that serves such a service must put both families in one job.
func dyndns2URL(s Dyndns2Settings, j Job) (string, error) {
	// Stored before the rules were strict, a URL may hold what must not
	// be sent as it is (spaces, line breaks).
	if msg := checkURLText(s.URL); msg != "" {
		return "", errors.New("invalid service url: it " + msg)
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return "", errors.New("invalid service url: " + errText(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("invalid service url: want http(s)://host/path")
	}
	if j.FQDN == "" {
		return "", errors.New("no hostname to update")
	}
	v4, v6 := j.IPv4.Unmap(), j.IPv6.WithZone("")
	if v4.IsValid() && !v4.Is4() {
		return "", errors.New("invalid IPv4 address " + v4.String())
	}
	if v6.IsValid() && (!v6.Is6() || v6.Is4In6()) {
		return "", errors.New("invalid IPv6 address " + v6.String())
	}
	if !v4.IsValid() && !v6.IsValid() {
		return "", errors.New("no address to send")
	}

	q := url.Values{"hostname": {j.FQDN}}
	switch {
	case s.UseMyIPv6:
		if v4.IsValid() {
			q.Set("myip", v4.String())
		}
		if v6.IsValid() {
			q.Set("myipv6", v6.String())
		}
	case v4.IsValid() && v6.IsValid():
		q.Set("myip", v4.String()+","+v6.String())
	case v4.IsValid():
		q.Set("myip", v4.String())
	default:
		q.Set("myip", v6.String())
	}
	if u.RawQuery != "" {
		u.RawQuery += "&" + q.Encode()
	} else {
		u.RawQuery = q.Encode()
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// transportOutcome classifies a request that got no complete answer: the
// caller's cancellation, a timeout or a network error, all worth a retry,
// or a destination the policy refuses, which only a change of the service
// (or of DDNSBROKER_ALLOW_TARGETS) can help. The *url.Error wrapper is
// dropped because it repeats the request URL.
func transportOutcome(ctx context.Context, prefix string, err error, red redactor) Outcome {
	if refused := (*egress.RefusedError)(nil); errors.As(err, &refused) {
		return Outcome{Result: Failed, Message: red.message(prefix + refused.Error())}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return Outcome{Result: Retry, Message: "timeout: " + prefix + "deadline exceeded"}
		}
		return Outcome{Result: Retry, Message: "cancelled"}
	}
	text := errText(err)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !strings.Contains(strings.ToLower(text), "timeout") {
		text = "timeout: " + text
	}
	return Outcome{Result: Retry, Message: red.message(prefix + text)}
}

// errText is err's text without the *url.Error wrapper, which names the
// operation and the full URL (query included).
func errText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// classifyDyndns2 reads an answer: the HTTP status first, then the first
// word of each non-empty body line (providers add text after the code, and
// he.net answers 200 even on errors). It returns the result and the
// message text, which quotes the answer and the Location header only
// through shown (redactor.answer).
func classifyDyndns2(status int, location, body string, shown func(string) string) (Result, string) {
	text, location := shown(body), shown(location)
	label := "HTTP " + strconv.Itoa(status)
	withBody := func() string {
		if text == "" {
			return label + ": " + http.StatusText(status)
		}
		return label + ": " + text
	}

	switch {
	case status >= 300 && status < 400:
		if location == "" {
			return Failed, label + ": redirect not followed"
		}
		return Failed, label + ": redirect to " + location + " not followed"
	case status == http.StatusTooManyRequests, status >= 500:
		return Retry, withBody()
	case status < 200 || status >= 300:
		// 401, 403 and every other 4xx: resending the same request
		// will get the same answer.
		return Failed, withBody()
	}

	if text == "" {
		return Failed, label + ": empty answer"
	}
	// Worst line wins: abuse, then anything permanent or not understood,
	// then transient trouble; delivered only if every line says so. The
	// message quotes the first line and of the others only their return
	// code, a word of the protocol: who points a service at some address
	// must not read the rest of what answers there.
	result, lines, more := Delivered, 0, ""
	for line := range strings.Lines(body) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		r := dyndns2Code(f[0])
		if rank(r) > rank(result) {
			result = r
		}
		switch lines++; {
		case lines == 1:
		case isDyndns2Code(f[0]):
			more += "; " + f[0]
		case !strings.HasSuffix(more, "; …"):
			more += "; …"
		}
	}
	if len(text)+len(more) <= maxAnswerShown {
		text += more
	}
	return result, withBody()
}

// isDyndns2Code says whether word is one of the protocol's return codes.
func isDyndns2Code(word string) bool {
	switch strings.ToLower(word) {
	case "good", "nochg", "911", "dnserr", "abuse", "badauth", "!donator", "notfqdn", "nohost", "numhost", "badagent", "!yours":
		return true
	}
	return false
}

// otherAddress reads the addresses a good or nochg answer carries
// ("good 198.51.100.7", "nochg 198.51.100.7,2001:db8::7", one line per
// hostname) and explains, when the answer names an address of a family that
// was sent but not the address sent, that the provider holds another one.
// An answer without an address of that family says nothing about it.
func otherAddress(body string, v4, v6 netip.Addr) string {
	sent := map[bool]netip.Addr{true: v4.Unmap(), false: v6.WithZone("")}
	for line := range strings.Lines(body) {
		f := strings.Fields(line)
		if len(f) < 2 || dyndns2Code(f[0]) != Delivered {
			continue
		}
		verb := "set"
		if strings.EqualFold(f[0], "nochg") {
			verb = "kept"
		}
		answered := map[bool][]netip.Addr{}
		for _, word := range f[1:] {
			for _, part := range strings.Split(word, ",") {
				if a, err := netip.ParseAddr(strings.TrimSpace(part)); err == nil {
					a = a.Unmap().WithZone("")
					answered[a.Is4()] = append(answered[a.Is4()], a)
				}
			}
		}
		for _, is4 := range []bool{true, false} {
			want, got := sent[is4], answered[is4]
			if !want.IsValid() || len(got) == 0 || slices.Contains(got, want) {
				continue
			}
			return fmt.Sprintf("the provider %s %s, we sent %s", verb, got[0], want)
		}
	}
	return ""
}

// dyndns2Code maps one return code to its result; unknown words are
// Failed so the admin gets to read them.
func dyndns2Code(word string) Result {
	switch strings.ToLower(word) {
	case "good", "nochg":
		return Delivered
	case "911", "dnserr":
		return Retry
	case "abuse":
		return Blocked
	}
	// badauth, !donator, notfqdn, nohost, numhost, badagent, !yours and
	// anything else.
	return Failed
}

// rank orders results by how bad they are for a multi-line answer.
func rank(r Result) int {
	switch r {
	case Delivered:
		return 0
	case Retry:
		return 1
	case Failed:
		return 2
	}
	return 3
}

// retryAfter parses a Retry-After value (seconds or an HTTP date) relative
// to now; 0 when absent, unparsable or in the past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// dyndns2Service are the options stored with a dyndns2 service.
type dyndns2Service struct {
	URL            string `json:"url"`
	UsernameIsFQDN bool   `json:"username_is_fqdn"`
	Combined       bool   `json:"combined"`
	UseMyIPv6      bool   `json:"use_myipv6"`
	// DriftSettings are the drift check's, common to every protocol.
	DriftSettings
}

// Dyndns2 is the dyndns2 Protocol of the dispatcher.
type Dyndns2 struct{ Client *Dyndns2Client }

// Send implements Protocol: one request for the delivery's family, or both
// families in one request when the service asks for it. INWX (use_myipv6)
// needs both: it sets 127.0.0.1 when an IPv6-only request omits myip.
func (p Dyndns2) Send(ctx context.Context, settings json.RawMessage, t Target) Outcome {
	var s dyndns2Service
	if err := json.Unmarshal(settings, &s); err != nil {
		return Outcome{Result: Failed, Message: "service settings are unreadable: " + err.Error()}
	}
	job := Job{FQDN: t.FQDN, Username: t.Username, Password: t.Password}
	job.set(t.Family, t.Address)
	if (s.Combined || s.UseMyIPv6) && t.Other.IsValid() {
		job.set(10-t.Family, t.Other)
	}
	return p.Client.Send(ctx, Dyndns2Settings{URL: s.URL, UsernameIsFQDN: s.UsernameIsFQDN, UseMyIPv6: s.UseMyIPv6}, job)
}

// Combines implements Combiner: combined and use_myipv6 services take both
// families in one request.
func (p Dyndns2) Combines(settings json.RawMessage) bool {
	var s dyndns2Service
	return json.Unmarshal(settings, &s) == nil && (s.Combined || s.UseMyIPv6)
}

func (j *Job) set(family int, a netip.Addr) {
	if family == 4 {
		j.IPv4 = a
	} else {
		j.IPv6 = a
	}
}
