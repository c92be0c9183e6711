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

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolPowerDNS is the powerdns protocol's name.
const ProtocolPowerDNS = "powerdns"

// powerdnsAPIURL is where a PowerDNS Authoritative server serves its API
// when webserver-address and webserver-port keep their defaults: the
// preset's example. PowerDNS is self-hosted, there is no public endpoint,
// so api_url is required.
const powerdnsAPIURL = "http://127.0.0.1:8081/api/v1"

// powerdnsSettings are the options stored with a powerdns service. The
// server's api-key is the service's credential.
type powerdnsSettings struct {
	// APIURL is the API's base, e.g. http://ns1.example.net:8081/api/v1.
	APIURL string `json:"api_url"`
	// ServerID is the path's server id: localhost for the authoritative
	// server ("": localhost).
	ServerID string `json:"server_id"`
	// Zone is the zone's name; empty: found from each record's name.
	Zone string `json:"zone"`
	// TTL of the RRset (nil: 60).
	TTL *int `json:"ttl"`
}

const defaultPowerDNSTTL = 60

// powerdns is the PowerDNS Authoritative HTTP API: it reads the name's
// RRset and, when it differs, replaces it with one PATCH (changetype
// REPLACE).
type powerdns struct{ deps Deps }

// NewPowerDNS is the powerdns protocol.
func NewPowerDNS(d Deps) Provider {
	return Adapt[powerdnsSettings](&powerdns{deps: d.withDefaults()})
}

func (*powerdns) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolPowerDNS, Title: "PowerDNS Authoritative (HTTP API)",
		Summary: "Reads the name's A or AAAA RRset and replaces it with the record's addresses (PATCH, changetype REPLACE) when they differ.",
		Settings: []Field{
			{Key: "api_url", Type: FieldURL, Label: "API URL", Required: true, Destination: true,
				Help: "The server's API: http(s)://host:port/api/v1 (webserver-address and webserver-port of pdns.conf)."},
			{Key: "server_id", Type: FieldString, Label: "Server id", Default: "localhost",
				Help: "The server id in the API's paths; localhost for the authoritative server."},
			{Key: "zone", Type: FieldString, Label: "Zone", Help: "The zone's name; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: defaultPowerDNSTTL, Min: ptrTo(1), Max: ptrTo(maxTTL),
				Help: "TTL of the record in seconds."},
		},
		Credential: &Prompt{Label: "API key", Help: "The server's api-key (pdns.conf), sent as X-API-Key."},
		Families:   netcalc.Families(),
		Together:   TogetherNever,
		DocsURL:    "https://doc.powerdns.com/authoritative/http-api/zone.html",
	}
}

func (*powerdns) Validate(s powerdnsSettings, _ Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		add("api_url", msg)
	}
	if s.ServerID != "" && !powerdnsServerID(s.ServerID) {
		add("server_id", "must be a PowerDNS server id such as localhost (letters, digits, '.', '-', '_')")
	}
	if s.Zone != "" && !dnsname.IsHostName(strings.TrimSuffix(s.Zone, ".")) {
		add("zone", "must be a domain name, e.g. example.com")
	}
	return errs
}

func (*powerdns) Presets() []Preset {
	return []Preset{{
		ID: "powerdns", Name: "PowerDNS Authoritative (HTTP API)", Protocol: ProtocolPowerDNS,
		Settings: raw(`{"api_url": "` + powerdnsAPIURL + `", "server_id": "localhost"}`),
		Edit:     []PresetSetting{{Key: "api_url", Help: "Your server's API: http(s)://host:port/api/v1."}},
		Credential: &Prompt{Label: "API key",
			Help: "The api-key of pdns.conf (with api=yes and webserver=yes; allow the broker in webserver-allow-from)."},
		Families: netcalc.Families(),
		Notes: "The zone is found from each record's name unless the zone setting names it. " +
			"RRsets the broker creates carry the comment \"" + ManagedMarker + "\".",
		DocsURL: "https://doc.powerdns.com/authoritative/http-api/zone.html",
	}}
}

func powerdnsServerID(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-_", c)) {
			return false
		}
	}
	return true
}

