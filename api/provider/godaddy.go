package provider

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolGoDaddy is the godaddy protocol's name.
const ProtocolGoDaddy = "godaddy"

const (
	godaddyAPIURL = "https://api.godaddy.com"
	// GoDaddy refuses TTLs below 600 s (as its clients report).
	godaddyMinTTL = 600
)

// godaddySettings are the options stored with a godaddy service. The API
// key and secret, as "KEY:SECRET", are the service's credential.
type godaddySettings struct {
	// Zone is the registered domain, e.g. example.com. Empty: each
	// record's name and its parents are asked for until one is a domain
	// of the account.
	Zone string `json:"zone"`
	// TTL of the records, 600 or more (default 600).
	TTL *int `json:"ttl"`
	// APIURL replaces https://api.godaddy.com (tests, the OTE test
	// environment https://api.ote-godaddy.com).
	APIURL string `json:"api_url"`
}

// godaddy is GoDaddy's Domains API v1 with an sso-key. Records are
// addressed by type and name; a PUT replaces all of them, so the broker
// reads them, works out what the name must hold and writes it only when it
// differs.
type godaddy struct{ deps Deps }

// NewGoDaddy is the godaddy protocol.
func NewGoDaddy(d Deps) Provider {
	return Adapt[godaddySettings](&godaddy{deps: d.withDefaults()})
}

func (*godaddy) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolGoDaddy, Title: "GoDaddy (Domains API v1)",
		Summary: "Reads the name's A or AAAA records and, when they differ, replaces them with the record's addresses " +
			"(with keep_other_addresses, only the address the broker delivered is replaced).",
		Settings: []Field{
			{Key: "zone", Type: FieldString, Label: "Domain",
				Help: "The registered domain, e.g. example.com; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: godaddyMinTTL, Min: ptrTo(godaddyMinTTL),
				Help: "Seconds, 600 or more: GoDaddy refuses less."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: godaddyAPIURL, Destination: true,
				Help: "Replaces GoDaddy's API, e.g. https://api.ote-godaddy.com for its test environment; leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API key and secret",
			Help: "KEY:SECRET — a production API key and its secret from https://developer.godaddy.com/keys joined by a colon " +
				"(test \"OTE\" keys do not work on api.godaddy.com)."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://developer.godaddy.com/doc/endpoint/domains",
	}
}

func (*godaddy) Validate(s godaddySettings, _ Has) []FieldError {
	var errs []FieldError
	if s.Zone != "" && !dnsname.IsHostName(strings.TrimSuffix(s.Zone, ".")) {
		errs = append(errs, FieldError{Field: "settings.zone", Message: "must be a domain name, e.g. example.com"})
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		errs = append(errs, FieldError{Field: "settings.api_url", Message: msg})
	}
	return errs
}

// CheckCredential wants the key and the secret joined by a colon.
func (*godaddy) CheckCredential(credential string) error {
	key, secret, ok := strings.Cut(credential, ":")
	if !ok || key == "" || secret == "" || strings.Contains(secret, ":") || checkAPIToken(key) != nil || checkAPIToken(secret) != nil {
		return errors.New("must be the API key and its secret joined by a colon (KEY:SECRET)")
	}
	return nil
}

// godaddyRecord is a DNSRecord as GET answers it; PUT takes data and ttl.
type godaddyRecord struct {
	Data string `json:"data"`
	Name string `json:"name,omitempty"`
	TTL  int    `json:"ttl"`
	Type string `json:"type,omitempty"`
}

