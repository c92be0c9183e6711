package provider

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// cloudflareSettings are the options stored with a cloudflare service. The
// scoped API token (Zone:DNS:Edit, plus Zone:Zone:Read to find zones by
// name) is the service's credential, encrypted at rest.
type cloudflareSettings struct {
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
}

const (
	cloudflareAPIURL = "https://api.cloudflare.com/client/v4"
	// maxCloudflareCache bounds each id cache; it is emptied when full.
	maxCloudflareCache = 10000
	// maxZoneCandidates bounds the zone lookups for one record name.
	maxZoneCandidates = 8
)

// Cloudflare's answers in plain words (the rest: HTTPStatus).
const (
	adviceCloudflarePermission = "the API token lacks a permission: give it Zone → DNS → Edit on the zone " +
		"(and Zone → Zone → Read to find zones by name)"
	adviceCloudflareToken = "Cloudflare does not accept the API token: check the service's credential (an API token, not the Global API Key)"
)

// cloudflareID matches zone and record ids as they appear in paths.
var cloudflareID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ProtocolCloudflare is the cloudflare protocol's name.
const ProtocolCloudflare = "cloudflare"

// cloudflare is Cloudflare's API v4 with a scoped token. It finds the
// zone by name (ids cached), lists the name's A or AAAA records and
// creates, updates or deletes records until they hold the addresses.
type cloudflare struct {
	deps Deps

	mu    sync.Mutex
	zones map[string]string // token|api|zone name → zone id
}

// NewCloudflare is the cloudflare protocol.
func NewCloudflare(d Deps) Provider {
	d = d.withDefaults()
	return Adapt[cloudflareSettings](&cloudflare{deps: d, zones: map[string]string{}})
}

