package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolLinode is the linode protocol's name.
const ProtocolLinode = "linode"

const (
	linodeAPIURL = "https://api.linode.com/v4"
	linodeTTL    = 300
	// linodeMaxPages bounds the pages of one listing (500 records each).
	linodeMaxPages = 25
)

// linodeTTLs are the TTLs Linode keeps; it rounds any other value to the
// nearest of them, so a record would never look unchanged.
var linodeTTLs = []int{300, 3600, 7200, 14400, 28800, 57600, 86400, 172800, 345600, 604800, 1209600, 2419200}

// linodeSettings are the options of a linode service; the personal
// access token is the service's credential.
type linodeSettings struct {
	// Zone is the domain as Linode's DNS Manager holds it; empty: found
	// from each record's name.
	Zone   string `json:"zone"`
	TTL    *int   `json:"ttl"`
	APIURL string `json:"api_url"`
}

// linode is Linode's (Akamai Cloud) API v4 Domains: zones and records by
// numeric id, one record object per address.
type linode struct{ deps Deps }

// NewLinode is the linode protocol.
func NewLinode(d Deps) Provider {
	return Adapt[linodeSettings](&linode{deps: d.withDefaults()})
}

const linodeCredentialHelp = "A personal access token (Cloud Manager → API Tokens) with the Domains scope set to Read/Write."

func (*linode) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolLinode, Title: "Linode / Akamai Cloud (API v4)",
		Summary: "Finds the domain and the name's A or AAAA records and creates, updates or removes them until the name holds the address.",
		Settings: []Field{
			{Key: "zone", Type: FieldString, Label: "Domain", Help: "The domain as listed in the DNS Manager; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: linodeTTL,
				Help: "Seconds resolvers may cache the address: one of Linode's values 300, 3600, 7200, 14400, 28800, 57600, 86400 and longer."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: linodeAPIURL, Destination: true,
				Help: "Replaces Linode's API (for tests and API proxies); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API token", Help: linodeCredentialHelp},
		Families:   netcalc.Families(),
		Together:   TogetherNever,
		DocsURL:    "https://techdocs.akamai.com/linode-api/reference/post-domain-record",
	}
}

func (*linode) Presets() []Preset {
	return []Preset{{
		ID: "linode", Name: "Linode / Akamai Cloud DNS Manager", Protocol: ProtocolLinode,
		Settings:   raw(`{"ttl": 300}`),
		Credential: &Prompt{Label: "API token", Help: linodeCredentialHelp},
		Families:   netcalc.Families(),
		Notes: "The domain must be a master domain in Linode's DNS Manager. Linode keeps only its own TTL values (300 s is the shortest) " +
			"and renders zone changes to its name servers every few minutes.",
		DocsURL: "https://techdocs.akamai.com/linode-api/reference/post-domain-record",
	}}
}

// linodeAnswers is what Linode's answers mean. Errors are
// {"errors":[{"field","reason"}]}; a 429 carries Retry-After.
var linodeAnswers = answerTable{
	Rows: []answerRow{
		{Status: http.StatusUnauthorized, Meaning: Meaning{Result: Failed,
			Advice: "Linode refused the API token (wrong, expired or revoked): create a new one under API Tokens and set it as the service's credential"}},
		{Status: http.StatusForbidden, Meaning: Meaning{Result: Failed,
			Advice: "the API token may not change DNS records: create one with the Domains scope set to Read/Write"}},
		{Status: http.StatusNotFound, Meaning: Meaning{Result: Failed,
			Advice: "Linode does not know this domain or record in the token's account: check the service's domain"}},
		{Status: http.StatusBadRequest, Meaning: Meaning{Result: Failed, Advice: AdviceRefused}},
		{Status: http.StatusTooManyRequests, Meaning: Meaning{Result: Retry, Advice: AdviceRateLimited}},
	},
	Credential:  AdviceServiceCredential,
	ResetHeader: "X-Ratelimit-Reset",
	Words: func(body []byte) (string, string) {
		var e struct {
			Errors []struct {
				Field  string `json:"field"`
				Reason string `json:"reason"`
			} `json:"errors"`
		}
		if json.Unmarshal(body, &e) != nil {
			return "", ""
		}
		var parts []string
		for _, x := range e.Errors {
			if x.Field != "" {
				x.Reason = x.Field + ": " + x.Reason
			}
			parts = append(parts, x.Reason)
		}
		return "", strings.Join(parts, "; ")
	},
}