// powerdnsAdvice is the powerdns answer table: what each status means.
// The API has no rate limit and no permissions (a key may do everything),
// so what is left is the key, the zone and the server's own refusals.
var powerdnsAdvice = map[int]Meaning{
	http.StatusUnauthorized: {Result: Failed,
		Advice: "the server refused the API key: set the service's credential to the api-key of pdns.conf"},
	http.StatusForbidden: {Result: Failed,
		Advice: "the server refused the request: check api=yes and that the broker's address is in webserver-allow-from"},
	http.StatusNotFound: {Result: Failed,
		Advice: "the server has no such zone (or no API at this URL): check the service's zone, server_id and api_url"},
	http.StatusUnprocessableEntity: {Result: Failed,
		Advice: "the server refused the change: read its answer (a CNAME at the name, a name outside the zone, a secondary zone)"},
	http.StatusBadRequest: {Result: Failed, Advice: AdviceRefused},
}

// pdnsRRset is an RRset as the API reads and writes it.
type pdnsRRset struct {
	Name       string        `json:"name"`
	Type       string        `json:"type"`
	TTL        int           `json:"ttl,omitempty"`
	ChangeType string        `json:"changetype,omitempty"`
	Records    []pdnsRecord  `json:"records"`
	Comments   []pdnsComment `json:"comments,omitempty"`
}

type pdnsRecord struct {
	Content  string `json:"content"`
	Disabled bool   `json:"disabled"`
}

type pdnsComment struct {
	Content string `json:"content"`
	Account string `json:"account"`
}

type pdnsZone struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Kind   string      `json:"kind"`
	RRsets []pdnsRRset `json:"rrsets"`
}

// pdnsCall is one delivery's (or check's) view of the API.
type pdnsCall struct {
	api    *API
	server string // the path up to the server: /servers/<id>
}

