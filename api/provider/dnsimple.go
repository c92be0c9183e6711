package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolDNSimple is the dnsimple protocol's name.
const ProtocolDNSimple = "dnsimple"

const (
	dnsimpleAPIURL = "https://api.dnsimple.com/v2"
	dnsimpleTTL    = 300
	dnsimpleMinTTL = 60
	// dnsimpleMaxPages bounds the pages of one listing (100 records each).
	dnsimpleMaxPages = 25
	// maxDNSimpleAccounts bounds the cache of account ids; it is emptied
	// when full.
	maxDNSimpleAccounts = 1000
)

// dnsimpleSettings are the options of a dnsimple service; the API token
// is the service's credential.
type dnsimpleSettings struct {
	// AccountID is the numeric account every path names; empty: the
	// token's own account (GET /whoami, remembered).
	AccountID string `json:"account_id"`
	// Zone is the zone's name; empty: found from each record's name.
	Zone   string `json:"zone"`
	TTL    *int   `json:"ttl"`
	APIURL string `json:"api_url"`
}

// dnsimple is DNSimple's API v2: everything under an account id, zones
// by name, records by id, one record object per address.
type dnsimple struct {
	deps Deps

	mu       sync.Mutex
	accounts map[string]string // api URL|token hash → account id
}

// NewDNSimple is the dnsimple protocol.
func NewDNSimple(d Deps) Provider {
	return Adapt[dnsimpleSettings](&dnsimple{deps: d.withDefaults(), accounts: map[string]string{}})
}

const dnsimpleCredentialHelp = "An account API token (Account → Access Tokens); a user token needs the account id setting when the user has several accounts."

func (*dnsimple) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolDNSimple, Title: "DNSimple (API v2)",
		Summary: "Finds the zone and the name's A or AAAA records and creates, updates or removes them until the name holds the address.",
		Settings: []Field{
			{Key: "account_id", Type: FieldString, Label: "Account id",
				Help: "The numeric account id (in the dashboard's URLs); when empty, the token's own account."},
			{Key: "zone", Type: FieldString, Label: "Zone", Help: "The zone's name; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: dnsimpleTTL, Min: ptrTo(dnsimpleMinTTL), Max: ptrTo(maxTTL),
				Help: "Seconds resolvers may cache the address (60..86400)."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: dnsimpleAPIURL, Destination: true,
				Help: "Replaces DNSimple's API, e.g. https://api.sandbox.dnsimple.com/v2 for the sandbox; leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API token", Help: dnsimpleCredentialHelp},
		Families:   netcalc.Families(),
		Together:   TogetherNever,
		DocsURL:    "https://developer.dnsimple.com/v2/zones/records/",
	}
}

func (*dnsimple) Presets() []Preset {
	return []Preset{{
		ID: "dnsimple", Name: "DNSimple", Protocol: ProtocolDNSimple,
		Settings:   raw(`{"ttl": 300}`),
		Credential: &Prompt{Label: "API token", Help: dnsimpleCredentialHelp},
		Families:   netcalc.Families(),
		Notes: "An account token finds its account by itself; a user token with several accounts needs the account id. " +
			"DNSimple allows 2400 requests an hour; when exhausted the broker waits until X-RateLimit-Reset.",
		DocsURL: "https://developer.dnsimple.com/v2/zones/records/",
	}}
}

// dnsimpleAnswers is what DNSimple's answers mean. Errors are
// {"message", "errors": {field: [reasons]}}; a 429 carries no
// Retry-After but X-RateLimit-Reset, the Unix time the limit ends.
var dnsimpleAnswers = answerTable{
	Rows: []answerRow{
		{Status: http.StatusUnauthorized, Meaning: Meaning{Result: Failed,
			Advice: "DNSimple refused the API token: create one under Account → Access Tokens and set it as the service's credential"}},
		{Status: http.StatusPaymentRequired, Meaning: Meaning{Result: Failed,
			Advice: "DNSimple says the account is not in good standing: settle its invoices or plan"}},
		{Status: http.StatusForbidden, Meaning: Meaning{Result: Failed,
			Advice: "the API token may not change this zone's records: use an account token, or give the token the zone's write scope"}},
		{Status: http.StatusNotFound, Meaning: Meaning{Result: Failed,
			Advice: "DNSimple does not know this account or zone, or the token may not see it: check the service's account id and zone"}},
		{Status: http.StatusPreconditionFailed, Meaning: Meaning{Result: Failed, Advice: "the account's DNSimple plan does not include this: check the plan"}},
		{Status: http.StatusBadRequest, Meaning: Meaning{Result: Failed, Advice: AdviceRefused}},
		{Status: http.StatusTooManyRequests, Meaning: Meaning{Result: Retry, Advice: AdviceRateLimited}},
	},
	Credential:  AdviceServiceCredential,
	ResetHeader: "X-Ratelimit-Reset",
	Words: func(body []byte) (string, string) {
		var e struct {
			Message string              `json:"message"`
			Errors  map[string][]string `json:"errors"`
		}
		if json.Unmarshal(body, &e) != nil || e.Message == "" {
			return "", ""
		}
		words := e.Message
		for _, k := range sortedKeys(e.Errors) {
			words += "; " + k + ": " + strings.Join(e.Errors[k], ", ")
		}
		return "", words
	},
}

