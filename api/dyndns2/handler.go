package dyndns2

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/ratelimit"
)

// contentType is spelled as dyndns2 servers send it (lowercase utf-8, see
// doc.go); echo's constant says UTF-8.
const contentType = "text/plain; charset=utf-8"

// maxHostnames is Dyn's cap on the `hostname` list; more is answered `numhost`.
const maxHostnames = 20

// backendTimeout bounds how long one update waits for the backend (the
// database, the hash verification queue): a database that stopped answering
// must turn into `911` within 5 s, which routers retry later, not into a
// request that hangs until the router gives up.
const backendTimeout = 4 * time.Second

// Answer codes, as clients parse them from the first word of each line.
const (
	codeGood       = "good"
	codeNochg      = "nochg"
	codeBadauth    = "badauth"
	codeNotfqdn    = "notfqdn"
	codeNohost     = "nohost"
	codeNumhost    = "numhost"
	codeBadrequest = "badrequest"
	codeAbuse      = "abuse"
	code911        = "911"
)

// Handler serves the dyndns2 update paths and the check-IP paths.
type Handler struct {
	backend      Backend
	clientIP     func(*http.Request) netip.Addr
	checkIPLimit func(key string) (bool, time.Duration)
	log          *slog.Logger
	observe      func(code string)
}

// Observe registers fn to be told the answer code of every update request
// (for metrics); call it before serving.
func (h *Handler) Observe(fn func(code string)) { h.observe = fn }

