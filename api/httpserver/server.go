// Package httpserver wires DDnsBroker's HTTP surface: the whole route table
// in one function, middleware, error mapping and health checks.
package httpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ddnsbroker/ddnsbroker/api/dyndns2"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// Deps are what the server needs.
type Deps struct {
	Store    *store.Store
	Log      *slog.Logger
	ClientIP func(*http.Request) netip.Addr
	Version  string
	// Program names the binary in the commands /readyz suggests ("":
	// ddnsbroker), so that they run when pasted.
	Program string
	// DynDNS answers the dyndns2 update and check-IP paths (nil: none).
	DynDNS *dyndns2.Handler
	// API is the JSON API (nil: none).
	API *rest.Server
	// Metrics serves /metrics (nil: not on this listener).
	Metrics http.Handler
	// WebApp serves the web app at / (false: API-only tests).
	WebApp bool
}

// Server is the configured Echo instance.
type Server struct {
	Echo *echo.Echo
	deps Deps
}

// New builds the server with every route.
func New(d Deps) *Server {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = func(r *http.Request) string { return d.ClientIP(r).String() }
	e.HTTPErrorHandler = errorHandler(d.Log)
	s := &Server{Echo: e, deps: d}
	e.Use(s.requestLog, recoverPanics(d.Log))

	s.routes(e)
	return s
}

func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "version": s.deps.Version})
}

// readyz reports whether this replica can serve: the database answers and
// its schema is the one this binary was built for.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	want := store.LatestVersion()
	body := map[string]any{"status": "ok", "database": "ok", "schema_version": nil, "expected_schema_version": want}
	v, dirty, err := s.deps.Store.SchemaVersion(ctx)
	switch {
	case err != nil:
		body["status"], body["database"] = "unavailable", "unreachable"
		s.deps.Log.Warn("readiness: database unreachable", "err", err)
		return c.JSON(http.StatusServiceUnavailable, body)
	case dirty:
		body["status"], body["schema_version"] = "unavailable", v
		body["database"] = "a migration was interrupted (dirty); see: " + s.command("migrate --help")
		return c.JSON(http.StatusServiceUnavailable, body)
	case v != want:
		body["status"], body["schema_version"] = "unavailable", v
		body["database"] = "schema version differs from this binary's; run: " + s.command("migrate up")
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	body["schema_version"] = v
	return c.JSON(http.StatusOK, body)
}

// command is a command line of this binary to suggest.
func (s *Server) command(args string) string {
	if s.deps.Program == "" {
		return "ddnsbroker " + args
	}
	return s.deps.Program + " " + args
}

// requestLog writes one line per request. It logs the route, never the raw
// URL: query strings carry router credentials.
func (s *Server) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		c.Set("request_id", id)
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		s.deps.Log.Log(c.Request().Context(), requestLevel(c, status), "request", "request_id", id, "method", c.Request().Method,
			"route", c.Path(), "status", status, "duration_ms", float64(time.Since(start).Microseconds())/1000,
			"client", c.RealIP(), "bytes", c.Response().Size)
		return nil
	}
}

// requestLevel keeps the info log for what changes something or went
// wrong: the web app's files, health checks, metrics scrapes and the
// dashboard's polling of the API (reads that succeed, or find nothing) are
// debug; writes and client errors info; server errors error. The dyndns2
// endpoint writes its own line per router update (dyndns2.AnswerLogged):
// its request line is debug.
func requestLevel(c echo.Context, status int) slog.Level {
	logged, _ := c.Get(dyndns2.AnswerLogged).(bool)
	switch m := c.Request().Method; {
	case status >= 500:
		return slog.LevelError
	case logged:
		return slog.LevelDebug
	case m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions:
		return slog.LevelInfo
	case status >= 400 && status != http.StatusNotFound:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func recoverPanics(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					log.Error("panic in handler", "route", c.Path(), "panic", r)
					err = echo.NewHTTPError(http.StatusInternalServerError)
				}
			}()
			return next(c)
		}
	}
}

// errorHandler is the one place where an error becomes a response.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status := http.StatusInternalServerError
		title := http.StatusText(status)
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status = he.Code
			title = http.StatusText(status)
			if m, ok := he.Message.(string); ok && m != "" {
				title = m
			}
		} else {
			log.Error("request failed", "route", c.Path(), "err", err)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, map[string]any{"type": "about:blank", "title": title, "status": status})
	}
}

// Serve listens on addr until ctx ends, then stops accepting, lets requests
// in flight finish for up to 10 s and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.deps.Log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	return nil
}
