package provider

import (
	"cmp"
	"context"
	"crypto/sha1" // OVH's request signature is SHA-1 by its specification
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolOVH is the ovh protocol's name.
const ProtocolOVH = "ovh"

// ovhEndpoints are OVHcloud's API regions, as its SDKs name them.
var ovhEndpoints = map[string]string{
	"ovh-eu":        "https://eu.api.ovh.com/1.0",
	"ovh-ca":        "https://ca.api.ovh.com/1.0",
	"ovh-us":        "https://api.us.ovhcloud.com/1.0",
	"kimsufi-eu":    "https://eu.api.kimsufi.com/1.0",
	"kimsufi-ca":    "https://ca.api.kimsufi.com/1.0",
	"soyoustart-eu": "https://eu.api.soyoustart.com/1.0",
	"soyoustart-ca": "https://ca.api.soyoustart.com/1.0",
}

const (
	ovhDefaultEndpoint = "ovh-eu"
	ovhDefaultTTL      = 60
	// maxOVHRecords bounds the records of one name and type read per
	// attempt (one GET each).
	maxOVHRecords = 20
)

// ovhSettings are the options stored with an ovh service. The application
// secret and the consumer key, as "APPLICATION_SECRET:CONSUMER_KEY", are the
// service's credential; the application key, which every request sends in
// clear, is a setting.
type ovhSettings struct {
	// Endpoint is the API region (ovh-eu, ovh-ca, ovh-us, …).
	Endpoint string `json:"endpoint"`
	// APIURL replaces the endpoint's URL (tests, proxies).
	APIURL         string `json:"api_url"`
	ApplicationKey string `json:"application_key"`
	// Zone is the DNS zone, e.g. example.com. Empty: the longest of the
	// account's zones that holds the record's name.
	Zone string `json:"zone"`
	// TTL in seconds; 0 means the zone's default (default 60).
	TTL *int `json:"ttl"`
}

// ovh is OVHcloud's API (/domain/zone), every request signed with the
// application secret and the consumer key. Records are one address each,
// by id, and changes are published only by a zone refresh.
type ovh struct {
	deps Deps

	mu sync.Mutex
	// delta is, per API URL, how far the local clock is ahead of OVH's
	// (GET /auth/time), which signatures must use.
	delta map[string]time.Duration
	// unrefreshed are zones (per API URL and consumer) whose records
	// changed without a successful refresh: the next delivery refreshes
	// them even when nothing else changes.
	unrefreshed map[string]bool
}

// NewOVH is the ovh protocol.
func NewOVH(d Deps) Provider {
	return Adapt[ovhSettings](&ovh{deps: d.withDefaults(), delta: map[string]time.Duration{}, unrefreshed: map[string]bool{}})
}

func (*ovh) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolOVH, Title: "OVHcloud (API, DNS zones)",
		Summary: "Signs each request with the application secret and consumer key, reads the name's A or AAAA records, edits, " +
			"creates or removes them until the name holds the record's addresses, then refreshes the zone to publish them.",
		Settings: []Field{
			{Key: "endpoint", Type: FieldChoice, Label: "API region", Default: ovhDefaultEndpoint, Destination: true,
				Choices: []string{"ovh-eu", "ovh-ca", "ovh-us", "kimsufi-eu", "kimsufi-ca", "soyoustart-eu", "soyoustart-ca"},
				Help:    "Where the account lives: ovh-eu (Europe), ovh-ca (Canada, Asia-Pacific), ovh-us (United States), or Kimsufi / So you Start."},
			{Key: "application_key", Type: FieldString, Label: "Application key", Required: true,
				Help: "The application key (AK) of the application created at https://eu.api.ovh.com/createApp/ (or the region's createToken page)."},
			{Key: "zone", Type: FieldString, Label: "Zone", Help: "The DNS zone, e.g. example.com; when empty, found among the account's zones."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: ovhDefaultTTL, Min: ptrTo(0), Max: ptrTo(maxTTL),
				Help: "Seconds; 0 uses the zone's default, OVH raises values below 60 to 60."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Destination: true,
				Help: "Replaces the region's API URL (for tests and proxies); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "Application secret and consumer key",
			Help: "APPLICATION_SECRET:CONSUMER_KEY — the application secret (AS) and a validated consumer key (CK) joined by a colon. " +
				"The consumer key needs GET, POST, PUT and DELETE on /domain/zone/*."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://help.ovhcloud.com/csm/en-gb-api-getting-started-ovhcloud-api?id=kb_article_view&sysparm_article=KB0042784",
	}
}

func (*ovh) Validate(s ovhSettings, _ Has) []FieldError {
	var errs []FieldError
	if s.Zone != "" && !dnsname.IsHostName(strings.TrimSuffix(s.Zone, ".")) {
		errs = append(errs, FieldError{Field: "settings.zone", Message: "must be a domain name, e.g. example.com"})
	}
	if s.ApplicationKey != "" && checkAPIToken(s.ApplicationKey) != nil {
		errs = append(errs, FieldError{Field: "settings.application_key", Message: "must be one word of letters and digits"})
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		errs = append(errs, FieldError{Field: "settings.api_url", Message: msg})
	}
	return errs
}

// CheckCredential wants the application secret and the consumer key
// joined by a colon.
func (*ovh) CheckCredential(credential string) error {
	_, _, err := splitOVHCredential(credential)
	return err
}

func splitOVHCredential(credential string) (string, string, error) {
	as, ck, ok := strings.Cut(credential, ":")
	if !ok || as == "" || ck == "" || strings.Contains(ck, ":") || checkAPIToken(as) != nil || checkAPIToken(ck) != nil {
		return "", "", errors.New("must be the application secret and the consumer key joined by a colon (APPLICATION_SECRET:CONSUMER_KEY)")
	}
	return as, ck, nil
}

// ovhBase is the API URL the settings choose.
func ovhBase(s ovhSettings) string {
	if s.APIURL != "" {
		return strings.TrimRight(s.APIURL, "/")
	}
	return ovhEndpoints[strings.ToLower(cmp.Or(s.Endpoint, ovhDefaultEndpoint))]
}

// Destinations: the credential goes to the region's API or api_url.
func (*ovh) Destinations(s ovhSettings) []string {
	if o := origin(ovhBase(s)); o != "" {
		return []string{o}
	}
	return nil
}

// ovhError is OVH's error answer: {errorCode, httpCode, message} from its
// authentication layer, {class, message} from the services.
type ovhError struct {
	ErrorCode string `json:"errorCode"`
	Class     string `json:"class"`
	Message   string `json:"message"`
}

// ovhAnswers is what OVH's error codes mean; statuses not named here are
// judged by ovhStatus, then HTTPStatus.
var ovhAnswers = map[string]Meaning{
	"INVALID_SIGNATURE": {Result: Failed,
		Advice: "OVH refused the request's signature: check the application secret in the service's credential (APPLICATION_SECRET:CONSUMER_KEY)"},
	"INVALID_KEY": {Result: Failed,
		Advice: "OVH does not know the application key: check the service's application_key and its region (keys belong to one region)"},
	"INVALID_CREDENTIAL": {Result: Failed,
		Advice: "the consumer key is unknown, expired or not validated yet: open its validation URL, or create a new one and set the credential"},
	"NOT_GRANTED_CALL": {Result: Failed,
		Advice: "the consumer key may not make this call: create one with GET, POST, PUT and DELETE on /domain/zone/*"},
	"NOT_CREDENTIAL": {Result: Failed, Advice: AdviceServiceCredential},
	"FORBIDDEN":      {Result: Failed, Advice: AdviceServiceCredential},
}

var ovhStatus = map[int]Meaning{
	http.StatusNotFound: {Result: Failed,
		Advice: "OVH does not know this zone (or record) in the account: check the service's zone and region"},
	http.StatusConflict:        {Result: Failed, Advice: AdviceRefused},
	http.StatusTooManyRequests: {Result: Retry, Advice: AdviceRateLimited},
}

// ovhCall is one delivery's or check's signed view of the API.
type ovhCall struct {
	o       *ovh
	api     *API
	ak, as  string
	ck      string
	cacheID string // base URL and consumer key's place in the caches
}

func (o *ovh) newCall(s ovhSettings, credential string) (ovhCall, *Outcome) {
	as, ck, err := splitOVHCredential(credential)
	if err != nil {
		return ovhCall{}, &Outcome{Result: Failed, Message: "the service's OVH credential " + err.Error(), Advice: AdviceServiceCredential}
	}
	if s.ApplicationKey == "" {
		return ovhCall{}, &Outcome{Result: Failed, Message: "the service has no application_key", Advice: "set the service's application_key"}
	}
	base := ovhBase(s)
	if base == "" {
		return ovhCall{}, &Outcome{Result: Failed, Message: "unknown OVH endpoint " + s.Endpoint, Advice: "choose the service's API region"}
	}
	if msg := checkEndpointURL(base, true); msg != "" {
		return ovhCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	api := newAPI(o.deps, base, "ovh: ", nil, as, ck, credential)
	return ovhCall{o: o, api: api, ak: s.ApplicationKey, as: as, ck: ck, cacheID: base + "|" + ck}, nil
}

// serverDelta is how far the local clock is ahead of OVH's, asked once
// per API URL (GET /auth/time, unsigned).
func (c ovhCall) serverDelta(ctx context.Context) (time.Duration, *Outcome) {
	c.o.mu.Lock()
	d, ok := c.o.delta[c.api.base]
	c.o.mu.Unlock()
	if ok {
		return d, nil
	}
	resp, out := c.api.Call(ctx, http.MethodGet, "/auth/time", nil, nil, "reading OVH's time")
	if out != nil {
		return 0, out
	}
	if out := c.judge(resp, "reading OVH's time"); out != nil {
		return 0, out
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(string(resp.Body)), 10, 64)
	if err != nil {
		return 0, c.api.fail("reading OVH's time", resp, Meaning{Result: Failed, Advice: AdviceRefused}, "not a time: "+c.api.detail(resp, ""))
	}
	d = time.Since(time.Unix(secs, 0)).Truncate(time.Second)
	c.o.mu.Lock()
	if len(c.o.delta) >= maxCloudflareCache {
		clear(c.o.delta)
	}
	c.o.delta[c.api.base] = d
	c.o.mu.Unlock()
	return d, nil
}

// ovhSignature is "$1$" + hex(SHA1(AS+CK+METHOD+URL+BODY+TIMESTAMP)),
// joined by "+", as OVH's "first steps with the API" specifies.
func ovhSignature(as, ck, method, target, body, timestamp string) string {
	sum := sha1.Sum([]byte(strings.Join([]string{as, ck, method, target, body, timestamp}, "+")))
	return "$1$" + hex.EncodeToString(sum[:])
}

// do makes one signed call; 2xx answers are decoded into out (when not
// nil). The status lets callers treat 404 themselves.
func (c ovhCall) do(ctx context.Context, method, path string, query url.Values, in, out any, op string) (int, *Outcome) {
	delta, o := c.serverDelta(ctx)
	if o != nil {
		return 0, o
	}
	body := ""
	var payload any
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, &Outcome{Result: Failed, Message: "ovh: " + op + ": " + err.Error()}
		}
		// API.Call marshals a RawMessage to these same bytes, which the
		// signature covers.
		body, payload = string(b), json.RawMessage(b)
	}
	target := c.api.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	ts := strconv.FormatInt(time.Now().Add(-delta).Unix(), 10)
	signed := *c.api
	signed.header = http.Header{
		"X-Ovh-Application": {c.ak},
		"X-Ovh-Consumer":    {c.ck},
		"X-Ovh-Timestamp":   {ts},
		"X-Ovh-Signature":   {ovhSignature(c.as, c.ck, method, target, body, ts)},
	}
	resp, o := signed.Call(ctx, method, path, query, payload, op)
	if o != nil {
		return resp.Status, o
	}
	if o := c.judge(resp, op); o != nil {
		return resp.Status, o
	}
	if out != nil && len(strings.TrimSpace(string(resp.Body))) > 0 {
		return resp.Status, c.api.Decode(resp, op, out)
	}
	return resp.Status, nil
}

