package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolGandi is the gandi protocol's name.
const ProtocolGandi = "gandi"

const (
	gandiAPIURL = "https://api.gandi.net/v5/livedns"
	// LiveDNS refuses TTLs below 300 s (it does not round them up).
	gandiMinTTL     = 300
	gandiMaxTTL     = 2592000
	gandiDefaultTTL = 300
	// Gandi's two forms of credential: a personal access token (current,
	// scoped, expiring) and the account-wide API key (deprecated).
	gandiPAT    = "pat"
	gandiAPIKey = "apikey"
)

// gandiSettings are the options stored with a gandi service. The personal
// access token (or legacy API key) is the service's credential.
type gandiSettings struct {
	// Zone is the LiveDNS domain, e.g. example.com. Empty: each record's
	// name and its parents are asked for until LiveDNS knows one.
	Zone string `json:"zone"`
	// TTL of the RRset, 300..2592000 (default 300).
	TTL *int `json:"ttl"`
	// TokenType is "pat" (Authorization: Bearer, the default) or
	// "apikey" (Authorization: Apikey).
	TokenType string `json:"token_type"`
	// APIURL replaces https://api.gandi.net/v5/livedns (tests, sandbox).
	APIURL string `json:"api_url"`
}

// gandi is Gandi's LiveDNS API (v5). LiveDNS keeps one RRset per name and
// type; a PUT replaces the whole set, so the broker reads the set, works out
// what it must hold and writes it back only when it differs.
type gandi struct{ deps Deps }

// NewGandi is the gandi protocol.
func NewGandi(d Deps) Provider {
	return Adapt[gandiSettings](&gandi{deps: d.withDefaults()})
}

func (*gandi) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolGandi, Title: "Gandi LiveDNS (API v5)",
		Summary: "Reads the name's A or AAAA RRset on LiveDNS and, when it differs, replaces it with the record's addresses " +
			"(with keep_other_addresses, only the address the broker delivered is replaced).",
		Settings: []Field{
			{Key: "zone", Type: FieldString, Label: "Domain",
				Help: "The domain on LiveDNS, e.g. example.com; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: gandiDefaultTTL, Min: ptrTo(gandiMinTTL), Max: ptrTo(gandiMaxTTL),
				Help: "Seconds, 300..2592000: LiveDNS refuses less than 300."},
			{Key: "token_type", Type: FieldChoice, Label: "Credential type", Default: gandiPAT, Choices: []string{gandiPAT, gandiAPIKey},
				Help: "pat: a personal access token (sent as Bearer); apikey: the deprecated account API key (sent as Apikey)."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: gandiAPIURL, Destination: true,
				Help: "Replaces Gandi's LiveDNS API, e.g. https://api.sandbox.gandi.net/v5/livedns for the sandbox; leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "Personal access token",
			Help: "A personal access token from Gandi's Admin (Account settings → Create a token) for the organization owning the domain, " +
				"with the permission \"Manage domain name technical configurations\" on it. Tokens expire: renew them in time. " +
				"Or, with token_type apikey, the deprecated API key."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://api.gandi.net/docs/livedns/",
	}
}

func (*gandi) Validate(s gandiSettings, _ Has) []FieldError {
	var errs []FieldError
	if s.Zone != "" && !dnsname.IsHostName(strings.TrimSuffix(s.Zone, ".")) {
		errs = append(errs, FieldError{Field: "settings.zone", Message: "must be a domain name, e.g. example.com"})
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		errs = append(errs, FieldError{Field: "settings.api_url", Message: msg})
	}
	return errs
}

// gandiRRset is LiveDNS's RRset object.
type gandiRRset struct {
	Name   string   `json:"rrset_name,omitempty"`
	Type   string   `json:"rrset_type,omitempty"`
	TTL    int      `json:"rrset_ttl"`
	Values []string `json:"rrset_values"`
}

