package provider

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolPorkbun is the porkbun protocol's name.
const ProtocolPorkbun = "porkbun"

const (
	// porkbunAPIURL is the only host the API answers on since December
	// 2024 (porkbun.com/api/json/v3 answers 403).
	porkbunAPIURL = "https://api.porkbun.com/api/json/v3"
	// Porkbun documents 600 s as both the minimum and the default TTL.
	porkbunMinTTL = 600
	// porkbunNote marks the records the broker created (Porkbun's notes);
	// the broker deletes no record without it.
	porkbunNote = ManagedMarker
)

// porkbunSettings are the options stored with a porkbun service. The API
// key and the secret API key, as "APIKEY:SECRETAPIKEY", are the service's
// credential.
type porkbunSettings struct {
	// Zone is the registered domain, e.g. example.com. Empty: each record's
	// name and its parents are tried until Porkbun knows one.
	Zone string `json:"zone"`
	// TTL of the records, 600 or more (default 600).
	TTL *int `json:"ttl"`
	// APIURL replaces https://api.porkbun.com/api/json/v3 (tests).
	APIURL string `json:"api_url"`
}

// porkbun is Porkbun's API v3: every call is a POST whose JSON body
// carries the two keys. Records are one address each, by id; the broker
// reads the name's records, edits or creates what differs, and deletes
// surplus ones only when its note marks them as its own.
type porkbun struct{ deps Deps }

// NewPorkbun is the porkbun protocol.
func NewPorkbun(d Deps) Provider {
	return Adapt[porkbunSettings](&porkbun{deps: d.withDefaults()})
}

func (*porkbun) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolPorkbun, Title: "Porkbun (API v3)",
		Summary: "Reads the name's A or AAAA records and edits, creates (noted \"" + porkbunNote + "\") or removes its own ones " +
			"until the name holds the record's addresses.",
		Settings: []Field{
			{Key: "zone", Type: FieldString, Label: "Domain",
				Help: "The registered domain, e.g. example.com; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: porkbunMinTTL, Min: ptrTo(porkbunMinTTL),
				Help: "Seconds, 600 or more: Porkbun's minimum and default."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: porkbunAPIURL, Destination: true,
				Help: "Replaces Porkbun's API (for tests); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API key and secret API key",
			Help: "Both keys from porkbun.com/account/api, joined by a colon: pk1_…:sk1_…. " +
				"Switch on API ACCESS for the domain in Porkbun's Domain Management too."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://porkbun.com/api/json/v3/documentation",
	}
}

func (*porkbun) Validate(s porkbunSettings, _ Has) []FieldError {
	var errs []FieldError
	if s.Zone != "" && !dnsname.IsHostName(strings.TrimSuffix(s.Zone, ".")) {
		errs = append(errs, FieldError{Field: "settings.zone", Message: "must be a domain name, e.g. example.com"})
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		errs = append(errs, FieldError{Field: "settings.api_url", Message: msg})
	} else if u, err := url.Parse(s.APIURL); err == nil && strings.EqualFold(u.Hostname(), "porkbun.com") {
		errs = append(errs, FieldError{Field: "settings.api_url", Message: "Porkbun's API answers only on api.porkbun.com since December 2024"})
	}
	return errs
}

// CheckCredential wants the two keys joined by a colon.
func (*porkbun) CheckCredential(credential string) error {
	_, _, err := splitPorkbunKeys(credential)
	return err
}

func splitPorkbunKeys(credential string) (string, string, error) {
	key, secret, ok := strings.Cut(credential, ":")
	if !ok || key == "" || secret == "" {
		return "", "", errors.New("must be the API key and the secret API key joined by a colon (pk1_…:sk1_…)")
	}
	if checkAPIToken(key) != nil || checkAPIToken(secret) != nil || strings.Contains(secret, ":") {
		return "", "", errors.New("must be two words of printable ASCII joined by one colon (pk1_…:sk1_…)")
	}
	return key, secret, nil
}