// judge is the verdict of ovhAnswers and ovhStatus on an answer.
func (c ovhCall) judge(resp Response, op string) *Outcome {
	if resp.Status >= 200 && resp.Status < 300 {
		return nil
	}
	var e ovhError
	errorBody(resp, &e)
	m, ok := ovhAnswers[e.ErrorCode]
	if !ok {
		m, ok = ovhStatus[resp.Status]
	}
	if !ok {
		m = HTTPStatus(resp.Status, AdviceServiceCredential)
	}
	if e.ErrorCode == "INVALID_SIGNATURE" {
		// The clock may have moved: ask OVH's time again next time.
		c.o.mu.Lock()
		delete(c.o.delta, c.api.base)
		c.o.mu.Unlock()
	}
	words := strings.TrimSpace(strings.TrimSpace(e.ErrorCode+" "+e.Class) + ": " + e.Message)
	if e.Message == "" {
		words = ""
	}
	text := c.api.detail(resp, words)
	if resp.Status >= 300 && resp.Status < 400 {
		text = "redirect not followed"
	}
	if qid := resp.Header.Get("X-Ovh-Queryid"); qid != "" && len(qid) < 100 {
		text += " (query id " + qid + ")"
	}
	return c.api.fail(op, resp, m, text)
}

// zone is the configured zone (when it holds name) or the longest of the
// account's zones that does.
func (c ovhCall) zone(ctx context.Context, zone, name string) (string, *Outcome) {
	if zone != "" {
		zone = strings.ToLower(strings.TrimSuffix(zone, "."))
		if name != zone && !strings.HasSuffix(name, "."+zone) {
			return "", &Outcome{Result: Failed, Message: fmt.Sprintf("record %s is not in zone %s", name, zone),
				Advice: "check the service's zone and the record's name"}
		}
		return zone, nil
	}
	var zones []string
	if _, out := c.do(ctx, http.MethodGet, "/domain/zone", nil, nil, &zones, "listing zones"); out != nil {
		return "", out
	}
	best := ""
	for _, z := range zones {
		z = strings.ToLower(strings.TrimSuffix(z, "."))
		if (name == z || strings.HasSuffix(name, "."+z)) && len(z) > len(best) {
			best = z
		}
	}
	if best == "" {
		return "", &Outcome{Result: Failed, Message: "ovh: no zone of the account holds " + name, Advice: ovhStatus[http.StatusNotFound].Advice}
	}
	return best, nil
}

