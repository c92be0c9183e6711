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

// Sender POSTs notifications. It never follows redirects (a receiver that
// moved must be reconfigured, not guessed at) and gives up after Timeout.
type Sender struct {
	client    *http.Client
	userAgent string
}

// NewSender builds a sender announcing ddnsbroker/<version>.
func NewSender(version string) *Sender {
	if version == "" {
		version = "dev"
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: Timeout, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = Timeout
	tr.ResponseHeaderTimeout = Timeout
	tr.MaxIdleConnsPerHost = 4
	return &Sender{userAgent: "ddnsbroker/" + version, client: &http.Client{
		Transport: tr,
		Timeout:   Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Result is what became of one POST.
type Result struct {
	Delivered bool
	// Status is the receiver's HTTP status; 0 when none came back.
	Status int
	// Message says why it was not delivered: never the URL (it may hold
	// a token), at most a short, cleaned excerpt of the receiver's answer.
	Message  string
	Duration time.Duration
}

// Request is one notification to send.
type Request struct {
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return Result{Message: "the URL cannot be used"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.userAgent)
	req.Header.Set(HeaderEvent, r.Event)
	if r.ID != "" {
		req.Header.Set(HeaderDelivery, r.ID)
	}
	if r.Secret != "" {
		req.Header.Set(HeaderSignature, Sign([]byte(r.Secret), r.Body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return Result{Message: describe(err)}
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	res := Result{Status: resp.StatusCode}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		res.Delivered = true
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.Message = fmt.Sprintf("HTTP %d: redirects are not followed; set the webhook's URL to where it points", resp.StatusCode)
	default:
		res.Message = fmt.Sprintf("HTTP %d", resp.StatusCode)
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