func (p *powerdns) newCall(s powerdnsSettings, key string) (pdnsCall, *Outcome) {
	if err := checkAPIToken(key); err != nil {
		return pdnsCall{}, &Outcome{Result: Failed, Message: "the service's API key " + err.Error() + ": set its credential",
			Advice: AdviceServiceCredential}
	}
	base := s.APIURL
	if msg := checkEndpointURL(base, true); msg != "" {
		return pdnsCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	api := newAPI(p.deps, base, "powerdns: ", http.Header{"X-API-Key": {key}}, key)
	return pdnsCall{api: api, server: "/servers/" + url.PathEscape(cmp.Or(s.ServerID, "localhost"))}, nil
}

// do makes one request and judges it by powerdnsAdvice, quoting the
// server's "error" (and "errors") text; out (when not nil) receives a 2xx
// answer's JSON.
func (c pdnsCall) do(ctx context.Context, method, path string, query url.Values, in, out any, op string) (int, *Outcome) {
	resp, o := c.api.Call(ctx, method, path, query, in, op)
	if o != nil {
		return resp.Status, o
	}
	if resp.Status >= 200 && resp.Status < 300 {
		if out != nil {
			return resp.Status, c.api.Decode(resp, op, out)
		}
		return resp.Status, nil
	}
	var e struct {
		Error  string   `json:"error"`
		Errors []string `json:"errors"`
	}
	words := ""
	if json.Unmarshal(resp.Body, &e) == nil {
		words = strings.Join(append([]string{e.Error}, e.Errors...), "; ")
	}
	m, ok := powerdnsAdvice[resp.Status]
	if !ok {
		m = HTTPStatus(resp.Status, AdviceServiceCredential)
	}
	text := c.api.detail(resp, strings.Trim(words, "; "))
	if resp.Status >= 300 && resp.Status < 400 {
		text = "redirect not followed"
	}
	return resp.Status, c.api.fail(op, resp, m, text)
}

// zone finds the zone holding name: the configured one, or the longest of
// name and its parents the server has. Its id is the server's.
func (c pdnsCall) zone(ctx context.Context, s powerdnsSettings, name string) (pdnsZone, *Outcome) {
	var candidates []string
	if s.Zone != "" {
		zone := strings.ToLower(strings.TrimSuffix(s.Zone, "."))
		if name != zone && !strings.HasSuffix(name, "."+zone) {
			return pdnsZone{}, &Outcome{Result: Failed, Message: fmt.Sprintf("powerdns: record %s is not in zone %s", name, zone),
				Advice: "check the service's zone and the record's name"}
		}
		candidates = []string{zone}
	} else {
		labels := strings.Split(name, ".")
		for i := max(0, len(labels)-1-maxZoneCandidates); i+1 <= len(labels); i++ {
			candidates = append(candidates, strings.Join(labels[i:], "."))
		}
	}
	for _, cand := range candidates {
		var zones []pdnsZone
		if _, out := c.do(ctx, http.MethodGet, c.server+"/zones", url.Values{"zone": {cand + "."}}, nil, &zones, "finding zone "+cand); out != nil {
			return pdnsZone{}, out
		}
		for _, z := range zones {
			if strings.EqualFold(strings.TrimSuffix(z.Name, "."), cand) && z.ID != "" {
				return z, nil
			}
		}
	}
	return pdnsZone{}, &Outcome{Result: Failed, Message: "powerdns: no zone on the server holds " + name +
		" (asked for " + strings.Join(candidates, ", ") + ")",
		Advice: "create the zone on the PowerDNS server, or check the service's zone and the record's name"}
}

// Send reads the RRset of the record's name and type and replaces it when
// it does not hold what it should. A new RRset carries the marker comment;
// an existing one keeps its comments.
func (p *powerdns) Send(ctx context.Context, r Request[powerdnsSettings]) Outcome {
	s := r.Settings
	call, out := p.newCall(s, r.Credential)
	if out != nil {
		return *out
	}
	red := call.api.red
	ttl := defaultPowerDNSTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	if ttl < 1 || ttl > maxTTL {
		return Outcome{Result: Failed, Message: "service ttl must be 1..86400"}
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
	zonePath := call.server + "/zones/" + url.PathEscape(zone.ID)
	what := fmt.Sprintf("%s %s → %s", rtype, name, joinAddrs(r.Addresses))
	var current pdnsZone
	q := url.Values{"rrset_name": {name + "."}, "rrset_type": {rtype}}
	if _, out := call.do(ctx, http.MethodGet, zonePath, q, nil, &current, "reading "+rtype+" "+name); out != nil {
		return *out
	}
	var existing *pdnsRRset
	for i, rr := range current.RRsets {
		if strings.EqualFold(strings.TrimSuffix(rr.Name, "."), name) && rr.Type == rtype {
			existing = &current.RRsets[i]
		}
	}
	var have []netip.Addr
	if existing != nil {
		for _, rec := range existing.Records {
			if a, err := netip.ParseAddr(strings.TrimSpace(rec.Content)); err == nil && !rec.Disabled {
				have = append(have, a)
			}
		}
	}
	want := rrsetAfter(have, r.Addresses, r.Delivered, r.KeepOthers)
	if existing != nil && existing.TTL == ttl && sameAddresses(have, want) && len(have) == len(existing.Records) {
		return Outcome{Result: Delivered, Message: red.message(what + " unchanged (ttl " + strconv.Itoa(ttl) + ")")}
	}
	change := pdnsRRset{Name: name + ".", Type: rtype, TTL: ttl, ChangeType: "REPLACE"}
	for _, a := range want {
		change.Records = append(change.Records, pdnsRecord{Content: a.String()})
	}
	verb := "updated"
	if existing == nil {
		verb = "created"
		change.Comments = []pdnsComment{{Content: ManagedMarker, Account: "ddnsbroker"}}
	}
	body := map[string]any{"rrsets": []pdnsRRset{change}}
	if _, out := call.do(ctx, http.MethodPatch, zonePath, nil, body, nil, "replacing "+what); out != nil {
		return *out
	}
	msg := what + " " + verb + " in zone " + strings.TrimSuffix(zone.Name, ".") + " (ttl " + strconv.Itoa(ttl) + ")"
	if kept := len(want) - len(r.Addresses); kept > 0 {
		msg += fmt.Sprintf("; kept %d other address(es)", kept)
	}
	return Outcome{Result: Delivered, Message: red.message(msg)}
}

// Check asks for the server (the key), then the zone; a PowerDNS key may
// edit every zone, so what decides editing is the zone's kind.
func (p *powerdns) Check(ctx context.Context, r CheckRequest[powerdnsSettings]) []Step {
	call, out := p.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	var server struct {
		Version string `json:"version"`
	}
	if _, out := call.do(ctx, http.MethodGet, call.server, nil, nil, &server, "reading the server"); out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "PowerDNS " + call.api.red.answer(server.Version)}}
	name := strings.ToLower(strings.TrimSuffix(cmp.Or(r.FQDN, r.Settings.Zone), "."))
	if name == "" {
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no zone and no record name to look for"})
	}
	zone, out := call.zone(ctx, r.Settings, name)
	if out != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: out.Message})
	}
	steps = append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "zone " + call.api.red.answer(zone.Name) + " (" + zone.Kind + ")"})
	switch strings.ToLower(zone.Kind) {
	case "slave", "secondary", "consumer":
		return append(steps, Step{Name: "may edit records", Status: StepFailed,
			Detail: "the zone is of kind " + zone.Kind + ": its records come from elsewhere; update the primary server instead"})
	}
	return append(steps, Step{Name: "may edit records", Status: StepPassed, Detail: "a PowerDNS API key may edit every zone of the server"})
}