type dnsimpleRecord struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Content string `json:"content"`
	TTL     int    `json:"ttl"`
	System  bool   `json:"system_record"`
}

// dnsimpleCall is one delivery's calls: the API, the records' path, the
// record's name relative to the zone ("" for the apex).
type dnsimpleCall struct {
	api  *API
	path string // /<account>/zones/<zone>/records
	name string
	typ  string
	ttl  int
}

func (p *dnsimple) newAPI(s dnsimpleSettings, token string) (*API, string, *Outcome) {
	api, out := newTokenAPI(p.deps, s.APIURL, dnsimpleAPIURL, "dnsimple: ", "Authorization", "Bearer ", token)
	if out != nil {
		return nil, "", out
	}
	sum := sha256.Sum256([]byte(token))
	return api, api.base + "|" + hex.EncodeToString(sum[:8]), nil
}

// account is the configured account id, or the token's own (whoami,
// remembered; a user token with exactly one account gets that one).
func (p *dnsimple) account(ctx context.Context, api *API, key string, s dnsimpleSettings) (string, *Outcome) {
	if s.AccountID != "" {
		return s.AccountID, nil
	}
	p.mu.Lock()
	id, ok := p.accounts[key]
	p.mu.Unlock()
	if ok {
		return id, nil
	}
	var who struct {
		Data struct {
			Account *struct {
				ID int64 `json:"id"`
			} `json:"account"`
		} `json:"data"`
	}
	if _, out := api.callJSON(ctx, http.MethodGet, "/whoami", nil, nil, &who, "finding the token's account", dnsimpleAnswers); out != nil {
		return "", out
	}
	if who.Data.Account != nil {
		id = strconv.FormatInt(who.Data.Account.ID, 10)
	} else {
		var list struct {
			Data []struct {
				ID int64 `json:"id"`
			} `json:"data"`
		}
		if _, out := api.callJSON(ctx, http.MethodGet, "/accounts", nil, nil, &list, "listing the user's accounts", dnsimpleAnswers); out != nil {
			return "", out
		}
		if len(list.Data) != 1 {
			return "", &Outcome{Result: Failed, Message: "dnsimple: the user token has " + strconv.Itoa(len(list.Data)) + " accounts",
				Advice: "set the service's account id, or use an account token"}
		}
		id = strconv.FormatInt(list.Data[0].ID, 10)
	}
	p.mu.Lock()
	if len(p.accounts) >= maxDNSimpleAccounts {
		clear(p.accounts)
	}
	p.accounts[key] = id
	p.mu.Unlock()
	return id, nil
}

// zone asks whether candidate is a zone of the account (404: not one).
func (p *dnsimple) zone(api *API, account string) zoneLookup {
	return func(ctx context.Context, c string) (string, bool, *Outcome) {
		resp, out := api.callJSON(ctx, http.MethodGet, "/"+url.PathEscape(account)+"/zones/"+url.PathEscape(c), nil, nil, nil,
			"finding zone "+c, dnsimpleAnswers)
		if resp.Status == http.StatusNotFound {
			return "", false, nil
		}
		return c, out == nil, out
	}
}

