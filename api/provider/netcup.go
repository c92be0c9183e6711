package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolNetcup is the netcup protocol's name.
const ProtocolNetcup = "netcup"

// netcupAPIURL is the CCP API's one endpoint; ?JSON selects JSON (the same
// URL without it is the SOAP endpoint).
const netcupAPIURL = "https://ccp.netcup.net/run/webservice/servers/endpoint.php?JSON"

// netcupSettings are the options stored with a netcup service. The API
// password is the service's credential; the customer number and the API
// key name the account and are sent with every call, while only login
// sees the password.
type netcupSettings struct {
	CustomerNumber string `json:"customer_number"`
	APIKey         string `json:"api_key"`
	// Zone is the domain as netcup knows it (example.com). Empty: found
	// from each record's name by asking for each of its parents.
	Zone   string `json:"zone"`
	APIURL string `json:"api_url"` // "": netcupAPIURL
}

var (
	netcupCustomer = regexp.MustCompile(`^[0-9]{1,12}$`)
	netcupKey      = regexp.MustCompile(`^[A-Za-z0-9]{1,128}$`)
)

// netcup answers' status codes (statuscode in the JSON body; the HTTP
// status is 200 for errors too).
const (
	netcupOK           = 2000
	netcupBadSession   = 4001
	netcupValidation   = 4013
	netcupZoneNotFound = 5028
	netcupZoneEmpty    = 5029 // "does not contain any DNS records"
)

// netcupRateLimitWait is how long the broker waits after netcup's "more
// than 180 requests per minute": the limit is per minute and netcup sends
// no Retry-After.
const netcupRateLimitWait = time.Minute

// netcup is netcup's CCP DNS API: JSON calls to one endpoint, in a session
// opened with login and closed with logout. A record is found in the
// zone's record list (the API has no filter) and created, updated or
// deleted with one updateDnsRecords call, which changes only the records
// it lists. netcup records have no comments, so no marker is stored; the
// TTL is the zone's, not the record's.
type netcup struct {
	deps Deps

	mu    sync.Mutex
	zones map[string]string // customer|api key|api url|name → zone
}

// NewNetcup is the netcup protocol.
func NewNetcup(d Deps) Provider {
	return Adapt[netcupSettings](&netcup{deps: d.withDefaults(), zones: map[string]string{}})
}

func (*netcup) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolNetcup, Title: "netcup (CCP DNS API)",
		Summary: "Logs in, reads the zone's records, creates or updates the record's A or AAAA in one call, and logs out.",
		Settings: []Field{
			{Key: "customer_number", Type: FieldString, Label: "Customer number", Required: true,
				Help: "Your netcup customer number, shown next to your name in the customer control panel (CCP)."},
			{Key: "api_key", Type: FieldString, Label: "API key", Required: true,
				Help: "An API key from the CCP: Master Data → API → Create API key."},
			{Key: "zone", Type: FieldString, Label: "Domain",
				Help: "The domain at netcup holding the records, e.g. example.com; when empty, found from each record's name."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: netcupAPIURL, Destination: true,
				Help: "Replaces netcup's API endpoint (for tests); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "API password",
			Help: "The API password from the CCP (Master Data → API → Generate API password); netcup shows it once."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://ccp.netcup.net/run/webservice/servers/endpoint.php",
	}
}

// Validate checks the account's identifiers, the zone and the API URL.
func (*netcup) Validate(s netcupSettings, _ Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if s.CustomerNumber != "" && !netcupCustomer.MatchString(s.CustomerNumber) {
		add("customer_number", "must be your netcup customer number (digits)")
	}
	if s.APIKey != "" && !netcupKey.MatchString(s.APIKey) {
		add("api_key", "must be an API key from netcup's CCP (letters and digits)")
	}
	if s.Zone != "" && !dnsname.IsHostName(strings.TrimSuffix(s.Zone, ".")) {
		add("zone", "must be a domain name, e.g. example.com")
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		add("api_url", msg)
	}
	return errs
}

// netcupAnswer is the envelope of every answer.
type netcupAnswer struct {
	Status       string          `json:"status"`
	StatusCode   int             `json:"statuscode"`
	ShortMessage string          `json:"shortmessage"`
	LongMessage  string          `json:"longmessage"`
	ResponseData json.RawMessage `json:"responsedata"` // "" on errors and logout
}

// netcupRecord is a Dnsrecord: every value a string, deleterecord a
// boolean.
type netcupRecord struct {
	ID           string `json:"id,omitempty"`
	Hostname     string `json:"hostname"`
	Type         string `json:"type"`
	Priority     string `json:"priority,omitempty"`
	Destination  string `json:"destination"`
	DeleteRecord bool   `json:"deleterecord,omitempty"`
	State        string `json:"state,omitempty"`
}

