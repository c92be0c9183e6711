package delivery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cloudflareService are the options stored with a cloudflare service. The
// scoped API token (Zone:DNS:Edit, plus Zone:Zone:Read to find zones by
// name) is the service's credential, encrypted at rest.
type cloudflareService struct {
	// Zone is the zone's name, e.g. example.com. Empty: each record's
	// name and its parents are looked up until a zone is found.
	Zone string `json:"zone"`
	// ZoneID skips the zone lookup (for tokens without Zone:Zone:Read).
	ZoneID string `json:"zone_id"`
	// TTL is 1 (Cloudflare's "automatic", the default) or 60..86400.
	TTL *int `json:"ttl"`
	// Proxied sets the orange cloud; absent: new records are not proxied
	// and existing ones keep their flag.
	Proxied *bool `json:"proxied"`
	// APIURL replaces https://api.cloudflare.com/client/v4. It exists for
	// tests and for self-hosted API proxies; leave it empty otherwise.
	APIURL string `json:"api_url"`
	// DriftSettings are the drift check's, common to every protocol.
	DriftSettings
}

const (
	cloudflareAPIURL = "https://api.cloudflare.com/client/v4"
	// maxCloudflareAnswer bounds what is read of one API answer.
	maxCloudflareAnswer = 1 << 20
	// maxCloudflareCache bounds each id cache; it is emptied when full.
	maxCloudflareCache = 10000
	// maxZoneCandidates bounds the zone lookups for one record name.
	maxZoneCandidates = 8
)

// cloudflareID matches zone and record ids as they appear in paths.
var cloudflareID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Cloudflare is the cloudflare Protocol of the dispatcher: API v4 with a
// scoped token. It finds the zone and the record by name, caches their
// ids, and creates or updates the record's A or AAAA content.
type Cloudflare struct {
	client    *http.Client
	userAgent string

	mu      sync.Mutex
	zones   map[string]string // token|api|zone name → zone id
	records map[string]string // token|api|zone id|type|name → record id
}

// NewCloudflare returns the protocol with the given client (nil:
// newUpstreamHTTPClient).
func NewCloudflare(hc *http.Client, version string) *Cloudflare {
	if hc == nil {
		hc = newUpstreamHTTPClient()
	}
	return &Cloudflare{client: hc, userAgent: userAgent(version), zones: map[string]string{}, records: map[string]string{}}
}

type cfEnvelope struct {
	Success bool            `json:"success"`
	Errors  []cfMessage     `json:"errors"`
	Result  json.RawMessage `json:"result"`
}

type cfMessage struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type cfZone struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type cfRecord struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Content string `json:"content"`
	TTL     int    `json:"ttl"`
	Proxied bool   `json:"proxied"`
}

// cfCall is one delivery's view of the API: where, with which token, and
// how to redact.
type cfCall struct {
	c     *Cloudflare
	api   string
	token string
	tk    string // cache key of the token, not the token
	red   redactor
}

