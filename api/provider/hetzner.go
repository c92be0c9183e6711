package provider

import (
	"cmp"
	"context"
	"encoding/json"
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

// ProtocolHetzner is the hetzner protocol's name.
const ProtocolHetzner = "hetzner"

// hetznerAPIURL is the Hetzner Cloud API, which serves DNS zones since
// the DNS Console API (dns.hetzner.com) was retired.
const hetznerAPIURL = "https://api.hetzner.cloud/v1"

// hetznerSettings are the options stored with a hetzner service. A Cloud
// project's API token (Read & Write) is the service's credential.
type hetznerSettings struct {
	// Zone is the zone's name; empty: found from each record's name.
	Zone string `json:"zone"`
	// TTL of the RRset; nil: the zone's default for a new RRset, an
	// existing one keeps its TTL.
	TTL    *int   `json:"ttl"`
	APIURL string `json:"api_url"` // "": hetznerAPIURL
}

// hetzner is the Hetzner Cloud API's zones and RRsets: it reads the
// name's RRset and creates it, or sets its records, when it differs.
// Records the broker adds carry the comment "managed by ddnsbroker".
type hetzner struct{ deps Deps }

// NewHetzner is the hetzner protocol.
func NewHetzner(d Deps) Provider {
	return Adapt[hetznerSettings](&hetzner{deps: d.withDefaults()})
}

func (*hetzner) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolHetzner, Title: "Hetzner DNS (Cloud API)",
		Summary: "Reads the name's A or AAAA RRset in the Hetzner Console zone and creates it or sets its records when they differ.",
		Settings: []Field{
			{Key: "zone", Type: FieldString, Label: "Zone", Help: "The zone's name; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Min: ptrTo(60), Max: ptrTo(maxTTL),
				Help: "TTL in seconds (60..86400); when empty, a new RRset takes the zone's default and an existing one keeps its TTL."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: hetznerAPIURL, Destination: true,
				Help: "Replaces the Hetzner Cloud API (for tests and API proxies); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API token",
			Help: "An API token of the Hetzner Console project holding the zone (Security → API tokens) with Read & Write permission; DNS Console tokens do not work."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://docs.hetzner.cloud/reference/cloud#zone-rrsets",
	}
}

func (*hetzner) Validate(s hetznerSettings, _ Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if s.Zone != "" && !dnsname.IsHostName(strings.TrimSuffix(s.Zone, ".")) {
		add("zone", "must be a domain name, e.g. example.com")
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		add("api_url", msg)
	}
	return errs
}

func (*hetzner) Presets() []Preset {
	return []Preset{{
		ID: "hetzner", Name: "Hetzner DNS (Hetzner Console)", Protocol: ProtocolHetzner,
		Settings: raw(`{}`),
		Credential: &Prompt{Label: "API token",
			Help: "An API token of the project holding the zone (Hetzner Console → Security → API tokens), Read & Write."},
		Families: netcalc.Families(),
		Notes: "For zones in the Hetzner Console (the Cloud API); the old DNS Console API (dns.hetzner.com) is retired. " +
			"The zone is found from each record's name. Addresses the broker adds carry the comment \"" + ManagedMarker + "\".",
		DocsURL: "https://docs.hetzner.cloud/reference/cloud#zone-rrsets",
	}}
}

// hetznerAdvice is the hetzner answer table, by the error's code.
var hetznerAdvice = map[string]Meaning{
	"unauthorized": {Result: Failed,
		Advice: "Hetzner refused the API token: create one in the Hetzner Console project holding the zone (DNS Console tokens do not work)"},
	"forbidden": {Result: Failed,
		Advice: "the API token may not do this: create a token with Read & Write permission in the project holding the zone"},
	"token_readonly": {Result: Failed,
		Advice: "the API token is read-only: create a token with Read & Write permission"},
	"not_found": {Result: Failed,
		Advice: "the zone is not in the token's project: check the service's zone, the record's name and the token's project"},
	"invalid_input":       {Result: Failed, Advice: AdviceRefused},
	"json_error":          {Result: Failed, Advice: AdviceRefused},
	"incorrect_zone_mode": {Result: Failed, Advice: "the zone is a secondary zone: update its primary server instead"},
	"protected": {Result: Failed,
		Advice: "the RRset is protected against changes: remove the protection in the Hetzner Console"},
	// Another change of the zone is running or raced this one.
	"locked":               {Result: Retry},
	"conflict":             {Result: Retry},
	"uniqueness_error":     {Result: Retry},
	"rate_limit_exceeded":  {Result: Retry, Advice: AdviceRateLimited},
	"maintenance":          {Result: Retry},
	"resource_unavailable": {Result: Retry},
}

type hetznerError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details struct {
			Fields []struct {
				Name     string   `json:"name"`
				Messages []string `json:"messages"`
			} `json:"fields"`
		} `json:"details"`
	} `json:"error"`
}

