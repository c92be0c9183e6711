package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
)

// Timeout bounds one POST to a receiver, connection included.
const Timeout = 10 * time.Second

// Header names of a notification.
const (
	HeaderEvent     = "X-DDnsBroker-Event"
	HeaderSignature = "X-DDnsBroker-Signature"
	HeaderDelivery  = "X-DDnsBroker-Delivery"
)

// Sign is the signature header's value for body: "sha256=" and the hex
// HMAC-SHA256 of the body keyed with the webhook's secret. Receivers
// recompute it over the raw body and compare in constant time.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Sender POSTs notifications.
type Sender struct {
	client    *http.Client
	userAgent string
}

// NewSender builds a sender announcing ddnsbroker/<version> on hc, which
// must not follow redirects (a receiver that moved must be reconfigured,
// not guessed at) and must give up after Timeout: serve passes the
// outbound client of its destination policy (egress.NewClient), tests
// their own. A nil hc gets egress.NewClient with the default policy.
func NewSender(version string, hc *http.Client) *Sender {
	if version == "" {
		version = "dev"
	}
	if hc == nil {
		hc = egress.NewClient(egress.DefaultPolicy(), Timeout)
	}
	return &Sender{userAgent: "ddnsbroker/" + version, client: hc}
}

// Result is what became of one POST.
type Result struct {
	Delivered bool
	// Status is the receiver's HTTP status; 0 when none came back.
	Status int
	// Reason says why it was not delivered in the broker's words: the
	// status and its standard text, or why no answer came. It never holds
	// the URL (it may hold a token) nor anything the receiver wrote, so it
	// can be shown at once to whoever asked for a test.
	Reason string
	// Message is Reason with, for an error status, the first line of the
	// receiver's answer (cleaned, at most 200 characters), for the admin
	// who reads why notifications keep failing.
	Message  string
	Duration time.Duration
}

// Request is one notification to send.
type Request struct {
	// Method is POST when empty; a heartbeat's ping is a GET without a body.
	Method string
	URL    string
	Secret string // empty: unsigned
	Event  string
	ID     string // X-DDnsBroker-Delivery, the same on every retry
	Body   []byte
}

// Send POSTs a notification; any 2xx answer counts as delivered.
func (s *Sender) Send(ctx context.Context, r Request) Result {
	start := time.Now()
	res := s.send(ctx, r)
	res.Duration = time.Since(start)
	return res
}

func (s *Sender) send(ctx context.Context, r Request) Result {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	method, body := r.Method, io.Reader(bytes.NewReader(r.Body))
	if method == "" {
		method = http.MethodPost
	}
	if r.Body == nil {
		body = nil
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL, body)
	if err != nil {
		return Result{Reason: "the URL cannot be used", Message: "the URL cannot be used"}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", s.userAgent)
	if r.Event != "" {
		req.Header.Set(HeaderEvent, r.Event)
	}
	if r.ID != "" {
		req.Header.Set(HeaderDelivery, r.ID)
	}
	if r.Secret != "" {
		req.Header.Set(HeaderSignature, Sign([]byte(r.Secret), r.Body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		reason := describe(err)
		return Result{Reason: reason, Message: reason}
	}
	defer resp.Body.Close()
	res := Result{Status: resp.StatusCode}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		res.Delivered = true
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.Reason = fmt.Sprintf("HTTP %d: redirects are not followed; set the webhook's URL to where it points", resp.StatusCode)
		res.Message = res.Reason
	default:
		res.Reason = strings.TrimSpace(fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
		res.Message = fmt.Sprintf("HTTP %d", resp.StatusCode)
		excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if e := clean(excerpt); e != "" {
			res.Message += ": " + e
		}
	}
	return res
}

// describe says why a request failed without the URL that *url.Error
// carries.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Sprintf("no answer within %s", Timeout)
		}
		err = ue.Err
	}
	var ne *net.OpError
	if errors.As(err, &ne) && ne.Op == "dial" {
		return "cannot connect: " + clean([]byte(ne.Err.Error()))
	}
	return clean([]byte(err.Error()))
}

// clean keeps the first line of printable text, at most 200 characters.
func clean(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}
