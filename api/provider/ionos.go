package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolIONOS is the ionos protocol's name.
const ProtocolIONOS = "ionos"

// ionosAPIURL is the IONOS Hosting DNS API (domains bought at IONOS, not
// IONOS Cloud's separate DNS API); paths below it start with /v1.
const ionosAPIURL = "https://api.hosting.ionos.com/dns"

// ionosSettings are the options stored with an ionos service. The API key
// (public prefix and secret joined by a dot) is the service's credential.
type ionosSettings struct {
	// Zone is the zone's name. Empty: the longest zone of the account
	// that holds the record's name.
	Zone   string `json:"zone"`
	TTL    *int   `json:"ttl"`
	APIURL string `json:"api_url"` // "": ionosAPIURL
}

const (
	// ionosTTL is the TTL of the records the broker writes by default:
	// IONOS's minimum, short because the address changes.
	ionosTTL    = 60
	ionosMinTTL = 60
)

// ionosID matches zone and record ids (UUIDs) as they appear in paths.
var ionosID = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// ionos is the IONOS Hosting DNS API v1 with an X-API-Key. It finds the
// zone in the account's zone list (cached), reads the name's records of
// the family's type with the zone's record filter, and creates, updates
// or deletes single records. IONOS records carry no comments, so no
// marker is stored.
type ionos struct {
	deps Deps

	mu    sync.Mutex
	zones map[string]string // key hash|api url|zone or record name → "zone-id zone-name"
}

// NewIONOS is the ionos protocol.
func NewIONOS(d Deps) Provider {
	return Adapt[ionosSettings](&ionos{deps: d.withDefaults(), zones: map[string]string{}})
}

func (*ionos) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolIONOS, Title: "IONOS (Hosting DNS API)",
		Summary: "Finds the zone and the name's A or AAAA records with the IONOS DNS API and creates or updates them.",
		Settings: []Field{
			{Key: "zone", Type: FieldString, Label: "Zone", Help: "The zone's name, e.g. example.com; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: ionosTTL, Min: ptrTo(ionosMinTTL), Max: ptrTo(maxTTL),
				Help: "TTL of the records in seconds, 60..86400."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: ionosAPIURL, Destination: true,
				Help: "Replaces the IONOS DNS API's URL (for tests); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API key",
			Help: "An API key from developer.hosting.ionos.com/keys, entered as its public prefix, a dot and its secret: prefix.secret."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://developer.hosting.ionos.com/docs/dns",
	}
}

// CheckCredential: an IONOS key is "prefix.secret", one word.
func (*ionos) CheckCredential(key string) error {
	if err := checkAPIToken(key); err != nil {
		return err
	}
	if prefix, secret, ok := strings.Cut(key, "."); !ok || prefix == "" || secret == "" {
		return errors.New("must be the key's public prefix and its secret joined by a dot (prefix.secret)")
	}
	return nil
}

func (*ionos) Validate(s ionosSettings, _ Has) []FieldError {
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

type ionosZone struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type ionosRecord struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name,omitempty"`
	Type     string `json:"type,omitempty"`
	Content  string `json:"content"`
	TTL      int    `json:"ttl"`
	Prio     int    `json:"prio"`
	Disabled bool   `json:"disabled"`
}