// ovhRecord is a record of /domain/zone/{zone}/record/{id}.
type ovhRecord struct {
	ID        int64  `json:"id"`
	FieldType string `json:"fieldType"`
	SubDomain string `json:"subDomain"`
	Target    string `json:"target"`
	TTL       int    `json:"ttl"`
}

func ovhZonePath(zone string) string { return "/domain/zone/" + url.PathEscape(zone) }

func (o *ovh) Send(ctx context.Context, r Request[ovhSettings]) Outcome {
	s := r.Settings
	call, out := o.newCall(s, r.Credential)
	if out != nil {
		return *out
	}
	want, out := publishable(r.Family, r.Addresses)
	if out != nil {
		return *out
	}
	ours := addrStrings(want)
	name, out := recordName(r.FQDN)
	if out != nil {
		return *out
	}
	ttl := ovhDefaultTTL
	if s.TTL != nil {
		ttl = *s.TTL
	}
	zone, out := call.zone(ctx, s.Zone, name)
	if out != nil {
		return *out
	}
	rtype, sub := r.Family.RecordType(), zoneRelative(name, zone, "")
	what := rtype + " " + name
	records := ovhZonePath(zone) + "/record"
	var ids []int64
	if _, out := call.do(ctx, http.MethodGet, records, url.Values{"fieldType": {rtype}, "subDomain": {sub}}, nil, &ids, "finding "+what); out != nil {
		return *out
	}
	if len(ids) > maxOVHRecords {
		return Outcome{Result: Failed, Message: fmt.Sprintf("ovh: %s has %d records, more than the %d the broker manages", what, len(ids), maxOVHRecords),
			Advice: "remove the surplus records in the OVHcloud control panel"}
	}
	// TTL 0 is a value here (the zone's default), where planRRset reads 0
	// as any TTL.
	planTTL := func(t int) int {
		if t == 0 {
			return -1
		}
		return t
	}
	var held []liveRecord
	for _, id := range ids {
		var rec ovhRecord
		status, out := call.do(ctx, http.MethodGet, records+"/"+strconv.FormatInt(id, 10), nil, nil, &rec, "reading "+what)
		if status == http.StatusNotFound {
			continue // deleted meanwhile
		}
		if out != nil {
			return *out
		}
		held = append(held, liveRecord{ID: strconv.FormatInt(id, 10), Data: rec.Target, Addr: parseRecordAddr(rec.Target), TTL: planTTL(rec.TTL)})
	}
	// OVH has no record comments: any record of the name may go.
	plan := planRRset(rrsetRequest{Name: name, Type: rtype, Want: want, Delivered: r.Delivered, KeepOthers: r.KeepOthers, TTL: planTTL(ttl)}, held)
	for _, e := range plan.Update {
		body := map[string]any{"subDomain": sub, "target": e.Addr.String(), "ttl": ttl}
		if _, out := call.do(ctx, http.MethodPut, records+"/"+e.Rec.ID, nil, body, nil, "updating "+what+" → "+e.Addr.String()); out != nil {
			return *out
		}
		o.markUnrefreshed(call, zone, true)
	}
	for _, a := range plan.Create {
		v := a.String()
		body := map[string]any{"fieldType": rtype, "subDomain": sub, "target": v, "ttl": ttl}
		if _, out := call.do(ctx, http.MethodPost, records, nil, body, nil, "creating "+what+" → "+v); out != nil {
			return *out
		}
		o.markUnrefreshed(call, zone, true)
	}
	for _, d := range plan.Delete {
		if _, out := call.do(ctx, http.MethodDelete, records+"/"+d.ID, nil, nil, nil, "removing "+what+" "+d.Data); out != nil {
			return *out
		}
		o.markUnrefreshed(call, zone, true)
	}
	msg := plan.summary(what, ours) + " (ttl " + strconv.Itoa(ttl) + ")"
	if o.isUnrefreshed(call, zone) {
		// Written records are served only after a refresh; one that
		// failed last time is made now even when nothing else changed.
		if _, out := call.do(ctx, http.MethodPost, ovhZonePath(zone)+"/refresh", nil, nil, nil, "refreshing zone "+zone); out != nil {
			return *out
		}
		o.markUnrefreshed(call, zone, false)
		msg += ", zone refreshed"
	}
	return Outcome{Result: Delivered, Message: call.api.red.message(msg)}
}

