package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// bunny.net DNS, from its API reference (https://docs.bunny.net/api-reference/core/dns-zone):
//
//   - Auth: header "AccessKey: <account API key>" (Account settings → API).
//   - Zones: GET /dnszone?page=1&perPage=1000&search=<domain> →
//     {"Items":[{"Id","Domain","Records":[…]}],"HasMoreItems"}; GET
//     /dnszone/{zoneId} → the zone with its Records.
//   - Records: {"Id","Type","Ttl","Value","Name","Comment","Disabled",…};
//     Type is an integer (0 = A, 1 = AAAA; older pages show the names);
//     Name is relative to the zone, "" at the apex.
//   - Add: PUT /dnszone/{zoneId}/records; update: POST
//     /dnszone/{zoneId}/records/{id}; delete: DELETE
//     /dnszone/{zoneId}/records/{id}.
//   - Errors: {"ErrorKey","Field","Message"}; 401 for a bad key, 404 for an
//     unknown zone or record, 400 for a refused value, 429 when limited.
//
// Records carry a Comment, so the ones the broker creates say
// bunnyMarker (so does a record without a comment that it takes over),
// and the broker deletes no record without it.

// ProtocolBunny is the bunny protocol's name.
const ProtocolBunny = "bunny"

const (
	bunnyAPIURL = "https://api.bunny.net"
	bunnyTTL    = 60
	// bunnyMarker is the Comment of the records the broker creates.
	bunnyMarker = ManagedMarker
)

// bunny record types as the API numbers them.
const (
	bunnyTypeA    = 0
	bunnyTypeAAAA = 1
)

// bunnySettings are the options stored with a bunny service; the
// account's API key is the credential.
type bunnySettings struct {
	Zone   string `json:"zone"`
	TTL    *int   `json:"ttl"`
	APIURL string `json:"api_url"`
}

type bunny struct {
	deps Deps

	mu    sync.Mutex
	zones map[string]bunnyZoneRef // key hash|api url|name → zone
}

type bunnyZoneRef struct {
	ID   int64
	Name string
}

// NewBunny is the bunny protocol.
func NewBunny(d Deps) Provider {
	return Adapt[bunnySettings](&bunny{deps: d.withDefaults(), zones: map[string]bunnyZoneRef{}})
}

func (*bunny) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolBunny, Title: "bunny.net DNS (API)",
		Summary: "Finds the zone and the name's A or AAAA records with bunny.net's API and creates (marked as the broker's) or updates them.",
		Settings: []Field{
			{Key: "zone", Type: FieldString, Label: "Zone", Help: "The zone's domain, e.g. example.com; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: bunnyTTL, Min: ptrTo(15), Max: ptrTo(maxTTL),
				Help: "TTL of the records in seconds."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: bunnyAPIURL, Destination: true,
				Help: "Replaces bunny.net's API (for tests); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API key", Help: "The account's API key from bunny.net's dashboard: Account settings → API."},
		Families:   netcalc.Families(),
		Together:   TogetherNever,
		DocsURL:    "https://docs.bunny.net/api-reference/core/dns-zone/update-dns-record",
	}
}

func (*bunny) Validate(s bunnySettings, _ Has) []FieldError {
	var errs []FieldError
	if s.Zone != "" && !dnsname.IsHostName(strings.TrimSuffix(s.Zone, ".")) {
		errs = append(errs, FieldError{Field: "settings.zone", Message: "must be a domain name, e.g. example.com"})
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		errs = append(errs, FieldError{Field: "settings.api_url", Message: msg})
	}
	return errs
}

type bunnyRecord struct {
	ID      int64           `json:"Id,omitempty"`
	Type    json.RawMessage `json:"Type,omitempty"`
	TTL     int             `json:"Ttl"`
	Value   string          `json:"Value"`
	Name    string          `json:"Name"`
	Comment string          `json:"Comment"`
}

// bunnyType reads a record's type, a number or (older answers) a name.
func bunnyType(raw json.RawMessage) int {
	s := strings.Trim(string(raw), `"`)
	switch strings.ToUpper(s) {
	case "A":
		return bunnyTypeA
	case "AAAA":
		return bunnyTypeAAAA
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return -1
}

type bunnyZone struct {
	ID      int64         `json:"Id"`
	Domain  string        `json:"Domain"`
	Records []bunnyRecord `json:"Records"`
}

// bunnyMeaning is the table of bunny.net's answers.
func bunnyMeaning(status int) Meaning {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return Meaning{Result: Failed, Advice: "bunny.net refused the API key: copy the account's API key from Account settings → API"}
	case http.StatusNotFound:
		return Meaning{Result: Failed, Advice: "bunny.net does not know this zone or record: check the service's zone and the record's name"}
	}
	return HTTPStatus(status, AdviceServiceCredential)
}

