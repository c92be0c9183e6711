// Package rest is DDnsBroker's JSON API under /api/v1. The contract is
// openapi.yaml at the repository root; openapi.gen.go is generated from it
// (types, the Echo strict server interface, the embedded spec), and the
// handlers here implement that interface, one file per resource. Requests are
// validated against the spec before a handler runs and against the domain's
// rules (validator/v10 tags carried by the spec) when it starts; every error
// becomes application/problem+json in one function, problem.go's writeProblem.
package rest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/feed"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/sso"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// BasePath is where the API is mounted; the spec's server URL says the same.
const BasePath = "/api/v1"

// maxBody bounds request bodies; no request of this API comes close.
const maxBody = "1M"

// requestTimeout bounds the database work of one request, so that a
// database that stopped answering turns into 503s within the same few
// seconds as dyndns2 (api/dyndns2) instead of piled-up goroutines. Work that
// waits on something else (a webhook receiver) has its own deadline.
const requestTimeout = 4 * time.Second

// scopeExtension names, on each operation of the spec, what it needs of its
// caller: read, write or session (see auth.Scope).
const scopeExtension = "x-ddnsbroker-scope"

// Deps are what the API needs.
type Deps struct {
	Store  *store.Store
	Broker *broker.Broker
	// Providers are the protocols services can use: their settings are
	// validated and described by them (nil: provider.New with defaults).
	Providers *provider.Registry
	// Box seals upstream credentials.
	Box *secretbox.Box
	// SecretKey is the server's secret; the access-token key is derived from it.
	SecretKey []byte
	Log       *slog.Logger
	// ClientIP finds a request's client address (nil: the TCP peer).
	ClientIP func(*http.Request) netip.Addr
	// TrustedProxies are the peers whose X-Forwarded-Proto is believed when
	// deciding whether the refresh cookie is Secure.
	TrustedProxies []netip.Prefix
	// PasswordParams hash new passwords and secrets (zero: auth.DefaultParams;
	// tests pass auth.TestParams).
	PasswordParams auth.Params
	// LoginLimits tune the login rate limits (zero: DefaultLoginLimits).
	LoginLimits LoginLimits
	// Failures aggregates failed logins into the history; the caller runs
	// it (nil: a log of the API's own, flushed by nobody).
	Failures *auth.FailureLog
	// StaleAfter is how long a host may go unseen before it is flagged
	// stale (zero: DefaultStaleAfter).
	StaleAfter time.Duration
	// WebhookSender sends the webhooks' test notifications (nil: a sender
	// announcing an unknown version).
	WebhookSender *notify.Sender
	// Channels sends the notification channels' test messages (nil:
	// under the default egress policy, through WebhookSender).
	Channels *notify.Channels
	// PublicURL is the broker's address as routers reach it
	// (DDNSBROKER_PUBLIC_URL), for the router setup; "" when not set.
	PublicURL string
	// Version is the binary's version, shown in /status.
	Version string
	// MaxRecordsPerHost and MaxRecordsPerService bound the records of one
	// host and of one service (zero: the defaults below).
	MaxRecordsPerHost    int
	MaxRecordsPerService int
	// ServiceTestBurst is how many service tests a user may run in a row
	// before they are limited to one per 6 s (zero: DefaultServiceTestBurst).
	ServiceTestBurst int
	// SSO is the OpenID Connect provider users may sign in with (nil: none).
	SSO *sso.Provider
	// Feed wakes the live event streams; the caller runs it (nil: the
	// stream answers 503).
	Feed *feed.Hub
	// HostChanged is told the id of a host whose secret, switches or
	// addresses the API changed (or that it deleted), once committed, so
	// that this replica's host directory forgets it at once rather than
	// when the change's notification arrives (nil: nobody is told).
	HostChanged func(id int64)
}

// DefaultStaleAfter is DDNSBROKER_STALE_AFTER's default.
const DefaultStaleAfter = 24 * time.Hour

// Defaults of DDNSBROKER_MAX_RECORDS_PER_HOST and _PER_SERVICE: a router
// update of 500 records is done in well under the dyndns2 deadline.
const (
	DefaultMaxRecordsPerHost    = 500
	DefaultMaxRecordsPerService = 10_000
)

// Server implements the generated StrictServerInterface.
type Server struct {
	store     *store.Store
	broker    *broker.Broker
	providers *provider.Registry
	box       *secretbox.Box
	log       *slog.Logger
	clientIP  func(*http.Request) netip.Addr
	proxies   []netip.Prefix
	params    auth.Params
	access    *auth.AccessTokens
	bearer    *auth.Bearer
	spec      *openapi3.T
	validate  *validator.Validate
	logins    *logins
	// staleAfter flags hosts not seen for longer.
	staleAfter time.Duration
	webhooks   *notify.Sender
	channels   *notify.Channels
	publicURL  string
	version    string
	limits     recordLimits
	// serviceTests limits each user's service tests.
	serviceTests *auth.KeyedLimiter
	sso          *sso.Provider
	feed         *feed.Hub
	hostChanged  func(id int64)
}

var _ StrictServerInterface = (*Server)(nil)