func (o *ovh) markUnrefreshed(c ovhCall, zone string, pending bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	key := c.cacheID + "|" + zone
	if !pending {
		delete(o.unrefreshed, key)
		return
	}
	if len(o.unrefreshed) >= maxCloudflareCache {
		clear(o.unrefreshed)
	}
	o.unrefreshed[key] = true
}

func (o *ovh) isUnrefreshed(c ovhCall, zone string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.unrefreshed[c.cacheID+"|"+zone]
}

// ovhCredentialInfo is GET /auth/currentCredential: the consumer key's
// state and access rules.
type ovhCredentialInfo struct {
	Status string `json:"status"`
	Rules  []struct {
		Method string `json:"method"`
		Path   string `json:"path"`
	} `json:"rules"`
}

// allows tells whether a rule lets method reach path ("*" in a rule's
// path matches anything, "/" included).
func (ci ovhCredentialInfo) allows(method, path string) bool {
	for _, r := range ci.Rules {
		if r.Method == method && ovhPathMatch(r.Path, path) {
			return true
		}
	}
	return false
}

func ovhPathMatch(pattern, path string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == path
	}
	if !strings.HasPrefix(path, parts[0]) {
		return false
	}
	path = path[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(path, p)
		}
		k := strings.Index(path, p)
		if k < 0 {
			return false
		}
		path = path[k+len(p):]
	}
	return true
}

