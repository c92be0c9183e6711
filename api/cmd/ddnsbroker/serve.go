package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/config"
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
	// A soft memory limit keeps bursts of argon2id verifications (19 MiB
	// each, garbage the moment they end) from doubling the heap before the
	// collector runs; GOMEMLIMIT overrides it.
	ownLimit := env.getenv("GOMEMLIMIT") == ""
	if ownLimit {
		debug.SetMemoryLimit(memoryLimit(auth.DefaultHostLimits(), 0))
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

	a, err := app.Build(*cfg, app.Options{Store: st, Log: log, Version: version, Program: env.command(), WebApp: true})
	if err != nil {
		return err
	}
	if ownLimit {
		a.Directory.Loaded = func(n int) { debug.SetMemoryLimit(memoryLimit(auth.DefaultHostLimits(), n)) }
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("%s: %w", config.Listen.Env(), err)
	}
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("%s: %w", config.MetricsAddr.Env(), err)
		}
		msrv := &http.Server{Handler: a.Metrics.Handler(""), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = msrv.Serve(mln) }()
		defer msrv.Close()
		log.Info("serving metrics", "url", "http://"+mln.Addr().String()+"/metrics")
	}

	bgctx, stopBackground := context.WithCancel(context.Background())
	background := make(chan struct{})
	go func() { defer close(background); a.Run(bgctx) }()
	log.Info("serving", "url", "http://"+ln.Addr().String(), "worker", a.Dispatcher.Worker())
	err = a.Server.Serve(ctx, ln)
	log.Info("shutting down")
	stopBackground()
	<-background
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

// memoryLimit is the Go runtime's soft memory limit for serve: 40 MiB for
// everything else (at 100,000 hosts the steady heap besides the host
// directory is about half of that), the host directory of hosts hosts, and
// the memory of the argon2id verifications that may run at once. The
// collector works harder only while a burst of verifications is near it.
// The process's resident size is that plus the binary's pages (about
// 25 MB): at 100,000 hosts the limit keeps it under 200 MB.
func memoryLimit(l auth.HostLimits, hosts int) int64 {
	return 40<<20 + int64(hosts)*auth.DirectoryBytesPerHost + int64(l.Verifications)*int64(l.Params.Memory)<<10
}