type bunnyCall struct {
	api *API
	tk  string
}

func (p *bunny) newCall(s bunnySettings, key string) (bunnyCall, *Outcome) {
	if err := checkAPIToken(key); err != nil {
		return bunnyCall{}, &Outcome{Result: Failed, Message: "the service's API key " + err.Error() + ": set its credential",
			Advice: AdviceServiceCredential}
	}
	base := strings.TrimRight(s.APIURL, "/")
	if base == "" {
		base = bunnyAPIURL
	}
	if msg := checkEndpointURL(base, true); msg != "" {
		return bunnyCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	sum := sha256.Sum256([]byte(key))
	return bunnyCall{api: newAPI(p.deps, base, "bunny: ", http.Header{"Accesskey": {key}}, key),
		tk: hex.EncodeToString(sum[:8]) + "|" + base}, nil
}

func (c bunnyCall) do(ctx context.Context, method, path string, q url.Values, in, out any, op string) (int, *Outcome) {
	resp, o := c.api.Call(ctx, method, path, q, in, op)
	if o != nil {
		return resp.Status, o
	}
	if resp.Status < 200 || resp.Status >= 300 {
		var e struct {
			ErrorKey string `json:"ErrorKey"`
			Field    string `json:"Field"`
			Message  string `json:"Message"`
		}
		errorBody(resp, &e)
		text := c.api.detail(resp, strings.TrimSpace(e.ErrorKey+" "+e.Message))
		if resp.Status >= 300 && resp.Status < 400 {
			text = "redirect not followed"
		}
		return resp.Status, c.api.fail(op, resp, bunnyMeaning(resp.Status), text)
	}
	if out != nil {
		return resp.Status, c.api.Decode(resp, op, out)
	}
	return resp.Status, nil
}

// zone finds the zone holding name (with its records): the configured
// one, or the longest of name's parents that bunny.net lists.
func (p *bunny) zone(ctx context.Context, c bunnyCall, s bunnySettings, name string) (bunnyZone, *Outcome) {
	var candidates []string
	if z := strings.ToLower(strings.TrimSuffix(s.Zone, ".")); z != "" {
		if name != z && !strings.HasSuffix(name, "."+z) {
			return bunnyZone{}, &Outcome{Result: Failed, Message: fmt.Sprintf("bunny: record %s is not in zone %s", name, z),
				Advice: "check the service's zone and the record's name"}
		}
		candidates = []string{z}
	} else {
		labels := strings.Split(name, ".")
		for i := max(0, len(labels)-1-maxZoneCandidates); i+2 <= len(labels); i++ {
			candidates = append(candidates, strings.Join(labels[i:], "."))
		}
	}
	p.mu.Lock()
	ref, ok := p.zones[c.tk+"|"+name]
	p.mu.Unlock()
	if ok {
		var z bunnyZone
		if _, o := c.do(ctx, http.MethodGet, "/dnszone/"+strconv.FormatInt(ref.ID, 10), nil, nil, &z, "reading zone "+ref.Name); o != nil {
			p.mu.Lock()
			delete(p.zones, c.tk+"|"+name)
			p.mu.Unlock()
			return bunnyZone{}, o
		}
		return z, nil
	}
	for _, cand := range candidates {
		var list struct {
			Items []bunnyZone `json:"Items"`
		}
		q := url.Values{"page": {"1"}, "perPage": {"1000"}, "search": {cand}}
		if _, o := c.do(ctx, http.MethodGet, "/dnszone", q, nil, &list, "finding zone "+cand); o != nil {
			return bunnyZone{}, o
		}
		for _, z := range list.Items {
			if strings.EqualFold(strings.TrimSuffix(z.Domain, "."), cand) && z.ID > 0 {
				p.mu.Lock()
				if len(p.zones) >= maxCloudflareCache {
					clear(p.zones)
				}
				p.zones[c.tk+"|"+name] = bunnyZoneRef{ID: z.ID, Name: cand}
				p.mu.Unlock()
				z.Domain = cand
				return z, nil
			}
		}
	}
	return bunnyZone{}, &Outcome{Result: Failed, Message: "bunny: no zone of the account holds " + name + " (asked for " + strings.Join(candidates, ", ") + ")",
		Advice: "check the service's zone and the record's name, and that the API key is the account's that holds the zone"}
}

// Send makes the name's records of the family's type hold the request's
// addresses; new records carry bunnyMarker, and only marked records are
// deleted.
func (p *bunny) Send(ctx context.Context, r Request[bunnySettings]) Outcome {
	s := r.Settings
	c, out := p.newCall(s, r.Credential)
	if out != nil {
		return *out
	}
	ttl := bunnyTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	rq, out := newRRsetRequest(r, ttl, true)
	if out != nil {
		return *out
	}
	name := rq.Name
	zone, o := p.zone(ctx, c, s, name)
	if o != nil {
		return *o
	}
	zoneName := strings.ToLower(strings.TrimSuffix(zone.Domain, "."))
	host := ""
	if name != zoneName {
		host = strings.TrimSuffix(name, "."+zoneName)
	}
	rtype, typ := r.Family.RecordType(), bunnyTypeA
	if r.Family == netcalc.V6 {
		typ = bunnyTypeAAAA
	}
	var listed []liveRecord
	byID := map[string]bunnyRecord{}
	for _, rec := range zone.Records {
		n := strings.ToLower(strings.TrimSuffix(rec.Name, "."))
		if bunnyType(rec.Type) == typ && (n == host || n == "@" && host == "") && rec.ID > 0 {
			id := strconv.FormatInt(rec.ID, 10)
			listed = append(listed, liveRecord{ID: id, Addr: parseRecordAddr(rec.Value), TTL: rec.TTL, Marked: rec.Comment == bunnyMarker})
			byID[id] = rec
		}
	}
	// Records without the marker are someone else's: never deleted.
	plan := planRRset(rq, listed)
	what := fmt.Sprintf("%s %s → %s", rtype, name, joinAddrs(r.Addresses))
	note := plan.kept()
	if spared := len(plan.Left); spared > 0 {
		note += fmt.Sprintf("; left %d record(s) the broker did not create (no %q comment)", spared, bunnyMarker)
	}
	if !plan.Changes() {
		return Outcome{Result: Delivered, Message: c.api.red.message(what + " unchanged" + note)}
	}
	records := "/dnszone/" + strconv.FormatInt(zone.ID, 10) + "/records"
	for _, u := range plan.Update {
		old := byID[u.Rec.ID]
		comment := old.Comment
		if comment == "" {
			comment = bunnyMarker
		}
		body := map[string]any{"Id": old.ID, "Type": typ, "Name": old.Name, "Value": u.Addr.String(), "Ttl": ttl, "Comment": comment}
		if _, o := c.do(ctx, http.MethodPost, records+"/"+u.Rec.ID, nil, body, nil, "updating "+rtype+" "+name+" → "+u.Addr.String()); o != nil {
			return *o
		}
	}
	for _, a := range plan.Create {
		body := map[string]any{"Type": typ, "Name": host, "Value": a.String(), "Ttl": ttl, "Comment": bunnyMarker}
		if _, o := c.do(ctx, http.MethodPut, records, nil, body, nil, "creating "+rtype+" "+name+" → "+a.String()); o != nil {
			return *o
		}
	}
	for _, d := range plan.Delete {
		if status, o := c.do(ctx, http.MethodDelete, records+"/"+d.ID, nil, nil, nil, "removing the other "+rtype+" record of "+name); o != nil &&
			status != http.StatusNotFound {
			return *o
		}
	}
	return Outcome{Result: Delivered, Message: c.api.red.message(what + " " + plan.verb() + " (ttl " + strconv.Itoa(ttl) + ")" + note)}
}

// Check finds the zone with the key (read-only); bunny.net keys are
// account-wide, so the key may edit what it can read.
func (p *bunny) Check(ctx context.Context, r CheckRequest[bunnySettings]) []Step {
	c, out := p.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	if _, o := c.do(ctx, http.MethodGet, "/dnszone", url.Values{"page": {"1"}, "perPage": {"5"}}, nil, nil, "listing zones"); o != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: o.Message + " — " + o.Advice}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "bunny.net listed the account's zones"}}
	name := strings.ToLower(strings.TrimSuffix(r.FQDN, "."))
	if name == "" {
		name = strings.ToLower(strings.TrimSuffix(r.Settings.Zone, "."))
	}
	if name == "" {
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no zone and no record name to look for"})
	}
	z, o := p.zone(ctx, c, r.Settings, name)
	if o != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: o.Message})
	}
	return append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "zone " + z.Domain},
		Step{Name: "may edit records", Status: StepUnchecked, Detail: "only a change tells; bunny.net's account API key may edit every zone it lists"})
}