func (*cloudflare) Describe() Description {
	return Description{
		Protocol: ProtocolCloudflare, Title: "Cloudflare (API v4)",
		Summary: "Finds the zone by name (ids cached) and makes the name's A or AAAA records hold the addresses, one record each.",
		Settings: []Field{
			{Key: "zone", Type: FieldString, Label: "Zone", Help: "The zone's name; when empty, found from each record's name."},
			{Key: "zone_id", Type: FieldString, Label: "Zone id", Help: "The zone id (32 hexadecimal digits); skips the zone lookup."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: 1, Help: "1 (automatic) or 60..86400 seconds."},
			{Key: "proxied", Type: FieldBoolean, Label: "Proxied",
				Help: "Proxy through Cloudflare; when absent, new records are not proxied and existing ones keep their flag."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: cloudflareAPIURL, Destination: true,
				Help: "Replaces Cloudflare's API (for tests and API proxies); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API token",
			Help: "A scoped API token with Zone → DNS → Edit, and Zone → Zone → Read to find zones by name."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		RRsets:   true,
		DocsURL:  "https://developers.cloudflare.com/api/resources/dns/subresources/records/",
	}
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
	Comment string `json:"comment"`
}

// managed tells whether the broker created the record (ManagedMarker).
func (r cfRecord) managed() bool { return strings.Contains(r.Comment, ManagedMarker) }

// cfCall is one delivery's view of the API: where, with which token, and
// how to redact.
type cfCall struct {
	c   *cloudflare
	api *API
	url string // the API's base URL, for cache keys
	tk  string // cache key of the token, not the token
}

// newCall checks the token and the API URL and prepares calls with them.
func (c *cloudflare) newCall(s cloudflareSettings, token string) (cfCall, *Outcome) {
	if err := checkAPIToken(token); err != nil {
		return cfCall{}, &Outcome{Result: Failed, Message: "the service's API token " + err.Error() + ": set its credential",
			Advice: AdviceServiceCredential}
	}
	base := strings.TrimRight(s.APIURL, "/")
	if base == "" {
		base = cloudflareAPIURL
	}
	if msg := checkEndpointURL(base, true); msg != "" {
		return cfCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	sum := sha256.Sum256([]byte(token))
	api := newAPI(c.deps, base, "cloudflare: ", http.Header{"Authorization": {"Bearer " + token}}, token)
	return cfCall{c: c, api: api, url: base, tk: hex.EncodeToString(sum[:8])}, nil
}

// Send finds the zone, lists the name's records of the family and makes
// them hold the request's addresses (several when hosts share the name),
// touching only what planRRset says: the broker's own records (comment
// ManagedMarker) are rewritten or deleted, anyone else's are rewritten at
// most, never deleted. 429 and 5xx answers and network errors are retried
// (429 with its Retry-After); 401/403, other errors and `success: false`
// fail with Cloudflare's error codes and messages.
func (c *cloudflare) Send(ctx context.Context, r Request[cloudflareSettings]) Outcome {
	s := r.Settings
	call, out := c.newCall(s, r.Credential)
	if out != nil {
		return *out
	}
	ttl := 1
	if s.TTL != nil {
		ttl = *s.TTL
	}
	if ttl != 1 && (ttl < 60 || ttl > maxTTL) {
		return Outcome{Result: Failed, Message: "service ttl must be 1 (automatic) or 60..86400"}
	}
	q, out := newRRsetRequest(r, ttl, true)
	if out != nil {
		return *out
	}
	zoneID, out := call.zoneID(ctx, s, q.Name)
	if out != nil {
		return *out
	}
	var found []cfRecord
	query := url.Values{"type": {q.Type}, "name": {q.Name}, "per_page": {"100"}}
	if _, out := call.do(ctx, http.MethodGet, "/zones/"+url.PathEscape(zoneID)+"/dns_records", query, nil, &found, "finding "+q.Type+" "+q.Name); out != nil {
		return *out
	}
	var live []liveRecord
	for _, rec := range found {
		if strings.EqualFold(strings.TrimSuffix(rec.Name, "."), q.Name) && rec.Type == q.Type && cloudflareID.MatchString(rec.ID) {
			live = append(live, liveRecord{ID: rec.ID, Data: rec.Content, Addr: parseRecordAddr(rec.Content), TTL: rec.TTL,
				Marked: rec.managed(), Differs: s.Proxied != nil && rec.Proxied != *s.Proxied})
		}
	}
	plan := planRRset(q, live)
	if out := plan.apply(ctx, cfWriter{call: call, zoneID: zoneID, q: q, s: s}); out != nil {
		return *out
	}
	o := plan.outcome(q, call.api.red)
	if s.Proxied != nil {
		o.Message += fmt.Sprintf("; proxied %t", *s.Proxied)
	}
	return o
}

// cfWriter writes a plan's records in one zone.
type cfWriter struct {
	call   cfCall
	zoneID string
	q      rrsetRequest
	s      cloudflareSettings
}

// create adds a record carrying the marker, so that the broker only ever
// deletes its own.
func (w cfWriter) create(ctx context.Context, a netip.Addr) *Outcome {
	body := map[string]any{"type": w.q.Type, "name": w.q.Name, "content": a.String(), "ttl": w.q.TTL,
		"proxied": w.s.Proxied != nil && *w.s.Proxied, "comment": ManagedMarker}
	_, out := w.call.do(ctx, http.MethodPost, "/zones/"+url.PathEscape(w.zoneID)+"/dns_records", nil, body, nil,
		fmt.Sprintf("creating %s %s → %s", w.q.Type, w.q.Name, a))
	return out
}

// update rewrites a record's content and TTL, and its proxied flag when
// the service sets one (otherwise the record keeps its own); its comment
// stays.
func (w cfWriter) update(ctx context.Context, ch recordChange) *Outcome {
	body := map[string]any{"content": ch.Addr.String(), "ttl": w.q.TTL}
	if w.s.Proxied != nil {
		body["proxied"] = *w.s.Proxied
	}
	_, out := w.call.do(ctx, http.MethodPatch, recordPath(w.zoneID, ch.Rec.ID), nil, body, nil,
		fmt.Sprintf("updating %s %s → %s", w.q.Type, w.q.Name, ch.Addr))
	return out
}

func (w cfWriter) remove(ctx context.Context, rec liveRecord) *Outcome {
	_, out := w.call.do(ctx, http.MethodDelete, recordPath(w.zoneID, rec.ID), nil, nil, nil,
		"removing the other "+w.q.Type+" record "+rec.Data+" of "+w.q.Name)
	return out
}

// Check verifies the token (GET /user/tokens/verify) and, given a record
// name or a zone, finds its zone; whether the token may edit DNS records
// only an update tells.
func (c *cloudflare) Check(ctx context.Context, r CheckRequest[cloudflareSettings]) []Step {
	call, out := c.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: joinAdvice(out.Message, out.Advice)}}
	}
	var verify struct {
		Status string `json:"status"`
	}
	if _, out := call.do(ctx, http.MethodGet, "/user/tokens/verify", nil, nil, &verify, "verifying the token"); out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: joinAdvice(out.Message, out.Advice)}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "token status " + call.api.red.answer(verify.Status)}}
	name := strings.ToLower(strings.TrimSuffix(cmp.Or(r.FQDN, r.Settings.Zone), "."))
	if name == "" && r.Settings.ZoneID == "" {
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no zone and no record name to look for"})
	}
	zoneID, out := call.zoneID(ctx, r.Settings, name)
	if out != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: joinAdvice(out.Message, out.Advice)})
	}
	steps = append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "zone id " + zoneID})
	// Reading the zone's records needs Zone:DNS:Read, which Edit includes:
	// a token without it cannot edit them either.
	var recs []cfRecord
	if _, out := call.do(ctx, http.MethodGet, "/zones/"+url.PathEscape(zoneID)+"/dns_records", url.Values{"per_page": {"5"}}, nil, &recs,
		"listing the zone's records"); out != nil {
		return append(steps, Step{Name: "may read records", Status: StepFailed, Detail: joinAdvice(out.Message, out.Advice)})
	}
	return append(steps, Step{Name: "may read records", Status: StepPassed, Detail: "the token may read the zone's DNS records"},
		Step{Name: "may edit records", Status: StepUnchecked,
			Detail: "Cloudflare has no read-only check of Zone:DNS:Edit; test with a record to send its address for real"})
}

