// Package app builds DDnsBroker from its settings: the one place where the
// store, broker, authentication, providers, dispatcher, notifier, JSON API,
// dyndns2 endpoint and route table are wired together, and where their
// background workers are started and stopped. `serve` and the tests' harness
// both call Build, so that what a test exercises is what runs; what a test
// changes (a password cost, a poll interval, limits) is a field of Options,
// not a second wiring.
package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/delivery"
	"github.com/ddnsbroker/ddnsbroker/api/drift"
	"github.com/ddnsbroker/ddnsbroker/api/dyndns2"
	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/feed"
	"github.com/ddnsbroker/ddnsbroker/api/housekeeping"
	"github.com/ddnsbroker/ddnsbroker/api/httpserver"
	"github.com/ddnsbroker/ddnsbroker/api/metrics"
	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/sso"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// Options are what the process around the application supplies, and what
// tests change; everything else comes from config.Serve.
type Options struct {
	// Store is the opened (and migrated) database; required.
	Store *store.Store
	// Log receives every component's log (nil: discarded).
	Log *slog.Logger
	// Version is the binary's version: /status, /readyz, user agents.
	Version string
	// Program names the binary in the commands /readyz suggests.
	Program string
	// WebApp serves the embedded web app at / (tests of the API leave it off).
	WebApp bool
	// PasswordParams hash passwords and secrets (zero: auth.DefaultParams;
	// tests pass auth.TestParams).
	PasswordParams auth.Params
	// HostLimits bound the routers' authentication (nil:
	// auth.DefaultHostLimits); Build sets their Sources and, when
	// PasswordParams is set, their Params.
	HostLimits *auth.HostLimits
	// LoginLimits bound logins (zero: rest.DefaultLoginLimits); Build sets
	// their Sources.
	LoginLimits rest.LoginLimits
	// ServiceTestBurst is rest.Deps.ServiceTestBurst (zero: its default).
	ServiceTestBurst int
	// Poll is how often the dispatcher and the notifier look for work
	// without a notification (zero: their defaults).
	Poll time.Duration
	// DigestAfter is how long a failure waits for others to join its
	// notification (zero: notify's default; negative: no wait).
	DigestAfter time.Duration
}

// checkIPBurst is how many check-IP requests one source may make in a row
// before it is held to one a second.
const checkIPBurst = 30

// checkIPSources bounds the sources the check-IP limiter remembers.
const checkIPSources = 100_000

// ssoTimeout bounds each request to the single sign-on provider.
const ssoTimeout = 10 * time.Second

// App is the built application. Its parts are exported for serve (listening,
// logging) and for tests, which drive them directly.
type App struct {
	Store      *store.Store
	Box        *secretbox.Box
	Broker     *broker.Broker
	Failures   *auth.FailureLog
	Hosts      *auth.Hosts
	Directory  *auth.HostDirectory
	Metrics    *metrics.Metrics
	Providers  *provider.Registry
	Dispatcher *delivery.Dispatcher
	Notifier   *notify.Notifier
	Webhooks   *notify.Sender
	Channels   *notify.Channels
	Drift      *drift.Checker
	// Feed wakes the live event streams of the API.
	Feed   *feed.Hub
	API    *rest.Server
	DynDNS *dyndns2.Handler
	// Server holds every HTTP route; Server.Echo is the http.Handler.
	Server *httpserver.Server

	cfg config.Serve
	log *slog.Logger
}