// New builds the API.
func New(d Deps) *Server {
	spec, err := GetSwagger()
	if err != nil {
		panic("rest: embedded openapi spec: " + err.Error()) // generated from a spec that loaded; cannot happen
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.ClientIP == nil {
		d.ClientIP = func(r *http.Request) netip.Addr { return netcalc.Peer(r.RemoteAddr) }
	}
	if d.PasswordParams == (auth.Params{}) {
		d.PasswordParams = auth.DefaultParams
	}
	if d.Failures == nil {
		d.Failures = auth.NewFailureLog(d.Store, d.Log)
	}
	if d.StaleAfter <= 0 {
		d.StaleAfter = DefaultStaleAfter
	}
	if d.Providers == nil {
		d.Providers = provider.New(provider.Deps{UserAgent: provider.UserAgent(d.Version)})
	}
	if d.WebhookSender == nil {
		d.WebhookSender = notify.NewSender("", nil)
	}
	if d.Channels == nil {
		d.Channels = notify.NewChannels(egress.DefaultPolicy(), d.WebhookSender)
	}
	if d.HostChanged == nil {
		d.HostChanged = func(int64) {}
	}
	access := auth.NewAccessTokens(secretbox.DeriveKey(d.SecretKey, "jwt"), auth.AccessTokenTTL)
	return &Server{
		store: d.Store, broker: d.Broker, providers: d.Providers, box: d.Box, log: d.Log, clientIP: d.ClientIP, proxies: d.TrustedProxies,
		params: d.PasswordParams, access: access, bearer: auth.NewBearer(d.Store, access), spec: spec,
		validate: newValidator(), logins: newLogins(d.LoginLimits, d.PasswordParams, d.Failures), staleAfter: d.StaleAfter,
		webhooks: d.WebhookSender, channels: d.Channels, publicURL: strings.TrimRight(d.PublicURL, "/"), version: d.Version,
		limits: recordLimits{perHost: cmp.Or(d.MaxRecordsPerHost, DefaultMaxRecordsPerHost),
			perService: cmp.Or(d.MaxRecordsPerService, DefaultMaxRecordsPerService)},
		serviceTests: newServiceTestLimiter(d.ServiceTestBurst), sso: d.SSO,
		feed: d.Feed, hostChanged: d.HostChanged,
	}
}

// Register mounts the API under BasePath. Every operation of the spec gets
// its authentication (by its x-ddnsbroker-scope) and request validation;
// methods the spec does not define on a path answer 405 and unknown paths
// 404, both as problem+json.
func (s *Server) Register(e *echo.Echo) {
	s.register(e, s.bearer.Require)
}

// register mounts the API, each operation behind require(its scope).
func (s *Server) register(e *echo.Echo, require func(auth.Scope) echo.MiddlewareFunc) {
	ops := map[string]echo.MiddlewareFunc{} // by method and Echo path
	g := e.Group(BasePath, noStore, s.problems, middleware.BodyLimit(maxBody), s.requestInfo, func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if mw, ok := ops[c.Request().Method+" "+c.Path()]; ok {
				return mw(next)(c)
			}
			return next(c)
		}
	})
	for _, path := range s.spec.Paths.InMatchingOrder() {
		item := s.spec.Paths.Value(path)
		var allowed []string
		for method, op := range item.Operations() {
			allowed = append(allowed, method)
			ops[method+" "+BasePath+echoPath(path)] = s.operation(&routers.Route{Spec: s.spec, Path: path, PathItem: item,
				Method: method, Operation: op}, require)
		}
		slices.Sort(allowed)
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if !slices.Contains(allowed, m) {
				g.Add(m, echoPath(path), methodNotAllowed(allowed))
			}
		}
	}
	RegisterHandlers(g, NewStrictHandler(s, []StrictMiddlewareFunc{s.validateBody}))
}

// operation is what runs before an operation's handler: authentication by
// its scope (unless public), then validation against the spec.
func (s *Server) operation(route *routers.Route, requireScope func(auth.Scope) echo.MiddlewareFunc) echo.MiddlewareFunc {
	validate := s.validateRequest(route)
	scope, public := operationScope(s.spec, route.Operation)
	if public {
		return validate
	}
	require := requireScope(scope)
	enrolling := enrolmentOperations[strings.ToLower(route.Operation.OperationID)]
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return require(func(c echo.Context) error {
			if p := principal(c.Request().Context()); p.OTPEnrolmentRequired && !enrolling {
				return &apiError{status: http.StatusForbidden, code: codeOTPEnrolmentRequired,
					detail: "admins require two-factor sign-in: enrol an authenticator app (POST /me/otp) first"}
			}
			return validate(next)(c)
		})
	}
}

// operationScope reads what an operation needs; public operations (login,
// refresh) have an empty security list.
func operationScope(spec *openapi3.T, op *openapi3.Operation) (scope auth.Scope, public bool) {
	sec := spec.Security
	if op.Security != nil {
		sec = *op.Security
	}
	if len(sec) == 0 {
		return "", true
	}
	v, _ := op.Extensions[scopeExtension].(string)
	switch s := auth.Scope(v); s {
	case auth.ScopeRead, auth.ScopeWrite, auth.ScopeSession:
		return s, false
	}
	panic(fmt.Sprintf("rest: operation %s has no valid %s", op.OperationID, scopeExtension))
}