// Send implements Protocol. 429 and 5xx answers and network errors are
// retried (429 with its Retry-After); 401/403, other errors and
// `success: false` fail with Cloudflare's error codes and messages.
func (c *Cloudflare) Send(ctx context.Context, settings json.RawMessage, t Target) Outcome {
	red := newRedactor("", "", t.Credential)
	var s cloudflareService
	if err := readSettings(settings, &s); err != nil {
		return Outcome{Result: Failed, Message: red.message(err.Error())}
	}
	if err := checkAPIToken(t.Credential); err != nil {
		return Outcome{Result: Failed, Message: "the service's API token " + err.Error() + ": set its credential"}
	}
	api := strings.TrimRight(s.APIURL, "/")
	if api == "" {
		api = cloudflareAPIURL
	}
	if msg := checkEndpointURL(api, true); msg != "" {
		return Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	ttl := 1
	if s.TTL != nil {
		ttl = *s.TTL
	}
	if ttl != 1 && (ttl < 60 || ttl > maxTTL) {
		return Outcome{Result: Failed, Message: "service ttl must be 1 (automatic) or 60..86400"}
	}
	rtype, content := "AAAA", t.Address.WithZone("").String()
	switch {
	case t.Family == 4 && t.Address.Unmap().Is4():
		rtype, content = "A", t.Address.Unmap().String()
	case t.Family == 6 && t.Address.Is6() && !t.Address.Is4In6():
	default:
		return Outcome{Result: Failed, Message: fmt.Sprintf("invalid IPv%d address %s", t.Family, t.Address)}
	}
	name := strings.ToLower(strings.TrimSuffix(t.FQDN, "."))
	if name == "" {
		return Outcome{Result: Failed, Message: "no record name"}
	}

	sum := sha256.Sum256([]byte(t.Credential))
	call := cfCall{c: c, api: api, token: t.Credential, tk: hex.EncodeToString(sum[:8]), red: red}
	zoneID, out := call.zoneID(ctx, s, name)
	if out != nil {
		return *out
	}
	what := fmt.Sprintf("%s %s → %s", rtype, name, content)
	recKey := call.tk + "|" + api + "|" + zoneID + "|" + rtype + "|" + name
	patch := map[string]any{"content": content, "ttl": ttl}
	if s.Proxied != nil {
		patch["proxied"] = *s.Proxied
	}

	// Known record: one PATCH. A 404 means it was deleted meanwhile.
	if id, ok := c.cached(c.records, recKey); ok {
		status, _, out := call.do(ctx, http.MethodPatch, recordPath(zoneID, id), nil, patch, nil, "updating "+what)
		if out == nil {
			return Outcome{Result: Delivered, Message: red.message(what + " updated" + flags(ttl, s.Proxied))}
		}
		if status != http.StatusNotFound {
			return *out
		}
		c.forget(c.records, recKey)
	}

	var found []cfRecord
	q := url.Values{"type": {rtype}, "name": {name}, "per_page": {"100"}}
	if _, _, out := call.do(ctx, http.MethodGet, "/zones/"+url.PathEscape(zoneID)+"/dns_records", q, nil, &found, "finding "+rtype+" "+name); out != nil {
		return *out
	}
	var recs []cfRecord
	for _, r := range found {
		if strings.EqualFold(strings.TrimSuffix(r.Name, "."), name) && r.Type == rtype && cloudflareID.MatchString(r.ID) {
			recs = append(recs, r)
		}
	}
	if len(recs) == 0 {
		create := map[string]any{"type": rtype, "name": name, "content": content, "ttl": ttl, "proxied": s.Proxied != nil && *s.Proxied}
		var rec cfRecord
		if _, _, out := call.do(ctx, http.MethodPost, "/zones/"+url.PathEscape(zoneID)+"/dns_records", nil, create, &rec, "creating "+what); out != nil {
			return *out
		}
		if cloudflareID.MatchString(rec.ID) {
			c.remember(c.records, recKey, rec.ID)
		}
		return Outcome{Result: Delivered, Message: red.message(what + " created" + flags(ttl, s.Proxied))}
	}

	first, verb := recs[0], "updated"
	if first.Content == content && first.TTL == ttl && (s.Proxied == nil || first.Proxied == *s.Proxied) {
		verb = "unchanged"
	} else if _, _, out := call.do(ctx, http.MethodPatch, recordPath(zoneID, first.ID), nil, patch, nil, "updating "+what); out != nil {
		return *out
	}
	c.remember(c.records, recKey, first.ID)
	// The record is one address: other records of the same type and name
	// would keep answering with stale addresses, so they go (as an
	// rfc2136 update replaces the RRset).
	for _, extra := range recs[1:] {
		if _, _, out := call.do(ctx, http.MethodDelete, recordPath(zoneID, extra.ID), nil, nil, nil,
			"removing the other "+rtype+" record "+extra.Content+" of "+name); out != nil {
			return *out
		}
	}
	msg := what + " " + verb + flags(ttl, s.Proxied)
	if n := len(recs) - 1; n > 0 {
		msg += fmt.Sprintf("; removed %d other %s record(s) of the name", n, rtype)
	}
	return Outcome{Result: Delivered, Message: red.message(msg)}
}

func recordPath(zoneID, recordID string) string {
	return "/zones/" + url.PathEscape(zoneID) + "/dns_records/" + url.PathEscape(recordID)
}

func flags(ttl int, proxied *bool) string {
	s := " (ttl " + strconv.Itoa(ttl)
	if ttl == 1 {
		s = " (ttl automatic"
	}
	if proxied != nil {
		s += ", proxied " + strconv.FormatBool(*proxied)
	}
	return s + ")"
}

// zoneID returns the zone of name: the configured id, a cached one, or
// the first of name and its parents (longest first) that the API knows as
// a zone.
func (call cfCall) zoneID(ctx context.Context, s cloudflareService, name string) (string, *Outcome) {
	if s.ZoneID != "" {
		if !cloudflareID.MatchString(s.ZoneID) {
			return "", &Outcome{Result: Failed, Message: "service zone_id is not a Cloudflare id"}
		}
		return s.ZoneID, nil
	}
	var candidates []string
	if s.Zone != "" {
		zone := strings.ToLower(strings.TrimSuffix(s.Zone, "."))
		if name != zone && !strings.HasSuffix(name, "."+zone) {
			return "", &Outcome{Result: Failed, Message: fmt.Sprintf("record %s is not in zone %s", name, zone)}
		}
		candidates = []string{zone}
	} else {
		// Longest first: a delegated sub-zone in the same account holds
		// the name rather than its parent zone.
		// Deep names give up their longest candidates first.
		labels := strings.Split(name, ".")
		for i := max(0, len(labels)-1-maxZoneCandidates); i+2 <= len(labels); i++ {
			candidates = append(candidates, strings.Join(labels[i:], "."))
		}
	}
	for _, cand := range candidates {
		if id, ok := call.c.cached(call.c.zones, call.tk+"|"+call.api+"|"+cand); ok {
			return id, nil
		}
	}
	zoneID, zoneName := "", ""
lookup:
	for _, cand := range candidates {
		var zones []cfZone
		if _, _, out := call.do(ctx, http.MethodGet, "/zones", url.Values{"name": {cand}}, nil, &zones, "finding zone "+cand); out != nil {
			return "", out
		}
		for _, z := range zones {
			if strings.EqualFold(strings.TrimSuffix(z.Name, "."), cand) && cloudflareID.MatchString(z.ID) {
				zoneID, zoneName = z.ID, cand
				break lookup
			}
		}
	}
	if zoneID == "" {
		return "", &Outcome{Result: Failed, Message: "no Cloudflare zone holds " + name + " (asked for " + strings.Join(candidates, ", ") +
			"); check that the token may read the zone (Zone:Zone:Read), or set zone_id"}
	}
	call.c.remember(call.c.zones, call.tk+"|"+call.api+"|"+zoneName, zoneID)
	return zoneID, nil
}

// do makes one API request. On success (2xx and success: true) it decodes
// the result into out (when not nil) and returns a nil Outcome; otherwise
// the Outcome says what to do, and the status lets a caller treat 404
// itself.
func (call cfCall) do(ctx context.Context, method, path string, query url.Values, in any, out any, op string) (int, cfEnvelope, *Outcome) {
	var env cfEnvelope
	answer := "" // for the log
	fail := func(r Result, text string, after time.Duration) *Outcome {
		return &Outcome{Result: r, Message: call.red.message("cloudflare: " + op + ": " + text), Answer: answer, RetryAfter: after}
	}
	target := call.api + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, env, fail(Failed, err.Error(), 0)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return 0, env, fail(Failed, "invalid request: "+errText(err), 0)
	}
	req.Header.Set("Authorization", "Bearer "+call.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", call.c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := call.c.client.Do(req)
	if err != nil {
		o := transportOutcome(ctx, "cloudflare: "+op+": ", err, call.red)
		return 0, env, &o
	}
	defer resp.Body.Close() // unread rest included: the connection is not reused
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxCloudflareAnswer))
	if err != nil {
		o := transportOutcome(ctx, "cloudflare: "+op+": reading answer: ", err, call.red)
		return resp.StatusCode, env, &o
	}
	status := resp.StatusCode
	label := "HTTP " + strconv.Itoa(status)
	jsonErr := json.Unmarshal(raw, &env)
	answer = call.red.detail(string(raw))
	// Error texts are the API's words, shown like any answer: whoever
	// sets api_url chooses who answers.
	detail := call.red.answer(cfErrors(env.Errors))
	if jsonErr != nil || detail == "" {
		detail = call.red.answer(string(raw))
		if detail == "" {
			detail = http.StatusText(status)
		}
	}
	after := retryAfter(resp.Header.Get("Retry-After"), time.Now())

	switch {
	case status == http.StatusTooManyRequests || status >= 500 || hasCode(env.Errors, 971):
		return status, env, fail(Retry, label+": "+detail, after)
	case status >= 300 && status < 400:
		return status, env, fail(Failed, label+": redirect not followed", 0)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return status, env, fail(Failed, label+": "+detail+" (the token needs Zone:DNS:Edit on the zone, and Zone:Zone:Read to find it by name)", 0)
	case status < 200 || status >= 300:
		return status, env, fail(Failed, label+": "+detail, 0)
	case jsonErr != nil:
		return status, env, fail(Failed, label+": the answer is not Cloudflare API JSON: "+detail, 0)
	case !env.Success:
		return status, env, fail(Failed, label+": "+detail, 0)
	}
	if out != nil {
		if err := json.Unmarshal(env.Result, out); err != nil {
			return status, env, fail(Failed, label+": unexpected result: "+err.Error(), 0)
		}
	}
	return status, env, nil
}