// NewHandler builds the handler. clientIP returns the request's client address
// (the TCP peer, or the forwarded address when the peer is a trusted proxy);
// nil means the TCP peer. checkIPLimit decides whether a check-IP request from
// an address may proceed and, if not, when to come back; nil means no limit.
// log nil discards.
func NewHandler(b Backend, clientIP func(*http.Request) netip.Addr, checkIPLimit func(key string) (bool, time.Duration), log *slog.Logger) *Handler {
	if clientIP == nil {
		clientIP = peerAddr
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{backend: b, clientIP: clientIP, checkIPLimit: checkIPLimit, log: log}
}

// peerAddr is the TCP peer of r (netcalc.Peer), the client address when
// no proxy is trusted.
func peerAddr(r *http.Request) netip.Addr { return netcalc.Peer(r.RemoteAddr) }

// UpdatePaths are the update endpoints clients are configured with
// (/nic/update, /v3/update, /update), each also with a trailing slash and
// with a doubled leading slash (UniFi's inadyn sends //nic/update). Each exact
// path is answered directly: a redirect is fatal for inadyn. The route table
// (api/httpserver) mounts them for every method, so that a wrong method gets
// the protocol's plain-text 405 instead of the JSON error of the API.
var UpdatePaths = spellings("/nic/update", "/v3/update", "/update")

// CheckIPPaths answer the caller's own address.
var CheckIPPaths = []string{"/myip", "/nic/checkip"}

// UpdateMethods and CheckIPMethods are the methods each kind of path answers.
var (
	UpdateMethods  = []string{http.MethodGet, http.MethodPost, http.MethodHead}
	CheckIPMethods = []string{http.MethodGet, http.MethodHead}
)

func spellings(paths ...string) []string {
	var all []string
	for _, p := range paths {
		all = append(all, p, p+"/", "/"+p, "/"+p+"/")
	}
	return all
}

// Update answers one dyndns2 update request.
func (h *Handler) Update(c echo.Context) error {
	r := c.Request()
	switch r.Method {
	case http.MethodGet, http.MethodPost:
	case http.MethodHead:
		// Probes and monitors: answer without authenticating or storing.
		setPlainHeaders(c)
		h.logAnswer(c, http.StatusOK, "", 0, nil)
		return c.NoContent(http.StatusOK)
	default:
		c.Response().Header().Set("Allow", "GET, HEAD, POST")
		return h.answer(c, http.StatusMethodNotAllowed, 0, nil, codeBadrequest+" method not allowed")
	}

	ps, err := readParams(c.Response(), r)
	if err != nil {
		return h.answer(c, http.StatusBadRequest, 0, nil, codeBadrequest+" "+err.Error())
	}
	username, secret, ok := credentials(r, ps)
	if !ok {
		return h.challenge(c, 0)
	}
	source := h.clientIP(r).Unmap()
	ctx, cancel := context.WithTimeout(r.Context(), backendTimeout)
	defer cancel()
	host, err := h.backend.Authenticate(ctx, username, secret, source)
	var limited *ratelimit.Error
	switch {
	case err == nil:
	case errors.Is(err, ErrBadAuth):
		return h.challenge(c, 0)
	case errors.As(err, &limited):
		c.Response().Header().Set("Retry-After", ratelimit.Header(limited.RetryAfter))
		return h.answer(c, http.StatusTooManyRequests, 0, nil, codeAbuse)
	default:
		return h.answer(c, http.StatusServiceUnavailable, 0, err, code911)
	}
	if !host.Enabled {
		return h.answer(c, http.StatusOK, host.ID, nil, codeAbuse)
	}

	names := ps.items("hostname")
	if len(names) > maxHostnames {
		return h.answer(c, http.StatusOK, host.ID, nil, codeNumhost)
	}
	addrs, err := parseAddresses(ps)
	if err != nil {
		return h.answer(c, http.StatusBadRequest, host.ID, nil, codeBadrequest+" "+safeReason(err))
	}
	if !addrs.any() {
		// Nothing said about any family: the client means "the address you
		// see me coming from" (ddclient's empty myip=, curl without myip).
		a, err := netcalc.CheckHostAddress(source)
		if err != nil {
			return h.answer(c, http.StatusBadRequest, host.ID, nil,
				codeBadrequest+" no address given and the client address cannot be used")
		}
		if a.Is4() {
			_ = addrs.setAddr(slot4, a)
			addrs.source[slot4] = SourceConnection
		} else {
			_ = addrs.setAddr(slot6, a)
			addrs.source[slot6] = SourceConnection
		}
	}
	if !host.IPv4Enabled {
		addrs.set[slot4] = false
	}
	if !host.IPv6Enabled {
		addrs.set[slot6], addrs.set[slotPrefix] = false, false
	}

	lines, anyHost := hostLines(host, names)
	if !anyHost {
		return h.answer(c, http.StatusOK, host.ID, nil, lines...)
	}
	u := Update{Source: Sources{IPv4: addrs.source[slot4], IPv6: addrs.source[slot6], Prefix: addrs.source[slotPrefix]}}
	if addrs.set[slot4] {
		u.IPv4 = addrs.addr[slot4]
	}
	if addrs.set[slot6] {
		u.IPv6 = addrs.addr[slot6]
	}
	if addrs.set[slotPrefix] {
		u.Prefix = addrs.prefix
	}
	res, err := h.backend.Apply(ctx, host, u)
	if err != nil {
		return h.answer(c, http.StatusServiceUnavailable, host.ID, err, code911)
	}
	line := codeNochg
	if res.Changed {
		line = codeGood
	}
	if ips := echoIPs(addrs, res); ips != "" {
		line += " " + ips
	}
	for i, l := range lines {
		if l == "" {
			lines[i] = line
		}
	}
	return h.answer(c, http.StatusOK, host.ID, nil, lines...)
}

// credentials finds the username and secret, first match wins: Basic, then
// username/password, then user/pass. A source counts only with both parts.
func credentials(r *http.Request, ps params) (username, secret string, ok bool) {
	if u, p, ok := r.BasicAuth(); ok && u != "" && p != "" {
		return u, p, true
	}
	for _, names := range [][2]string{{"username", "password"}, {"user", "pass"}} {
		if u, p := ps.first(names[0]), ps.first(names[1]); u != "" && p != "" {
			return u, p, true
		}
	}
	return "", "", false
}

// hostLines returns one answer line per requested name: "" where the name
// belongs to the host (filled in after Apply), notfqdn or nohost otherwise.
// No names at all give one line. anyHost reports whether any line is "".
func hostLines(host Host, names []item) (lines []string, anyHost bool) {
	if len(names) == 0 {
		return []string{""}, true
	}
	own := strings.TrimSuffix(strings.ToLower(host.FQDN), ".")
	lines = make([]string, len(names))
	for i, n := range names {
		name, err := dnsname.Normalize(n.value)
		switch {
		case err != nil:
			lines[i] = codeNotfqdn
		case name == own || contains(host.Names, name):
			lines[i], anyHost = "", true
		default:
			lines[i] = codeNohost
		}
	}
	return lines, anyHost
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if strings.TrimSuffix(strings.ToLower(n), ".") == name {
			return true
		}
	}
	return false
}

