package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolScaleway is the scaleway protocol's name.
const ProtocolScaleway = "scaleway"

const (
	scalewayAPIURL = "https://api.scaleway.com/domain/v2beta1"
	scalewayTTL    = 300
	scalewayMinTTL = 60
	// scalewayMaxPages bounds the pages of one listing (100 records each).
	scalewayMaxPages = 25
)

// scalewaySettings are the options of a scaleway service; the IAM API
// key's secret key is the service's credential.
type scalewaySettings struct {
	// Zone is the DNS zone (example.com, or a sub-zone dev.example.com);
	// empty: found from each record's name.
	Zone   string `json:"zone"`
	TTL    *int   `json:"ttl"`
	APIURL string `json:"api_url"`
}

// scaleway is Scaleway's Domains and DNS API v2beta1: zones by name,
// records listed by name and type, every change in one PATCH of
// `changes`. Records the broker creates carry the comment ManagedMarker;
// records without it are never deleted.
type scaleway struct{ deps Deps }

// NewScaleway is the scaleway protocol.
func NewScaleway(d Deps) Provider {
	return Adapt[scalewaySettings](&scaleway{deps: d.withDefaults()})
}

const scalewayCredentialHelp = "The secret key of an IAM API key (a UUID; not the access key SCW…) whose policy allows DomainsDNSFullAccess on the zone's project."

func (*scaleway) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolScaleway, Title: "Scaleway Domains and DNS (API v2beta1)",
		Summary: "Lists the name's A or AAAA records and sends the changes in one PATCH; records it creates carry the comment \"" + ManagedMarker + "\", and records without it are never deleted.",
		Settings: []Field{
			{Key: "zone", Type: FieldString, Label: "DNS zone", Help: "The DNS zone (example.com, or a sub-zone such as home.example.com); when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: scalewayTTL, Min: ptrTo(scalewayMinTTL), Max: ptrTo(maxTTL),
				Help: "Seconds resolvers may cache the address (60..86400)."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: scalewayAPIURL, Destination: true,
				Help: "Replaces Scaleway's Domains and DNS API (for tests and API proxies); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "Secret key", Help: scalewayCredentialHelp},
		Families:   netcalc.Families(),
		Together:   TogetherNever,
		DocsURL:    "https://www.scaleway.com/en/developers/api/domains-and-dns/records/",
	}
}

func (*scaleway) Presets() []Preset {
	return []Preset{{
		ID: "scaleway", Name: "Scaleway Domains and DNS", Protocol: ProtocolScaleway,
		Settings:   raw(`{"ttl": 300}`),
		Credential: &Prompt{Label: "Secret key", Help: scalewayCredentialHelp},
		Families:   netcalc.Families(),
		Notes: "The zone must use Scaleway's name servers. The broker never lets Scaleway create a zone, " +
			"marks the records it creates with the comment \"" + ManagedMarker + "\" and deletes no record without it.",
		DocsURL: "https://www.scaleway.com/en/developers/api/domains-and-dns/records/",
	}}
}

// scalewayAnswers is what Scaleway's answers mean. Errors are
// {"type","message",…}; a zone that does not exist (or is not the key's)
// is a 403 without a type, a missing permission a 403 permissions_denied.
// Rate limits carry no documented header.
var scalewayAnswers = answerTable{
	Rows: []answerRow{
		{Status: http.StatusUnauthorized, Meaning: Meaning{Result: Failed,
			Advice: "Scaleway refused the secret key (wrong, expired or deleted): create an API key under IAM and set its secret key as the service's credential"}},
		{Status: http.StatusForbidden, Code: "permissions_denied", Meaning: Meaning{Result: Failed,
			Advice: "the API key may not change DNS records: give its IAM policy DomainsDNSFullAccess on the zone's project"}},
		{Status: http.StatusForbidden, Code: "quotas_exceeded", Meaning: Meaning{Result: Failed, Advice: AdviceRefused}},
		{Status: http.StatusForbidden, Meaning: Meaning{Result: Failed,
			Advice: "Scaleway has no such DNS zone for this key, or refused the change: check the service's zone and that the zone uses Scaleway's name servers"}},
		{Status: http.StatusNotFound, Meaning: Meaning{Result: Failed,
			Advice: "Scaleway does not know this zone or record: check the service's zone"}},
		{Status: http.StatusBadRequest, Meaning: Meaning{Result: Failed, Advice: AdviceRefused}},
		{Status: http.StatusTooManyRequests, Meaning: Meaning{Result: Retry, Advice: AdviceRateLimited}},
	},
	Credential: AdviceServiceCredential,
	Words: func(body []byte) (string, string) {
		var e struct {
			Type    string `json:"type"`
			Message string `json:"message"`
			Details []struct {
				Argument string `json:"argument_name"`
				Help     string `json:"help_message"`
			} `json:"details"`
		}
		if json.Unmarshal(body, &e) != nil || e.Message == "" {
			return "", ""
		}
		words := e.Message
		for _, d := range e.Details {
			if d.Argument != "" {
				words += "; " + d.Argument + ": " + d.Help
			}
		}
		return e.Type, words
	},
}

type scalewayRecord struct {
	ID      string  `json:"id,omitempty"`
	Name    string  `json:"name"`
	Type    string  `json:"type"`
	Data    string  `json:"data"`
	TTL     int     `json:"ttl"`
	Comment *string `json:"comment"`
}