// porkbunRecord is a record as retrieve answers give it: the name fully
// qualified, the TTL a string.
type porkbunRecord struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Content string `json:"content"`
	TTL     string `json:"ttl"`
	Notes   string `json:"notes"`
}

// porkbunAnswer is every answer's envelope.
type porkbunAnswer struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Records []porkbunRecord `json:"records"`
}

// porkbunMessages is what Porkbun's ERROR messages mean, matched by a part
// of the message; porkbunMeaning adds the statuses.
var porkbunMessages = []struct {
	part string
	m    Meaning
}{
	{"Invalid API key", Meaning{Result: Failed,
		Advice: "Porkbun refused the keys: check the service's credential (API key:secret API key from porkbun.com/account/api)"}},
	{"not opted in to API access", Meaning{Result: Failed,
		Advice: "switch on API ACCESS for this domain in Porkbun's Domain Management, then resync the record"}},
	{"Invalid domain", Meaning{Result: Failed,
		Advice: "Porkbun does not know this domain in the account: check the service's domain (the registered domain, not a subdomain)"}},
}

// porkbunMeaning classifies an answer: 202 is how Porkbun has been seen to
// rate-limit, 403 with HTML the retired host; ERROR bodies by their message.
func porkbunMeaning(status int, a porkbunAnswer, isJSON bool) Meaning {
	switch {
	case status == http.StatusAccepted, status == http.StatusTooManyRequests:
		return Meaning{Result: Retry, Advice: "Porkbun limits how often it may be called; the broker waits and tries again"}
	case status == http.StatusForbidden && !isJSON:
		return Meaning{Result: Failed, Advice: "Porkbun's API answers only on api.porkbun.com: check the service's api_url"}
	case status >= 500:
		return Meaning{Result: Retry}
	}
	if isJSON && strings.EqualFold(a.Status, "ERROR") {
		for _, e := range porkbunMessages {
			if strings.Contains(a.Message, e.part) {
				return e.m
			}
		}
		return Meaning{Result: Failed, Advice: AdviceRefused}
	}
	if m := HTTPStatus(status, AdviceServiceCredential); m.Result != Delivered {
		return m
	}
	if !isJSON || !strings.EqualFold(a.Status, "SUCCESS") {
		return Meaning{Result: Failed, Advice: AdviceRefused}
	}
	return Meaning{Result: Delivered}
}

type porkbunCall struct {
	api         *API
	key, secret string
}