// godaddyError is GoDaddy's Error (and, for 429, ErrorLimit) answer.
type godaddyError struct {
	Code          string `json:"code"`
	Message       string `json:"message"`
	RetryAfterSec int    `json:"retryAfterSec"`
	Fields        []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"fields"`
}

// godaddyAnswers is what GoDaddy's error codes mean; other answers are
// judged by their status (godaddyStatus, then HTTPStatus).
var godaddyAnswers = map[string]Meaning{
	"UNABLE_TO_AUTHENTICATE": {Result: Failed,
		Advice: "GoDaddy refused the key and secret: check the service's credential (KEY:SECRET of a production key, not a test \"OTE\" key)"},
	"MISSING_CREDENTIALS": {Result: Failed, Advice: "set the service's credential (KEY:SECRET)"},
	"ACCESS_DENIED": {Result: Failed,
		Advice: "GoDaddy denies this account API access to the domain: its DNS API is open only to accounts that qualify " +
			"(GoDaddy names 10 or more domains or a Discount Domain Club plan), and only for the account's own domains"},
	"UNKNOWN_DOMAIN": {Result: Failed,
		Advice: "GoDaddy does not know this domain in the account, or its DNS is not hosted at GoDaddy: check the service's domain"},
	"TOO_MANY_REQUESTS": {Result: Retry, Advice: "GoDaddy allows 60 requests a minute; the broker waits as long as it asks"},
}

var godaddyStatus = map[int]Meaning{
	http.StatusUnauthorized:    godaddyAnswers["UNABLE_TO_AUTHENTICATE"],
	http.StatusForbidden:       godaddyAnswers["ACCESS_DENIED"],
	http.StatusNotFound:        godaddyAnswers["UNKNOWN_DOMAIN"],
	http.StatusTooManyRequests: godaddyAnswers["TOO_MANY_REQUESTS"],
	http.StatusConflict:        {Result: Failed, Advice: "GoDaddy does not allow record changes on this domain now: read its answer"},
}

type godaddyCall struct{ api *API }

func (g *godaddy) newCall(s godaddySettings, credential string) (godaddyCall, *Outcome) {
	if err := g.CheckCredential(credential); err != nil {
		return godaddyCall{}, &Outcome{Result: Failed, Message: "the service's GoDaddy credential " + err.Error(), Advice: AdviceServiceCredential}
	}
	base := cmp.Or(s.APIURL, godaddyAPIURL)
	if msg := checkEndpointURL(base, true); msg != "" {
		return godaddyCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	key, secret, _ := strings.Cut(credential, ":")
	api := newAPI(g.deps, base, "godaddy: ", http.Header{"Authorization": {"sso-key " + credential}}, credential, key, secret)
	return godaddyCall{api: api}, nil
}

// do makes one call; 2xx answers are decoded into out (when not nil).
func (c godaddyCall) do(ctx context.Context, method, path string, in, out any, op string) (int, *Outcome) {
	resp, o := c.api.Call(ctx, method, path, nil, in, op)
	if o != nil {
		return resp.Status, o
	}
	if resp.Status >= 200 && resp.Status < 300 {
		if out != nil {
			return resp.Status, c.api.Decode(resp, op, out)
		}
		return resp.Status, nil
	}
	var e godaddyError
	errorBody(resp, &e)
	m, ok := godaddyAnswers[e.Code]
	if !ok {
		m, ok = godaddyStatus[resp.Status]
	}
	if !ok {
		m = HTTPStatus(resp.Status, AdviceServiceCredential)
	}
	words := ""
	if e.Message != "" {
		words = strings.TrimSpace(e.Code + ": " + e.Message)
		for _, f := range e.Fields {
			words += "; " + f.Path + ": " + f.Message
		}
	}
	text := c.api.detail(resp, words)
	if resp.Status >= 300 && resp.Status < 400 {
		text = "redirect not followed"
	}
	fail := c.api.fail(op, resp, m, text)
	if fail.Result == Retry && fail.RetryAfter == 0 && e.RetryAfterSec > 0 {
		fail.RetryAfter = min(time.Duration(e.RetryAfterSec)*time.Second, maxRetryAfter)
	}
	return resp.Status, fail
}

func godaddyDomainPath(zone string) string { return "/v1/domains/" + url.PathEscape(zone) }

// zone is the configured domain (when it holds name) or the longest of
// name and its parents that is a domain of the account.
func (c godaddyCall) zone(ctx context.Context, zone, name string) (string, *Outcome) {
	if zone != "" {
		zone = strings.ToLower(strings.TrimSuffix(zone, "."))
		if name != zone && !strings.HasSuffix(name, "."+zone) {
			return "", &Outcome{Result: Failed, Message: fmt.Sprintf("record %s is not in domain %s", name, zone),
				Advice: "check the service's domain and the record's name"}
		}
		return zone, nil
	}
	candidates, _ := zoneCandidates(name, "") // without a zone setting there is no error
	for _, cand := range candidates {
		status, out := c.do(ctx, http.MethodGet, godaddyDomainPath(cand), nil, nil, "finding domain "+cand)
		if out == nil {
			return cand, nil
		}
		if status != http.StatusNotFound && status != http.StatusUnprocessableEntity {
			return "", out
		}
	}
	return "", &Outcome{Result: Failed, Message: "godaddy: no domain of the account holds " + name + " (asked for " + strings.Join(candidates, ", ") + ")",
		Advice: godaddyAnswers["UNKNOWN_DOMAIN"].Advice}
}

func (g *godaddy) Send(ctx context.Context, r Request[godaddySettings]) Outcome {
	s := r.Settings
	call, out := g.newCall(s, r.Credential)
	if out != nil {
		return *out
	}
	ours, out := publishable(r.Family, r.Addresses)
	if out != nil {
		return *out
	}
	name, out := recordName(r.FQDN)
	if out != nil {
		return *out
	}
	ttl := godaddyMinTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	zone, out := call.zone(ctx, s.Zone, name)
	if out != nil {
		return *out
	}
	rtype := r.Family.RecordType()
	path := godaddyDomainPath(zone) + "/records/" + rtype + "/" + url.PathEscape(zoneRelative(name, zone, "@"))
	what := rtype + " " + name
	var cur []godaddyRecord
	if _, out := call.do(ctx, http.MethodGet, path, nil, &cur, "reading "+what); out != nil {
		return *out
	}
	var have []netip.Addr
	sameTTL := true
	for _, rec := range cur {
		have = append(have, parseRecordAddr(rec.Data))
		sameTTL = sameTTL && rec.TTL == ttl
	}
	want := rrsetAfter(have, ours, r.Delivered, r.KeepOthers)
	msg := what + " → " + joinAddrs(want)
	if len(cur) > 0 && sameTTL && sameAddresses(have, want) {
		return Outcome{Result: Delivered, Message: call.api.red.message(msg + " unchanged")}
	}
	body := make([]godaddyRecord, 0, len(want))
	for _, v := range addrStrings(want) {
		body = append(body, godaddyRecord{Data: v, TTL: ttl})
	}
	if _, out := call.do(ctx, http.MethodPut, path, body, nil, "writing "+what); out != nil {
		return *out
	}
	verb := " updated"
	if len(cur) == 0 {
		verb = " created"
	}
	return Outcome{Result: Delivered, Message: call.api.red.message(msg + verb + " (ttl " + strconv.Itoa(ttl) + ")")}
}

// Check lists one domain of the account (credentials accepted, account
// allowed) and reads the record's domain; only a write tells whether
// records may be changed.
func (g *godaddy) Check(ctx context.Context, r CheckRequest[godaddySettings]) []Step {
	call, out := g.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	if _, out := call.do(ctx, http.MethodGet, "/v1/domains?limit=1", nil, nil, "listing domains"); out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message + ": " + out.Advice}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "GoDaddy listed the account's domains"}}
	name := strings.ToLower(strings.TrimSuffix(cmp.Or(r.FQDN, r.Settings.Zone), "."))
	if name == "" {
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no domain and no record name to look for"})
	}
	zone, out := call.zone(ctx, r.Settings.Zone, name)
	if out == nil && r.Settings.Zone != "" {
		_, out = call.do(ctx, http.MethodGet, godaddyDomainPath(zone), nil, nil, "finding domain "+zone)
	}
	if out != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: out.Message + ": " + out.Advice})
	}
	return append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "domain " + zone},
		Step{Name: "may edit records", Status: StepUnchecked, Detail: "GoDaddy has no read-only way to tell whether records may be changed"})
}

func (*godaddy) Presets() []Preset {
	return []Preset{{
		ID: "godaddy", Name: "GoDaddy", Protocol: ProtocolGoDaddy,
		Settings:   raw(`{"ttl": 600}`),
		Credential: &Prompt{Label: "API key and secret", Help: "KEY:SECRET of a production key from developer.godaddy.com/keys."},
		Families:   netcalc.Families(),
		Notes: "GoDaddy opens its DNS API only to accounts that qualify (it names 10 or more domains or a Discount Domain Club plan); " +
			"others get ACCESS_DENIED with valid keys. Use a production key, not an OTE (test) key. The domain is found from each record's " +
			"name (set zone to skip the lookup). GoDaddy records carry no comment: without keep_other_addresses the name holds only the " +
			"broker's addresses. TTL at least 600; 60 requests a minute.",
		DocsURL: "https://developer.godaddy.com/doc/endpoint/domains",
	}}
}