type linodeRecord struct {
	ID     int64  `json:"id"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	Target string `json:"target"`
	TTL    int    `json:"ttl_sec"`
}

// linodePage is a page of a listing.
type linodePage[T any] struct {
	Data  []T `json:"data"`
	Page  int `json:"page"`
	Pages int `json:"pages"`
}

// linodeList reads every page of a listing (X-Filter narrows it).
func linodeList[T any](ctx context.Context, api *API, path string, filter map[string]string, op string) ([]T, *Outcome) {
	f, _ := json.Marshal(filter)
	api = api.withHeader(http.Header{"X-Filter": {string(f)}})
	var all []T
	for page := 1; page <= linodeMaxPages; page++ {
		var p linodePage[T]
		q := url.Values{"page": {strconv.Itoa(page)}, "page_size": {"500"}}
		if _, out := api.callJSON(ctx, http.MethodGet, path, q, nil, &p, op, linodeAnswers); out != nil {
			return nil, out
		}
		all = append(all, p.Data...)
		if p.Page >= p.Pages {
			break
		}
	}
	return all, nil
}

// zone finds the id of the domain candidate.
func (p *linode) zone(api *API) zoneLookup {
	return func(ctx context.Context, c string) (string, bool, *Outcome) {
		domains, out := linodeList[struct {
			ID     int64  `json:"id"`
			Domain string `json:"domain"`
		}](ctx, api, "/domains", map[string]string{"domain": c}, "finding domain "+c)
		if out != nil {
			return "", false, out
		}
		for _, d := range domains {
			if strings.EqualFold(d.Domain, c) {
				return strconv.FormatInt(d.ID, 10), true, nil
			}
		}
		return "", false, nil
	}
}

// linodeCall is one delivery's calls: the API, the domain's id and the
// record's name.
type linodeCall struct {
	api  *API
	path string // /domains/<id>/records
	fqdn string
	typ  string
	ttl  int
}

func (p *linode) newAPI(s linodeSettings, token string) (*API, *Outcome) {
	return newTokenAPI(p.deps, s.APIURL, linodeAPIURL, "linode: ", "Authorization", "Bearer ", token)
}

// Send finds the domain's id, lists the name's records of the family's
// type and makes them hold the addresses.
func (p *linode) Send(ctx context.Context, r Request[linodeSettings]) Outcome {
	s := r.Settings
	api, out := p.newAPI(s, r.Credential)
	if out != nil {
		return *out
	}
	ttl := linodeTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	q, out := newRRsetRequest(r, ttl, false)
	if out != nil {
		return *out
	}
	zone, id, out := lookupZone(ctx, "linode: ", q.Name, s.Zone, false, p.zone(api))
	if out != nil {
		return *out
	}
	c := linodeCall{api: api, path: "/domains/" + url.PathEscape(id) + "/records", fqdn: q.Name, typ: q.Type, ttl: ttl}
	name := zoneRelative(q.Name, zone, "")
	filter := map[string]string{"type": q.Type}
	if name != "" {
		filter["name"] = name
	}
	recs, out := linodeList[linodeRecord](ctx, api, c.path, filter, "finding "+q.Type+" "+q.Name)
	if out != nil {
		return *out
	}
	var live []liveRecord
	for _, rec := range recs {
		if rec.Type == q.Type && strings.EqualFold(rec.Name, name) {
			live = append(live, liveRecord{ID: strconv.FormatInt(rec.ID, 10), Addr: parseRecordAddr(rec.Target), TTL: rec.TTL})
		}
	}
	plan := planRRset(q, live)
	if out := plan.apply(ctx, c); out != nil {
		return *out
	}
	return plan.outcome(q, api.red)
}

// create names the record by its FQDN, which Linode takes for A and AAAA
// records (and which the apex needs: a name is 1..100 characters).
func (c linodeCall) create(ctx context.Context, a netip.Addr) *Outcome {
	body := map[string]any{"type": c.typ, "name": c.fqdn, "target": a.String(), "ttl_sec": c.ttl}
	_, out := c.api.callJSON(ctx, http.MethodPost, c.path, nil, body, nil, "creating "+c.typ+" "+a.String(), linodeAnswers)
	return out
}

func (c linodeCall) update(ctx context.Context, ch recordChange) *Outcome {
	body := map[string]any{"target": ch.Addr.String(), "ttl_sec": c.ttl}
	_, out := c.api.callJSON(ctx, http.MethodPut, c.path+"/"+url.PathEscape(ch.Rec.ID), nil, body, nil,
		"updating "+c.typ+" record "+ch.Rec.ID, linodeAnswers)
	return out
}

func (c linodeCall) remove(ctx context.Context, rec liveRecord) *Outcome {
	_, out := c.api.callJSON(ctx, http.MethodDelete, c.path+"/"+url.PathEscape(rec.ID), nil, nil, nil,
		"removing "+c.typ+" record "+rec.ID, linodeAnswers)
	return out
}

// Check lists domains (the token works and may read them), then finds
// the record's domain; write access shows only on a change.
func (p *linode) Check(ctx context.Context, r CheckRequest[linodeSettings]) []Step {
	api, out := p.newAPI(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: checkDetail(*out)}}
	}
	credential := apiCheck{name: "credentials accepted", run: func(ctx context.Context) (string, *Outcome) {
		q := url.Values{"page_size": {"25"}}
		_, out := api.callJSON(ctx, http.MethodGet, "/domains", q, nil, nil, "listing domains", linodeAnswers)
		return "the token may read domains", out
	}}
	find := func(ctx context.Context, name string) (string, *Outcome) {
		zone, id, out := lookupZone(ctx, "linode: ", name, r.Settings.Zone, false, p.zone(api))
		return "domain " + zone + " (id " + id + ")", out
	}
	return recordAPIChecks(ctx, credential, r.FQDN, r.Settings.Zone, find,
		Step{Name: "may edit records", Status: StepUnchecked, Detail: "only a change tells whether the token's Domains scope is Read/Write"})
}

// Validate checks the domain and that the TTL is one Linode keeps.
func (*linode) Validate(s linodeSettings, _ Has) []FieldError {
	errs := validateRecordAPI(s.Zone, s.APIURL)
	if s.TTL != nil && !slices.Contains(linodeTTLs, *s.TTL) {
		errs = append(errs, FieldError{Field: "settings.ttl", Message: "must be one of Linode's TTLs: 300, 3600, 7200, 14400, 28800, 57600, 86400, 172800, 345600, 604800, 1209600, 2419200"})
	}
	return errs
}
