package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolVultr is the vultr protocol's name.
const ProtocolVultr = "vultr"

const (
	vultrAPIURL = "https://api.vultr.com/v2"
	vultrTTL    = 300
	vultrMinTTL = 60
	// vultrMaxPages bounds the pages of one listing (500 records each).
	vultrMaxPages = 25
)

// vultrSettings are the options of a vultr service; the API key is the
// service's credential.
type vultrSettings struct {
	// Zone is the DNS domain as Vultr holds it; empty: found from each
	// record's name.
	Zone   string `json:"zone"`
	TTL    *int   `json:"ttl"`
	APIURL string `json:"api_url"`
}

// vultr is Vultr's API v2 DNS: domains by name, records by id, one
// record object per address, no filter on listings.
type vultr struct{ deps Deps }

// NewVultr is the vultr protocol.
func NewVultr(d Deps) Provider {
	return Adapt[vultrSettings](&vultr{deps: d.withDefaults()})
}

const vultrCredentialHelp = "The API key from Account → API (enable the API; its access control must allow the broker's addresses, IPv6 included)."

func (*vultr) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolVultr, Title: "Vultr DNS (API v2)",
		Summary: "Finds the domain and the name's A or AAAA records and creates, updates or removes them until the name holds the address.",
		Settings: []Field{
			{Key: "zone", Type: FieldString, Label: "Domain", Help: "The DNS domain as listed under Network → DNS; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: vultrTTL, Min: ptrTo(vultrMinTTL), Max: ptrTo(maxTTL),
				Help: "Seconds resolvers may cache the address (60..86400)."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: vultrAPIURL, Destination: true,
				Help: "Replaces Vultr's API (for tests and API proxies); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API key", Help: vultrCredentialHelp},
		Families:   netcalc.Families(),
		Together:   TogetherNever,
		DocsURL:    "https://www.vultr.com/api/#tag/dns",
	}
}

func (*vultr) Presets() []Preset {
	return []Preset{{
		ID: "vultr", Name: "Vultr DNS", Protocol: ProtocolVultr,
		Settings:   raw(`{"ttl": 300}`),
		Credential: &Prompt{Label: "API key", Help: vultrCredentialHelp},
		Families:   netcalc.Families(),
		Notes: "The domain must be added under Network → DNS. A Vultr API key has the whole account's rights; " +
			"its access control list refuses requests from other addresses. Vultr allows about 30 requests a second.",
		DocsURL: "https://www.vultr.com/api/#tag/dns",
	}}
}

// vultrAnswers is what Vultr's answers mean. Errors are {"error","status"};
// a 429 carries Retry-After, and Vultr has answered 503 when overloaded.
var vultrAnswers = answerTable{
	Rows: []answerRow{
		{Status: http.StatusUnauthorized, Meaning: Meaning{Result: Failed,
			Advice: "Vultr refused the API key, or the key's access control does not allow the broker's address: check the key and its allowed addresses under Account → API"}},
		{Status: http.StatusForbidden, Meaning: Meaning{Result: Failed,
			Advice: "Vultr refused the request: the key's access control may not allow the broker's address (IPv6 included), or the user lacks the DNS permission"}},
		{Status: http.StatusNotFound, Meaning: Meaning{Result: Failed,
			Advice: "Vultr does not hold this domain in the key's account: add it under Network → DNS, or check the service's domain"}},
		{Status: http.StatusBadRequest, Meaning: Meaning{Result: Failed, Advice: AdviceRefused}},
		{Status: http.StatusTooManyRequests, Meaning: Meaning{Result: Retry, Advice: AdviceRateLimited}},
	},
	Credential: AdviceServiceCredential,
	Words: func(body []byte) (string, string) {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil {
			return "", ""
		}
		return "", e.Error
	},
}

type vultrRecord struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
	Data string `json:"data"`
	TTL  int    `json:"ttl"`
}

// vultrCall is one delivery's calls: the API, the domain, the record's
// name relative to it ("" for the apex).
type vultrCall struct {
	api  *API
	path string // /domains/<domain>/records
	name string
	typ  string
	ttl  int
}

func (p *vultr) newAPI(s vultrSettings, token string) (*API, *Outcome) {
	return newTokenAPI(p.deps, s.APIURL, vultrAPIURL, "vultr: ", "Authorization", "Bearer ", token)
}

