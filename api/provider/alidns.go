package provider

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolAliDNS is the alidns protocol's name.
const ProtocolAliDNS = "alidns"

const (
	aliDNSAPIURL  = "https://alidns.aliyuncs.com"
	aliDNSVersion = "2015-01-09"
	aliDNSTTL     = 600
	// aliDNSMarker is ManagedMarker as a remark may hold it (letters,
	// digits and _ - , . only).
	aliDNSMarker = "managed-by-ddnsbroker"
)

var aliAccessKeyID = regexp.MustCompile(`^[A-Za-z0-9]{8,64}$`)

// aliDNSSettings are the options of an alidns service; the AccessKey
// secret is the credential.
type aliDNSSettings struct {
	AccessKeyID string `json:"access_key_id"`
	// Zone is the domain as added to Alibaba Cloud DNS; "": the
	// registrable domain of each record's name.
	Zone   string `json:"zone"`
	TTL    *int   `json:"ttl"`
	APIURL string `json:"api_url"`
}

// aliDNS is Alibaba Cloud DNS's RPC API (2015-01-09) with signature V1
// (HMAC-SHA1 over the sorted query). Each address is its own record
// (RecordId): a delivery reads the name's records, updates records to the
// addresses the name must hold, adds missing ones (remarked with
// aliDNSMarker) and deletes surplus records only when they carry it.
type aliDNS struct{ deps Deps }

// NewAliDNS is the alidns protocol.
func NewAliDNS(d Deps) Provider { return Adapt[aliDNSSettings](&aliDNS{deps: d.withDefaults()}) }

func (*aliDNS) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolAliDNS, Title: "Alibaba Cloud DNS (Alidns)",
		Summary: "Reads the name's A or AAAA records and updates, adds (remarked " + aliDNSMarker + ") or removes its own records until the name holds the addresses; requests are signed with an AccessKey (signature V1).",
		Settings: []Field{
			{Key: "access_key_id", Type: FieldString, Label: "AccessKey ID", Required: true,
				Help: "The AccessKey ID of a RAM user with the AliyunDNSFullAccess policy."},
			{Key: "zone", Type: FieldString, Label: "Domain", Help: "The domain as added to Alibaba Cloud DNS (e.g. example.com); when empty, each record's registrable domain."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: aliDNSTTL, Min: ptrTo(1), Max: ptrTo(maxTTL),
				Help: "TTL in seconds; the free edition takes 600..86400."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: aliDNSAPIURL, Destination: true,
				Help: "Replaces Alibaba Cloud DNS's endpoint (a regional one such as https://alidns.ap-southeast-1.aliyuncs.com, or tests)."},
		},
		Credential: &Prompt{Label: "AccessKey secret", Help: "The AccessKey secret that belongs to the AccessKey ID."},
		Families:   netcalc.Families(),
		Together:   TogetherNever,
		DocsURL:    "https://www.alibabacloud.com/help/en/dns/api-alidns-2015-01-09-describesubdomainrecords",
	}
}

func (*aliDNS) Presets() []Preset {
	return []Preset{{
		ID: "alidns", Name: "Alibaba Cloud DNS (Aliyun)", Protocol: ProtocolAliDNS,
		Settings:   raw(`{"access_key_id": "LTAI0000000000000000", "ttl": 600}`),
		Edit:       []PresetSetting{{Key: "access_key_id", Help: "The AccessKey ID of a RAM user with the AliyunDNSFullAccess policy."}},
		Credential: &Prompt{Label: "AccessKey secret", Help: "The AccessKey secret of that RAM user."},
		Families:   netcalc.Families(),
		Notes: "Create a RAM user with the AliyunDNSFullAccess policy and an AccessKey for it. The free DNS edition takes TTLs " +
			"from 600 s. Records the broker adds carry the remark " + aliDNSMarker + "; it deletes no record without it.",
		DocsURL: "https://www.alibabacloud.com/help/en/dns/api-alidns-2015-01-09-describesubdomainrecords",
	}}
}

func (*aliDNS) Validate(s aliDNSSettings, _ Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if s.AccessKeyID != "" && !aliAccessKeyID.MatchString(s.AccessKeyID) {
		add("access_key_id", "must be an AccessKey ID: letters and digits, e.g. LTAI5t…")
	}
	if s.Zone != "" && !validZone(s.Zone) {
		add("zone", "must be a domain name, e.g. example.com")
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		add("api_url", msg)
	}
	return errs
}

// aliPercent encodes as signature V1 requires: RFC 3986, space %20,
// * %2A, ~ kept.
func aliPercent(s string) string {
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
}

