package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
)

// The shared HTTP pieces of every HTTP provider. Requests go through the
// *http.Client of Deps (egress: checked destinations, one request per
// attempt, no redirects); answers are read bounded, classified by a table
// of what each answer means, and quoted only through a redactor.

// Meaning is what an answer means for the record: the result, and advice
// in plain words for the user unless there is nothing to do.
type Meaning struct {
	Result Result
	Advice string
}

// Advice every protocol gives for the same situations.
const (
	AdviceRecordCredentials  = "the provider refused the username or password: check the record's credentials"
	AdviceServiceCredential  = "the provider refused the service's credential, or it may not do this: check the credential and its permissions"
	AdviceMoved              = "the provider's address moved: check the service's URL"
	AdviceNotFound           = "the provider does not know what was asked for: check the service's URL and the record's name"
	AdviceRateLimited        = "the provider limits how often it may be called; the broker waits as long as it asks"
	AdviceRefused            = "the provider refused the request: read its answer"
	AdviceBlocked            = "the provider blocked updates for sending too many; the broker pauses before it tries again"
	AdviceDestinationRefused = "the service's address is one the broker does not connect to: change it, or allow it with " + egress.AllowTargetsEnv
)

// HTTPStatus is what an HTTP status means when a provider's own table
// says nothing more specific. credential is the advice for 401 and 403:
// AdviceRecordCredentials or AdviceServiceCredential.
func HTTPStatus(status int, credential string) Meaning {
	switch {
	case status >= 200 && status < 300:
		return Meaning{Result: Delivered}
	case status >= 300 && status < 400:
		return Meaning{Result: Failed, Advice: AdviceMoved}
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return Meaning{Result: Failed, Advice: credential}
	case status == http.StatusNotFound:
		return Meaning{Result: Failed, Advice: AdviceNotFound}
	case status == http.StatusTooManyRequests:
		return Meaning{Result: Retry, Advice: AdviceRateLimited}
	case status >= 500:
		return Meaning{Result: Retry}
	}
	return Meaning{Result: Failed, Advice: AdviceRefused}
}

