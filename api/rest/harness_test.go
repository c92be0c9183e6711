package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/labstack/echo/v4"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

var secretKey = []byte("a test secret key that is long enough for hkdf")

const (
	adminName     = "admin"
	adminPassword = "admin-Passw0rd-for-tests"
)

// logBuffer captures every log line of a test server.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// harness is the whole HTTP surface (route table of httpserver, the API
// and the dyndns2 endpoint) on a fresh database, served over real HTTP.
// Every answer of the API is checked against the spec, strictly: fields the
// spec does not declare are errors too.
type harness struct {
	t      *testing.T
	st     *store.Store
	box    *secretbox.Box
	broker *broker.Broker
	// app is the application as serve builds it; tests run its workers
	// (app.Dispatcher.Run, app.Notifier.Run) when they need them.
	app    *app.App
	log    *slog.Logger
	logs   *logBuffer
	url    string
	echo   *echo.Echo
	client *http.Client
	spec   *openapi3.T
	router routers.Router
	// failures aggregates failed logins and updates; tests flush it.
	failures *auth.FailureLog

	mu        sync.Mutex
	seen      map[string]map[int]bool // operation id → statuses answered
	responses []string                // every response, headers and body
}

// tweak changes what a test's application is built from: its settings and
// the options a process passes to app.Build.
type tweak func(cfg *config.Serve, opt *app.Options)