// Check reads the consumer key's state and rules (credentials accepted,
// may edit records: its rules are readable without writing) and finds the
// zone.
func (o *ovh) Check(ctx context.Context, r CheckRequest[ovhSettings]) []Step {
	call, out := o.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	var ci ovhCredentialInfo
	if _, out := call.do(ctx, http.MethodGet, "/auth/currentCredential", nil, nil, &ci, "reading the consumer key"); out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message + ": " + out.Advice}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "consumer key " + call.api.red.answer(ci.Status)}}
	name := strings.ToLower(strings.TrimSuffix(cmp.Or(r.FQDN, r.Settings.Zone), "."))
	if name == "" {
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no zone and no record name to look for"})
	}
	zone, out := call.zone(ctx, r.Settings.Zone, name)
	if out == nil {
		_, out = call.do(ctx, http.MethodGet, ovhZonePath(zone), nil, nil, nil, "reading zone "+zone)
	}
	if out != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: out.Message + ": " + out.Advice})
	}
	steps = append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "zone " + zone})
	var missing []string
	for _, need := range []struct{ method, path string }{
		{http.MethodGet, ovhZonePath(zone) + "/record"}, {http.MethodPost, ovhZonePath(zone) + "/record"},
		{http.MethodPut, ovhZonePath(zone) + "/record/1"}, {http.MethodDelete, ovhZonePath(zone) + "/record/1"},
		{http.MethodPost, ovhZonePath(zone) + "/refresh"},
	} {
		if !ci.allows(need.method, need.path) {
			missing = append(missing, need.method+" "+need.path)
		}
	}
	if len(missing) > 0 {
		return append(steps, Step{Name: "may edit records", Status: StepFailed,
			Detail: "the consumer key's rules do not grant " + strings.Join(missing, ", ") + ": " + ovhAnswers["NOT_GRANTED_CALL"].Advice})
	}
	return append(steps, Step{Name: "may edit records", Status: StepPassed, Detail: "the consumer key's rules grant editing and refreshing " + zone})
}

