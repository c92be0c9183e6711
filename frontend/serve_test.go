package frontend

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/labstack/echo/v4"
)

const testIndex = `<!doctype html><html><head>
</head><body><div><script>
	start("/_app/immutable/entry/start.js");
</script></div></body></html>`

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.Bytes()
}

func testServer(t *testing.T) *echo.Echo {
	t.Helper()
	a, err := newApp(fstest.MapFS{
		"index.html":                       {Data: []byte(testIndex)},
		"favicon.svg":                      {Data: []byte("<svg/>")},
		"_app/version.json":                {Data: []byte(`{"version":"1"}`)},
		"_app/immutable/entry/start.js":    {Data: []byte("export const start = 1;")},
		"_app/immutable/entry/start.js.gz": {Data: gz("export const start = 1;")},
		"_app/immutable/entry/start.js.br": {Data: []byte("brotli bytes")},
		"_app/immutable/assets/app.css":    {Data: []byte("body{}")},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The server's list is api/httpserver.Reserved (which imports this
	// package); its tests check the list against the route table.
	a.reserved = []string{"/api/", "/nic/", "/v3/", "/update", "/healthz", "/readyz", "/myip", "/metrics"}
	e := echo.New()
	e.GET("/api/v1/status", func(c echo.Context) error { return c.String(http.StatusOK, "api") })
	e.GET("/*", a.serve)
	e.HEAD("/*", a.serve)
	return e
}

func get(e *echo.Echo, path string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestServesIndexForAppRoutes(t *testing.T) {
	e := testServer(t)
	for _, path := range []string{"/", "/index.html", "/hosts", "/hosts/12", "/hosts/home.example.org", "/records/new?host_id=3", "/login"} {
		rec := get(e, path)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<!doctype html>") {
			t.Errorf("GET %s = %d %q, want index.html", path, rec.Code, rec.Body.String())
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", path, got)
		}
		if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
			t.Errorf("GET %s: Content-Type %q", path, got)
		}
	}
}

func TestNeverFallsBackForServerPaths(t *testing.T) {
	e := testServer(t)
	for _, path := range []string{"/api/v1/nope", "/api/", "/nic/whatever", "//nic/update/x", "/v3/x", "/healthz", "/readyz",
		"/myip", "/metrics", "/_app/immutable/entry/missing.js", "/_app/other", "/robots.txt", "/app.js"} {
		if rec := get(e, path); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, rec.Code)
		}
	}
	if rec := get(e, "/api/v1/status"); rec.Body.String() != "api" {
		t.Errorf("a registered route lost to the SPA: %q", rec.Body.String())
	}
}

func TestCachesHashedAssetsForever(t *testing.T) {
	e := testServer(t)
	rec := get(e, "/_app/immutable/assets/app.css")
	if rec.Code != http.StatusOK || rec.Body.String() != "body{}" {
		t.Fatalf("GET css = %d %q", rec.Code, rec.Body.String())
	}
	if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control %q", got)
	}
	if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/css") {
		t.Errorf("Content-Type %q", got)
	}
	if got := get(e, "/_app/version.json").Header().Get("Cache-Control"); got != "no-cache" {
		t.Errorf("version.json Cache-Control %q, want no-cache", got)
	}
}

func TestServesPrecompressed(t *testing.T) {
	e := testServer(t)
	rec := get(e, "/_app/immutable/entry/start.js", "Accept-Encoding", "gzip, deflate, br")
	if rec.Header().Get("Content-Encoding") != "br" || rec.Body.String() != "brotli bytes" {
		t.Errorf("br: %q %q", rec.Header().Get("Content-Encoding"), rec.Body.String())
	}
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
	}
	rec = get(e, "/_app/immutable/entry/start.js", "Accept-Encoding", "gzip, br;q=0")
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: Content-Encoding %q", rec.Header().Get("Content-Encoding"))
	}
	r, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := io.ReadAll(r); string(body) != "export const start = 1;" {
		t.Errorf("gzip body %q", body)
	}
	rec = get(e, "/_app/immutable/entry/start.js")
	if rec.Header().Get("Content-Encoding") != "" || rec.Body.String() != "export const start = 1;" {
		t.Errorf("identity: %q %q", rec.Header().Get("Content-Encoding"), rec.Body.String())
	}
	if rec.Header().Get("Vary") != "Accept-Encoding" {
		t.Errorf("Vary %q", rec.Header().Get("Vary"))
	}
	if rec := get(e, "/_app/immutable/entry/start.js.gz"); rec.Code != http.StatusNotFound {
		t.Errorf("a compressed variant is served by its own name: %d", rec.Code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := testServer(t)
	rec := get(e, "/hosts")
	h := rec.Header()
	sum := sha256.Sum256([]byte("\n\tstart(\"/_app/immutable/entry/start.js\");\n"))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self' " + hash, "style-src 'self'", "img-src 'self' data:",
		"connect-src 'self'", "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %q", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers %v", h)
	}
}

func TestRepeatsTheBuildsPolicy(t *testing.T) {
	index := `<head><meta http-equiv="content-security-policy" content="default-src 'self'; script-src 'self' 'sha256-abc='; style-src-attr 'unsafe-hashes' 'sha256-def='"></head>`
	got := contentSecurityPolicy([]byte(index))
	want := "default-src 'self'; script-src 'self' 'sha256-abc='; style-src-attr 'unsafe-hashes' 'sha256-def='; frame-ancestors 'none'"
	if got != want {
		t.Errorf("policy\n got %s\nwant %s", got, want)
	}
}

func TestRevalidatesIndex(t *testing.T) {
	e := testServer(t)
	etag := get(e, "/").Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if rec := get(e, "/records", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match = %d, want 304", rec.Code)
	}
}

func TestHead(t *testing.T) {
	e := testServer(t)
	req := httptest.NewRequest(http.MethodHead, "/hosts", nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD = %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

// TestRegisterServesThisBuild checks the files this binary carries: the
// placeholder, or (with -tags embedfrontend) the real build, whose policy
// must stay strict and allow each of its inline scripts by hash.
func TestRegisterServesThisBuild(t *testing.T) {
	e := echo.New()
	Register(e, nil)
	rec := get(e, "/some/page")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET = %d", rec.Code)
	}
	body := rec.Body.String()
	if !Built {
		if !strings.Contains(body, "make build") {
			t.Errorf("the placeholder does not say how to build the app: %q", body)
		}
		return
	}
	if !metaPolicy.MatchString(body) {
		t.Fatal("the build has no CSP meta tag: svelte.config.js lost its csp option")
	}
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "'unsafe-inline'") || strings.Contains(csp, "'unsafe-eval'") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	// every inline script of index.html is allowed by hash
	for _, m := range inlineScript.FindAllStringSubmatch(body, -1) {
		sum := sha256.Sum256([]byte(m[1]))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, h) {
			t.Errorf("CSP lacks the hash %s of an inline script", h)
		}
	}
}