// netcupMeaning is the table of netcup's status codes: what an answer to
// action means for the record. text is netcup's message.
func netcupMeaning(action string, code int, text string) Meaning {
	lower := strings.ToLower(text)
	limited := strings.Contains(lower, "requests per minute") || strings.Contains(lower, "too many")
	switch {
	case code == netcupOK:
		return Meaning{Result: Delivered}
	case action == "login" && (code == netcupValidation || code == netcupBadSession):
		// netcup answers wrong credentials with a validation error, often
		// worded as its rate limit; resending would lock the account.
		return Meaning{Result: Failed, Advice: "netcup refused the login: check the customer number, the API key and the API password " +
			"(netcup words this like its rate limit; after many failed logins it locks API access for a while)"}
	case code == netcupBadSession:
		return Meaning{Result: Retry}
	case limited:
		return Meaning{Result: Retry, Advice: AdviceRateLimited}
	case code == netcupZoneNotFound:
		return Meaning{Result: Failed, Advice: "netcup does not know this domain in the account: check the service's domain and the " +
			"record's name; a domain on netcup's newer CloudDNS cannot be reached through the CCP API"}
	case code == netcupValidation:
		return Meaning{Result: Failed, Advice: AdviceRefused}
	}
	return Meaning{Result: Failed, Advice: AdviceRefused}
}

// netcupSession is one attempt's conversation with the API.
type netcupSession struct {
	api      *API
	s        netcupSettings
	password string
	id       string // apisessionid
}

// call makes one API call with the session's identifiers; login runs
// first when there is no session, and once more when netcup says the
// session is no longer valid.
func (ns *netcupSession) call(ctx context.Context, action string, param map[string]any, out any) (netcupAnswer, *Outcome) {
	if ns.id == "" {
		if o := ns.login(ctx); o != nil {
			return netcupAnswer{}, o
		}
	}
	ans, o := ns.raw(ctx, action, ns.param(param), out)
	if o != nil && ans.StatusCode == netcupBadSession {
		ns.id = ""
		if o := ns.login(ctx); o != nil {
			return netcupAnswer{}, o
		}
		ans, o = ns.raw(ctx, action, ns.param(param), out)
	}
	return ans, o
}