func (p *scaleway) newAPI(s scalewaySettings, token string) (*API, *Outcome) {
	return newTokenAPI(p.deps, s.APIURL, scalewayAPIURL, "scaleway: ", "X-Auth-Token", "", token)
}

// zone asks whether candidate is a DNS zone of the key's projects.
func (p *scaleway) zone(api *API) zoneLookup {
	return func(ctx context.Context, c string) (string, bool, *Outcome) {
		var list struct {
			Zones []struct {
				Domain    string `json:"domain"`
				Subdomain string `json:"subdomain"`
			} `json:"dns_zones"`
		}
		if _, out := api.callJSON(ctx, http.MethodGet, "/dns-zones", url.Values{"dns_zones": {c}}, nil, &list, "finding zone "+c, scalewayAnswers); out != nil {
			return "", false, out
		}
		for _, z := range list.Zones {
			name := z.Domain
			if z.Subdomain != "" {
				name = z.Subdomain + "." + z.Domain
			}
			if strings.EqualFold(name, c) {
				return c, true, nil
			}
		}
		return "", false, nil
	}
}

// Send finds the zone, lists the name's records of the family's type and
// sends what changes in one PATCH, which may not create a zone.
func (p *scaleway) Send(ctx context.Context, r Request[scalewaySettings]) Outcome {
	s := r.Settings
	api, out := p.newAPI(s, r.Credential)
	if out != nil {
		return *out
	}
	ttl := scalewayTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	q, out := newRRsetRequest(r, ttl, true)
	if out != nil {
		return *out
	}
	q.Adopt = true // an update writes the marker
	zone, _, out := lookupZone(ctx, "scaleway: ", q.Name, s.Zone, true, p.zone(api))
	if out != nil {
		return *out
	}
	path := "/dns-zones/" + url.PathEscape(zone) + "/records"
	name := zoneRelative(q.Name, zone, "")
	var live []liveRecord
	for page := 1; page <= scalewayMaxPages; page++ {
		var list struct {
			Records []scalewayRecord `json:"records"`
			Total   int              `json:"total_count"`
		}
		// An empty name filters nothing: the apex is matched here.
		query := url.Values{"name": {name}, "type": {q.Type}, "page": {strconv.Itoa(page)}, "page_size": {"100"}}
		if _, out := api.callJSON(ctx, http.MethodGet, path, query, nil, &list, "finding "+q.Type+" "+q.Name, scalewayAnswers); out != nil {
			return *out
		}
		for _, rec := range list.Records {
			if rec.Type == q.Type && rec.Name == name {
				live = append(live, liveRecord{ID: rec.ID, Addr: parseRecordAddr(rec.Data), TTL: rec.TTL,
					Marked: rec.Comment != nil && *rec.Comment == ManagedMarker})
			}
		}
		if len(list.Records) == 0 || page*100 >= list.Total {
			break
		}
	}
	plan := planRRset(q, live)
	if plan.Changes() {
		marker := ManagedMarker
		record := func(data string) scalewayRecord {
			return scalewayRecord{Name: name, Type: q.Type, Data: data, TTL: ttl, Comment: &marker}
		}
		var changes []map[string]any
		for _, c := range plan.Update {
			changes = append(changes, map[string]any{"set": map[string]any{"id": c.Rec.ID, "records": []scalewayRecord{record(c.Addr.String())}}})
		}
		for _, a := range plan.Create {
			changes = append(changes, map[string]any{"add": map[string]any{"records": []scalewayRecord{record(a.String())}}})
		}
		for _, rec := range plan.Delete {
			changes = append(changes, map[string]any{"delete": map[string]any{"id": rec.ID}})
		}
		body := map[string]any{"changes": changes, "return_all_records": false, "disallow_new_zone_creation": true}
		if _, out := api.callJSON(ctx, http.MethodPatch, path, nil, body, nil, "changing "+q.Type+" "+q.Name, scalewayAnswers); out != nil {
			return *out
		}
	}
	return plan.outcome(q, api.red)
}

// Check lists one zone (the key works), then finds the record's zone;
// whether the key's policy allows writes only a change tells.
func (p *scaleway) Check(ctx context.Context, r CheckRequest[scalewaySettings]) []Step {
	api, out := p.newAPI(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: checkDetail(*out)}}
	}
	credential := apiCheck{name: "credentials accepted", run: func(ctx context.Context) (string, *Outcome) {
		_, out := api.callJSON(ctx, http.MethodGet, "/dns-zones", url.Values{"page_size": {"1"}}, nil, nil, "listing zones", scalewayAnswers)
		return "the key may read DNS zones", out
	}}
	find := func(ctx context.Context, name string) (string, *Outcome) {
		zone, _, out := lookupZone(ctx, "scaleway: ", name, r.Settings.Zone, false, p.zone(api))
		return "zone " + zone, out
	}
	return recordAPIChecks(ctx, credential, r.FQDN, r.Settings.Zone, find,
		Step{Name: "may edit records", Status: StepUnchecked, Detail: "only a change tells whether the key's IAM policy allows DomainsDNSFullAccess"})
}

// Validate checks the zone's form.
func (*scaleway) Validate(s scalewaySettings, _ Has) []FieldError {
	return validateRecordAPI(s.Zone, s.APIURL)
}