type hetznerZone struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Mode string `json:"mode"`
	TTL  int    `json:"ttl"`
}

type hetznerRecord struct {
	Value   string `json:"value"`
	Comment string `json:"comment,omitempty"`
}

type hetznerRRset struct {
	Name    string          `json:"name"`
	Type    string          `json:"type"`
	TTL     *int            `json:"ttl,omitempty"`
	Records []hetznerRecord `json:"records"`
}

type hetznerAction struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type hetznerCall struct{ api *API }

func (h *hetzner) newCall(s hetznerSettings, token string) (hetznerCall, *Outcome) {
	if err := checkAPIToken(token); err != nil {
		return hetznerCall{}, &Outcome{Result: Failed, Message: "the service's API token " + err.Error() + ": set its credential",
			Advice: AdviceServiceCredential}
	}
	base := cmp.Or(s.APIURL, hetznerAPIURL)
	if msg := checkEndpointURL(base, true); msg != "" {
		return hetznerCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	return hetznerCall{api: newAPI(h.deps, base, "hetzner: ", http.Header{"Authorization": {"Bearer " + token}}, token)}, nil
}

// do makes one request and judges it by hetznerAdvice; out receives a
// 2xx answer. The returned code is the error's, for callers that treat
// one themselves.
func (c hetznerCall) do(ctx context.Context, method, path string, query url.Values, in, out any, op string) (string, *Outcome) {
	resp, o := c.api.Call(ctx, method, path, query, in, op)
	if o != nil {
		return "", o
	}
	if resp.Status >= 200 && resp.Status < 300 {
		if out != nil {
			return "", c.api.Decode(resp, op, out)
		}
		return "", nil
	}
	var e hetznerError
	words := ""
	if json.Unmarshal(resp.Body, &e) == nil && e.Error.Code != "" {
		words = e.Error.Code + ": " + e.Error.Message
		for _, f := range e.Error.Details.Fields {
			words += "; " + f.Name + ": " + strings.Join(f.Messages, ", ")
		}
	}
	m, ok := hetznerAdvice[e.Error.Code]
	if !ok {
		m = HTTPStatus(resp.Status, AdviceServiceCredential)
	}
	text := c.api.detail(resp, words)
	if resp.Status >= 300 && resp.Status < 400 {
		m, text = HTTPStatus(resp.Status, ""), "redirect not followed (the retired dns.hetzner.com API answers so: use the Cloud API)"
	}
	fail := c.api.fail(op, resp, m, text)
	if fail.Result == Retry && fail.RetryAfter == 0 {
		// The Cloud API says when its bucket is full again, as a Unix time.
		if reset, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64); err == nil {
			fail.RetryAfter = min(max(time.Until(time.Unix(reset, 0)).Round(time.Second), 0), maxRetryAfter)
		}
	}
	return e.Error.Code, fail
}