// gandiError is either of LiveDNS's error shapes: {code, message, object,
// cause}, or {status: error, errors: [{location, name, description}]}.
type gandiError struct {
	Message string `json:"message"`
	Cause   string `json:"cause"`
	Errors  []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"errors"`
}

// gandiAnswers is what LiveDNS's statuses mean, for every call; anything
// else is HTTPStatus's.
var gandiAnswers = map[int]Meaning{
	http.StatusUnauthorized: {Result: Failed,
		Advice: "Gandi refused the credential: check the service's API key, or set token_type to pat if it is a personal access token"},
	http.StatusForbidden: {Result: Failed,
		Advice: "Gandi refused the token: it has expired, is unknown, or lacks \"Manage domain name technical configurations\" on this domain: " +
			"renew it or create one with that permission (with token_type apikey, check the key)"},
	http.StatusNotFound: {Result: Failed,
		Advice: "the domain is not on Gandi LiveDNS for this credential: check the service's domain, that the token's organization owns it " +
			"and that it uses LiveDNS name servers"},
	http.StatusBadRequest: {Result: Failed, Advice: "Gandi refused the request: read its answer (the TTL must be 300 or more)"},
	http.StatusConflict:   {Result: Failed, Advice: AdviceRefused},
	http.StatusTooManyRequests: {Result: Retry,
		Advice: "Gandi allows about 1000 requests a minute per address; the broker waits as long as it asks"},
}

// gandiCall is one delivery's or check's view of the API.
type gandiCall struct{ api *API }

func (g *gandi) newCall(s gandiSettings, credential string) (gandiCall, *Outcome) {
	if err := checkAPIToken(credential); err != nil {
		return gandiCall{}, &Outcome{Result: Failed, Message: "the service's Gandi credential " + err.Error() + ": set it",
			Advice: AdviceServiceCredential}
	}
	base := s.APIURL
	if base == "" {
		base = gandiAPIURL
	}
	if msg := checkEndpointURL(base, true); msg != "" {
		return gandiCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	scheme := "Bearer "
	if strings.EqualFold(s.TokenType, gandiAPIKey) {
		scheme = "Apikey "
	}
	return gandiCall{api: newAPI(g.deps, base, "gandi: ", http.Header{"Authorization": {scheme + credential}}, credential)}, nil
}

// do makes one call; 2xx answers are decoded into out (when not nil),
// others are judged by gandiAnswers with LiveDNS's own words.
func (c gandiCall) do(ctx context.Context, method, path string, in, out any, op string) (int, *Outcome) {
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
	m, ok := gandiAnswers[resp.Status]
	if !ok {
		m = HTTPStatus(resp.Status, AdviceServiceCredential)
	}
	text := c.api.detail(resp, gandiWords(resp.Body))
	if resp.Status >= 300 && resp.Status < 400 {
		text = "redirect not followed"
	}
	return resp.Status, c.api.fail(op, resp, m, text)
}

// gandiWords renders a LiveDNS error answer, "" when it is not one.
func gandiWords(body []byte) string {
	var e gandiError
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	var parts []string
	for _, f := range e.Errors {
		parts = append(parts, strings.TrimSpace(f.Name+": "+f.Description))
	}
	if len(parts) > 0 {
		return strings.Join(parts, "; ")
	}
	if e.Cause != "" && e.Message != "" && !strings.EqualFold(e.Cause, e.Message) {
		return e.Cause + ": " + e.Message
	}
	return e.Message
}

func gandiDomainPath(zone string) string { return "/domains/" + url.PathEscape(zone) }

func gandiRRsetPath(zone, rel, rtype string) string {
	return gandiDomainPath(zone) + "/records/" + url.PathEscape(rel) + "/" + rtype
}

// Send makes the name's RRset hold the record's addresses.
func (g *gandi) Send(ctx context.Context, r Request[gandiSettings]) Outcome {
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
	ttl := gandiDefaultTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	zone, out := call.zone(ctx, s.Zone, name)
	if out != nil {
		return *out
	}
	rtype := r.Family.RecordType()
	rel := zoneRelative(name, zone, "@")
	path := gandiRRsetPath(zone, rel, rtype)
	what := fmt.Sprintf("%s %s", rtype, name)

	var cur gandiRRset
	status, out := call.do(ctx, http.MethodGet, path, nil, &cur, "reading "+what)
	switch {
	case status == http.StatusNotFound:
		cur = gandiRRset{} // no RRset yet
	case out != nil:
		return *out
	}
	have := make([]netip.Addr, len(cur.Values))
	for i, v := range cur.Values {
		have[i] = parseRecordAddr(v)
	}
	want := rrsetAfter(have, ours, r.Delivered, r.KeepOthers)
	msg := what + " → " + joinAddrs(want)
	if len(cur.Values) > 0 && sameAddresses(have, want) && cur.TTL == ttl {
		return Outcome{Result: Delivered, Message: call.api.red.message(msg + " unchanged")}
	}
	if _, out := call.do(ctx, http.MethodPut, path, gandiRRset{TTL: ttl, Values: addrStrings(want)}, nil, "writing "+what); out != nil {
		return *out
	}
	verb := " updated"
	if len(cur.Values) == 0 {
		verb = " created"
	}
	return Outcome{Result: Delivered, Message: call.api.red.message(msg + verb + " (ttl " + strconv.Itoa(ttl) + ")")}
}

// zone is the configured domain (when it holds name) or the longest of
// name and its parents that LiveDNS knows.
func (c gandiCall) zone(ctx context.Context, zone, name string) (string, *Outcome) {
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
		status, out := c.do(ctx, http.MethodGet, gandiDomainPath(cand), nil, nil, "finding domain "+cand)
		if out == nil {
			return cand, nil
		}
		if status != http.StatusNotFound {
			return "", out
		}
	}
	return "", &Outcome{Result: Failed, Message: "gandi: no LiveDNS domain holds " + name + " (asked for " + strings.Join(candidates, ", ") + ")",
		Advice: gandiAnswers[http.StatusNotFound].Advice}
}

// Check lists the credential's domains (accepted?), finds the record's
// domain and reads its RRset; only a write tells whether the token may edit.
func (g *gandi) Check(ctx context.Context, r CheckRequest[gandiSettings]) []Step {
	call, out := g.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	if _, out := call.do(ctx, http.MethodGet, "/domains?per_page=1", nil, nil, "listing domains"); out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message + ": " + out.Advice}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "Gandi listed the credential's domains"}}
	name := strings.ToLower(strings.TrimSuffix(r.FQDN, "."))
	if name == "" {
		name = strings.ToLower(strings.TrimSuffix(r.Settings.Zone, "."))
	}
	if name == "" {
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no domain and no record name to look for"})
	}
	zone, out := call.zone(ctx, r.Settings.Zone, name)
	if out == nil && r.Settings.Zone != "" {
		_, out = call.do(ctx, http.MethodGet, gandiDomainPath(zone), nil, nil, "finding domain "+zone)
	}
	if out != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: out.Message + ": " + out.Advice})
	}
	return append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "LiveDNS domain " + zone},
		Step{Name: "may edit records", Status: StepUnchecked,
			Detail: "only an update tells whether the token has \"Manage domain name technical configurations\""})
}

func (*gandi) Presets() []Preset {
	return []Preset{{
		ID: "gandi", Name: "Gandi LiveDNS", Protocol: ProtocolGandi,
		Settings:   raw(`{"ttl": 300}`),
		Credential: &Prompt{Label: "Personal access token", Help: "A Gandi personal access token with \"Manage domain name technical configurations\" on the domain."},
		Families:   netcalc.Families(),
		Notes: "The domain must use LiveDNS name servers. The domain is found from each record's name (set zone to skip the lookup); " +
			"the RRset is created when missing and replaced when it differs. Tokens expire: renew them before they do. " +
			"For the deprecated API key, set token_type to apikey.",
		DocsURL: "https://api.gandi.net/docs/livedns/",
	}}
}