// transportOutcome classifies a request that got no complete answer: the
// caller's cancellation, a timeout or a network error, all worth a retry,
// or a destination the policy refuses, which only a change of the service
// (or of DDNSBROKER_ALLOW_TARGETS) can help. The *url.Error wrapper is
// dropped because it repeats the request URL.
func transportOutcome(ctx context.Context, prefix string, err error, red redactor) Outcome {
	if refused := (*egress.RefusedError)(nil); errors.As(err, &refused) {
		return Outcome{Result: Failed, Message: red.message(prefix + refused.Error()), Advice: AdviceDestinationRefused}
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

// exchange sends req and reads at most limit bytes of the answer. A
// request that got no complete answer is an Outcome (transportOutcome,
// its message starting with prefix); the body is closed either way, its
// unread rest included (the connection is not reused).
func exchange(ctx context.Context, hc *http.Client, req *http.Request, limit int64, prefix string, red redactor) (*http.Response, []byte, *Outcome) {
	resp, err := hc.Do(req)
	if err != nil {
		o := transportOutcome(ctx, prefix, err, red)
		return nil, nil, &o
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		// The status arrived but the answer did not: whether the update
		// was applied is unknown, and resending it is harmless.
		o := transportOutcome(ctx, prefix+"reading answer: ", err, red)
		return resp, nil, &o
	}
	return resp, body, nil
}

// API calls a provider's JSON API: what every API provider shares. Build
// one per delivery (it holds the delivery's redactor) with newAPI.
type API struct {
	client *http.Client
	// base is the API's URL without a trailing slash: the service's
	// api_url setting, or the provider's public default.
	base      string
	userAgent string
	header    http.Header
	// prefix starts every message, e.g. "cloudflare: ".
	prefix string
	red    redactor
	// limit bounds what is read of an answer.
	limit int64
}

// maxAPIAnswer bounds what is read of one API answer.
const maxAPIAnswer = 1 << 20

// newAPI prepares calls to base with header (authentication) on every
// request; secrets are the forms of the credential to keep out of
// messages.
func newAPI(d Deps, base, prefix string, header http.Header, secrets ...string) *API {
	red := newRedactor("", "", "")
	for _, s := range secrets {
		red.addSecret(s)
	}
	return &API{client: d.HTTP, base: strings.TrimRight(base, "/"), userAgent: d.UserAgent, header: header,
		prefix: prefix, red: red, limit: maxAPIAnswer}
}

// Response is an answer of the API.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Call makes one request: path is joined to the base URL, in (when not nil)
// is sent as JSON. It returns the answer whatever its status, or an
// Outcome when there is none (a network error, a timeout, a refused
// destination) or the request could not be built. op names the step in
// messages ("finding zone example.com").
func (a *API) Call(ctx context.Context, method, path string, query url.Values, in any, op string) (Response, *Outcome) {
	target := a.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return Response{}, a.fail(op, Response{}, Meaning{Result: Failed}, err.Error())
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return Response{}, a.fail(op, Response{}, Meaning{Result: Failed}, "invalid request: "+errText(err))
	}
	for k, v := range a.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", a.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, raw, out := exchange(ctx, a.client, req, a.limit, a.prefix+op+": ", a.red)
	if resp == nil {
		return Response{}, out
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	return r, out
}

// Judge is the default verdict on an answer: nil for 2xx, otherwise an
// Outcome by HTTPStatus quoting detail (the provider's own words; ""
// quotes the answer's first line).
func (a *API) Judge(r Response, op, detail, credentialAdvice string) *Outcome {
	m := HTTPStatus(r.Status, credentialAdvice)
	if m.Result == Delivered {
		return nil
	}
	return a.fail(op, r, m, a.detail(r, detail))
}

// detail is what a message quotes of an answer: the provider's words
// when given, else its first line, else the status text.
func (a *API) detail(r Response, words string) string {
	d := a.red.answer(words)
	if d == "" {
		d = a.red.answer(string(r.Body))
	}
	if d == "" {
		d = http.StatusText(r.Status)
	}
	return d
}

// fail builds the Outcome of a step: "<prefix><op>: HTTP <status>: text",
// with the answer for the log and, when retried, the provider's
// Retry-After.
func (a *API) fail(op string, r Response, m Meaning, text string) *Outcome {
	if r.Status != 0 {
		text = "HTTP " + strconv.Itoa(r.Status) + ": " + text
	}
	o := &Outcome{Result: m.Result, Message: a.red.message(a.prefix + op + ": " + text), Advice: m.Advice}
	if r.Body != nil {
		o.Answer = a.red.detail(string(r.Body))
	}
	if m.Result == Retry && r.Header != nil {
		o.RetryAfter = retryAfter(r.Header.Get("Retry-After"), time.Now())
	}
	return o
}

// Decode reads a JSON answer into v; an answer that is not what the API
// documents fails the step.
func (a *API) Decode(r Response, op string, v any) *Outcome {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return a.fail(op, r, Meaning{Result: Failed, Advice: AdviceRefused}, "unexpected answer: "+err.Error())
	}
	return nil
}

// errorBody reads a provider's error answer into v when it is JSON and
// says whether it was. An answer that is not JSON (a proxy's HTML page,
// plain text, nothing) is no failure of its own: v keeps its zero
// fields, the verdict follows the HTTP status, and the message quotes
// the answer as text (detail), which is all a reader can learn from it.
func errorBody(r Response, v any) bool {
	return json.Unmarshal(r.Body, v) == nil
}

// answerRow is one row of a provider's table of answers: an answer with
// Status (0: any) and the provider's error Code ("": any, compared
// without case) means Meaning.
type answerRow struct {
	Status  int
	Code    string
	Meaning Meaning
}

// answerTable is one provider's table of answers. An answer no row
// matches means what HTTPStatus says, with Credential as the advice for
// 401 and 403.
type answerTable struct {
	Rows       []answerRow
	Credential string
	// ResetHeader names the header that holds the Unix time at which a
	// rate limit ends, used when a retried answer has no Retry-After.
	ResetHeader string
	// Words reads an error answer: the provider's error code and its
	// message (nil, or "": the answer's first line is quoted).
	Words func(body []byte) (code, words string)
}

func (t answerTable) meaning(status int, code string) Meaning {
	for _, r := range t.Rows {
		if (r.Status == 0 || r.Status == status) && (r.Code == "" || strings.EqualFold(r.Code, code)) {
			return r.Meaning
		}
	}
	return HTTPStatus(status, t.Credential)
}

// verdict is nil for a 2xx answer; otherwise the Outcome t gives it,
// quoting words (the provider's own message; "": the answer's first
// line). A retried answer waits for Retry-After or, without one, until
// the rate limit's reset time.
func (a *API) verdict(r Response, op string, t answerTable, code, words string) *Outcome {
	if r.Status >= 200 && r.Status < 300 {
		return nil
	}
	text := a.detail(r, words)
	if r.Status >= 300 && r.Status < 400 {
		text = "redirect not followed"
	}
	o := a.fail(op, r, t.meaning(r.Status, code), text)
	if o.Result == Retry && o.RetryAfter == 0 && t.ResetHeader != "" && r.Header != nil {
		o.RetryAfter = untilReset(r.Header.Get(t.ResetHeader), time.Now())
	}
	return o
}

// callJSON makes one call and judges it by t; a 2xx answer is decoded
// into out when out is not nil.
func (a *API) callJSON(ctx context.Context, method, path string, query url.Values, in, out any, op string, t answerTable) (Response, *Outcome) {
	resp, o := a.Call(ctx, method, path, query, in, op)
	if o != nil {
		return resp, o
	}
	if resp.Status < 200 || resp.Status >= 300 {
		code, words := "", ""
		if t.Words != nil {
			code, words = t.Words(resp.Body)
		}
		return resp, a.verdict(resp, op, t, code, words)
	}
	if out != nil {
		return resp, a.Decode(resp, op, out)
	}
	return resp, nil
}

// untilReset is the wait until the Unix time v (a rate limit's reset
// header), capped like Retry-After; 0 when absent, unparsable or past.
func untilReset(v string, now time.Time) time.Duration {
	secs, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || secs <= now.Unix() {
		return 0
	}
	if secs-now.Unix() > int64(maxRetryAfter/time.Second) {
		return maxRetryAfter
	}
	return time.Unix(secs, 0).Sub(now).Round(time.Second)
}

// withHeader is a copy of a that also sends h (a filter some APIs take
// as a header).
func (a *API) withHeader(h http.Header) *API {
	c := *a
	c.header = a.header.Clone()
	for k, v := range h {
		c.header[k] = v
	}
	return &c
}

// newTokenAPI prepares calls to a token API: it checks the service's
// token and its api_url (empty: the public default) and sends the token
// in header, after scheme ("Bearer ", or "" for the token alone).
func newTokenAPI(d Deps, apiURL, defaultURL, prefix, header, scheme, token string) (*API, *Outcome) {
	if err := checkAPIToken(token); err != nil {
		return nil, &Outcome{Result: Failed, Message: prefix + "the service's API token " + err.Error() + ": set its credential",
			Advice: AdviceServiceCredential}
	}
	base := strings.TrimRight(apiURL, "/")
	if base == "" {
		base = defaultURL
	}
	if msg := checkEndpointURL(base, true); msg != "" {
		return nil, &Outcome{Result: Failed, Message: prefix + "service api_url " + msg}
	}
	return newAPI(d, base, prefix, http.Header{header: {scheme + token}}, token), nil
}