// aliSign is signature V1: Base64(HMAC-SHA1(secret + "&", method & %2F &
// encode(sorted, encoded query))).
func aliSign(method string, params url.Values, secret string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, aliPercent(k)+"="+aliPercent(params.Get(k)))
	}
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(method + "&" + aliPercent("/") + "&" + aliPercent(strings.Join(pairs, "&"))))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

type aliCall struct {
	api    *API
	keyID  string
	secret string
}

// Advice of Alibaba Cloud's answers.
const (
	aliAdviceKey    = "Alibaba Cloud does not know the AccessKey ID, or it is disabled: check the service's access_key_id"
	aliAdviceSecret = "Alibaba Cloud refused the signature: the AccessKey secret does not belong to the AccessKey ID; set the service's credential again"
	aliAdviceClock  = "Alibaba Cloud refused a request stamped with this server's clock: set the clock right (NTP)"
	aliAdviceRAM    = "the RAM user may not do this: attach the AliyunDNSFullAccess policy to it"
	aliAdviceZone   = "the domain is not in this Alibaba Cloud account's DNS: add it, or check the service's zone"
)

// aliAnswers is what Alibaba Cloud DNS's error codes mean; other codes
// mean what their HTTP status does.
var aliAnswers = map[string]Meaning{
	"InvalidAccessKeyId.NotFound": {Result: Failed, Advice: aliAdviceKey},
	"InvalidAccessKeyId":          {Result: Failed, Advice: aliAdviceKey},
	"InvalidAccessKeyId.Inactive": {Result: Failed, Advice: aliAdviceKey},
	"SignatureDoesNotMatch":       {Result: Failed, Advice: aliAdviceSecret},
	"IncompleteSignature":         {Result: Failed, Advice: aliAdviceSecret},
	"InvalidTimeStamp.Expired":    {Result: Failed, Advice: aliAdviceClock},
	"SignatureNonceUsed":          {Result: Retry},
	"Forbidden.RAM":               {Result: Failed, Advice: aliAdviceRAM},
	"Forbidden":                   {Result: Failed, Advice: aliAdviceRAM},
	"InvalidDomainName.NoExist":   {Result: Failed, Advice: aliAdviceZone},
	"IncorrectDomainUser":         {Result: Failed, Advice: aliAdviceZone},
	"InvalidDomainName.Format":    {Result: Failed, Advice: "check the service's zone and the record's name"},
	"DomainRecordNotBelongToUser": {Result: Retry, Advice: "the record went away meanwhile; the broker reads the name again"},
	"DomainRecordDuplicate":       {Result: Retry, Advice: "the record appeared meanwhile; the broker reads the name again"},
	"DomainRecordConflict":        {Result: Failed, Advice: "another record (a CNAME?) of the name conflicts: remove it"},
	"QuotaExceeded.TTL":           {Result: Failed, Advice: "the TTL is below what the domain's DNS edition allows (600 on the free edition): raise the service's ttl"},
	"Throttling":                  {Result: Retry, Advice: AdviceRateLimited},
	"Throttling.User":             {Result: Retry, Advice: AdviceRateLimited},
	"Throttling.Api":              {Result: Retry, Advice: AdviceRateLimited},
	"ServiceUnavailable":          {Result: Retry},
	"InternalError":               {Result: Retry},
}

