package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolNameSilo is the namesilo protocol's name.
const ProtocolNameSilo = "namesilo"

// nameSiloAPIURL is NameSilo's API; each operation is a GET of
// /<operation>?version=1&type=json&key=….
const nameSiloAPIURL = "https://www.namesilo.com/api"

const (
	// NameSilo refuses TTLs below an hour.
	nameSiloMinTTL = 3600
	nameSiloMaxTTL = 2592000
)

// nameSiloSettings are the options stored with a namesilo service. The
// API key is the service's credential; it travels in every request's URL,
// so it never reaches a message (the redactor knows it, and errors drop
// the URL).
type nameSiloSettings struct {
	// Domain is the domain at NameSilo holding the records. Empty: found
	// from each record's name.
	Domain string `json:"domain"`
	TTL    *int   `json:"ttl"`
	APIURL string `json:"api_url"` // "": nameSiloAPIURL
}

// nameSiloRecordID matches record ids (opaque alphanumerics) sent back.
var nameSiloRecordID = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)

// NameSilo's reply codes (reply.code; the HTTP status is 200 for them).
const (
	nameSiloOK           = 300
	nameSiloNotMyDomain  = 200
	nameSiloInternal     = 201
	nameSiloInvalidKey   = 110
	nameSiloSubAccount   = 112
	nameSiloIPNotAllowed = 113
)

// namesilo is NameSilo's API: list the domain's records, then add,
// update or delete single records. Records carry no comments, so no
// marker is stored.
type namesilo struct {
	deps Deps

	mu    sync.Mutex
	zones map[string]string // key hash|api url|name → domain
}

// NewNameSilo is the namesilo protocol.
func NewNameSilo(d Deps) Provider {
	return Adapt[nameSiloSettings](&namesilo{deps: d.withDefaults(), zones: map[string]string{}})
}

func (*namesilo) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolNameSilo, Title: "NameSilo (API)",
		Summary: "Lists the domain's records with NameSilo's API and adds or updates the name's A or AAAA record.",
		Settings: []Field{
			{Key: "domain", Type: FieldString, Label: "Domain",
				Help: "The domain at NameSilo holding the records, e.g. example.com; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: nameSiloMinTTL, Min: ptrTo(nameSiloMinTTL), Max: ptrTo(nameSiloMaxTTL),
				Help: "TTL of the records in seconds; NameSilo takes 3600 at least."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: nameSiloAPIURL, Destination: true,
				Help: "Replaces NameSilo's API (https://sandbox.namesilo.com/api for its sandbox, or tests); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API key",
			Help: "An API key from namesilo.com/account/api-manager, not read-only; leave its IP list empty or add the broker's address."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://www.namesilo.com/api-reference",
	}
}

func (*namesilo) Validate(s nameSiloSettings, _ Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if s.Domain != "" && !dnsname.IsHostName(strings.TrimSuffix(s.Domain, ".")) {
		add("domain", "must be a domain name, e.g. example.com")
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		add("api_url", msg)
	}
	return errs
}

// nameSiloMeaning is the table of NameSilo's reply codes.
func nameSiloMeaning(code int) Meaning {
	switch code {
	case nameSiloOK:
		return Meaning{Result: Delivered}
	case nameSiloInvalidKey:
		return Meaning{Result: Failed, Advice: "NameSilo refused the API key, or it is read-only: generate a key that is not read-only " +
			"at namesilo.com/account/api-manager and set it as the service's credential"}
	case nameSiloSubAccount:
		return Meaning{Result: Failed, Advice: "NameSilo sub-accounts cannot use the API: use a key of the main account"}
	case nameSiloIPNotAllowed:
		return Meaning{Result: Failed, Advice: "the API key is limited to other IP addresses: add the broker's address to the key's list in NameSilo's API manager"}
	case nameSiloNotMyDomain:
		return Meaning{Result: Failed, Advice: "the domain is not active in this NameSilo account: check the service's domain and the record's name"}
	case nameSiloInternal:
		return Meaning{Result: Retry}
	}
	return Meaning{Result: Failed, Advice: AdviceRefused}
}

// nameSiloReply is the JSON envelope's reply; code comes as a number or a
// string.
type nameSiloReply struct {
	Code   json.RawMessage `json:"code"`
	Detail string          `json:"detail"`
}

func (r nameSiloReply) code() int {
	n, err := strconv.Atoi(strings.Trim(string(r.Code), `"`))
	if err != nil {
		return 0
	}
	return n
}

type nameSiloRecord struct {
	ID    string          `json:"record_id"`
	Type  string          `json:"type"`
	Host  string          `json:"host"`
	Value string          `json:"value"`
	TTL   json.RawMessage `json:"ttl"`
}

// nameSiloCall is one attempt's view of the API.
type nameSiloCall struct {
	api *API
	key string // the API key, sent in each query
	tk  string // cache key prefix
}

