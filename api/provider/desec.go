package provider

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolDesec is the desec protocol's name.
const ProtocolDesec = "desec"

const desecAPIURL = "https://desec.io/api/v1"

// desecSettings are the options stored with a desec service. The deSEC
// token is the service's credential.
type desecSettings struct {
	// Domain is the deSEC domain (the zone); empty: the one that owns each
	// record's name (owns_qname).
	Domain string `json:"domain"`
	// TTL of the RRset; nil: an existing RRset keeps its TTL, a new one
	// gets the domain's minimum_ttl.
	TTL    *int   `json:"ttl"`
	APIURL string `json:"api_url"` // "": desecAPIURL
}

// desec is deSEC's REST API for RRsets: it reads the name's RRset and,
// when it differs, writes it with one bulk PATCH (create or replace).
// deSEC keeps no comments on RRsets, so created records carry no marker.
type desec struct{ deps Deps }

// NewDesec is the desec protocol.
func NewDesec(d Deps) Provider {
	return Adapt[desecSettings](&desec{deps: d.withDefaults()})
}

func (*desec) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolDesec, Title: "deSEC (REST API)",
		Summary: "Reads the name's A or AAAA RRset and writes the record's addresses (bulk PATCH) when they differ.",
		Settings: []Field{
			{Key: "domain", Type: FieldString, Label: "Domain",
				Help: "The deSEC domain holding the records, e.g. example.dedyn.io; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Min: ptrTo(1), Max: ptrTo(maxTTL),
				Help: "TTL in seconds, at least the domain's minimum (3600, or 60 for dedyn.io); when empty, an existing RRset keeps its TTL and a new one gets the minimum."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: desecAPIURL, Destination: true,
				Help: "Replaces deSEC's API (for tests and API proxies); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API token",
			Help: "A deSEC token (Token management) allowed to write this domain's A and AAAA RRsets."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://desec.readthedocs.io/en/latest/dns/rrsets.html",
	}
}

func (*desec) Validate(s desecSettings, _ Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if s.Domain != "" && !dnsname.IsHostName(strings.TrimSuffix(s.Domain, ".")) {
		add("domain", "must be a domain name, e.g. example.dedyn.io")
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		add("api_url", msg)
	}
	return errs
}

func (*desec) Presets() []Preset {
	return []Preset{{
		ID: "desec-api", Name: "deSEC (REST API)", Protocol: ProtocolDesec,
		Settings:   raw(`{}`),
		Credential: &Prompt{Label: "API token", Help: "A deSEC token allowed to write this domain's A and AAAA RRsets."},
		Families:   netcalc.Families(),
		Notes: "The domain is found from each record's name. deSEC allows few RRset writes per domain " +
			"(15 a minute, 300 a day): unchanged addresses are not written, and answers 429 are retried after their Retry-After. " +
			"New RRsets get the domain's minimum TTL unless the service sets ttl.",
		DocsURL: "https://desec.readthedocs.io/en/latest/dns/rrsets.html",
	}}
}

// desecAdvice is the desec answer table.
var desecAdvice = map[int]Meaning{
	http.StatusUnauthorized: {Result: Failed,
		Advice: "deSEC refused the token (invalid, expired, or used from outside its allowed subnets): set a valid token as the service's credential"},
	http.StatusForbidden: {Result: Failed,
		Advice: "the token may not write this RRset: give it a policy that allows writing the name's A and AAAA records, or use another token"},
	http.StatusNotFound: {Result: Failed,
		Advice: "the domain is not in this deSEC account: check the service's domain and the record's name"},
	http.StatusBadRequest: {Result: Failed,
		Advice: "deSEC refused the RRset: read its answer (a TTL below the domain's minimum, a CNAME at the name)"},
	http.StatusTooManyRequests: {Result: Retry, Advice: AdviceRateLimited},
}

type desecDomain struct {
	Name       string `json:"name"`
	MinimumTTL int    `json:"minimum_ttl"`
}

type desecRRset struct {
	Subname string   `json:"subname"`
	Type    string   `json:"type"`
	TTL     int      `json:"ttl,omitempty"`
	Records []string `json:"records"`
}

