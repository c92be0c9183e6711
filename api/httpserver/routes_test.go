package httpserver

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/dyndns2"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// fullServer mounts every kind of route of the table, without a database:
// only routing is exercised.
func fullServer() *Server {
	log := slog.New(slog.DiscardHandler)
	clientIP := func(*http.Request) netip.Addr { return netip.MustParseAddr("192.0.2.1") }
	return New(Deps{Log: log, ClientIP: clientIP, Version: "test",
		DynDNS:  dyndns2.NewHandler(nil, clientIP, nil, log),
		API:     rest.New(rest.Deps{Log: log, SecretKey: []byte("0123456789abcdef0123456789abcdef")}),
		Metrics: http.NotFoundHandler(), WebApp: true})
}

// TestReservedCoversTheRouteTable keeps the web app's reserved prefixes and
// the route table in step: every route the server answers itself lies under
// a reserved prefix (else an unknown path below it would get the web app's
// page), and every reserved prefix has a route (else it is stale).
func TestReservedCoversTheRouteTable(t *testing.T) {
	used := map[string]bool{}
	for _, r := range fullServer().Echo.Routes() {
		if r.Path == "/*" {
			continue // the web app
		}
		p := "/" + strings.TrimLeft(r.Path, "/")
		found := false
		for _, prefix := range Reserved {
			if strings.HasPrefix(p, prefix) || p+"/" == prefix {
				used[prefix], found = true, true
			}
		}
		if !found {
			t.Errorf("route %s %s is not under any of Reserved %q", r.Method, r.Path, Reserved)
		}
	}
	for _, prefix := range Reserved {
		if !used[prefix] {
			t.Errorf("Reserved prefix %q has no route in the table", prefix)
		}
	}
}

// TestReservedPathsAreNotTheWebApp checks the list reaches the web app: an
// unknown path below a reserved prefix is a 404, a page path is the app.
func TestReservedPathsAreNotTheWebApp(t *testing.T) {
	e := fullServer().Echo
	for _, path := range []string{"/api/v1/nope", "/nic/whatever", "//nic/update/x", "/v3/x", "/myip/x", "/metrics/x"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/hosts/home.example.org", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("GET a page = %d, want the web app's 200", rec.Code)
	}
}