func (*ovh) Presets() []Preset {
	return []Preset{{
		ID: "ovh-api", Name: "OVHcloud (API)", Protocol: ProtocolOVH,
		Settings: raw(`{"endpoint": "ovh-eu", "application_key": "yourapplicationkey", "ttl": 60}`),
		Edit: []PresetSetting{{Key: "application_key", Help: "The application key (AK) of your OVH application."},
			{Key: "endpoint", Help: "Your account's region: ovh-eu, ovh-ca or ovh-us (Kimsufi and So you Start have their own)."}},
		Credential: &Prompt{Label: "Application secret and consumer key",
			Help: "APPLICATION_SECRET:CONSUMER_KEY; the consumer key needs GET, POST, PUT and DELETE on /domain/zone/*."},
		Families: netcalc.Families(),
		Notes: "Create an application and a consumer key with GET/POST/PUT/DELETE on /domain/zone/* (the region's createToken page " +
			"does both), and validate the key. The zone is found among the account's zones; each change is published with a zone " +
			"refresh. OVH records carry no comment, so without keep_other_addresses the broker makes the name hold only its addresses. " +
			"For DynHost logins instead of the API, use the OVHcloud DynHost preset.",
		DocsURL: "https://help.ovhcloud.com/csm/en-gb-api-getting-started-ovhcloud-api?id=kb_article_view&sysparm_article=KB0042784",
	}}
}