// echoPath turns /hosts/{id} into /hosts/:id.
func echoPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			parts[i] = ":" + part[1:len(part)-1]
		}
	}
	return strings.Join(parts, "/")
}

func methodNotAllowed(allowed []string) echo.HandlerFunc {
	allow := strings.Join(allowed, ", ")
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderAllow, allow)
		return echo.NewHTTPError(http.StatusMethodNotAllowed, "this path allows "+allow)
	}
}

// noStore marks every answer of the API, errors included, as not to be
// kept by browsers or proxies: logins, refreshes, new tokens and host
// secrets carry secrets, and every other answer names what an attacker
// would like to read from a shared cache.
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set(echo.HeaderCacheControl, "no-store")
		h.Set("Pragma", "no-cache") // HTTP/1.0 caches
		return next(c)
	}
}

// problems is the API's outermost middleware after noStore: it turns
// every error and panic below it into a problem+json answer, so nothing
// reaches the server-wide error handler.
func (s *Server) problems(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = fmt.Errorf("panic: %v", r)
			}
			if err != nil {
				s.writeProblem(c, err)
				err = nil
			}
		}()
		return next(c)
	}
}

type infoKey struct{}

// requestInfo is what handlers, which see only a context, need of the HTTP request.
type requestInfo struct {
	secure   bool // came over TLS, directly or through a trusted proxy
	clientIP netip.Addr
	// origin is scheme://host the request came in on, as a trusted proxy
	// forwarded it: the broker's URL when DDNSBROKER_PUBLIC_URL is not set.
	origin string
}

func infoFrom(ctx context.Context) requestInfo {
	i, _ := ctx.Value(infoKey{}).(requestInfo)
	return i
}

func (s *Server) requestInfo(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		info := requestInfo{secure: s.secure(r), clientIP: s.clientIP(r)}
		info.origin = s.origin(r, info.secure)
		ctx := context.WithValue(r.Context(), infoKey{}, info)
		// The live stream lasts as long as its client; it bounds its own
		// database work.
		if c.Path() != StreamPath {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, requestTimeout)
			defer cancel()
		}
		c.SetRequest(r.WithContext(ctx))
		return next(c)
	}
}

func (s *Server) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	p := netcalc.Peer(r.RemoteAddr)
	for _, t := range s.proxies {
		if t.Contains(p) {
			return strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
		}
	}
	return false
}

// origin is the scheme and host a request was sent to: the Host header, or
// a trusted proxy's X-Forwarded-Host.
func (s *Server) origin(r *http.Request, secure bool) string {
	host := r.Host
	p := netcalc.Peer(r.RemoteAddr)
	for _, t := range s.proxies {
		if t.Contains(p) {
			if fh, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ","); strings.TrimSpace(fh) != "" {
				host = strings.TrimSpace(fh)
			}
			break
		}
	}
	if secure {
		return "https://" + host
	}
	return "http://" + host
}

// event appends a history line in the caller's transaction, with the
// principal of the request as its actor.
func event(ctx context.Context, q *store.Queries, e store.Event, data map[string]any) error {
	if e.Actor == "" {
		if p, ok := auth.PrincipalFrom(ctx); ok {
			e.Actor = p.Actor()
		}
	}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		e.Data = b
	}
	return q.AddEvent(ctx, e)
}

func principal(ctx context.Context) auth.Principal {
	p, _ := auth.PrincipalFrom(ctx)
	return p
}

// db is the store as the caller of a request sees it: only what they may
// see (every read filters by owner in its SQL), signing the events it
// writes with who they are. A request without a principal sees nothing.
func (s *Server) db(ctx context.Context) *store.Queries {
	return s.store.As(principal(ctx).Access(), actorOf(ctx))
}

// tx runs fn in one transaction of the caller's db.
func (s *Server) tx(ctx context.Context, fn func(q *store.Queries) error) error {
	a, actor := principal(ctx).Access(), actorOf(ctx)
	return s.store.InTx(ctx, func(q *store.Queries) error { return fn(q.As(a, actor)) })
}

// actorOf is who makes a request's changes, for the audit trail.
func actorOf(ctx context.Context) store.Actor {
	a := store.Actor{Source: infoFrom(ctx).clientIP}
	if p, ok := auth.PrincipalFrom(ctx); ok {
		a.UserID = &p.UserID
		if p.TokenID != 0 {
			a.TokenID = &p.TokenID
		}
	}
	return a
}

// Helpers for the generated types.

func addrPtr(a netip.Addr) *string {
	if !a.IsValid() {
		return nil
	}
	s := a.String()
	return &s
}

func prefixPtr(p netip.Prefix) *string {
	if !p.IsValid() {
		return nil
	}
	s := p.String()
	return &s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// convert copies a value into a generated type that has the same fields
// and more (the spec's allOf compositions).
func convert(from, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, to)
}

// plural picks the word for n things.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
