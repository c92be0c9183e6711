// Package frontend serves the admin web app: the static SvelteKit build
// (embedded with the build tag embedfrontend, a placeholder page otherwise)
// at /, with index.html as the fallback for the client-side routes.
package frontend

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// assetExt are the extensions of files, never of pages: a missing one is a
// 404. Other paths, even with a dot (/hosts/home.example.org), are pages.
var assetExt = map[string]bool{".js": true, ".mjs": true, ".css": true, ".map": true, ".json": true, ".ico": true,
	".png": true, ".svg": true, ".webp": true, ".woff2": true, ".txt": true, ".webmanifest": true}

// Register serves the web app at / on e. Routes registered on e before or
// after it take precedence (Echo matches static routes before the catch-all).
// reserved are the path prefixes that belong to the server (the route
// table's list, api/httpserver): an unknown path below them is a 404, not
// index.html.
func Register(e *echo.Echo, reserved []string) {
	a, err := newApp(files())
	if err != nil {
		panic(fmt.Errorf("frontend: %w", err)) // the embedded build is broken: fail at start, not per request
	}
	a.reserved = reserved
	e.GET("/*", a.serve)
	e.HEAD("/*", a.serve)
}

type asset struct {
	body     []byte
	etag     string
	encoding map[string][]byte // "br", "gzip": precompressed variants made by the build
}

type app struct {
	assets   map[string]*asset // by cleaned path without the leading slash
	csp      string
	reserved []string
}

func newApp(fsys fs.FS) (*app, error) {
	a := &app{assets: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		a.assets[name] = &asset{body: body}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for name, as := range a.assets {
		for enc, ext := range map[string]string{"br": ".br", "gzip": ".gz"} {
			orig, ok := strings.CutSuffix(name, ext)
			if !ok || a.assets[orig] == nil {
				continue
			}
			if a.assets[orig].encoding == nil {
				a.assets[orig].encoding = map[string][]byte{}
			}
			a.assets[orig].encoding[enc] = as.body
		}
	}
	for name, as := range a.assets {
		if strings.HasSuffix(name, ".br") || strings.HasSuffix(name, ".gz") {
			if _, isVariant := a.assets[name[:strings.LastIndexByte(name, '.')]]; isVariant {
				delete(a.assets, name)
				continue
			}
		}
		sum := sha256.Sum256(as.body)
		as.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
	}
	index := a.assets["index.html"]
	if index == nil {
		return nil, fmt.Errorf("index.html missing from the build")
	}
	a.csp = contentSecurityPolicy(index.body)
	return a, nil
}

var (
	metaPolicy   = regexp.MustCompile(`<meta http-equiv="content-security-policy" content="([^"]*)"`)
	inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
)

// contentSecurityPolicy is the policy SvelteKit wrote into index.html
// (configured in svelte.config.js, with the hashes of its inline bootstrap
// script), plus frame-ancestors, which a <meta> policy cannot carry. A page
// without one gets a strict policy that allows its inline scripts by hash.
func contentSecurityPolicy(index []byte) string {
	if m := metaPolicy.FindSubmatch(index); m != nil {
		return html.UnescapeString(string(m[1])) + "; frame-ancestors 'none'"
	}
	scripts := []string{"'self'"}
	for _, m := range inlineScript.FindAllSubmatch(index, -1) {
		sum := sha256.Sum256(m[1])
		scripts = append(scripts, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return "default-src 'self'; script-src " + strings.Join(scripts, " ") +
		"; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
}

func (a *app) serve(c echo.Context) error {
	p := c.Request().URL.Path
	if a.isReserved(p) {
		return echo.ErrNotFound
	}
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	as := a.assets[name]
	if as == nil && (strings.HasPrefix(name, "_app/") || assetExt[path.Ext(name)]) {
		return echo.ErrNotFound // a missing file, not a page: index.html would be served as JavaScript
	}
	if as == nil || name == "" {
		name, as = "index.html", a.assets["index.html"]
	}

	h := c.Response().Header()
	h.Set("Content-Security-Policy", a.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if strings.HasPrefix(name, "_app/immutable/") {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)

	body, etag := as.body, as.etag
	if len(as.encoding) > 0 {
		h.Add("Vary", "Accept-Encoding")
		if enc := pickEncoding(c.Request().Header.Get("Accept-Encoding"), as.encoding); enc != "" {
			body = as.encoding[enc]
			etag = strings.TrimSuffix(etag, `"`) + "-" + enc + `"`
			h.Set("Content-Encoding", enc)
		}
	}
	h.Set("ETag", etag)
	http.ServeContent(c.Response(), c.Request(), name, time.Time{}, bytes.NewReader(body))
	return nil
}

func (a *app) isReserved(p string) bool {
	p = "/" + strings.TrimLeft(p, "/") // "//nic/update" is how some routers spell it
	for _, r := range a.reserved {
		if strings.HasPrefix(p, r) || p+"/" == r {
			return true
		}
	}
	return false
}

// pickEncoding chooses brotli over gzip among those the client accepts.
func pickEncoding(accept string, have map[string][]byte) string {
	ok := map[string]bool{}
	for part := range strings.SplitSeq(accept, ",") {
		token, params, _ := strings.Cut(part, ";")
		if v, found := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); found {
			if q, err := strconv.ParseFloat(v, 64); err != nil || q == 0 {
				continue
			}
		}
		ok[strings.ToLower(strings.TrimSpace(token))] = true
	}
	for _, enc := range []string{"br", "gzip"} {
		if ok[enc] && have[enc] != nil {
			return enc
		}
	}
	return ""
}
