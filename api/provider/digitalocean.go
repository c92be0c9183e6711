package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolDigitalOcean is the digitalocean protocol's name.
const ProtocolDigitalOcean = "digitalocean"

const (
	digitalOceanAPIURL = "https://api.digitalocean.com/v2"
	digitalOceanTTL    = 300
	// digitalOceanMinTTL is DigitalOcean's minimum for every record.
	digitalOceanMinTTL = 30
)

// digitalOceanSettings are the options of a digitalocean service; the
// API token is the service's credential.
type digitalOceanSettings struct {
	// Zone is the domain as DigitalOcean holds it; empty: found from
	// each record's name.
	Zone   string `json:"zone"`
	TTL    *int   `json:"ttl"`
	APIURL string `json:"api_url"`
}

// digitalOcean is DigitalOcean's API v2 (Domains, Domain Records) with a
// personal access token: one record object per address.
type digitalOcean struct{ deps Deps }

// NewDigitalOcean is the digitalocean protocol.
func NewDigitalOcean(d Deps) Provider {
	return Adapt[digitalOceanSettings](&digitalOcean{deps: d.withDefaults()})
}

func (*digitalOcean) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolDigitalOcean, Title: "DigitalOcean (API v2)",
		Summary: "Finds the domain and the name's A or AAAA records and creates, updates or removes them until the name holds the address.",
		Settings: []Field{
			{Key: "zone", Type: FieldString, Label: "Domain", Help: "The domain as listed under Networking → Domains; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: digitalOceanTTL, Min: ptrTo(digitalOceanMinTTL), Max: ptrTo(maxTTL),
				Help: "Seconds resolvers may cache the address (30..86400)."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: digitalOceanAPIURL, Destination: true,
				Help: "Replaces DigitalOcean's API (for tests and API proxies); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API token",
			Help: "A personal access token (API → Tokens) with full access, or custom scopes domain:read, domain:create, domain:update and domain:delete."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://docs.digitalocean.com/reference/api/api-reference/#tag/Domain-Records",
	}
}

func (*digitalOcean) Presets() []Preset {
	return []Preset{{
		ID: "digitalocean", Name: "DigitalOcean DNS", Protocol: ProtocolDigitalOcean,
		Settings: raw(`{"ttl": 300}`),
		Credential: &Prompt{Label: "API token",
			Help: "A personal access token (API → Tokens) with full access, or custom scopes domain:read, domain:create, domain:update and domain:delete."},
		Families: netcalc.Families(),
		Notes: "The domain must be added to DigitalOcean (Networking → Domains) and delegated to its name servers. " +
			"Records are found by name and type; the broker creates the record when missing. DigitalOcean allows 250 requests a minute per token.",
		DocsURL: "https://docs.digitalocean.com/reference/api/api-reference/#tag/Domain-Records",
	}}
}

