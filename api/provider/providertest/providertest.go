// Package providertest is what a provider's test file reuses: a table of
// (request, fake provider) → expected outcome run against a local server,
// the proof that an attempt puts exactly one request on the wire however
// the provider misbehaves, the rules every Outcome obeys, and a real BIND
// for DNS protocols (named.go). Everything listens on 127.0.0.1 only.
package providertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/egress/egresstest"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
)

// Deps are provider dependencies for tests: the outbound client serve
// uses (egress, default policy, which reaches loopback) with a short
// timeout, and a fixed User-Agent.
func Deps() provider.Deps {
	return provider.Deps{HTTP: egress.NewClient(egress.DefaultPolicy(), 5*time.Second), UserAgent: provider.UserAgent("test"),
		DNSTimeout: 2 * time.Second}
}

// Request is a request for fqdn to hold addr (its family from the
// address), with the record's and the service's secrets.
func Request(fqdn, addr, username, password, credential string) provider.Request[json.RawMessage] {
	a := netip.MustParseAddr(addr)
	return provider.Request[json.RawMessage]{FQDN: fqdn, Family: netcalc.FamilyOf(a), Addresses: []netip.Addr{a},
		Username: username, Password: password, Credential: credential}
}

// Settings marshals settings for a request or a validation.
func Settings(t testing.TB, v map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Seen is one request a Fake received, its body read.
type Seen struct {
	Method string
	// Path is the URL's path, Query its decoded query.
	Path   string
	Query  url.Values
	Header http.Header
	Body   string
}

// Fake is a provider's API on 127.0.0.1 for one test: it records every
// request it receives (Requests) and answers with its handler, which a
// test may change between attempts (Serve). A provider's test usually
// wraps one in a type that keeps the fake provider's state (zones,
// records) and answers like the real API.
type Fake struct {
	*httptest.Server
	mu      sync.Mutex
	seen    []Seen
	handler http.HandlerFunc
}

// NewFake starts a fake provider answering with h (nil: 501 to every
// request) and closes it when the test ends.
func NewFake(t testing.TB, h http.HandlerFunc) *Fake {
	t.Helper()
	f := &Fake{handler: h}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		f.mu.Lock()
		f.seen = append(f.seen, Seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: string(body)})
		h := f.handler
		f.mu.Unlock()
		if h == nil {
			http.Error(w, "the fake provider has no answer for this", http.StatusNotImplemented)
			return
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// Serve replaces the handler for the requests that follow.
func (f *Fake) Serve(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handler = h
}

// Requests are the requests received so far, in order.
func (f *Fake) Requests() []Seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

// Reset forgets the requests received so far.
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = nil
}

// Answer is a handler that answers every request with status, headers
// and body: one row of a provider's answer table.
func Answer(status int, header http.Header, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// JSON is a handler that answers every request with status and body as
// application/json.
func JSON(status int, body string) http.HandlerFunc {
	return Answer(status, http.Header{"Content-Type": {"application/json"}}, body)
}

// Case is one attempt against a fake provider: one row of the table that
// maps the provider's answers to outcomes.
type Case struct {
	Name string
	// Settings of the service; the URL setting's value (when absent) is
	// the fake provider's URL plus Path, so the provider under test calls it.
	Settings map[string]any
	// Path is appended to the fake provider's URL (e.g. "/client/v4").
	Path    string
	Request provider.Request[json.RawMessage]
	// Serve plays the provider: it answers each request the attempt makes.
	Serve http.HandlerFunc
	// Want is the expected result; WantMessage a part of the message and
	// WantAdvice a part of the advice ("" checks nothing); WantRetryAfter
	// the Retry-After hint.
	Want           provider.Result
	WantMessage    string
	WantAdvice     string
	WantRetryAfter time.Duration
	// Requests is how many requests the attempt puts on the wire (0: one).
	Requests int
	// Check, when set, looks at the requests the fake provider saw.
	Check func(t *testing.T, seen []Seen)
}

// Run runs each case against its own fake provider on 127.0.0.1: one
// attempt, the expected result, message, advice and Retry-After, exactly
// the expected number of requests, and an Outcome that obeys CheckOutcome
// with the request's secrets. urlKey names the setting that takes the base
// URL (api_url for API providers).
func Run(t *testing.T, p provider.Provider, urlKey string, cases []Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			fake := NewFake(t, tc.Serve)
			settings := map[string]any{}
			for k, v := range tc.Settings {
				settings[k] = v
			}
			if _, ok := settings[urlKey]; !ok && urlKey != "" {
				settings[urlKey] = fake.URL + tc.Path
			}
			req := tc.Request
			req.Settings = Settings(t, settings)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out := p.Send(ctx, req)
			if out.Result != tc.Want {
				t.Errorf("result %v (%s), want %v", out.Result, out.Message, tc.Want)
			}
			if !strings.Contains(out.Message, tc.WantMessage) {
				t.Errorf("message %q does not contain %q", out.Message, tc.WantMessage)
			}
			if !strings.Contains(out.Advice, tc.WantAdvice) {
				t.Errorf("advice %q does not contain %q", out.Advice, tc.WantAdvice)
			}
			if out.RetryAfter != tc.WantRetryAfter {
				t.Errorf("RetryAfter %v, want %v", out.RetryAfter, tc.WantRetryAfter)
			}
			CheckOutcome(t, out, req.Password, req.Credential)
			seen := fake.Requests()
			want := tc.Requests
			if want == 0 {
				want = 1
			}
			if len(seen) != want {
				t.Errorf("the attempt made %d requests, want %d", len(seen), want)
			}
			if tc.Check != nil {
				tc.Check(t, seen)
			}
		})
	}
}