func (ns *netcupSession) param(extra map[string]any) map[string]any {
	p := map[string]any{"customernumber": ns.s.CustomerNumber, "apikey": ns.s.APIKey, "apisessionid": ns.id}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func (ns *netcupSession) login(ctx context.Context) *Outcome {
	var data struct {
		SessionID string `json:"apisessionid"`
	}
	param := map[string]any{"customernumber": ns.s.CustomerNumber, "apikey": ns.s.APIKey, "apipassword": ns.password}
	if _, o := ns.raw(ctx, "login", param, &data); o != nil {
		return o
	}
	if data.SessionID == "" {
		return ns.api.fail("login", Response{}, Meaning{Result: Failed, Advice: AdviceRefused}, "netcup sent no session id")
	}
	ns.id = data.SessionID
	ns.api.red.addSecret(ns.id)
	return nil
}

// logout ends the session netcup asks clients to close; its answer
// changes nothing about the delivery.
func (ns *netcupSession) logout(ctx context.Context) {
	if ns.id == "" || ctx.Err() != nil {
		return
	}
	_, _ = ns.raw(ctx, "logout", ns.param(nil), nil)
	ns.id = ""
}

// raw posts {"action", "param"} and judges the answer by its HTTP status,
// then by netcup's status code (netcupMeaning).
func (ns *netcupSession) raw(ctx context.Context, action string, param map[string]any, out any) (netcupAnswer, *Outcome) {
	op := action
	if d, ok := param["domainname"].(string); ok {
		op += " " + d
	}
	resp, o := ns.api.Call(ctx, http.MethodPost, "", nil, map[string]any{"action": action, "param": param}, op)
	if o != nil {
		return netcupAnswer{}, o
	}
	if resp.Status >= 300 && resp.Status < 400 {
		return netcupAnswer{}, ns.api.fail(op, resp, HTTPStatus(resp.Status, AdviceServiceCredential), "redirect not followed")
	}
	if o := ns.api.Judge(resp, op, "", AdviceServiceCredential); o != nil {
		return netcupAnswer{}, o
	}
	var ans netcupAnswer
	if err := json.Unmarshal(resp.Body, &ans); err != nil || ans.Status == "" {
		return netcupAnswer{}, ns.api.fail(op, resp, Meaning{Result: Failed, Advice: AdviceRefused},
			"the answer is not netcup API JSON: "+ns.api.detail(resp, ""))
	}
	text := strings.TrimSpace(ans.ShortMessage + " " + ans.LongMessage)
	if m := netcupMeaning(action, ans.StatusCode, text); m.Result != Delivered {
		o := ns.api.fail(op, resp, m, strconv.Itoa(ans.StatusCode)+" "+ns.api.red.answer(text))
		if m.Advice == AdviceRateLimited {
			o.RetryAfter = netcupRateLimitWait
		}
		return ans, o
	}
	if out != nil && len(ans.ResponseData) > 0 && ans.ResponseData[0] == '{' {
		if err := json.Unmarshal(ans.ResponseData, out); err != nil {
			return ans, ns.api.fail(op, resp, Meaning{Result: Failed, Advice: AdviceRefused}, "unexpected responsedata: "+err.Error())
		}
	}
	return ans, nil
}

// open checks the settings and the password and prepares a session.
func (n *netcup) open(s netcupSettings, password string) (*netcupSession, *Outcome) {
	if err := checkAPIToken(password); err != nil {
		return nil, &Outcome{Result: Failed, Message: "the service's API password " + err.Error() + ": set its credential",
			Advice: AdviceServiceCredential}
	}
	if !netcupCustomer.MatchString(s.CustomerNumber) || !netcupKey.MatchString(s.APIKey) {
		return nil, &Outcome{Result: Failed, Message: "netcup: the service's customer_number or api_key is missing or malformed",
			Advice: "set the customer number and the API key from netcup's CCP on the service"}
	}
	base := s.APIURL
	if base == "" {
		base = netcupAPIURL
	}
	if msg := checkEndpointURL(base, true); msg != "" {
		return nil, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	api := newAPI(n.deps, base, "netcup: ", nil, password, s.APIKey)
	return &netcupSession{api: api, s: s, password: password}, nil
}

// zone is the domain holding name: the setting, a cached one, or the
// first of name's parents (shortest first: netcup has no sub-zones, so a
// domain is most often the last two labels) that infoDnsZone knows.
func (n *netcup) zone(ctx context.Context, ns *netcupSession, name string) (string, *Outcome) {
	if z := strings.ToLower(strings.TrimSuffix(ns.s.Zone, ".")); z != "" {
		if name != "" && name != z && !strings.HasSuffix(name, "."+z) {
			return "", &Outcome{Result: Failed, Message: fmt.Sprintf("netcup: record %s is not in domain %s", name, z),
				Advice: "check the service's domain and the record's name"}
		}
		return z, nil
	}
	key := n.cacheKey(ns.s, name)
	n.mu.Lock()
	z, ok := n.zones[key]
	n.mu.Unlock()
	if ok {
		return z, nil
	}
	labels := strings.Split(name, ".")
	var asked []string
	for i := len(labels) - 2; i >= 0 && len(asked) < maxZoneCandidates; i-- {
		cand := strings.Join(labels[i:], ".")
		asked = append(asked, cand)
		ans, o := ns.call(ctx, "infoDnsZone", map[string]any{"domainname": cand}, nil)
		if o == nil {
			n.mu.Lock()
			if len(n.zones) >= maxCloudflareCache {
				clear(n.zones)
			}
			n.zones[key] = cand
			n.mu.Unlock()
			return cand, nil
		}
		if ans.StatusCode != netcupZoneNotFound && ans.StatusCode != netcupValidation || o.Result != Failed {
			return "", o
		}
	}
	return "", &Outcome{Result: Failed, Message: "netcup: no domain of the account holds " + name + " (asked for " + strings.Join(asked, ", ") + ")",
		Advice: "set the service's domain, or check that the record's name is in a domain of this netcup account"}
}

func (n *netcup) cacheKey(s netcupSettings, name string) string {
	sum := sha256.Sum256([]byte(s.CustomerNumber + "|" + s.APIKey + "|" + s.APIURL))
	return hex.EncodeToString(sum[:8]) + "|" + name
}

// Send logs in, finds the zone and the name's records of the family's
// type, and makes them hold the request's addresses with one
// updateDnsRecords call (none when they already do); it logs out however
// the attempt ends.
func (n *netcup) Send(ctx context.Context, r Request[netcupSettings]) Outcome {
	ns, out := n.open(r.Settings, r.Credential)
	if out != nil {
		return *out
	}
	defer ns.logout(context.WithoutCancel(ctx))
	name, out := recordName(r.FQDN)
	if out != nil {
		return *out
	}
	want, out := publishable(r.Family, r.Addresses)
	if out != nil {
		return *out
	}
	zone, o := n.zone(ctx, ns, name)
	if o != nil {
		return *o
	}
	host := "@"
	if name != zone {
		host = strings.TrimSuffix(name, "."+zone)
	}
	rtype := r.Family.RecordType()

	var list struct {
		Records []netcupRecord `json:"dnsrecords"`
	}
	if ans, o := ns.call(ctx, "infoDnsRecords", map[string]any{"domainname": zone}, &list); o != nil && ans.StatusCode != netcupZoneEmpty {
		return *o
	}
	var listed []liveRecord
	byID := map[string]netcupRecord{}
	for _, rec := range list.Records {
		if strings.EqualFold(rec.Type, rtype) && netcupHostIs(rec.Hostname, host, zone) && rec.ID != "" {
			listed = append(listed, liveRecord{ID: rec.ID, Addr: parseRecordAddr(rec.Destination)})
			byID[rec.ID] = rec
		}
	}
	plan := planRRset(rrsetRequest{Name: name, Type: rtype, Want: want, Delivered: r.Delivered, KeepOthers: r.KeepOthers}, listed)
	what := fmt.Sprintf("%s %s → %s", rtype, name, joinAddrs(r.Addresses))
	if !plan.Changes() {
		return Outcome{Result: Delivered, Message: ns.api.red.message(what + " unchanged" + plan.kept())}
	}
	var change []netcupRecord
	for _, u := range plan.Update {
		rec := byID[u.Rec.ID]
		change = append(change, netcupRecord{ID: rec.ID, Hostname: rec.Hostname, Type: rtype, Destination: u.Addr.String()})
	}
	for _, a := range plan.Create {
		change = append(change, netcupRecord{Hostname: host, Type: rtype, Destination: a.String()})
	}
	for _, d := range plan.Delete {
		rec := byID[d.ID]
		change = append(change, netcupRecord{ID: rec.ID, Hostname: rec.Hostname, Type: rtype, Destination: rec.Destination, DeleteRecord: true})
	}
	param := map[string]any{"domainname": zone, "dnsrecordset": map[string]any{"dnsrecords": change}}
	if _, o := ns.call(ctx, "updateDnsRecords", param, nil); o != nil {
		return *o
	}
	return Outcome{Result: Delivered, Message: ns.api.red.message(what + " " + plan.verb() + plan.kept())}
}

// netcupHostIs tells whether a listed hostname is host of zone; answers
// carry relative names, but a client may have stored a full one.
func netcupHostIs(listed, host, zone string) bool {
	l := strings.ToLower(strings.TrimSuffix(listed, "."))
	return l == host || l == zone && host == "@" || host != "@" && l == host+"."+zone || l == "" && host == "@"
}

// Check logs in (credentials), asks for the zone (read-only) and logs out;
// whether the key may edit records only an update tells.
func (n *netcup) Check(ctx context.Context, r CheckRequest[netcupSettings]) []Step {
	ns, out := n.open(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	defer ns.logout(context.WithoutCancel(ctx))
	if o := ns.login(ctx); o != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: o.Message + " — " + o.Advice}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "netcup opened an API session"}}
	name := strings.ToLower(strings.TrimSuffix(r.FQDN, "."))
	zone := strings.ToLower(strings.TrimSuffix(r.Settings.Zone, "."))
	switch {
	case zone != "" && name == "":
		name = zone
	case zone == "" && name == "":
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no domain and no record name to look for"})
	}
	z, o := n.zone(ctx, ns, name)
	if o != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: o.Message})
	}
	if zone != "" {
		// The setting is taken on trust by Send; here it is asked for.
		if _, o := ns.call(ctx, "infoDnsZone", map[string]any{"domainname": z}, nil); o != nil {
			return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: o.Message})
		}
	}
	return append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "domain " + z},
		Step{Name: "may edit records", Status: StepUnchecked, Detail: "netcup has no read-only way to tell; API keys may edit every domain of the account"})
}

// The messages of the record-based APIs that keep one record per address
// (netcup, IONOS, NameSilo, bunny.net); planRRset (rrset.go) decides
// which records to keep, update, create and delete.

// verb says what the plan does, for the Outcome's message.
func (p rrsetPlan) verb() string {
	var parts []string
	if len(p.Update) > 0 {
		parts = append(parts, "updated")
	}
	if len(p.Create) > 0 {
		parts = append(parts, "created")
	}
	if len(p.Delete) > 0 {
		parts = append(parts, fmt.Sprintf("removed %d other record(s)", len(p.Delete)))
	}
	if len(parts) == 0 {
		return "unchanged"
	}
	return strings.Join(parts, ", ")
}

// kept mentions the records KeepOthers left alone.
func (p rrsetPlan) kept() string {
	if p.Others == 0 {
		return ""
	}
	return fmt.Sprintf("; kept %d other address(es) of the name", p.Others)
}