// zone finds the zone holding name: the configured one, or the longest
// of name and its parents the token's project has.
func (c hetznerCall) zone(ctx context.Context, s hetznerSettings, name string) (hetznerZone, *Outcome) {
	if s.Zone != "" {
		zone := strings.ToLower(strings.TrimSuffix(s.Zone, "."))
		if name != zone && !strings.HasSuffix(name, "."+zone) {
			return hetznerZone{}, &Outcome{Result: Failed, Message: fmt.Sprintf("hetzner: record %s is not in zone %s", name, zone),
				Advice: "check the service's zone and the record's name"}
		}
		return hetznerZone{Name: zone}, nil
	}
	labels := strings.Split(name, ".")
	var candidates []string
	for i := max(0, len(labels)-1-maxZoneCandidates); i+2 <= len(labels); i++ {
		candidates = append(candidates, strings.Join(labels[i:], "."))
	}
	for _, cand := range candidates {
		var found struct {
			Zones []hetznerZone `json:"zones"`
		}
		if _, out := c.do(ctx, http.MethodGet, "/zones", url.Values{"name": {cand}}, nil, &found, "finding zone "+cand); out != nil {
			return hetznerZone{}, out
		}
		for _, z := range found.Zones {
			if strings.EqualFold(z.Name, cand) {
				return z, nil
			}
		}
	}
	return hetznerZone{}, &Outcome{Result: Failed, Message: "hetzner: no zone of the token's project holds " + name +
		" (asked for " + strings.Join(candidates, ", ") + ")",
		Advice: "create the zone in the Hetzner Console project of the token, or check the record's name"}
}

// Send reads the RRset and creates it, or sets its records (and its TTL
// when the service sets one), when it does not hold what it should.
func (h *hetzner) Send(ctx context.Context, r Request[hetznerSettings]) Outcome {
	s := r.Settings
	call, out := h.newCall(s, r.Credential)
	if out != nil {
		return *out
	}
	if s.TTL != nil && (*s.TTL < 60 || *s.TTL > maxTTL) {
		return Outcome{Result: Failed, Message: "service ttl must be 60..86400"}
	}
	if _, out := publishable(r.Family, r.Addresses); out != nil {
		return *out
	}
	name, out := recordName(r.FQDN)
	if out != nil {
		return *out
	}
	rtype := r.Family.RecordType()
	zone, out := call.zone(ctx, s, name)
	if out != nil {
		return *out
	}
	rrName := cmp.Or(strings.TrimSuffix(strings.TrimSuffix(name, zone.Name), "."), "@")
	rrsets := "/zones/" + url.PathEscape(zone.Name) + "/rrsets"
	what := fmt.Sprintf("%s %s → %s", rtype, name, joinAddrs(r.Addresses))

	var found struct {
		RRsets []hetznerRRset `json:"rrsets"`
	}
	if _, out := call.do(ctx, http.MethodGet, rrsets, url.Values{"name": {rrName}, "type": {rtype}}, nil, &found, "reading "+rtype+" "+name); out != nil {
		return *out
	}
	var existing *hetznerRRset
	for i, rr := range found.RRsets {
		if rr.Name == rrName && rr.Type == rtype {
			existing = &found.RRsets[i]
		}
	}
	var have []netip.Addr
	comments := map[netip.Addr]string{}
	if existing != nil {
		for _, rec := range existing.Records {
			if a, err := netip.ParseAddr(rec.Value); err == nil {
				have = append(have, a)
				comments[a] = rec.Comment
			}
		}
	}
	want := rrsetAfter(have, r.Addresses, r.Delivered, r.KeepOthers)
	records := make([]hetznerRecord, 0, len(want))
	for _, a := range want {
		c, ok := comments[a]
		if !ok {
			c = ManagedMarker
		}
		records = append(records, hetznerRecord{Value: a.String(), Comment: c})
	}

	var action struct {
		Action hetznerAction `json:"action"`
	}
	verb := "updated"
	switch {
	case existing == nil:
		verb = "created"
		create := hetznerRRset{Name: rrName, Type: rtype, TTL: s.TTL, Records: records}
		if _, out := call.do(ctx, http.MethodPost, rrsets, nil, create, &action, "creating "+what); out != nil {
			return *out
		}
	default:
		recordsSame := sameAddresses(have, want) && len(have) == len(existing.Records)
		ttlSame := s.TTL == nil || existing.TTL != nil && *existing.TTL == *s.TTL
		if recordsSame && ttlSame {
			return Outcome{Result: Delivered, Message: call.api.red.message(what + " unchanged")}
		}
		rrPath := rrsets + "/" + url.PathEscape(rrName) + "/" + rtype + "/actions/"
		if !recordsSame {
			if _, out := call.do(ctx, http.MethodPost, rrPath+"set_records", nil, map[string]any{"records": records}, &action, "setting "+what); out != nil {
				return *out
			}
			if out := call.failedAction(action.Action, "setting "+what); out != nil {
				return *out
			}
		}
		if !ttlSame {
			if _, out := call.do(ctx, http.MethodPost, rrPath+"change_ttl", nil, map[string]any{"ttl": *s.TTL}, &action, "changing the TTL of "+rtype+" "+name); out != nil {
				return *out
			}
		}
	}
	if out := call.failedAction(action.Action, verb+" "+what); out != nil {
		return *out
	}
	msg := what + " " + verb + " in zone " + zone.Name
	if s.TTL != nil {
		msg += " (ttl " + strconv.Itoa(*s.TTL) + ")"
	}
	if kept := len(want) - len(r.Addresses); kept > 0 {
		msg += fmt.Sprintf("; kept %d other address(es)", kept)
	}
	if action.Action.Status == "running" {
		msg += "; Hetzner applies it (action " + strconv.FormatInt(action.Action.ID, 10) + ")"
	}
	return Outcome{Result: Delivered, Message: call.api.red.message(msg)}
}