// CheckCase is one run of a provider's Check against a fake provider.
type CheckCase struct {
	Name     string
	Settings map[string]any
	Path     string
	Request  provider.CheckRequest[json.RawMessage]
	Serve    http.HandlerFunc
	// Want are the steps' statuses by name, in order.
	Want []StepWant
	// Mutating lists methods the check must not use (nil: POST, PUT,
	// PATCH and DELETE: a check does not change DNS).
	Mutating []string
}

// StepWant is a step's expected name and status.
type StepWant struct {
	Name   string
	Status provider.StepStatus
}

// RunChecks runs each case's Check against its own fake provider and
// asserts the steps' names and statuses, that no detail shows a secret,
// and that no request could have changed DNS.
func RunChecks(t *testing.T, p provider.Provider, urlKey string, cases []CheckCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			fake := NewFake(t, tc.Serve)
			settings := map[string]any{}
			for k, v := range tc.Settings {
				settings[k] = v
			}
			if _, ok := settings[urlKey]; !ok && urlKey != "" {
				settings[urlKey] = fake.URL + tc.Path
			}
			req := tc.Request
			req.Settings = Settings(t, settings)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			steps := p.Check(ctx, req)
			var got, want []string
			for _, s := range steps {
				got = append(got, s.Name+": "+string(s.Status))
				for _, secret := range []string{req.Password, req.Credential} {
					if len(secret) >= 6 && strings.Contains(s.Detail, secret) {
						t.Errorf("step %q shows a secret: %q", s.Name, s.Detail)
					}
				}
			}
			for _, w := range tc.Want {
				want = append(want, w.Name+": "+string(w.Status))
			}
			if !slices.Equal(got, want) {
				t.Errorf("steps\n  %s\nwant\n  %s\n(%+v)", strings.Join(got, "\n  "), strings.Join(want, "\n  "), steps)
			}
			mutating := tc.Mutating
			if mutating == nil {
				mutating = []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
			}
			for _, r := range fake.Requests() {
				if slices.Contains(mutating, r.Method) {
					t.Errorf("the check sent %s %s, which may change DNS", r.Method, r.Path)
				}
			}
		})
	}
}

// maxMessage is the bound of an Outcome's message (the provider package's).
const maxMessage = 512