// Send finds the account and the zone, lists the name's records of the
// family's type (system records aside) and makes them hold the addresses.
func (p *dnsimple) Send(ctx context.Context, r Request[dnsimpleSettings]) Outcome {
	s := r.Settings
	api, key, out := p.newAPI(s, r.Credential)
	if out != nil {
		return *out
	}
	ttl := dnsimpleTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	q, out := newRRsetRequest(r, ttl, false)
	if out != nil {
		return *out
	}
	if _, out := zoneCandidates(q.Name, s.Zone); out != nil {
		out.Message = "dnsimple: " + out.Message
		return *out
	}
	account, out := p.account(ctx, api, key, s)
	if out != nil {
		return *out
	}
	zone, _, out := lookupZone(ctx, "dnsimple: ", q.Name, s.Zone, true, p.zone(api, account))
	if out != nil {
		return *out
	}
	c := dnsimpleCall{api: api, path: "/" + url.PathEscape(account) + "/zones/" + url.PathEscape(zone) + "/records",
		name: zoneRelative(q.Name, zone, ""), typ: q.Type, ttl: ttl}
	var live []liveRecord
	for page := 1; page <= dnsimpleMaxPages; page++ {
		var list struct {
			Data       []dnsimpleRecord `json:"data"`
			Pagination struct {
				TotalPages int `json:"total_pages"`
			} `json:"pagination"`
		}
		query := url.Values{"name": {c.name}, "type": {q.Type}, "page": {strconv.Itoa(page)}, "per_page": {"100"}}
		if _, out := api.callJSON(ctx, http.MethodGet, c.path, query, nil, &list, "finding "+q.Type+" "+q.Name, dnsimpleAnswers); out != nil {
			return *out
		}
		for _, rec := range list.Data {
			if rec.Type == q.Type && rec.Name == c.name && !rec.System {
				live = append(live, liveRecord{ID: strconv.FormatInt(rec.ID, 10), Addr: parseRecordAddr(rec.Content), TTL: rec.TTL})
			}
		}
		if page >= list.Pagination.TotalPages {
			break
		}
	}
	plan := planRRset(q, live)
	if out := plan.apply(ctx, c); out != nil {
		return *out
	}
	return plan.outcome(q, api.red)
}

func (c dnsimpleCall) create(ctx context.Context, a netip.Addr) *Outcome {
	body := map[string]any{"name": c.name, "type": c.typ, "content": a.String(), "ttl": c.ttl}
	_, out := c.api.callJSON(ctx, http.MethodPost, c.path, nil, body, nil, "creating "+c.typ+" "+a.String(), dnsimpleAnswers)
	return out
}

func (c dnsimpleCall) update(ctx context.Context, ch recordChange) *Outcome {
	body := map[string]any{"content": ch.Addr.String(), "ttl": c.ttl}
	_, out := c.api.callJSON(ctx, http.MethodPatch, c.path+"/"+url.PathEscape(ch.Rec.ID), nil, body, nil,
		"updating "+c.typ+" record "+ch.Rec.ID, dnsimpleAnswers)
	return out
}

func (c dnsimpleCall) remove(ctx context.Context, rec liveRecord) *Outcome {
	_, out := c.api.callJSON(ctx, http.MethodDelete, c.path+"/"+url.PathEscape(rec.ID), nil, nil, nil,
		"removing "+c.typ+" record "+rec.ID, dnsimpleAnswers)
	return out
}

// Check asks whoami (the token works, and its account), then finds the
// record's zone; a scoped token's write permission shows only on a change.
func (p *dnsimple) Check(ctx context.Context, r CheckRequest[dnsimpleSettings]) []Step {
	api, key, out := p.newAPI(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: checkDetail(*out)}}
	}
	account := ""
	credential := apiCheck{name: "credentials accepted", run: func(ctx context.Context) (string, *Outcome) {
		if r.Settings.AccountID != "" {
			// whoami proves the token; the account is checked with the zone.
			_, out := api.callJSON(ctx, http.MethodGet, "/whoami", nil, nil, nil, "checking the token", dnsimpleAnswers)
			account = r.Settings.AccountID
			return "account " + account, out
		}
		var out *Outcome
		account, out = p.account(ctx, api, key, r.Settings)
		return "account " + account, out
	}}
	find := func(ctx context.Context, name string) (string, *Outcome) {
		zone, _, out := lookupZone(ctx, "dnsimple: ", name, r.Settings.Zone, false, p.zone(api, account))
		return "zone " + zone, out
	}
	return recordAPIChecks(ctx, credential, r.FQDN, r.Settings.Zone, find,
		Step{Name: "may edit records", Status: StepUnchecked, Detail: "only a change tells whether a scoped token may write the zone's records"})
}

// Validate checks the account id and the zone's form.
func (*dnsimple) Validate(s dnsimpleSettings, _ Has) []FieldError {
	errs := validateRecordAPI(s.Zone, s.APIURL)
	if s.AccountID != "" {
		if n, err := strconv.ParseUint(s.AccountID, 10, 63); err != nil || n == 0 {
			errs = append(errs, FieldError{Field: "settings.account_id", Message: "must be the numeric account id, e.g. 1385"})
		}
	}
	return errs
}