func (p *aliDNS) newCall(s aliDNSSettings, secret string) (aliCall, *Outcome) {
	if err := checkAPIToken(secret); err != nil {
		return aliCall{}, &Outcome{Result: Failed, Message: "the service's AccessKey secret " + err.Error() + ": set its credential", Advice: AdviceServiceCredential}
	}
	if !aliAccessKeyID.MatchString(s.AccessKeyID) {
		return aliCall{}, &Outcome{Result: Failed, Message: "service access_key_id is not an AccessKey ID", Advice: "set the service's access_key_id"}
	}
	base := strings.TrimRight(cmp.Or(s.APIURL, aliDNSAPIURL), "/")
	if msg := checkEndpointURL(base, true); msg != "" {
		return aliCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	return aliCall{api: newAPI(p.deps, base, "alidns: ", nil, secret), keyID: s.AccessKeyID, secret: secret}, nil
}

// do signs and sends one action (GET /?Action=…) and decodes its JSON
// answer into out; code is Alibaba's error code, if any.
func (c aliCall) do(ctx context.Context, action string, params url.Values, out any, op string) (string, *Outcome) {
	q := url.Values{}
	for k, v := range params {
		q[k] = v
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	q.Set("Action", action)
	q.Set("Version", aliDNSVersion)
	q.Set("Format", "JSON")
	q.Set("Lang", "en")
	q.Set("AccessKeyId", c.keyID)
	q.Set("SignatureMethod", "HMAC-SHA1")
	q.Set("SignatureVersion", "1.0")
	q.Set("SignatureNonce", hex.EncodeToString(nonce))
	q.Set("Timestamp", time.Now().UTC().Format("2006-01-02T15:04:05Z"))
	q.Set("Signature", aliSign(http.MethodGet, q, c.secret))
	resp, o := c.api.Call(ctx, http.MethodGet, "/", q, nil, op)
	if o != nil {
		return "", o
	}
	var env struct {
		Code    string `json:"Code"`
		Message string `json:"Message"`
	}
	errorBody(resp, &env)
	if resp.Status >= 200 && resp.Status < 300 && env.Code == "" {
		if out != nil {
			return "", c.api.Decode(resp, op, out)
		}
		return "", nil
	}
	m, ok := aliAnswers[env.Code]
	switch {
	case resp.Status >= 500:
		m = Meaning{Result: Retry}
	case resp.Status == http.StatusTooManyRequests:
		m = Meaning{Result: Retry, Advice: AdviceRateLimited}
	case !ok:
		m = HTTPStatus(resp.Status, AdviceServiceCredential)
		if m.Result == Delivered {
			m = Meaning{Result: Failed, Advice: AdviceRefused}
		}
	}
	words := strings.TrimSpace(env.Code + " " + env.Message)
	if resp.Status >= 300 && resp.Status < 400 {
		words = "redirect not followed"
	}
	return env.Code, c.api.fail(op, resp, m, c.api.detail(resp, words))
}

type aliRecord struct {
	RecordID string `json:"RecordId"`
	RR       string `json:"RR"`
	Type     string `json:"Type"`
	Value    string `json:"Value"`
	TTL      int    `json:"TTL"`
	Remark   string `json:"Remark"`
}

// zone is the configured domain or the registrable domain of name, and
// name's RR (host part) in it.
func (c aliCall) zone(ctx context.Context, s aliDNSSettings, name string) (zone, rr string, _ *Outcome) {
	zone = strings.ToLower(strings.TrimSuffix(s.Zone, "."))
	if zone == "" {
		var main struct {
			DomainName string `json:"DomainName"`
		}
		if _, out := c.do(ctx, "GetMainDomainName", url.Values{"InputString": {name}}, &main, "finding the domain of "+name); out != nil {
			return "", "", out
		}
		zone = strings.ToLower(main.DomainName)
	}
	switch {
	case name == zone:
		return zone, "@", nil
	case zone != "" && strings.HasSuffix(name, "."+zone):
		return zone, strings.TrimSuffix(name, "."+zone), nil
	}
	return "", "", &Outcome{Result: Failed, Message: fmt.Sprintf("alidns: record %s is not in domain %s", name, zone),
		Advice: "check the service's zone and the record's name"}
}

func (p *aliDNS) Send(ctx context.Context, r Request[aliDNSSettings]) Outcome {
	s := r.Settings
	ttl := aliDNSTTL
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
	c, out := p.newCall(s, r.Credential)
	if out != nil {
		return *out
	}
	red := c.api.red
	zone, rr, out := c.zone(ctx, s, name)
	if out != nil {
		return *out
	}
	rtype := r.Family.RecordType()
	var list struct {
		Records struct {
			Record []aliRecord `json:"Record"`
		} `json:"DomainRecords"`
	}
	if _, out := c.do(ctx, "DescribeSubDomainRecords", url.Values{"SubDomain": {name}, "DomainName": {zone}, "Type": {rtype}, "PageSize": {"100"}},
		&list, "reading "+rtype+" "+name); out != nil {
		return *out
	}
	var live []liveRecord
	var current []netip.Addr
	for _, rec := range list.Records.Record {
		a, err := netip.ParseAddr(rec.Value)
		if rec.Type != rtype || !strings.EqualFold(rec.RR, rr) || err != nil {
			continue
		}
		live = append(live, liveRecord{ID: rec.RecordID, Data: rec.Value, Addr: canonicalAddr(a), Marked: aliMarked(rec)})
		current = append(current, a)
	}
	want := rrsetAfter(current, r.Addresses, r.Delivered, r.KeepOthers)
	ours, _ := publishable(r.Family, r.Addresses) // checked above
	plan := planRRset(rrsetRequest{Name: name, Type: rtype, Want: ours, Delivered: r.Delivered, KeepOthers: r.KeepOthers, Markers: true}, live)
	what := fmt.Sprintf("%s %s → %s", rtype, name, joinAddrs(want))
	var done []string
	for _, u := range plan.Update {
		a := u.Addr
		params := url.Values{"RecordId": {u.Rec.ID}, "RR": {rr}, "Type": {rtype}, "Value": {a.String()}, "TTL": {strconv.Itoa(ttl)}}
		if _, out := c.do(ctx, "UpdateDomainRecord", params, nil, "updating "+rtype+" "+name+" "+u.Rec.Data+" → "+a.String()); out != nil {
			return *out
		}
		done = append(done, "updated "+u.Rec.Data+" → "+a.String())
	}
	for _, a := range plan.Create {
		var added struct {
			RecordID string `json:"RecordId"`
		}
		params := url.Values{"DomainName": {zone}, "RR": {rr}, "Type": {rtype}, "Value": {a.String()}, "TTL": {strconv.Itoa(ttl)}}
		if _, out := c.do(ctx, "AddDomainRecord", params, &added, "adding "+rtype+" "+name+" "+a.String()); out != nil {
			return *out
		}
		done = append(done, "added "+a.String())
		if _, out := c.do(ctx, "UpdateDomainRecordRemark", url.Values{"RecordId": {added.RecordID}, "Remark": {aliDNSMarker}}, nil,
			"marking "+rtype+" "+name+" "+a.String()); out != nil {
			done = append(done, "(not marked: "+out.Message+")")
		}
	}
	for _, rec := range plan.Delete {
		if _, out := c.do(ctx, "DeleteDomainRecord", url.Values{"RecordId": {rec.ID}}, nil, "deleting "+rtype+" "+name+" "+rec.Data); out != nil {
			return *out
		}
		done = append(done, "deleted "+rec.Data)
	}
	var kept []string
	for _, rec := range plan.Left {
		kept = append(kept, rec.Data)
	}
	msg := what + " unchanged"
	if len(done) > 0 {
		msg = what + ": " + strings.Join(done, ", ")
	}
	msg += " (ttl " + strconv.Itoa(ttl) + ")"
	if len(kept) > 0 {
		msg += "; kept " + strings.Join(kept, ", ") + ": records the broker did not add (no remark " + aliDNSMarker + ")"
		return Outcome{Result: Delivered, Message: red.message(msg),
			Advice: "the name holds addresses the broker did not add and does not delete: remove them by hand, or turn on keep_other_addresses"}
	}
	return Outcome{Result: Delivered, Message: red.message(msg)}
}

func aliMarked(r aliRecord) bool {
	return r.Remark == aliDNSMarker || strings.EqualFold(r.Remark, ManagedMarker)
}

// Check signs a read of the name's records (or the domain's apex): a
// refused key or signature fails the credentials, a missing domain or a
// RAM policy without DNS rights fails the zone. Whether the policy
// allows changes only a change tells.
func (p *aliDNS) Check(ctx context.Context, r CheckRequest[aliDNSSettings]) []Step {
	c, out := p.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	name := strings.ToLower(strings.TrimSuffix(cmp.Or(r.FQDN, r.Settings.Zone), "."))
	if name == "" {
		_, out = c.do(ctx, "DescribeDomains", url.Values{"PageSize": {"1"}}, nil, "listing domains")
	} else {
		var zone string
		if zone, _, out = c.zone(ctx, r.Settings, name); out == nil {
			_, out = c.do(ctx, "DescribeSubDomainRecords", url.Values{"SubDomain": {name}, "DomainName": {zone}, "PageSize": {"1"}}, nil, "reading "+name)
		}
	}
	if out != nil {
		switch out.Advice {
		case aliAdviceKey, aliAdviceSecret, aliAdviceClock:
			return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: stepDetail(*out)}}
		}
		if out.Result == Retry {
			return []Step{{Name: "credentials accepted", Status: StepUnchecked, Detail: out.Message}}
		}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "the signature of AccessKey " + r.Settings.AccessKeyID + " was accepted"}}
	switch {
	case out != nil:
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: stepDetail(*out)})
	case name == "":
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no zone and no record name to look for"})
	}
	return append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "the domain of " + name + " is in the account"},
		Step{Name: "may edit records", Status: StepUnchecked, Detail: "Alibaba Cloud DNS has no dry run: only a change tells whether the RAM policy allows it"})
}