func newHarness(t *testing.T, tweaks ...tweak) *harness {
	t.Helper()
	h := &harness{t: t, st: storetest.New(t), logs: &logBuffer{},
		client: &http.Client{Timeout: 30 * time.Second}, seen: map[string]map[int]bool{}}
	h.log = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The server's errors explain a failed test's 500s.
	t.Cleanup(func() {
		if t.Failed() {
			for line := range strings.Lines(h.logs.String()) {
				if strings.Contains(line, "level=ERROR") {
					t.Log(line)
				}
			}
		}
	})
	cfg := testConfig(t)
	opt := app.Options{Store: h.st, Log: h.log, Version: "test", PasswordParams: auth.TestParams}
	for _, f := range tweaks {
		f(&cfg, &opt)
	}
	a, err := app.Build(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	h.app, h.box, h.broker, h.failures = a, a.Box, a.Broker, a.Failures
	// The live streams' doorbell listens until the test ends, before its
	// database is dropped.
	h.runWorkers(t, a.Feed.Run)
	srv := a.Server
	ts := httptest.NewServer(srv.Echo)
	t.Cleanup(ts.Close)
	h.url, h.echo = ts.URL, srv.Echo

	h.spec = strictSpec(t, ts.URL+rest.BasePath)
	if h.router, err = legacy.NewRouter(h.spec); err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(auth.TestParams, adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.CreateUser(context.Background(), adminName, hash); err != nil {
		t.Fatal(err)
	}
	return h
}

// poll makes the dispatcher and the notifier look for work every d.
func poll(d time.Duration) tweak {
	return func(_ *config.Serve, opt *app.Options) { opt.Poll = d }
}

// runWorkers runs background workers of h's application until the test
// ends.
func (h *harness) runWorkers(t *testing.T, workers ...func(context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() { w(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// testConfig is serve's configuration with every default, the way
// serve loads it, and the tests' secret key.
func testConfig(t *testing.T) config.Serve {
	t.Helper()
	cfg, err := config.ServeDefaults(secretKey)
	if err != nil {
		t.Fatal(err)
	}
	return *cfg
}

// strictSpec is the API's spec with every object closed to undeclared
// fields and allOf compositions merged, so that a response carrying a field
// the contract does not name fails validation.
func strictSpec(t *testing.T, server string) *openapi3.T {
	t.Helper()
	spec, err := rest.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	spec.Servers = openapi3.Servers{{URL: server}}
	seen := map[*openapi3.Schema]bool{}
	var visit func(s *openapi3.Schema)
	visit = func(s *openapi3.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		if len(s.AllOf) > 0 {
			merged := &openapi3.Schema{Type: &openapi3.Types{"object"}, Properties: openapi3.Schemas{}}
			for _, part := range s.AllOf {
				for k, v := range part.Value.Properties {
					merged.Properties[k] = v
				}
				merged.Required = append(merged.Required, part.Value.Required...)
			}
			s.AllOf, s.Type, s.Properties, s.Required = nil, merged.Type, merged.Properties, merged.Required
		}
		for _, p := range s.Properties {
			visit(p.Value)
		}
		if s.Items != nil {
			visit(s.Items.Value)
		}
		if s.Type.Is("object") && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			no := false
			s.AdditionalProperties.Has = &no
		}
	}
	for _, s := range spec.Components.Schemas {
		visit(s.Value)
	}
	return spec
}

// genericStatuses may come from any operation without being declared one
// by one: they fall to the spec's default problem response.
var genericStatuses = []int{http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusInternalServerError,
	http.StatusServiceUnavailable}

type request struct {
	method, path string
	token        string
	body         any    // marshalled as JSON
	raw          string // sent as is, when set
	contentType  string
	cookies      []*http.Cookie
	header       map[string]string
}

type response struct {
	status  int
	header  http.Header
	body    []byte
	cookies []*http.Cookie
	op      string
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) problem(t *testing.T) rest.Problem {
	t.Helper()
	var p rest.Problem
	r.decode(t, &p)
	return p
}

// do sends a request to the API (paths are relative to /api/v1) and checks
// the answer against the spec.
func (h *harness) do(r request) response {
	h.t.Helper()
	var body io.Reader
	switch {
	case r.raw != "":
		body = strings.NewReader(r.raw)
	case r.body != nil:
		b, err := json.Marshal(r.body)
		if err != nil {
			h.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(r.method, h.url+rest.BasePath+r.path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if body != nil {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	for _, c := range r.cookies {
		req.AddCookie(c)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer res.Body.Close()
	out := response{status: res.StatusCode, header: res.Header, cookies: res.Cookies()}
	if out.body, err = io.ReadAll(res.Body); err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.responses = append(h.responses, fmt.Sprintf("%v\n%s", res.Header, out.body))
	h.mu.Unlock()
	out.op = h.check(req, out)
	return out
}

// check validates a response against the operation it answers and notes
// the status; answers outside any operation (unknown paths, methods) must
// still be problems.
func (h *harness) check(req *http.Request, res response) string {
	h.t.Helper()
	if res.status >= 500 && res.status != http.StatusServiceUnavailable {
		h.t.Errorf("%s %s: status %d: %s", req.Method, req.URL.Path, res.status, res.body)
	}
	checkNoStore(h.t, req.Method+" "+req.URL.Path, res)
	route, params, err := h.router.FindRoute(req)
	if err != nil {
		h.checkProblem(req, res)
		return ""
	}
	op := route.Operation.OperationID
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.status,
		Header:                 res.header,
		Body:                   io.NopCloser(bytes.NewReader(res.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		h.t.Errorf("%s %s (%s): response %d does not match the spec: %v\n%s", req.Method, req.URL.Path, op, res.status, err, res.body)
	}
	if route.Operation.Responses.Status(res.status) == nil && !slices.Contains(genericStatuses, res.status) &&
		!(res.status == http.StatusForbidden && bytes.Contains(res.body, []byte(`"code":"otp_enrolment_required"`))) {
		h.t.Errorf("%s %s (%s): status %d is not declared by the operation", req.Method, req.URL.Path, op, res.status)
	}
	if res.status >= 400 {
		h.checkProblem(req, res)
	}
	h.mu.Lock()
	if h.seen[op] == nil {
		h.seen[op] = map[int]bool{}
	}
	h.seen[op][res.status] = true
	h.mu.Unlock()
	return op
}

func (h *harness) checkProblem(req *http.Request, res response) {
	h.t.Helper()
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		h.t.Errorf("%s %s: status %d with Content-Type %q, want application/problem+json: %s", req.Method, req.URL.Path, res.status, ct, res.body)
		return
	}
	var v any
	if err := json.Unmarshal(res.body, &v); err != nil {
		h.t.Errorf("%s %s: problem is not JSON: %s", req.Method, req.URL.Path, res.body)
		return
	}
	if err := h.spec.Components.Schemas["Problem"].Value.VisitJSON(v); err != nil {
		h.t.Errorf("%s %s: not a Problem: %v", req.Method, req.URL.Path, err)
	}
	var p rest.Problem
	_ = json.Unmarshal(res.body, &p)
	if p.Status != res.status || p.Title == "" || p.Type == "" {
		h.t.Errorf("%s %s: problem %+v does not match status %d", req.Method, req.URL.Path, p, res.status)
	}
}

// expect fails the test unless the response has the status.
func (r response) expect(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", r.op, r.status, status, r.body)
	}
	return r
}

// login returns an access token and the refresh cookie.
func (h *harness) login(user, password string) (string, *http.Cookie) {
	h.t.Helper()
	r := h.do(request{method: "POST", path: "/auth/login", body: map[string]string{"username": user, "password": password}})
	r.expect(h.t, http.StatusOK)
	var tok rest.AccessToken
	r.decode(h.t, &tok)
	return tok.AccessToken, refreshCookieOf(h.t, r)
}

func refreshCookieOf(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, c := range r.cookies {
		if c.Name == "ddnsbroker_refresh" {
			return c
		}
	}
	t.Fatalf("no refresh cookie in %v", r.header)
	return nil
}

// apiToken creates an API token with the session token and returns it.
func (h *harness) apiToken(session, name, scope string) (string, int64) {
	h.t.Helper()
	r := h.do(request{method: "POST", path: "/tokens", token: session, body: map[string]any{"name": name, "scope": scope}})
	r.expect(h.t, http.StatusCreated)
	var tok rest.ApiTokenCreated
	r.decode(h.t, &tok)
	return tok.Token, tok.Id
}

// create POSTs a body and returns the decoded 201 answer.
func create[T any](h *harness, token, path string, body any) T {
	h.t.Helper()
	var v T
	h.do(request{method: "POST", path: path, token: token, body: body}).expect(h.t, http.StatusCreated).decode(h.t, &v)
	return v
}

// get reads a 200 answer.
func get[T any](h *harness, token, path string) T {
	h.t.Helper()
	var v T
	h.do(request{method: "GET", path: path, token: token}).expect(h.t, http.StatusOK).decode(h.t, &v)
	return v
}
