package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
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
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

func runServe(ctx context.Context, env *environ, args []string) error {
	set := config.NewSet("serve", "Run the server: dyndns2 endpoint, JSON API, web app and delivery dispatcher.\nMigrates the database on start unless --no-migrate.", env.getenv, config.ServeOptions...)
	if err := set.Parse(args, env.stdout); err != nil {
		return err
	}
	if len(set.Args()) > 0 {
		set.Usage(env.stderr)
		return errUsage
	}
	cfg, err := set.LoadServe()
	if err != nil {
		return err
	}
	log := newLogger(env.stderr, cfg.LogLevel, cfg.LogFormat)
	hostLimits := auth.DefaultHostLimits()
	sources := auth.SourceGroups{IPv6Prefix: cfg.IPv6SourcePrefix}
	hostLimits.Sources = sources
	// A soft memory limit keeps bursts of argon2id verifications (19 MiB
	// each, garbage the moment they end) from doubling the heap before the
	// collector runs; GOMEMLIMIT overrides it.
	if env.getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit(hostLimits))
	}
	log.Info("starting ddnsbroker", "version", version, "listen", cfg.Listen)

	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	// Wait for a database that is still starting; fail at once on a wrong
	// password or database name.
	if err := retryDatabase(ctx, log, databaseWait, func() error {
		if cfg.NoMigrate {
			return st.Ping(ctx)
		}
		return migrateUp(cfg.DatabaseURL)
	}); err != nil {
		return dirtyHint(env, err)
	}
	if err := ensureAdmin(ctx, st, cfg.AdminPassword, log, passwdHint(env, cfg.DatabaseURL)); err != nil {
		return databaseError(err)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("%s: %w", config.Listen.Env(), err)
	}
	box := secretbox.New(cfg.SecretKey)
	brk := broker.New(st, log)
	failures := auth.NewFailureLog(st, log)
	hosts := auth.NewHosts(st, secretbox.DeriveKey(cfg.SecretKey, "host credential cache"), hostLimits, failures, log)
	met := metrics.New(st)
	checkIP := auth.NewKeyedLimiter(rate.Every(time.Second), 30, 100_000)
	checkIPAllow := func(key string) (bool, time.Duration) {
		ok, wait := checkIP.Allow(key)
		if !ok {
			met.RateLimited.WithLabelValues("checkip").Inc()
		}
		return ok, wait
	}
	clientIP := httpserver.ClientIP(cfg.TrustedProxies)
	dyn := dyndns2.NewHandler(httpserver.DynDNSBackend{Hosts: hosts, Broker: brk, AuthFailed: func(reason string) {
		met.AuthFailures.WithLabelValues(reason).Inc()
		if reason == "rate_limited" {
			met.RateLimited.WithLabelValues("auth").Inc()
		}
	}}, clientIP, checkIPAllow, log)
	dyn.Observe(func(code string) { met.DynDNSAnswers.WithLabelValues(code).Inc() })
	dcfg := delivery.DefaultConfig()
	dcfg.Observe = func(protocol string, r provider.Result, d time.Duration) {
		met.Deliveries.WithLabelValues(protocol, r.String()).Inc()
		met.DeliverySeconds.WithLabelValues(protocol).Observe(d.Seconds())
	}
	dcfg.Workers, dcfg.PerService = cfg.Workers, cfg.ServiceWorkers
	dcfg.RetryBase, dcfg.RetryMax, dcfg.BlockFor, dcfg.Lease = cfg.RetryBase, cfg.RetryMax, cfg.BlockFor, cfg.Lease
	// Services and webhooks reach only what the destination policy allows.
	policy := egress.DefaultPolicy()
	policy.Allow = cfg.AllowTargets
	providers := provider.New(provider.Deps{HTTP: egress.NewClient(policy, provider.RequestTimeout), UserAgent: provider.UserAgent(version)})
	disp := delivery.NewDispatcher(st, box, providers, dcfg, log)

	webhooks := notify.NewSender(version, egress.NewClient(policy, notify.Timeout))
	ncfg := notify.DefaultConfig()
	ncfg.StaleAfter = cfg.StaleAfter
	ntf := notify.New(st, box, webhooks, ncfg, log)

	hub := feed.New(st, log)
	api := rest.New(rest.Deps{Store: st, Feed: hub, Broker: brk, Providers: providers, Box: box, SecretKey: cfg.SecretKey, Log: log, ClientIP: clientIP,
		TrustedProxies: cfg.TrustedProxies, StaleAfter: cfg.StaleAfter, WebhookSender: webhooks,
		PublicURL: cfg.PublicURL, Version: version, MaxRecordsPerHost: cfg.MaxRecordsPerHost, MaxRecordsPerService: cfg.MaxRecordsPerService,
		Failures: failures, LoginLimits: rest.LoginLimits{Sources: sources}})

	var metricsRoute http.Handler
	if cfg.MetricsToken != "" {
		metricsRoute = met.Handler(cfg.MetricsToken)
	}
	srv := httpserver.New(httpserver.Deps{Store: st, Log: log, ClientIP: clientIP, Version: version, Program: env.command(),
		DynDNS: dyn, API: api, Metrics: metricsRoute, WebApp: true})

	var wg sync.WaitGroup
	bgctx, stopBackground := context.WithCancel(context.Background())
	wg.Add(7)
	go func() { defer wg.Done(); hub.Run(bgctx) }()
	go func() { defer wg.Done(); failures.Run(bgctx, auth.FailureFlushInterval) }()
	go func() { defer wg.Done(); brk.Run(bgctx, 2*time.Second) }()
	go func() { defer wg.Done(); disp.Run(bgctx) }()
	go func() { defer wg.Done(); ntf.Run(bgctx) }()
	go func() { defer wg.Done(); housekeeping.Run(bgctx, st, cfg.Retention, time.Hour, log) }()
	go func() { defer wg.Done(); drift.New(st, log).Run(bgctx) }()
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			stopBackground()
			wg.Wait()
			return fmt.Errorf("%s: %w", config.MetricsAddr.Env(), err)
		}
		msrv := &http.Server{Handler: met.Handler(""), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = msrv.Serve(mln) }()
		defer msrv.Close()
		log.Info("serving metrics", "url", "http://"+mln.Addr().String()+"/metrics")
	}

	log.Info("serving", "url", "http://"+ln.Addr().String(), "worker", disp.Worker())
	err = srv.Serve(ctx, ln)
	log.Info("shutting down")
	stopBackground()
	wg.Wait()
	return err
}