func recordPath(zoneID, recordID string) string {
	return "/zones/" + url.PathEscape(zoneID) + "/dns_records/" + url.PathEscape(recordID)
}

// zoneID returns the zone of name: the configured id, a cached one, or
// the first of name and its parents (longest first) that the API knows as
// a zone.
func (call cfCall) zoneID(ctx context.Context, s cloudflareSettings, name string) (string, *Outcome) {
	if s.ZoneID != "" {
		if !cloudflareID.MatchString(s.ZoneID) {
			return "", &Outcome{Result: Failed, Message: "service zone_id is not a Cloudflare id", Advice: "check the service's zone_id"}
		}
		return s.ZoneID, nil
	}
	candidates, out := zoneCandidates(name, s.Zone)
	if out != nil {
		return "", out
	}
	for _, cand := range candidates {
		if id, ok := call.c.cached(call.c.zones, call.tk+"|"+call.url+"|"+cand); ok {
			return id, nil
		}
	}
	zoneID, zoneName := "", ""
lookup:
	for _, cand := range candidates {
		var zones []cfZone
		if _, out := call.do(ctx, http.MethodGet, "/zones", url.Values{"name": {cand}}, nil, &zones, "finding zone "+cand); out != nil {
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
			"); check that the token may read the zone (Zone:Zone:Read), or set zone_id", Advice: AdviceServiceCredential}
	}
	call.c.remember(call.c.zones, call.tk+"|"+call.url+"|"+zoneName, zoneID)
	return zoneID, nil
}

// do makes one API request. On success (2xx and success: true) it decodes
// the result into out (when not nil) and returns a nil Outcome; otherwise
// the Outcome says what to do, and the status lets a caller treat 404
// itself.
func (call cfCall) do(ctx context.Context, method, path string, query url.Values, in, out any, op string) (int, *Outcome) {
	resp, o := call.api.Call(ctx, method, path, query, in, op)
	if o != nil {
		return resp.Status, o
	}
	var env cfEnvelope
	jsonErr := json.Unmarshal(resp.Body, &env)
	// Error texts are the API's words, shown like any answer: whoever
	// sets api_url chooses who answers.
	words := cfErrors(env.Errors)
	if jsonErr != nil {
		words = ""
	}
	detail := call.api.detail(resp, words)
	fail := func(m Meaning, text string) (int, *Outcome) { return resp.Status, call.api.fail(op, resp, m, text) }
	m := HTTPStatus(resp.Status, AdviceServiceCredential)
	switch status := resp.Status; {
	case hasCode(env.Errors, 971): // "please wait": Cloudflare's rate limit
		return fail(Meaning{Result: Retry, Advice: AdviceRateLimited}, detail)
	case status >= 300 && status < 400:
		return fail(m, "redirect not followed")
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		switch {
		case hasCode(env.Errors, 10000): // a known token without the permission
			m.Advice = adviceCloudflarePermission
		case hasCode(env.Errors, 1000), hasCode(env.Errors, 6003), hasCode(env.Errors, 6111):
			m.Advice = adviceCloudflareToken
		}
		return fail(m, detail+" (the token needs Zone:DNS:Edit on the zone, and Zone:Zone:Read to find it by name)")
	case m.Result != Delivered:
		return fail(m, detail)
	case jsonErr != nil:
		return fail(Meaning{Result: Failed, Advice: AdviceRefused}, "the answer is not Cloudflare API JSON: "+detail)
	case !env.Success:
		return fail(Meaning{Result: Failed, Advice: AdviceRefused}, detail)
	}
	if out != nil {
		if err := json.Unmarshal(env.Result, out); err != nil {
			return fail(Meaning{Result: Failed, Advice: AdviceRefused}, "unexpected result: "+err.Error())
		}
	}
	return resp.Status, nil
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

func (c *cloudflare) cached(m map[string]string, key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := m[key]
	return v, ok
}

func (c *cloudflare) remember(m map[string]string, key, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(m) >= maxCloudflareCache {
		clear(m)
	}
	m[key] = id
}

// Validate checks names, ids, the TTL and the API URL, and refuses the
// drift check of proxied records.
func (*cloudflare) Validate(s cloudflareSettings, has Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if s.Zone != "" && !dnsname.IsHostName(strings.TrimSuffix(s.Zone, ".")) {
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
	if s.Proxied != nil && *s.Proxied && has.DriftCheck {
		add(DriftResolverKey, "cannot check proxied records: DNS publishes Cloudflare's addresses, not the delivered ones")
	}
	return errs
}