// failedAction is the Outcome of an action Hetzner reports as failed.
func (c hetznerCall) failedAction(a hetznerAction, op string) *Outcome {
	if a.Status != "error" {
		return nil
	}
	text := "the action failed"
	if a.Error != nil {
		text = c.api.red.answer(a.Error.Code + ": " + a.Error.Message)
	}
	return &Outcome{Result: Failed, Message: c.api.red.message("hetzner: " + op + ": " + text), Advice: AdviceRefused}
}

// Check lists zones (the token), reads the zone; whether the token may
// write (Read & Write) only a change tells.
func (h *hetzner) Check(ctx context.Context, r CheckRequest[hetznerSettings]) []Step {
	call, out := h.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	if _, out := call.do(ctx, http.MethodGet, "/zones", url.Values{"per_page": {"1"}}, nil, nil, "listing zones"); out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "the token may read the project's zones"}}
	name := strings.ToLower(strings.TrimSuffix(cmp.Or(r.FQDN, r.Settings.Zone), "."))
	if name == "" {
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no zone and no record name to look for"})
	}
	zone, out := call.zone(ctx, r.Settings, name)
	if out == nil && zone.Mode == "" {
		var got struct {
			Zone hetznerZone `json:"zone"`
		}
		_, out = call.do(ctx, http.MethodGet, "/zones/"+url.PathEscape(zone.Name), nil, nil, &got, "reading zone "+zone.Name)
		zone = got.Zone
	}
	if out != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: out.Message})
	}
	steps = append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "zone " + call.api.red.answer(zone.Name) + " (" + zone.Mode + ")"})
	if zone.Mode == "secondary" {
		return append(steps, Step{Name: "may edit records", Status: StepFailed, Detail: "the zone is a secondary zone: update its primary server instead"})
	}
	return append(steps, Step{Name: "may edit records", Status: StepUnchecked,
		Detail: "only an update tells whether the token has Read & Write permission"})
}