// databaseWait is how long serve waits for a database that cannot be
// reached yet.
const databaseWait = 30 * time.Second

func migrateUp(url string) error {
	m, err := store.NewMigrator(url)
	if err != nil {
		return err
	}
	defer m.Close()
	return m.Up()
}

// passwdHint is the command that changes admin's password on the
// database serve uses: bare when the admin commands find that database by
// themselves (the private PostgreSQL of make run), otherwise with the
// server's DDNSBROKER_DATABASE_URL, which a hint must not print.
func passwdHint(env *environ, url string) string {
	hint := env.command("user", "passwd", "admin")
	if c, ok := findPrivateCluster(env.checkouts); ok && c.url == url {
		return hint
	}
	return hint + " (with the server's " + config.DatabaseURL.Env() + " set)"
}

// ensureAdmin creates the user admin on the first start; hint is how to
// change its password.
func ensureAdmin(ctx context.Context, st *store.Store, password string, log *slog.Logger, hint string) error {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	generated := password == ""
	if generated {
		if password, err = auth.NewSecret(); err != nil {
			return err
		}
	}
	hash, err := auth.HashPassword(auth.DefaultParams, password)
	if err != nil {
		return err
	}
	if _, err := st.CreateUser(ctx, "admin", hash); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil // another replica created it at the same moment
		}
		return err
	}
	if generated {
		log.Warn("created the first user: admin with password "+password+" — change it under Account in the web app, or with: "+hint,
			"username", "admin")
	} else {
		log.Info("created the first user admin with the password from DDNSBROKER_ADMIN_PASSWORD")
	}
	return nil
}

// memoryLimit is the Go runtime's soft memory limit for serve: 56 MiB for
// everything else (at 100,000 hosts the steady heap is a third of that) plus
// the memory of the argon2id verifications that may run at once. The
// collector works harder only while a burst of verifications is near it.
func memoryLimit(l auth.HostLimits) int64 {
	return 56<<20 + int64(l.Verifications)*int64(l.Params.Memory)<<10
}