// zone asks whether candidate is a domain of the account (404: not one).
func (p *vultr) zone(api *API) zoneLookup {
	return func(ctx context.Context, c string) (string, bool, *Outcome) {
		resp, out := api.callJSON(ctx, http.MethodGet, "/domains/"+url.PathEscape(c), nil, nil, nil, "finding domain "+c, vultrAnswers)
		if resp.Status == http.StatusNotFound {
			return "", false, nil
		}
		return c, out == nil, out
	}
}

// Send finds the domain, reads its records (Vultr filters nothing:
// every page, matched here) and makes the name hold the addresses.
func (p *vultr) Send(ctx context.Context, r Request[vultrSettings]) Outcome {
	s := r.Settings
	api, out := p.newAPI(s, r.Credential)
	if out != nil {
		return *out
	}
	ttl := vultrTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	q, out := newRRsetRequest(r, ttl, false)
	if out != nil {
		return *out
	}
	zone, _, out := lookupZone(ctx, "vultr: ", q.Name, s.Zone, true, p.zone(api))
	if out != nil {
		return *out
	}
	c := vultrCall{api: api, path: "/domains/" + url.PathEscape(zone) + "/records", name: zoneRelative(q.Name, zone, ""), typ: q.Type, ttl: ttl}
	var live []liveRecord
	cursor := ""
	for range vultrMaxPages {
		var page struct {
			Records []vultrRecord `json:"records"`
			Meta    struct {
				Links struct {
					Next string `json:"next"`
				} `json:"links"`
			} `json:"meta"`
		}
		query := url.Values{"per_page": {"500"}}
		if cursor != "" {
			query.Set("cursor", cursor)
		}
		if _, out := api.callJSON(ctx, http.MethodGet, c.path, query, nil, &page, "listing records of "+zone, vultrAnswers); out != nil {
			return *out
		}
		for _, rec := range page.Records {
			if rec.Type == q.Type && rec.Name == c.name {
				live = append(live, liveRecord{ID: rec.ID, Addr: parseRecordAddr(rec.Data), TTL: rec.TTL})
			}
		}
		if cursor = page.Meta.Links.Next; cursor == "" {
			break
		}
	}
	plan := planRRset(q, live)
	if out := plan.apply(ctx, c); out != nil {
		return *out
	}
	return plan.outcome(q, api.red)
}

func (c vultrCall) create(ctx context.Context, a netip.Addr) *Outcome {
	body := map[string]any{"type": c.typ, "name": c.name, "data": a.String(), "ttl": c.ttl}
	_, out := c.api.callJSON(ctx, http.MethodPost, c.path, nil, body, nil, "creating "+c.typ+" "+a.String(), vultrAnswers)
	return out
}

func (c vultrCall) update(ctx context.Context, ch recordChange) *Outcome {
	body := map[string]any{"data": ch.Addr.String(), "ttl": c.ttl}
	_, out := c.api.callJSON(ctx, http.MethodPatch, c.path+"/"+url.PathEscape(ch.Rec.ID), nil, body, nil,
		"updating "+c.typ+" record "+ch.Rec.ID, vultrAnswers)
	return out
}

func (c vultrCall) remove(ctx context.Context, rec liveRecord) *Outcome {
	_, out := c.api.callJSON(ctx, http.MethodDelete, c.path+"/"+url.PathEscape(rec.ID), nil, nil, nil,
		"removing "+c.typ+" record "+rec.ID, vultrAnswers)
	return out
}

// Check lists one domain (the key works, from this address), then finds
// the record's domain; a sub-user's DNS permission shows only on a change.
func (p *vultr) Check(ctx context.Context, r CheckRequest[vultrSettings]) []Step {
	api, out := p.newAPI(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: checkDetail(*out)}}
	}
	credential := apiCheck{name: "credentials accepted", run: func(ctx context.Context) (string, *Outcome) {
		_, out := api.callJSON(ctx, http.MethodGet, "/domains", url.Values{"per_page": {"1"}}, nil, nil, "listing domains", vultrAnswers)
		return "the key may read DNS domains from the broker's address", out
	}}
	find := func(ctx context.Context, name string) (string, *Outcome) {
		zone, _, out := lookupZone(ctx, "vultr: ", name, r.Settings.Zone, false, p.zone(api))
		return "domain " + zone, out
	}
	return recordAPIChecks(ctx, credential, r.FQDN, r.Settings.Zone, find,
		Step{Name: "may edit records", Status: StepUnchecked, Detail: "an account's API key may; a sub-user's only with the DNS permission, which only a change tells"})
}

// Validate checks the domain's form.
func (*vultr) Validate(s vultrSettings, _ Has) []FieldError {
	return validateRecordAPI(s.Zone, s.APIURL)
}