// CheckOutcome asserts what every Outcome obeys: a message on one line of
// valid UTF-8, at most 512 bytes, and none of the secrets (of 6 characters
// or more: shorter ones are kept out by not showing the answer) in its
// message, advice or answer.
func CheckOutcome(t testing.TB, out provider.Outcome, secrets ...string) {
	t.Helper()
	if !utf8.ValidString(out.Message) || strings.ContainsAny(out.Message, "\r\n") || len(out.Message) > maxMessage {
		t.Errorf("message is not one bounded line of UTF-8: %q", out.Message)
	}
	if out.Result != provider.Delivered && out.Message == "" {
		t.Errorf("%v without a message", out.Result)
	}
	for _, s := range secrets {
		if len(s) < 6 {
			continue
		}
		for what, text := range map[string]string{"message": out.Message, "advice": out.Advice, "answer": out.Answer} {
			if strings.Contains(text, s) {
				t.Errorf("the %s shows a secret: %q", what, text)
			}
		}
	}
}

// OneRequestPerAttempt proves that whatever the provider does with a
// request (close the connection without answering, reset it, answer half,
// never answer), one attempt puts exactly one request on the wire. Go's
// transport replays idempotent requests that fail on a reused connection,
// so the provider first leaves several idle connections behind with
// successful attempts, answered healthy. request(i) is the i-th attempt's
// request (vary the name when the provider caches what it found);
// settings(url) the service's settings pointing at url.
func OneRequestPerAttempt(t *testing.T, newProvider func(provider.Deps) provider.Provider, healthy string,
	settings func(url string) map[string]any, request func(i int) provider.Request[json.RawMessage]) {
	t.Helper()
	for _, mode := range egresstest.Modes() {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			p := newProvider(provider.Deps{UserAgent: provider.UserAgent("test")}) // serve's egress client
			fake := egresstest.New(t)
			fake.SetAnswer(http.StatusOK, healthy)
			send := func(ctx context.Context, i int) provider.Outcome {
				r := request(i)
				r.Settings = Settings(t, settings(fake.URL))
				return p.Send(ctx, r)
			}
			var wg sync.WaitGroup
			var warm atomic.Int32
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if send(context.Background(), i).Result == provider.Delivered {
						warm.Add(1)
					}
				}()
			}
			wg.Wait()
			before := fake.Requests()
			if before < 8 {
				t.Fatalf("the provider saw %d requests while warming up (%d delivered), want at least 8", before, warm.Load())
			}
			fake.SetMode(mode)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			out := send(ctx, 100)
			if out.Result == provider.Delivered {
				t.Errorf("attempt against a provider that did not answer: %v %s", out.Result, out.Message)
			}
			if n := fake.Requests() - before; n != 1 {
				t.Errorf("one attempt put %d requests on the wire, want 1 (%v: %s)", n, out.Result, out.Message)
			}
		})
	}
}

// Validate asserts the field errors settings get: want lists
// "field: start of the message" in order; none means valid.
func Validate(t *testing.T, p provider.Provider, settings string, has provider.Has, want ...string) {
	t.Helper()
	var got []string
	for _, e := range p.Validate(json.RawMessage(settings), has) {
		got = append(got, e.Field+": "+e.Message)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: errors\n  %s\nwant\n  %s", settings, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for i := range got {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("%s: error %d = %q, want it to start with %q", settings, i, got[i], want[i])
		}
	}
}

// Describe asserts what every description holds: the protocol's name,
// a title, families, and for each setting a key, a type and a label; a
// credential with a label when there is one.
func Describe(t *testing.T, p provider.Provider) {
	t.Helper()
	d := p.Describe()
	if d.Protocol != p.Name() || d.Title == "" || len(d.Families) == 0 {
		t.Errorf("description %+v: protocol, title or families missing", d)
	}
	keys := map[string]bool{}
	for _, f := range d.Settings {
		if f.Key == "" || f.Type == "" || f.Label == "" || keys[f.Key] {
			t.Errorf("setting %+v: key, type or label missing, or the key repeats", f)
		}
		keys[f.Key] = true
	}
	if d.Credential != nil && d.Credential.Label == "" {
		t.Errorf("credential without a label: %+v", d.Credential)
	}
	if fmt.Sprint(d.Together) == "" {
		t.Error("together is not said")
	}
}