type desecCall struct{ api *API }

func (d *desec) newCall(s desecSettings, token string) (desecCall, *Outcome) {
	if err := checkAPIToken(token); err != nil {
		return desecCall{}, &Outcome{Result: Failed, Message: "the service's API token " + err.Error() + ": set its credential",
			Advice: AdviceServiceCredential}
	}
	base := cmp.Or(s.APIURL, desecAPIURL)
	if msg := checkEndpointURL(base, true); msg != "" {
		return desecCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	return desecCall{api: newAPI(d.deps, base, "desec: ", http.Header{"Authorization": {"Token " + token}}, token)}, nil
}

// do makes one request, judged by desecAdvice; out receives a 2xx answer.
func (c desecCall) do(ctx context.Context, method, path string, query url.Values, in, out any, op string) *Outcome {
	resp, o := c.api.Call(ctx, method, path, query, in, op)
	if o != nil {
		return o
	}
	if resp.Status >= 200 && resp.Status < 300 {
		if out != nil && resp.Status != http.StatusNoContent {
			return c.api.Decode(resp, op, out)
		}
		return nil
	}
	m, ok := desecAdvice[resp.Status]
	if !ok {
		m = HTTPStatus(resp.Status, AdviceServiceCredential)
	}
	text := c.api.detail(resp, desecWords(resp.Body))
	if resp.Status >= 300 && resp.Status < 400 {
		text = "redirect not followed"
	}
	return c.api.fail(op, resp, m, text)
}

// desecWords renders deSEC's (Django REST framework's) error bodies:
// {"detail": "…"}, a map of fields to messages, or a list of such maps
// (bulk requests); "" when the body is none of them.
func desecWords(body []byte) string {
	var list []json.RawMessage
	if json.Unmarshal(body, &list) == nil {
		var parts []string
		for _, item := range list {
			if w := desecWords(item); w != "" {
				parts = append(parts, w)
			}
		}
		return strings.Join(parts, "; ")
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		var s string
		if json.Unmarshal(body, &s) == nil {
			return s
		}
		return ""
	}
	var detail string
	if json.Unmarshal(m["detail"], &detail) == nil && detail != "" {
		return detail
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if w := desecWords(m[k]); w != "" {
			parts = append(parts, k+": "+w)
		}
	}
	return strings.Join(parts, "; ")
}

// domain finds the deSEC domain holding name: the configured one (read
// only when its minimum TTL is needed), or the one that owns the name.
func (c desecCall) domain(ctx context.Context, s desecSettings, name string) (desecDomain, *Outcome) {
	if s.Domain != "" {
		zone := strings.ToLower(strings.TrimSuffix(s.Domain, "."))
		if name != zone && !strings.HasSuffix(name, "."+zone) {
			return desecDomain{}, &Outcome{Result: Failed, Message: fmt.Sprintf("desec: record %s is not in domain %s", name, zone),
				Advice: "check the service's domain and the record's name"}
		}
		return desecDomain{Name: zone}, nil
	}
	var found []desecDomain
	if out := c.do(ctx, http.MethodGet, "/domains/", url.Values{"owns_qname": {name}}, nil, &found, "finding the domain of "+name); out != nil {
		return desecDomain{}, out
	}
	for _, d := range found {
		if d.Name != "" && (name == d.Name || strings.HasSuffix(name, "."+d.Name)) {
			return d, nil
		}
	}
	return desecDomain{}, &Outcome{Result: Failed, Message: "desec: no domain of this account holds " + name,
		Advice: "add the domain to the deSEC account, or check the record's name and the token's account"}
}

// Send reads the name's RRset and writes it (bulk PATCH: creates or
// replaces) when it does not hold what it should.
func (d *desec) Send(ctx context.Context, r Request[desecSettings]) Outcome {
	s := r.Settings
	call, out := d.newCall(s, r.Credential)
	if out != nil {
		return *out
	}
	if s.TTL != nil && (*s.TTL < 1 || *s.TTL > maxTTL) {
		return Outcome{Result: Failed, Message: "service ttl must be 1..86400"}
	}
	if _, out := publishable(r.Family, r.Addresses); out != nil {
		return *out
	}
	name, out := recordName(r.FQDN)
	if out != nil {
		return *out
	}
	rtype := r.Family.RecordType()
	domain, out := call.domain(ctx, s, name)
	if out != nil {
		return *out
	}
	subname := strings.TrimSuffix(strings.TrimSuffix(name, domain.Name), ".")
	rrsets := "/domains/" + url.PathEscape(domain.Name) + "/rrsets/"
	what := fmt.Sprintf("%s %s → %s", rtype, name, joinAddrs(r.Addresses))

	var found []desecRRset
	if out := call.do(ctx, http.MethodGet, rrsets, url.Values{"subname": {subname}, "type": {rtype}}, nil, &found, "reading "+rtype+" "+name); out != nil {
		return *out
	}
	var existing *desecRRset
	for i, rr := range found {
		if rr.Subname == subname && rr.Type == rtype {
			existing = &found[i]
		}
	}
	var have []netip.Addr
	if existing != nil {
		for _, rec := range existing.Records {
			if a, err := netip.ParseAddr(rec); err == nil {
				have = append(have, a)
			}
		}
	}
	want := rrsetAfter(have, r.Addresses, r.Delivered, r.KeepOthers)
	ttl := 0
	switch {
	case s.TTL != nil:
		ttl = *s.TTL
	case existing != nil:
		ttl = existing.TTL
	}
	if existing != nil && existing.TTL == ttl && sameAddresses(have, want) && len(have) == len(existing.Records) {
		return Outcome{Result: Delivered, Message: call.api.red.message(what + " unchanged (ttl " + strconv.Itoa(ttl) + ")")}
	}
	if ttl == 0 {
		// A new RRset without a TTL setting: the domain's minimum.
		if domain.MinimumTTL == 0 {
			if out := call.do(ctx, http.MethodGet, "/domains/"+url.PathEscape(domain.Name)+"/", nil, nil, &domain, "reading domain "+domain.Name); out != nil {
				return *out
			}
		}
		ttl = cmp.Or(domain.MinimumTTL, 3600)
	}
	change := desecRRset{Subname: subname, Type: rtype, TTL: ttl}
	for _, a := range want {
		change.Records = append(change.Records, a.String())
	}
	if out := call.do(ctx, http.MethodPatch, rrsets, nil, []desecRRset{change}, nil, "writing "+what); out != nil {
		return *out
	}
	verb := "updated"
	if existing == nil {
		verb = "created"
	}
	msg := what + " " + verb + " in domain " + domain.Name + " (ttl " + strconv.Itoa(ttl) + ")"
	if kept := len(want) - len(r.Addresses); kept > 0 {
		msg += fmt.Sprintf("; kept %d other address(es)", kept)
	}
	return Outcome{Result: Delivered, Message: call.api.red.message(msg)}
}

// Check reads the account (the token), then the domain; a token's
// write policies cannot be read with the token itself unless it may
// manage tokens, so editing is left unchecked.
func (d *desec) Check(ctx context.Context, r CheckRequest[desecSettings]) []Step {
	call, out := d.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	var account struct {
		Email string `json:"email"`
	}
	if out := call.do(ctx, http.MethodGet, "/auth/account/", nil, nil, &account, "reading the account"); out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "the token is valid"}}
	name := strings.ToLower(strings.TrimSuffix(cmp.Or(r.FQDN, r.Settings.Domain), "."))
	if name == "" {
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no domain and no record name to look for"})
	}
	domain, out := call.domain(ctx, r.Settings, name)
	if out == nil && r.Settings.Domain != "" {
		out = call.do(ctx, http.MethodGet, "/domains/"+url.PathEscape(domain.Name)+"/", nil, nil, &domain, "reading domain "+domain.Name)
	}
	if out != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: out.Message})
	}
	return append(steps, Step{Name: "zone found", Status: StepPassed,
		Detail: fmt.Sprintf("domain %s (minimum TTL %d)", call.api.red.answer(domain.Name), domain.MinimumTTL)},
		Step{Name: "may edit records", Status: StepUnchecked,
			Detail: "only an update tells whether the token's policies allow writing this name"})
}