// digitalOceanAnswers is what DigitalOcean's answers mean. Errors are
// {"id": "...", "message": "..."}; rate limits end at ratelimit-reset
// (429s of the per-minute burst limit carry Retry-After too).
var digitalOceanAnswers = answerTable{
	Rows: []answerRow{
		{Status: http.StatusUnauthorized, Meaning: Meaning{Result: Failed,
			Advice: "DigitalOcean refused the API token: create a new one under API → Tokens and set it as the service's credential"}},
		{Status: http.StatusForbidden, Meaning: Meaning{Result: Failed,
			Advice: "the API token may not change DNS records: give it full access or the domain:read, domain:create, domain:update and domain:delete scopes"}},
		{Status: http.StatusNotFound, Meaning: Meaning{Result: Failed,
			Advice: "DigitalOcean does not hold this domain in the token's account: add it under Networking → Domains, or check the service's domain"}},
		{Status: http.StatusUnprocessableEntity, Meaning: Meaning{Result: Failed, Advice: AdviceRefused}},
		{Status: http.StatusTooManyRequests, Meaning: Meaning{Result: Retry, Advice: AdviceRateLimited}},
	},
	Credential:  AdviceServiceCredential,
	ResetHeader: "Ratelimit-Reset",
	Words: func(body []byte) (string, string) {
		var e struct {
			ID      string `json:"id"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &e) != nil || e.Message == "" {
			return "", ""
		}
		return e.ID, e.ID + ": " + e.Message
	},
}

type doRecord struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
	Data string `json:"data"`
	TTL  int    `json:"ttl"`
}

// doCall is one delivery's calls: the API and the domain.
type doCall struct {
	api  *API
	zone string
	name string // the record's name in bodies: relative, "@" for the apex
	ttl  int
	typ  string
}

func (c doCall) records() string { return "/domains/" + url.PathEscape(c.zone) + "/records" }

func (p *digitalOcean) newAPI(s digitalOceanSettings, token string) (*API, *Outcome) {
	return newTokenAPI(p.deps, s.APIURL, digitalOceanAPIURL, "digitalocean: ", "Authorization", "Bearer ", token)
}

// zone asks whether candidate is a domain of the account (404: not one).
func (p *digitalOcean) zone(api *API) zoneLookup {
	return func(ctx context.Context, c string) (string, bool, *Outcome) {
		resp, out := api.callJSON(ctx, http.MethodGet, "/domains/"+url.PathEscape(c), nil, nil, nil, "finding domain "+c, digitalOceanAnswers)
		if resp.Status == http.StatusNotFound {
			return "", false, nil
		}
		return c, out == nil, out
	}
}

// Send finds the domain, lists the name's records of the family's type
// (the list filter takes the full name) and makes them hold the
// addresses.
func (p *digitalOcean) Send(ctx context.Context, r Request[digitalOceanSettings]) Outcome {
	s := r.Settings
	api, out := p.newAPI(s, r.Credential)
	if out != nil {
		return *out
	}
	ttl := digitalOceanTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	q, out := newRRsetRequest(r, ttl, false)
	if out != nil {
		return *out
	}
	zone, _, out := lookupZone(ctx, "digitalocean: ", q.Name, s.Zone, true, p.zone(api))
	if out != nil {
		return *out
	}
	c := doCall{api: api, zone: zone, name: zoneRelative(q.Name, zone, ""), ttl: ttl, typ: q.Type}
	if c.name == "" {
		c.name = "@"
	}
	var list struct {
		Records []doRecord `json:"domain_records"`
	}
	query := url.Values{"type": {q.Type}, "name": {q.Name}, "per_page": {"200"}}
	if _, out := api.callJSON(ctx, http.MethodGet, c.records(), query, nil, &list, "finding "+q.Type+" "+q.Name, digitalOceanAnswers); out != nil {
		return *out
	}
	var live []liveRecord
	for _, rec := range list.Records {
		if rec.Type == q.Type && rec.Name == c.name {
			live = append(live, liveRecord{ID: strconv.FormatInt(rec.ID, 10), Addr: parseRecordAddr(rec.Data), TTL: rec.TTL})
		}
	}
	plan := planRRset(q, live)
	if out := plan.apply(ctx, c); out != nil {
		return *out
	}
	return plan.outcome(q, api.red)
}

func (c doCall) create(ctx context.Context, a netip.Addr) *Outcome {
	body := map[string]any{"type": c.typ, "name": c.name, "data": a.String(), "ttl": c.ttl}
	_, out := c.api.callJSON(ctx, http.MethodPost, c.records(), nil, body, nil, "creating "+c.typ+" "+a.String(), digitalOceanAnswers)
	return out
}

func (c doCall) update(ctx context.Context, ch recordChange) *Outcome {
	body := map[string]any{"type": c.typ, "data": ch.Addr.String(), "ttl": c.ttl}
	_, out := c.api.callJSON(ctx, http.MethodPatch, c.records()+"/"+url.PathEscape(ch.Rec.ID), nil, body, nil,
		"updating "+c.typ+" record "+ch.Rec.ID, digitalOceanAnswers)
	return out
}

func (c doCall) remove(ctx context.Context, rec liveRecord) *Outcome {
	_, out := c.api.callJSON(ctx, http.MethodDelete, c.records()+"/"+url.PathEscape(rec.ID), nil, nil, nil,
		"removing "+c.typ+" record "+rec.ID, digitalOceanAnswers)
	return out
}

// Check lists one domain (the token works and may read domains), then
// finds the record's domain; whether the token may write only a change
// tells.
func (p *digitalOcean) Check(ctx context.Context, r CheckRequest[digitalOceanSettings]) []Step {
	api, out := p.newAPI(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: checkDetail(*out)}}
	}
	credential := apiCheck{name: "credentials accepted", run: func(ctx context.Context) (string, *Outcome) {
		_, out := api.callJSON(ctx, http.MethodGet, "/domains", url.Values{"per_page": {"1"}}, nil, nil, "listing domains", digitalOceanAnswers)
		return "the token may read domains", out
	}}
	find := func(ctx context.Context, name string) (string, *Outcome) {
		zone, _, out := lookupZone(ctx, "digitalocean: ", name, r.Settings.Zone, false, p.zone(api))
		return "domain " + zone, out
	}
	return recordAPIChecks(ctx, credential, r.FQDN, r.Settings.Zone, find,
		Step{Name: "may edit records", Status: StepUnchecked, Detail: "only a change tells whether the token has the domain:create, domain:update and domain:delete scopes"})
}

// Validate checks the domain's form.
func (*digitalOcean) Validate(s digitalOceanSettings, _ Has) []FieldError {
	return validateRecordAPI(s.Zone, s.APIURL)
}