// Build wires the application from cfg and opt. It starts nothing: Run
// starts the background workers, and the caller serves Server.Echo.
func Build(cfg config.Serve, opt Options) (*App, error) {
	if opt.Store == nil {
		return nil, errors.New("app: a store is required")
	}
	if len(cfg.SecretKey) == 0 {
		return nil, errors.New("app: a secret key is required")
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st := opt.Store
	a := &App{Store: st, cfg: cfg, log: log, Box: secretbox.New(cfg.SecretKey)}

	sources := auth.SourceGroups{IPv6Prefix: cfg.IPv6SourcePrefix}
	hostLimits := auth.DefaultHostLimits()
	if opt.HostLimits != nil {
		hostLimits = *opt.HostLimits
	}
	hostLimits.Sources = sources
	if opt.PasswordParams != (auth.Params{}) {
		hostLimits.Params = opt.PasswordParams
	}
	loginLimits := opt.LoginLimits
	loginLimits.Sources = sources

	a.Broker = broker.New(st, log)
	a.Failures = auth.NewFailureLog(st, log)
	a.Hosts = auth.NewHosts(st, secretbox.DeriveKey(cfg.SecretKey, "host credential cache"), hostLimits, a.Failures, log)
	// Hosts finds routers in memory (a nochg reads no database); Run keeps
	// the directory current.
	a.Directory = auth.NewHostDirectory(st, log)
	a.Hosts.UseDirectory(a.Directory)
	a.Metrics = metrics.New(st)
	met := a.Metrics

	// Services and webhooks reach only what the destination policy allows.
	policy := egress.DefaultPolicy()
	policy.Allow = cfg.AllowTargets
	a.Providers = provider.New(provider.Deps{HTTP: egress.NewClient(policy, provider.RequestTimeout), UserAgent: provider.UserAgent(opt.Version)})
	a.Webhooks = notify.NewSender(opt.Version, egress.NewClient(policy, notify.Timeout))
	a.Channels = notify.NewChannels(policy, a.Webhooks)

	dcfg := delivery.DefaultConfig()
	dcfg.Observe = func(protocol string, r provider.Result, d time.Duration) {
		met.Deliveries.WithLabelValues(protocol, r.String()).Inc()
		met.DeliverySeconds.WithLabelValues(protocol).Observe(d.Seconds())
	}
	dcfg.Workers, dcfg.PerService = cfg.Workers, cfg.ServiceWorkers
	dcfg.RetryBase, dcfg.RetryMax, dcfg.BlockFor, dcfg.Lease = cfg.RetryBase, cfg.RetryMax, cfg.BlockFor, cfg.Lease
	if opt.Poll > 0 {
		dcfg.Poll = opt.Poll
	}
	a.Dispatcher = delivery.NewDispatcher(st, a.Box, a.Providers, dcfg, log)

	ncfg := notify.DefaultConfig()
	ncfg.StaleAfter = cfg.StaleAfter
	if opt.Poll > 0 {
		ncfg.Poll = opt.Poll
	}
	ncfg.DigestAfter = opt.DigestAfter
	a.Notifier = notify.New(st, a.Box, a.Webhooks, ncfg, log).WithChannels(a.Channels).WithHostWatcher(a.Broker)
	a.Drift = drift.New(st, a.Broker, log)

	clientIP := httpserver.ClientIP(cfg.TrustedProxies)
	checkIP := auth.NewKeyedLimiter(rate.Every(time.Second), checkIPBurst, checkIPSources)
	checkIPAllow := func(key string) (bool, time.Duration) {
		ok, wait := checkIP.Allow(key)
		if !ok {
			met.RateLimited.WithLabelValues("checkip").Inc()
		}
		return ok, wait
	}
	a.DynDNS = dyndns2.NewHandler(httpserver.DynDNSBackend{Hosts: a.Hosts, Broker: a.Broker, AuthFailed: func(reason string) {
		met.AuthFailures.WithLabelValues(reason).Inc()
		if reason == "rate_limited" {
			met.RateLimited.WithLabelValues("auth").Inc()
		}
	}}, clientIP, checkIPAllow, log)
	a.DynDNS.Observe(func(code string) { met.DynDNSAnswers.WithLabelValues(code).Inc() })

	// Single sign-on: the provider is the admin's choice (it may live on
	// the LAN), so it is reached directly, not through the services' policy.
	var ssoProvider *sso.Provider
	if o := cfg.OIDC; o.Issuer != "" {
		ssoProvider = sso.New(sso.Config{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
			AdminGroup: o.AdminGroup, Name: o.Name, HTTP: &http.Client{Timeout: ssoTimeout}})
	}

	a.Feed = feed.New(st, log)
	a.API = rest.New(rest.Deps{SSO: ssoProvider, Store: st, Feed: a.Feed, Broker: a.Broker, Providers: a.Providers, Box: a.Box, SecretKey: cfg.SecretKey,
		Log: log, ClientIP: clientIP, TrustedProxies: cfg.TrustedProxies, StaleAfter: cfg.StaleAfter,
		WebhookSender: a.Webhooks, Channels: a.Channels, PublicURL: cfg.PublicURL, Version: opt.Version,
		MaxRecordsPerHost: cfg.MaxRecordsPerHost, MaxRecordsPerService: cfg.MaxRecordsPerService,
		PasswordParams: opt.PasswordParams, Failures: a.Failures, LoginLimits: loginLimits,
		ServiceTestBurst: opt.ServiceTestBurst, HostChanged: a.Directory.Forget})

	var metricsRoute http.Handler
	if cfg.MetricsToken != "" {
		metricsRoute = met.Handler(cfg.MetricsToken)
	}
	a.Server = httpserver.New(httpserver.Deps{Store: st, Log: log, ClientIP: clientIP, Version: opt.Version,
		Program: opt.Program, DynDNS: a.DynDNS, API: a.API, Metrics: metricsRoute, WebApp: opt.WebApp})
	return a, nil
}

// lastSeenFlush is how often the broker writes the hosts' last-seen times
// it batches.
const lastSeenFlush = 2 * time.Second

// housekeepingEvery is how often old history is pruned.
const housekeepingEvery = time.Hour

// Run runs every background worker (host directory, failure log,
// last-seen flush, dispatcher, notifier, housekeeping, drift check, the
// live streams' LISTEN) until ctx ends, and returns when all of them
// stopped, their last flushes written.
func (a *App) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, run := range []func(context.Context){
		a.Directory.Run,
		func(ctx context.Context) { a.Failures.Run(ctx, auth.FailureFlushInterval) },
		func(ctx context.Context) { a.Broker.Run(ctx, lastSeenFlush) },
		a.Dispatcher.Run,
		a.Notifier.Run,
		func(ctx context.Context) { housekeeping.Run(ctx, a.Store, a.cfg.Retention, housekeepingEvery, a.log) },
		a.Drift.Run,
		a.Feed.Run,
	} {
		wg.Go(func() { run(ctx) })
	}
	wg.Wait()
}