// echoIPs lists the current addresses of the families the request touched,
// IPv4 first. A request that sent only a prefix gets the host's IPv6 address,
// or the prefix while there is none, so that it still sees an IPv6 value.
func echoIPs(a addresses, res Result) string {
	var ips []string
	if a.set[slot4] && res.IPv4.IsValid() {
		ips = append(ips, res.IPv4.String())
	}
	switch {
	case a.set[slot6] && res.IPv6.IsValid():
		ips = append(ips, res.IPv6.String())
	case a.set[slotPrefix] && res.IPv6.IsValid():
		ips = append(ips, res.IPv6.String())
	case a.set[slotPrefix] && res.Prefix.IsValid():
		ips = append(ips, res.Prefix.String())
	}
	return strings.Join(ips, ",")
}

// challenge asks for Basic credentials: GNU wget sends the ones from a
// user:pass@ URL only after it.
func (h *Handler) challenge(c echo.Context, hostID int64) error {
	c.Response().Header().Set("WWW-Authenticate", `Basic realm="ddnsbroker"`)
	return h.answer(c, http.StatusUnauthorized, hostID, nil, codeBadauth)
}

// CheckIP answers the caller's address, for clients that discover their
// public address from the broker.
func (h *Handler) CheckIP(c echo.Context) error {
	r := c.Request()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		c.Response().Header().Set("Allow", "GET, HEAD")
		return h.answer(c, http.StatusMethodNotAllowed, 0, nil, codeBadrequest+" method not allowed")
	}
	a := h.clientIP(r).Unmap().WithZone("")
	if !a.IsValid() {
		return h.answer(c, http.StatusServiceUnavailable, 0, errors.New("no client address"), code911)
	}
	key := a.String()
	if h.checkIPLimit != nil {
		if ok, wait := h.checkIPLimit(key); !ok {
			c.Response().Header().Set("Retry-After", ratelimit.Header(wait))
			return h.answer(c, http.StatusTooManyRequests, 0, nil, codeAbuse)
		}
	}
	setPlainHeaders(c)
	return c.Blob(http.StatusOK, contentType, []byte(key+"\n"))
}

func setPlainHeaders(c echo.Context) {
	hdr := c.Response().Header()
	hdr.Set(echo.HeaderContentType, contentType)
	hdr.Set(echo.HeaderCacheControl, "no-store")
}

// answer writes lines as the plain-text body, one per line with a trailing
// newline, and logs the outcome. Neither the query string nor credentials are
// logged: passwords travel in the query.
func (h *Handler) answer(c echo.Context, status int, hostID int64, cause error, lines ...string) error {
	// The code logged is the outcome for the host: the first line that is
	// not about a foreign or malformed name, if any.
	code, _, _ := strings.Cut(lines[0], " ")
	for _, l := range lines {
		if w, _, _ := strings.Cut(l, " "); w != codeNotfqdn && w != codeNohost {
			code = w
			break
		}
	}
	h.logAnswer(c, status, code, hostID, cause)
	setPlainHeaders(c)
	return c.Blob(status, contentType, []byte(strings.Join(lines, "\n")+"\n"))
}

// AnswerLogged is set on the echo.Context of a request whose answer was
// logged here, so that the server's request line need not repeat it.
const AnswerLogged = "dyndns2.answer_logged"

func (h *Handler) logAnswer(c echo.Context, status int, code string, hostID int64, cause error) {
	c.Set(AnswerLogged, true)
	if h.observe != nil {
		h.observe(code)
	}
	level := slog.LevelInfo
	switch {
	case cause != nil:
		level = slog.LevelError
	case code == codeNochg || c.Request().Method == http.MethodHead:
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.String("route", c.Path()),
		slog.String("method", c.Request().Method),
		slog.Int("status", status),
		slog.String("code", code),
	}
	if hostID != 0 {
		attrs = append(attrs, slog.Int64("host_id", hostID))
	}
	if cause != nil {
		attrs = append(attrs, slog.String("error", cause.Error()))
	}
	h.log.LogAttrs(c.Request().Context(), level, "dyndns2 answer", attrs...)
}