func (p *namesilo) newCall(s nameSiloSettings, key string) (nameSiloCall, *Outcome) {
	if err := checkAPIToken(key); err != nil {
		return nameSiloCall{}, &Outcome{Result: Failed, Message: "the service's API key " + err.Error() + ": set its credential",
			Advice: AdviceServiceCredential}
	}
	base := strings.TrimRight(s.APIURL, "/")
	if base == "" {
		base = nameSiloAPIURL
	}
	if msg := checkEndpointURL(base, true); msg != "" {
		return nameSiloCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	sum := sha256.Sum256([]byte(key))
	return nameSiloCall{api: newAPI(p.deps, base, "namesilo: ", nil, key), key: key, tk: hex.EncodeToString(sum[:8]) + "|" + base}, nil
}

// do runs one operation: on reply code 300 it decodes the reply into out
// (when not nil); otherwise the Outcome says what the code means, and the
// code lets a caller treat 200 (not this account's domain) itself.
func (c nameSiloCall) do(ctx context.Context, op string, params url.Values, out any, what string) (int, *Outcome) {
	q := url.Values{"version": {"1"}, "type": {"json"}, "key": {c.key}}
	for k, v := range params {
		q[k] = v
	}
	resp, o := c.api.Call(ctx, http.MethodGet, "/"+op, q, nil, what)
	if o != nil {
		return 0, o
	}
	if resp.Status >= 300 && resp.Status < 400 {
		return 0, c.api.fail(what, resp, HTTPStatus(resp.Status, AdviceServiceCredential), "redirect not followed")
	}
	if o := c.api.Judge(resp, what, "", AdviceServiceCredential); o != nil {
		return 0, o
	}
	var env struct {
		Reply json.RawMessage `json:"reply"`
	}
	var reply nameSiloReply
	if json.Unmarshal(resp.Body, &env) != nil || json.Unmarshal(env.Reply, &reply) != nil || reply.code() == 0 {
		return 0, c.api.fail(what, resp, Meaning{Result: Failed, Advice: AdviceRefused}, "the answer is not NameSilo API JSON: "+c.api.detail(resp, ""))
	}
	code := reply.code()
	if m := nameSiloMeaning(code); m.Result != Delivered {
		return code, c.api.fail(what, resp, m, strconv.Itoa(code)+" "+c.api.red.answer(reply.Detail))
	}
	if out != nil {
		if err := json.Unmarshal(env.Reply, out); err != nil {
			return code, c.api.fail(what, resp, Meaning{Result: Failed, Advice: AdviceRefused}, "unexpected reply: "+err.Error())
		}
	}
	return code, nil
}

// records lists the domain's records; code 200 says the domain is not
// this account's.
func (c nameSiloCall) records(ctx context.Context, domain string) ([]nameSiloRecord, int, *Outcome) {
	var reply struct {
		Records json.RawMessage `json:"resource_record"`
	}
	code, o := c.do(ctx, "dnsListRecords", url.Values{"domain": {domain}}, &reply, "listing the records of "+domain)
	if o != nil {
		return nil, code, o
	}
	var recs []nameSiloRecord
	switch raw := bytes.TrimSpace(reply.Records); {
	case len(raw) == 0 || string(raw) == "null":
	case raw[0] == '{': // one record comes as an object
		var one nameSiloRecord
		if err := json.Unmarshal(raw, &one); err == nil {
			recs = append(recs, one)
		}
	default:
		if err := json.Unmarshal(raw, &recs); err != nil {
			return nil, code, &Outcome{Result: Failed, Message: c.api.red.message("namesilo: listing the records of " + domain + ": unexpected reply: " + err.Error()),
				Advice: AdviceRefused}
		}
	}
	return recs, code, nil
}

// domain finds the domain holding name and its records: the setting, a
// cached one, or the first of name's parents (shortest first: NameSilo
// has no sub-zones) whose records NameSilo lists.
//
// The reply code of a failure comes back too (0 when there was none).
func (p *namesilo) domain(ctx context.Context, c nameSiloCall, s nameSiloSettings, name string) (string, []nameSiloRecord, int, *Outcome) {
	if d := strings.ToLower(strings.TrimSuffix(s.Domain, ".")); d != "" {
		if name != "" && name != d && !strings.HasSuffix(name, "."+d) {
			return "", nil, 0, &Outcome{Result: Failed, Message: fmt.Sprintf("namesilo: record %s is not in domain %s", name, d),
				Advice: "check the service's domain and the record's name"}
		}
		recs, code, o := c.records(ctx, d)
		return d, recs, code, o
	}
	key := c.tk + "|" + name
	p.mu.Lock()
	d, ok := p.zones[key]
	p.mu.Unlock()
	if ok {
		recs, code, o := c.records(ctx, d)
		if o == nil {
			return d, recs, 0, nil
		}
		p.mu.Lock()
		delete(p.zones, key)
		p.mu.Unlock()
		return "", nil, code, o
	}
	labels := strings.Split(name, ".")
	var asked []string
	for i := len(labels) - 2; i >= 0 && len(asked) < maxZoneCandidates; i-- {
		cand := strings.Join(labels[i:], ".")
		asked = append(asked, cand)
		recs, code, o := c.records(ctx, cand)
		if o == nil {
			p.mu.Lock()
			if len(p.zones) >= maxCloudflareCache {
				clear(p.zones)
			}
			p.zones[key] = cand
			p.mu.Unlock()
			return cand, recs, 0, nil
		}
		if code != nameSiloNotMyDomain {
			return "", nil, code, o
		}
	}
	return "", nil, nameSiloNotMyDomain, &Outcome{Result: Failed, Message: "namesilo: no domain of the account holds " + name + " (asked for " + strings.Join(asked, ", ") + ")",
		Advice: "set the service's domain, or check that the record's name is in a domain of this NameSilo account"}
}

// Send lists the domain's records and makes the name's records of the
// family's type hold the request's addresses: updates first, then adds,
// then deletes.
func (p *namesilo) Send(ctx context.Context, r Request[nameSiloSettings]) Outcome {
	s := r.Settings
	c, out := p.newCall(s, r.Credential)
	if out != nil {
		return *out
	}
	ttl := nameSiloMinTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	rq, out := newRRsetRequest(r, ttl, false)
	if out != nil {
		return *out
	}
	name := rq.Name
	domain, recs, _, o := p.domain(ctx, c, s, name)
	if o != nil {
		return *o
	}
	host := ""
	if name != domain {
		host = strings.TrimSuffix(name, "."+domain)
	}
	rtype := r.Family.RecordType()
	var listed []liveRecord
	for _, rec := range recs {
		// Answers name hosts in full; requests take them relative.
		h := strings.ToLower(strings.TrimSuffix(rec.Host, "."))
		if rec.Type == rtype && (h == name || h == host && host != "") && nameSiloRecordID.MatchString(rec.ID) {
			ttl, _ := strconv.Atoi(strings.Trim(string(rec.TTL), `"`))
			listed = append(listed, liveRecord{ID: rec.ID, Addr: parseRecordAddr(rec.Value), TTL: ttl})
		}
	}
	plan := planRRset(rq, listed)
	what := fmt.Sprintf("%s %s → %s", rtype, name, joinAddrs(r.Addresses))
	if !plan.Changes() {
		return Outcome{Result: Delivered, Message: c.api.red.message(what + " unchanged" + plan.kept())}
	}
	common := func(extra url.Values) url.Values {
		extra.Set("domain", domain)
		return extra
	}
	ttlText := strconv.Itoa(ttl)
	for _, u := range plan.Update {
		if _, o := c.do(ctx, "dnsUpdateRecord", common(url.Values{"rrid": {u.Rec.ID}, "rrhost": {host}, "rrvalue": {u.Addr.String()}, "rrttl": {ttlText}}),
			nil, "updating "+rtype+" "+name+" → "+u.Addr.String()); o != nil {
			return *o
		}
	}
	for _, a := range plan.Create {
		if _, o := c.do(ctx, "dnsAddRecord", common(url.Values{"rrtype": {rtype}, "rrhost": {host}, "rrvalue": {a.String()}, "rrttl": {ttlText}}),
			nil, "adding "+rtype+" "+name+" → "+a.String()); o != nil {
			return *o
		}
	}
	for _, d := range plan.Delete {
		if _, o := c.do(ctx, "dnsDeleteRecord", common(url.Values{"rrid": {d.ID}}), nil, "removing the other "+rtype+" record of "+name); o != nil {
			return *o
		}
	}
	return Outcome{Result: Delivered, Message: c.api.red.message(what + " " + plan.verb() + " (ttl " + ttlText + ")" + plan.kept())}
}

// Check lists the domain's records, read-only: the key is accepted (not
// 110) and the domain is the account's (not 200). A read-only key passes
// too; only a change tells.
func (p *namesilo) Check(ctx context.Context, r CheckRequest[nameSiloSettings]) []Step {
	c, out := p.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	name := strings.ToLower(strings.TrimSuffix(r.FQDN, "."))
	if name == "" {
		name = strings.ToLower(strings.TrimSuffix(r.Settings.Domain, "."))
	}
	if name == "" {
		return []Step{{Name: "credentials accepted", Status: StepUnchecked, Detail: "no domain and no record name to ask about"},
			{Name: "zone found", Status: StepUnchecked, Detail: "no domain and no record name to look for"}}
	}
	domain, _, code, o := p.domain(ctx, c, r.Settings, name)
	if o != nil {
		if code == 0 || code == nameSiloInvalidKey || code == nameSiloSubAccount || code == nameSiloIPNotAllowed {
			return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: o.Message + " — " + o.Advice}}
		}
		return []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "NameSilo answered with the key"},
			{Name: "zone found", Status: StepFailed, Detail: o.Message}}
	}
	return []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "NameSilo listed the domain's records"},
		{Name: "zone found", Status: StepPassed, Detail: "domain " + domain},
		{Name: "may edit records", Status: StepUnchecked, Detail: "a read-only NameSilo key lists records too; only a change tells"}}
}