func (p *porkbun) newCall(s porkbunSettings, credential string) (porkbunCall, *Outcome) {
	key, secret, err := splitPorkbunKeys(credential)
	if err != nil {
		return porkbunCall{}, &Outcome{Result: Failed, Message: "the service's Porkbun credential " + err.Error(), Advice: AdviceServiceCredential}
	}
	base := cmp.Or(s.APIURL, porkbunAPIURL)
	if msg := checkEndpointURL(base, true); msg != "" {
		return porkbunCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	return porkbunCall{api: newAPI(p.deps, base, "porkbun: ", nil, key, secret, credential), key: key, secret: secret}, nil
}

// do posts fields with the keys to path; the status lets the zone lookup
// tell "Invalid domain." from other failures.
func (c porkbunCall) do(ctx context.Context, path string, fields map[string]any, op string) (porkbunAnswer, *Meaning, *Outcome) {
	body := map[string]any{"apikey": c.key, "secretapikey": c.secret}
	for k, v := range fields {
		body[k] = v
	}
	resp, out := c.api.Call(ctx, http.MethodPost, path, nil, body, op)
	if out != nil {
		return porkbunAnswer{}, nil, out
	}
	var a porkbunAnswer
	isJSON := json.Unmarshal(resp.Body, &a) == nil
	m := porkbunMeaning(resp.Status, a, isJSON)
	if m.Result == Delivered {
		return a, nil, nil
	}
	text := c.api.detail(resp, a.Message)
	if resp.Status >= 300 && resp.Status < 400 {
		text = "redirect not followed"
	} else if resp.Status == http.StatusAccepted {
		text = "rate limited: " + text
	}
	return a, &m, c.api.fail(op, resp, m, text)
}

func porkbunNameTypePath(op, zone, rtype, sub string) string {
	return "/dns/" + op + "/" + url.PathEscape(zone) + "/" + rtype + "/" + url.PathEscape(sub)
}

// records finds the zone (the configured one, or the longest of name and
// its parents Porkbun accepts) and reads name's records of rtype there.
func (c porkbunCall) records(ctx context.Context, zone, name, rtype string) (string, []porkbunRecord, *Outcome) {
	candidates, _ := zoneCandidates(name, "") // without a zone setting there is no error
	if zone != "" {
		zone = strings.ToLower(strings.TrimSuffix(zone, "."))
		if name != zone && !strings.HasSuffix(name, "."+zone) {
			return "", nil, &Outcome{Result: Failed, Message: fmt.Sprintf("record %s is not in domain %s", name, zone),
				Advice: "check the service's domain and the record's name"}
		}
		candidates = []string{zone}
	}
	var last *Outcome
	for _, cand := range candidates {
		a, m, out := c.do(ctx, porkbunNameTypePath("retrieveByNameType", cand, rtype, zoneRelative(name, cand, "")), nil,
			"reading "+rtype+" "+name+" in "+cand)
		if out == nil {
			var recs []porkbunRecord
			for _, r := range a.Records {
				if strings.EqualFold(r.Type, rtype) && strings.EqualFold(strings.TrimSuffix(r.Name, "."), name) && r.ID != "" {
					recs = append(recs, r)
				}
			}
			return cand, recs, nil
		}
		if m == nil || !strings.Contains(a.Message, "Invalid domain") {
			return "", nil, out
		}
		last = out
	}
	if last == nil {
		return "", nil, &Outcome{Result: Failed, Message: "porkbun: " + name + " is not a name inside a domain"}
	}
	if len(candidates) > 1 {
		last.Message = "porkbun: no domain of the account holds " + name + " (asked for " + strings.Join(candidates, ", ") + ")"
	}
	return "", nil, last
}

func (p *porkbun) Send(ctx context.Context, r Request[porkbunSettings]) Outcome {
	s := r.Settings
	call, out := p.newCall(s, r.Credential)
	if out != nil {
		return *out
	}
	want, out := publishable(r.Family, r.Addresses)
	if out != nil {
		return *out
	}
	ours := addrStrings(want)
	name, out := recordName(r.FQDN)
	if out != nil {
		return *out
	}
	ttlN := porkbunMinTTL
	if s.TTL != nil {
		ttlN = *s.TTL
	}
	ttl := strconv.Itoa(ttlN)
	rtype := r.Family.RecordType()
	zone, recs, out := call.records(ctx, s.Zone, name, rtype)
	if out != nil {
		return *out
	}
	sub := zoneRelative(name, zone, "")
	var held []liveRecord
	for _, rec := range recs {
		recTTL, _ := strconv.Atoi(rec.TTL)
		held = append(held, liveRecord{ID: rec.ID, Data: rec.Content, Addr: parseRecordAddr(rec.Content), TTL: recTTL, Marked: rec.Notes == porkbunNote})
	}
	plan := planRRset(rrsetRequest{Name: name, Type: rtype, Want: want, Delivered: r.Delivered, KeepOthers: r.KeepOthers, TTL: ttlN, Markers: true}, held)
	what := rtype + " " + name
	for _, e := range plan.Update {
		fields := map[string]any{"name": sub, "type": rtype, "content": e.Addr.String(), "ttl": ttl, "notes": porkbunNote}
		if _, _, out := call.do(ctx, "/dns/edit/"+url.PathEscape(zone)+"/"+url.PathEscape(e.Rec.ID), fields, "editing "+what+" → "+e.Addr.String()); out != nil {
			return *out
		}
	}
	for _, a := range plan.Create {
		v := a.String()
		fields := map[string]any{"name": sub, "type": rtype, "content": v, "ttl": ttl, "notes": porkbunNote}
		if _, _, out := call.do(ctx, "/dns/create/"+url.PathEscape(zone), fields, "creating "+what+" → "+v); out != nil {
			return *out
		}
	}
	for _, d := range plan.Delete {
		if _, _, out := call.do(ctx, "/dns/delete/"+url.PathEscape(zone)+"/"+url.PathEscape(d.ID), nil, "removing "+what+" "+d.Data); out != nil {
			return *out
		}
	}
	o := Outcome{Result: Delivered, Message: call.api.red.message(plan.summary(what, ours) + " (ttl " + ttl + ")")}
	if len(plan.Left) > 0 {
		o.Advice = "the name still holds " + rtype + " records the broker did not create (no note \"" + porkbunNote +
			"\"): delete them at Porkbun, or turn on the record's keep_other_addresses if they belong there"
	}
	return o
}

// Check pings with the keys, then reads the record's (or the domain's
// apex) records: that works only for a domain of the account with API
// access switched on, which is all a Porkbun key needs to edit it.
func (p *porkbun) Check(ctx context.Context, r CheckRequest[porkbunSettings]) []Step {
	call, out := p.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	if _, _, out := call.do(ctx, "/ping", nil, "checking the keys"); out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message + ": " + out.Advice}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "Porkbun accepted the keys"}}
	name := strings.ToLower(strings.TrimSuffix(cmp.Or(r.FQDN, r.Settings.Zone), "."))
	if name == "" {
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no domain and no record name to look for"})
	}
	zone, _, out := call.records(ctx, r.Settings.Zone, name, "A")
	if out != nil {
		if strings.Contains(out.Message, "opted in") {
			return append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "the domain is in the account"},
				Step{Name: "may edit records", Status: StepFailed, Detail: out.Message + ": " + out.Advice})
		}
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: out.Message + ": " + out.Advice})
	}
	return append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "domain " + zone},
		Step{Name: "may edit records", Status: StepPassed, Detail: "API access is switched on for " + zone + " (Porkbun keys are not scoped further)"})
}