// ionosAnswer is the table of IONOS's answers: HTTP status and the error
// codes of its error list ([{"code","message"}]).
func ionosAnswer(status int, codes []string) Meaning {
	switch {
	case status == http.StatusUnauthorized:
		return Meaning{Result: Failed, Advice: "IONOS refused the API key: create one at developer.hosting.ionos.com/keys and enter it as prefix.secret"}
	case status == http.StatusForbidden:
		return Meaning{Result: Failed, Advice: "the IONOS API key may not change this zone: use a key of the account that holds the domain"}
	case status == http.StatusNotFound && containsFold(codes, "RECORD_NOT_FOUND"):
		// Deleted meanwhile: the next attempt lists the records again.
		return Meaning{Result: Retry}
	case status == http.StatusNotFound:
		return Meaning{Result: Failed, Advice: "IONOS does not know this zone: check the service's zone and the record's name"}
	case status == http.StatusBadRequest:
		return Meaning{Result: Failed, Advice: AdviceRefused}
	}
	return HTTPStatus(status, AdviceServiceCredential)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// ionosCall is one attempt's view of the API.
type ionosCall struct {
	api *API
	key string // cache key prefix: key hash and API URL
}

func (p *ionos) newCall(s ionosSettings, key string) (ionosCall, *Outcome) {
	if err := p.CheckCredential(key); err != nil {
		return ionosCall{}, &Outcome{Result: Failed, Message: "the service's API key " + err.Error() + ": set its credential",
			Advice: AdviceServiceCredential}
	}
	base := strings.TrimRight(s.APIURL, "/")
	if base == "" {
		base = ionosAPIURL
	}
	if msg := checkEndpointURL(base, true); msg != "" {
		return ionosCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	sum := sha256.Sum256([]byte(key))
	// The secret alone is kept out of messages too; the public prefix is
	// no secret.
	_, secret, _ := strings.Cut(key, ".")
	api := newAPI(p.deps, base, "ionos: ", http.Header{"X-Api-Key": {key}}, key, secret)
	return ionosCall{api: api, key: hex.EncodeToString(sum[:8]) + "|" + base}, nil
}

// do makes one request; on success it decodes the answer into out (when
// not nil).
func (c ionosCall) do(ctx context.Context, method, path string, query url.Values, in, out any, op string) (int, *Outcome) {
	resp, o := c.api.Call(ctx, method, path, query, in, op)
	if o != nil {
		return resp.Status, o
	}
	if resp.Status < 200 || resp.Status >= 300 {
		var errs []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		errorBody(resp, &errs)
		var codes, words []string
		for _, e := range errs {
			codes = append(codes, e.Code)
			words = append(words, strings.TrimSpace(e.Code+" "+e.Message))
		}
		m := ionosAnswer(resp.Status, codes)
		text := c.api.detail(resp, strings.Join(words, "; "))
		if resp.Status >= 300 && resp.Status < 400 {
			text = "redirect not followed"
		}
		return resp.Status, c.api.fail(op, resp, m, text)
	}
	if out != nil {
		if o := c.api.Decode(resp, op, out); o != nil {
			return resp.Status, o
		}
	}
	return resp.Status, nil
}

// zoneID finds the zone holding name: the configured zone or the longest
// of the account's zones that is name or one of its parents.
func (p *ionos) zoneID(ctx context.Context, c ionosCall, s ionosSettings, name string) (string, string, *Outcome) {
	want := strings.ToLower(strings.TrimSuffix(s.Zone, "."))
	if want != "" && name != "" && name != want && !strings.HasSuffix(name, "."+want) {
		return "", "", &Outcome{Result: Failed, Message: fmt.Sprintf("ionos: record %s is not in zone %s", name, want),
			Advice: "check the service's zone and the record's name"}
	}
	lookFor := want
	if lookFor == "" {
		lookFor = name
	}
	p.mu.Lock()
	cached, ok := p.zones[c.key+"|"+lookFor]
	p.mu.Unlock()
	if id, zn, _ := strings.Cut(cached, " "); ok {
		return id, zn, nil
	}
	var zones []ionosZone
	if _, o := c.do(ctx, http.MethodGet, "/v1/zones", nil, nil, &zones, "listing zones"); o != nil {
		return "", "", o
	}
	best := ionosZone{}
	for _, z := range zones {
		zn := strings.ToLower(strings.TrimSuffix(z.Name, "."))
		match := zn == want
		if want == "" {
			match = name == zn || strings.HasSuffix(name, "."+zn)
		}
		if match && ionosID.MatchString(z.ID) && len(zn) > len(best.Name) {
			best = ionosZone{ID: z.ID, Name: zn}
		}
	}
	if best.ID == "" {
		return "", "", &Outcome{Result: Failed, Message: "ionos: no zone of the account holds " + lookFor,
			Advice: "check the service's zone and the record's name, and that the API key belongs to the account that holds the domain"}
	}
	p.mu.Lock()
	if len(p.zones) >= maxCloudflareCache {
		clear(p.zones)
	}
	p.zones[c.key+"|"+lookFor] = best.ID + " " + best.Name
	p.mu.Unlock()
	return best.ID, best.Name, nil
}

// Send finds the zone and the name's records of the family's type and
// makes them hold the request's addresses: records updated in place
// first, then created (one POST) and the ones left deleted.
func (p *ionos) Send(ctx context.Context, r Request[ionosSettings]) Outcome {
	s := r.Settings
	c, out := p.newCall(s, r.Credential)
	if out != nil {
		return *out
	}
	ttl := ionosTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	rq, out := newRRsetRequest(r, ttl, false)
	if out != nil {
		return *out
	}
	name := rq.Name
	zoneID, _, o := p.zoneID(ctx, c, s, name)
	if o != nil {
		return *o
	}
	rtype := r.Family.RecordType()
	var zone struct {
		Records []ionosRecord `json:"records"`
	}
	q := url.Values{"recordName": {name}, "recordType": {rtype}}
	if status, o := c.do(ctx, http.MethodGet, "/v1/zones/"+url.PathEscape(zoneID), q, nil, &zone, "finding "+rtype+" "+name); o != nil {
		if status == http.StatusNotFound {
			p.forget(c, s, name)
		}
		return *o
	}
	var listed []liveRecord
	for _, rec := range zone.Records {
		if strings.EqualFold(strings.TrimSuffix(rec.Name, "."), name) && rec.Type == rtype && ionosID.MatchString(rec.ID) {
			listed = append(listed, liveRecord{ID: rec.ID, Addr: parseRecordAddr(rec.Content), TTL: rec.TTL})
		}
	}
	// A record that holds its address with another TTL gets the service's.
	plan := planRRset(rq, listed)
	what := fmt.Sprintf("%s %s → %s", rtype, name, joinAddrs(r.Addresses))
	if !plan.Changes() {
		return Outcome{Result: Delivered, Message: c.api.red.message(what + " unchanged" + plan.kept())}
	}
	for _, u := range plan.Update {
		body := ionosRecord{Content: u.Addr.String(), TTL: ttl}
		if _, o := c.do(ctx, http.MethodPut, "/v1/zones/"+url.PathEscape(zoneID)+"/records/"+url.PathEscape(u.Rec.ID), nil, body, nil,
			"updating "+rtype+" "+name+" → "+u.Addr.String()); o != nil {
			return *o
		}
	}
	if len(plan.Create) > 0 {
		var create []ionosRecord
		for _, a := range plan.Create {
			create = append(create, ionosRecord{Name: name, Type: rtype, Content: a.String(), TTL: ttl})
		}
		if _, o := c.do(ctx, http.MethodPost, "/v1/zones/"+url.PathEscape(zoneID)+"/records", nil, create, nil,
			"creating "+rtype+" "+name+" → "+joinAddrs(plan.Create)); o != nil {
			return *o
		}
	}
	for _, d := range plan.Delete {
		if status, o := c.do(ctx, http.MethodDelete, "/v1/zones/"+url.PathEscape(zoneID)+"/records/"+url.PathEscape(d.ID), nil, nil, nil,
			"removing the other "+rtype+" record of "+name); o != nil && status != http.StatusNotFound {
			return *o
		}
	}
	return Outcome{Result: Delivered, Message: c.api.red.message(what + " " + plan.verb() + fmt.Sprintf(" (ttl %d)", ttl) + plan.kept())}
}

func (p *ionos) forget(c ionosCall, s ionosSettings, name string) {
	lookFor := strings.ToLower(strings.TrimSuffix(s.Zone, "."))
	if lookFor == "" {
		lookFor = name
	}
	p.mu.Lock()
	delete(p.zones, c.key+"|"+lookFor)
	p.mu.Unlock()
}

// Check lists the account's zones (the key is accepted) and finds the
// record's zone; whether the key may write only a change tells.
func (p *ionos) Check(ctx context.Context, r CheckRequest[ionosSettings]) []Step {
	c, out := p.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	var zones []ionosZone
	if _, o := c.do(ctx, http.MethodGet, "/v1/zones", nil, nil, &zones, "listing zones"); o != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: o.Message + " — " + o.Advice}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: fmt.Sprintf("the key sees %d zone(s)", len(zones))}}
	name := strings.ToLower(strings.TrimSuffix(r.FQDN, "."))
	if name == "" && r.Settings.Zone == "" {
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no zone and no record name to look for"})
	}
	_, zone, o := p.zoneID(ctx, c, r.Settings, name)
	if o != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: o.Message})
	}
	return append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "zone " + zone},
		Step{Name: "may edit records", Status: StepUnchecked, Detail: "IONOS has no read-only way to tell; its API keys may edit every zone of the account"})
}
