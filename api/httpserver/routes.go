package httpserver

import (
	"github.com/labstack/echo/v4"

	"github.com/ddnsbroker/ddnsbroker/api/dyndns2"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/frontend"
)

// Reserved are the path prefixes the server answers itself, never the web
// app: an unknown path below them is a 404, not the app's index.html.
// TestReservedCoversTheRouteTable keeps it and the table below in step.
var Reserved = []string{"/api/", "/nic/", "/v3/", "/update", "/healthz", "/readyz", "/myip", "/metrics"}

// routes is the route table: every path the server answers, in one place.
// Echo matches static paths before parameters and both before the web app's
// catch-all, so the order here is for the reader.
func (s *Server) routes(e *echo.Echo) {
	d := s.deps

	// dyndns2 updates: /nic/update, /v3/update, /update (and their
	// spellings); check-IP: /myip, /nic/checkip. A not-found route per path
	// sends other methods to the handler, which answers a plain-text 405.
	if d.DynDNS != nil {
		for _, path := range dyndns2.UpdatePaths {
			e.Match(dyndns2.UpdateMethods, path, d.DynDNS.Update)
			e.RouteNotFound(path, d.DynDNS.Update)
		}
		for _, path := range dyndns2.CheckIPPaths {
			e.Match(dyndns2.CheckIPMethods, path, d.DynDNS.CheckIP)
			e.RouteNotFound(path, d.DynDNS.CheckIP)
		}
	}

	// The JSON API under /api/v1, one route per operation of openapi.yaml,
	// the live event stream (GET /api/v1/events/stream, Server-Sent Events)
	// among them: it gets the same authentication as GET /api/v1/events.
	if d.API != nil {
		d.API.Register(e)
		// Single sign-on's browser flow (OpenID Connect): to the identity
		// provider and back; 404 when none is configured.
		e.GET(rest.SSOStartPath, d.API.SSOStart)
		e.GET(rest.SSOCallbackPath, d.API.SSOCallback)
	}

	// Health: alive, and ready to serve (database reachable, schema current).
	e.GET("/healthz", s.healthz)
	e.HEAD("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.HEAD("/readyz", s.readyz)

	// Prometheus metrics, when a token protects them.
	if d.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(d.Metrics))
	}

	// The web app at /, everything not reserved above.
	if d.WebApp {
		frontend.Register(e, Reserved)
	}
}

// The route table mounts the JSON API through this method.
var _ interface{ Register(*echo.Echo) } = (*rest.Server)(nil)