// cfErrors renders Cloudflare's error list as "code message; …".
func cfErrors(errs []cfMessage) string {
	var parts []string
	for _, e := range errs {
		parts = append(parts, strings.TrimSpace(strconv.Itoa(e.Code)+" "+e.Message))
	}
	return strings.Join(parts, "; ")
}

func hasCode(errs []cfMessage, code int) bool {
	for _, e := range errs {
		if e.Code == code {
			return true
		}
	}
	return false
}

func (c *Cloudflare) cached(m map[string]string, key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := m[key]
	return v, ok
}

func (c *Cloudflare) remember(m map[string]string, key, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(m) >= maxCloudflareCache {
		clear(m)
	}
	m[key] = id
}

func (c *Cloudflare) forget(m map[string]string, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(m, key)
}

// validateCloudflare checks cloudflare settings for ValidateSettings.
func validateCloudflare(raw json.RawMessage) []FieldError {
	var s cloudflareService
	if errs := decodeSettings(raw, &s); errs != nil {
		return errs
	}
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if s.Zone != "" && !isHostName(strings.TrimSuffix(s.Zone, ".")) {
		add("zone", "must be a domain name, e.g. example.com")
	}
	if s.ZoneID != "" && !cloudflareID.MatchString(s.ZoneID) {
		add("zone_id", "must be a Cloudflare zone id (32 hexadecimal digits, from the zone's overview page)")
	}
	if s.TTL != nil && *s.TTL != 1 && (*s.TTL < 60 || *s.TTL > maxTTL) {
		add("ttl", "must be 1 (automatic) or 60..86400 seconds")
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		add("api_url", msg)
	}
	if s.Proxied != nil && *s.Proxied && s.DriftResolver != "" {
		add("drift_resolver", "cannot check proxied records: DNS publishes Cloudflare's addresses, not the delivered ones")
	}
	return errs
}

// isHostName accepts dot-separated labels of letters, digits, hyphens and
// underscores, each 1..63 long, 253 in all.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