func (*porkbun) Presets() []Preset {
	return []Preset{{
		ID: "porkbun", Name: "Porkbun", Protocol: ProtocolPorkbun,
		Settings:   raw(`{"ttl": 600}`),
		Credential: &Prompt{Label: "API key and secret API key", Help: "pk1_…:sk1_…, both keys from porkbun.com/account/api joined by a colon."},
		Families:   netcalc.Families(),
		Notes: "Switch on API ACCESS for the domain in Porkbun's Domain Management, or every call fails. The domain is found from each " +
			"record's name (set zone to skip the lookup). Records the broker creates carry the note \"" + porkbunNote + "\"; it deletes " +
			"no record without it. New Porkbun domains carry a parking ALIAS/CNAME at @ and *, which conflicts with A/AAAA records there: remove it first.",
		DocsURL: "https://porkbun.com/api/json/v3/documentation",
	}}
}

// summary says what the plan did, e.g. "A home.example.com → 192.0.2.1
// created".
func (p rrsetPlan) summary(what string, ours []string) string {
	msg := what + " → " + strings.Join(ours, ", ")
	var did []string
	count := func(n int, verb string) {
		if n > 0 {
			did = append(did, strconv.Itoa(n)+" "+verb)
		}
	}
	switch {
	case len(p.Update)+len(p.Create)+len(p.Delete) == 0:
		did = append(did, "unchanged")
	case len(p.Create) == len(ours) && len(p.Update)+len(p.Delete) == 0:
		did = append(did, "created")
	case len(p.Update) == len(ours) && len(p.Create)+len(p.Delete) == 0:
		did = append(did, "updated")
	default:
		count(len(p.Update), "updated")
		count(len(p.Create), "created")
		count(len(p.Delete), "removed")
	}
	msg += " " + strings.Join(did, ", ")
	if n := len(p.Left); n > 0 {
		msg += fmt.Sprintf("; left %d other record(s) the broker did not create", n)
	}
	return msg
}
