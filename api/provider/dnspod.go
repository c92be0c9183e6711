package provider

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolDNSPod is the dnspod protocol's name.
const ProtocolDNSPod = "dnspod"

const (
	dnspodAPIURL = "https://dnspod.tencentcloudapi.com"
	// dnspodIntlAPIURL is the endpoint of accounts of Tencent Cloud's
	// international site.
	dnspodIntlAPIURL = "https://dnspod.intl.tencentcloudapi.com"
	dnspodVersion    = "2021-03-23"
	// dnspodDefaultLine is the record line every record without
	// split-horizon answers on: "默认" ("default"), as the API names it.
	dnspodDefaultLine = "默认"
)

// dnspodSecretID matches SecretIds as CAM issues them (AKID…).
var dnspodSecretID = regexp.MustCompile(`^[A-Za-z0-9]{8,128}$`)

// dnspodSettings are the options stored with a dnspod service. The
// SecretKey of the CAM API key is the service's credential; its SecretId
// is a setting (it names the key, like a user name).
type dnspodSettings struct {
	SecretID string `json:"secret_id"`
	// Domain is the DNSPod domain (the zone); empty: found from each
	// record's name.
	Domain string `json:"domain"`
	// TTL of records (nil: the domain's default for new ones, existing
	// ones keep theirs).
	TTL    *int   `json:"ttl"`
	APIURL string `json:"api_url"` // "": dnspodAPIURL
}

// dnspod is Tencent Cloud's DNSPod API 3.0, every call signed with
// TC3-HMAC-SHA256. DNSPod keeps records one by one: the record's own
// ones are modified in place, missing ones created with the remark
// "managed by ddnsbroker", and only records with that remark deleted.
type dnspod struct{ deps Deps }

// NewDNSPod is the dnspod protocol.
func NewDNSPod(d Deps) Provider {
	return Adapt[dnspodSettings](&dnspod{deps: d.withDefaults()})
}

func (*dnspod) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolDNSPod, Title: "DNSPod (Tencent Cloud API 3.0)",
		Summary: "Reads the name's A or AAAA records and modifies or creates them (TC3-HMAC-SHA256 signed calls) when they differ.",
		Settings: []Field{
			{Key: "secret_id", Type: FieldString, Label: "SecretId", Required: true,
				Help: "The SecretId of the CAM API key (AKID…); its SecretKey is the service's credential."},
			{Key: "domain", Type: FieldString, Label: "Domain", Help: "The DNSPod domain; when empty, found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Min: ptrTo(1), Max: ptrTo(604800),
				Help: "TTL in seconds, at least the plan's minimum (600 on the free plan); when empty, the domain's default for new records."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: dnspodAPIURL, Destination: true,
				Help: "Tencent Cloud's DNSPod endpoint; " + dnspodIntlAPIURL + " for international-site accounts."},
		},
		Credential: &Prompt{Label: "API SecretKey",
			Help: "The SecretKey of the CAM API key; the key needs permission to read and modify the domain's DNSPod records."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://www.tencentcloud.com/document/api/1157/49034",
	}
}

func (*dnspod) Validate(s dnspodSettings, _ Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if s.SecretID != "" && !dnspodSecretID.MatchString(s.SecretID) {
		add("secret_id", "must be a Tencent Cloud SecretId (letters and digits, e.g. AKID…)")
	}
	if s.Domain != "" && !dnsname.IsHostName(strings.TrimSuffix(s.Domain, ".")) {
		add("domain", "must be a domain name, e.g. example.com")
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		add("api_url", msg)
	}
	return errs
}

func (*dnspod) Presets() []Preset {
	return []Preset{{
		ID: "dnspod", Name: "DNSPod (Tencent Cloud)", Protocol: ProtocolDNSPod,
		Settings: raw(`{"secret_id": "AKIDyoursecretid", "api_url": "` + dnspodAPIURL + `"}`),
		Edit: []PresetSetting{{Key: "secret_id", Help: "The SecretId of your CAM API key (AKID…)."},
			{Key: "api_url", Help: "Keep it for Chinese-site accounts; international-site accounts use " + dnspodIntlAPIURL + "."}},
		Credential: &Prompt{Label: "API SecretKey", Help: "The SecretKey of the CAM API key."},
		Families:   netcalc.Families(),
		Notes: "Tencent Cloud API 3.0 with TC3-HMAC-SHA256 signatures (not the legacy dnsapi.cn token API). " +
			"Records the broker creates carry the remark \"" + ManagedMarker + "\"; only those are ever deleted. " +
			"The free plan's minimum TTL is 600.",
		DocsURL: "https://www.tencentcloud.com/document/api/1157/49034",
	}}
}

// dnspodAdvice is the dnspod answer table: error codes (a code matches
// an entry equal to it or to one of its dotted prefixes) to meanings.
var dnspodAdvice = []struct {
	code    string
	meaning Meaning
}{
	{"AuthFailure.SignatureExpire", Meaning{Result: Retry,
		Advice: "Tencent Cloud refused the request's time: check the broker's clock (it must be within 5 minutes)"}},
	{"AuthFailure.UnauthorizedOperation", Meaning{Result: Failed,
		Advice: "the API key may not do this: grant its CAM user a DNSPod policy that allows reading and modifying records"}},
	{"AuthFailure", Meaning{Result: Failed,
		Advice: "Tencent Cloud refused the API key: check the service's secret_id and its SecretKey (credential), and the api_url of the account's site"}},
	{"UnauthorizedOperation", Meaning{Result: Failed,
		Advice: "the API key may not do this: grant its CAM user a DNSPod policy that allows reading and modifying records"}},
	{"OperationDenied", Meaning{Result: Failed,
		Advice: "the API key may not change this domain: check that the domain belongs to the key's account and the CAM policy covers it"}},
	{"FailedOperation.NotDomainOwner", Meaning{Result: Failed,
		Advice: "the domain belongs to another account: use an API key of the account that owns it"}},
	{"InvalidParameterValue.DomainNotExists", Meaning{Result: Failed,
		Advice: "the domain is not in this DNSPod account: check the service's domain and the record's name"}},
	{"ResourceNotFound.NoDataOfDomain", Meaning{Result: Failed,
		Advice: "the domain is not in this DNSPod account: check the service's domain and the record's name"}},
	{"InvalidParameter.DomainInvalid", Meaning{Result: Failed,
		Advice: "the domain is not in this DNSPod account: check the service's domain and the record's name"}},
	{"LimitExceeded.RecordTtlLimit", Meaning{Result: Failed,
		Advice: "the TTL is below what the domain's plan allows: raise the service's ttl (600 on the free plan) or clear it"}},
	{"RequestLimitExceeded", Meaning{Result: Retry, Advice: AdviceRateLimited}},
	{"InternalError", Meaning{Result: Retry}},
	{"FailedOperation.TemporaryError", Meaning{Result: Retry}},
}

func dnspodMeaning(code string) Meaning {
	for _, e := range dnspodAdvice {
		if code == e.code || strings.HasPrefix(code, e.code+".") {
			return e.meaning
		}
	}
	return Meaning{Result: Failed, Advice: AdviceRefused}
}

type dnspodRecord struct {
	RecordID uint64 `json:"RecordId"`
	Value    string `json:"Value"`
	Status   string `json:"Status"`
	Name     string `json:"Name"`
	Line     string `json:"Line"`
	Type     string `json:"Type"`
	Remark   string `json:"Remark"`
	TTL      int    `json:"TTL"`
}

// dnspodCall is one delivery's view of the API: where, with which key.
type dnspodCall struct {
	api  *API
	id   string
	key  string
	host string
}

func (d *dnspod) newCall(s dnspodSettings, secretKey string) (dnspodCall, *Outcome) {
	if err := checkAPIToken(secretKey); err != nil {
		return dnspodCall{}, &Outcome{Result: Failed, Message: "the service's SecretKey " + err.Error() + ": set its credential",
			Advice: AdviceServiceCredential}
	}
	if !dnspodSecretID.MatchString(s.SecretID) {
		return dnspodCall{}, &Outcome{Result: Failed, Message: "service secret_id is not a Tencent Cloud SecretId",
			Advice: "set the service's secret_id to the SecretId of the API key"}
	}
	base := cmp.Or(s.APIURL, dnspodAPIURL)
	if msg := checkEndpointURL(base, true); msg != "" {
		return dnspodCall{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	u, _ := url.Parse(base)
	api := newAPI(d.deps, base, "dnspod: ", nil, secretKey)
	return dnspodCall{api: api, id: s.SecretID, key: secretKey, host: u.Host}, nil
}

// do sends one signed action with params and decodes its Response into
// out. It returns the error code Tencent Cloud answered with ("" on
// success) and the Outcome of a failure.
func (c dnspodCall) do(ctx context.Context, action string, params, out any, op string) (string, *Outcome) {
	body, err := json.Marshal(params)
	if err != nil {
		return "", c.api.fail(op, Response{}, Meaning{Result: Failed}, err.Error())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api.base+"/", bytes.NewReader(body))
	if err != nil {
		return "", c.api.fail(op, Response{}, Meaning{Result: Failed}, "invalid request: "+errText(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.api.userAgent)
	req.Header.Set("X-TC-Action", action)
	req.Header.Set("X-TC-Version", dnspodVersion)
	ts := time.Now().Unix()
	req.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("Authorization", tc3Authorization(c.id, c.key, "dnspod", c.host, action, body, ts))
	resp, raw, o := exchange(ctx, c.api.client, req, c.api.limit, c.api.prefix+op+": ", c.api.red)
	if resp == nil || o != nil {
		return "", o
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if r.Status < 200 || r.Status >= 300 {
		m := HTTPStatus(r.Status, AdviceServiceCredential)
		text := c.api.detail(r, "")
		if r.Status >= 300 && r.Status < 400 {
			text = "redirect not followed"
		}
		return "", c.api.fail(op, r, m, text)
	}
	var env struct {
		Response json.RawMessage `json:"Response"`
	}
	var e struct {
		Error *struct {
			Code    string `json:"Code"`
			Message string `json:"Message"`
		} `json:"Error"`
	}
	if json.Unmarshal(raw, &env) != nil || env.Response == nil || json.Unmarshal(env.Response, &e) != nil {
		return "", c.api.fail(op, r, Meaning{Result: Failed, Advice: AdviceRefused}, "the answer is not Tencent Cloud API JSON: "+c.api.detail(r, ""))
	}
	if e.Error != nil {
		return e.Error.Code, c.api.fail(op, r, dnspodMeaning(e.Error.Code), c.api.red.answer(e.Error.Code+": "+e.Error.Message))
	}
	if out != nil {
		if err := json.Unmarshal(env.Response, out); err != nil {
			return "", c.api.fail(op, r, Meaning{Result: Failed, Advice: AdviceRefused}, "unexpected answer: "+err.Error())
		}
	}
	return "", nil
}

// tc3Authorization signs a JSON POST to "/" the way Tencent Cloud API 3.0
// documents it (Signature v3, TC3-HMAC-SHA256): the canonical request of
// the signed headers content-type, host and x-tc-action (its value
// lowercased), the credential scope of the timestamp's UTC date, and the
// key derived from "TC3"+secretKey by date, service and "tc3_request".
func tc3Authorization(secretID, secretKey, service, host, action string, body []byte, ts int64) string {
	const signedHeaders = "content-type;host;x-tc-action"
	bodyHash := sha256.Sum256(body)
	canonical := "POST\n/\n\n" +
		"content-type:application/json\n" + "host:" + strings.ToLower(host) + "\n" + "x-tc-action:" + strings.ToLower(action) + "\n\n" +
		signedHeaders + "\n" + hex.EncodeToString(bodyHash[:])
	date := time.Unix(ts, 0).UTC().Format("2006-01-02")
	scope := date + "/" + service + "/tc3_request"
	canonicalHash := sha256.Sum256([]byte(canonical))
	toSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + scope + "\n" + hex.EncodeToString(canonicalHash[:])
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	kSigning := mac(mac(mac([]byte("TC3"+secretKey), date), service), "tc3_request")
	return "TC3-HMAC-SHA256 Credential=" + secretID + "/" + scope + ", SignedHeaders=" + signedHeaders +
		", Signature=" + hex.EncodeToString(mac(kSigning, toSign))
}

// domain finds the DNSPod domain holding name: the configured one, or the
// longest of name and its parents the account has; the code is the
// error code of a failed lookup.
func (c dnspodCall) domain(ctx context.Context, s dnspodSettings, name string) (string, string, *Outcome) {
	var candidates []string
	if s.Domain != "" {
		zone := strings.ToLower(strings.TrimSuffix(s.Domain, "."))
		if name != zone && !strings.HasSuffix(name, "."+zone) {
			return "", "", &Outcome{Result: Failed, Message: fmt.Sprintf("dnspod: record %s is not in domain %s", name, zone),
				Advice: "check the service's domain and the record's name"}
		}
		return zone, "", nil
	}
	labels := strings.Split(name, ".")
	for i := max(0, len(labels)-1-maxZoneCandidates); i+2 <= len(labels); i++ {
		candidates = append(candidates, strings.Join(labels[i:], "."))
	}
	for _, cand := range candidates {
		code, out := c.do(ctx, "DescribeDomain", map[string]string{"Domain": cand}, nil, "finding domain "+cand)
		switch {
		case out == nil:
			return cand, "", nil
		case dnspodMissingDomain(code):
			continue
		default:
			return "", code, out
		}
	}
	return "", "", &Outcome{Result: Failed, Message: "dnspod: no domain of the account holds " + name + " (asked for " + strings.Join(candidates, ", ") + ")",
		Advice: "add the domain to the DNSPod account of the API key, or check the record's name"}
}

func dnspodMissingDomain(code string) bool {
	return code == "InvalidParameterValue.DomainNotExists" || code == "ResourceNotFound.NoDataOfDomain" || code == "InvalidParameter.DomainInvalid"
}

// Send reads the name's records of the family and makes them hold what
// they should: records holding a wanted address stay, others are
// modified to hold a missing one (the broker's first), then missing
// addresses are created, and records left over are deleted when the
// broker created them.
func (d *dnspod) Send(ctx context.Context, r Request[dnspodSettings]) Outcome {
	s := r.Settings
	call, out := d.newCall(s, r.Credential)
	if out != nil {
		return *out
	}
	ours, out := publishable(r.Family, r.Addresses)
	if out != nil {
		return *out
	}
	name, out := recordName(r.FQDN)
	if out != nil {
		return *out
	}
	rtype := r.Family.RecordType()
	domain, _, out := call.domain(ctx, s, name)
	if out != nil {
		return *out
	}
	sub := cmp.Or(strings.TrimSuffix(strings.TrimSuffix(name, domain), "."), "@")
	what := fmt.Sprintf("%s %s → %s", rtype, name, joinAddrs(r.Addresses))

	var list struct {
		RecordList []dnspodRecord `json:"RecordList"`
	}
	code, out := call.do(ctx, "DescribeRecordList", map[string]any{"Domain": domain, "Subdomain": sub, "RecordType": rtype, "Limit": 3000},
		&list, "reading "+rtype+" "+name)
	if out != nil && code != "ResourceNotFound.NoDataOfRecord" {
		return *out
	}
	byID := map[string]dnspodRecord{}
	var live []liveRecord
	var have []netip.Addr
	for _, rec := range list.RecordList {
		if rec.Type != rtype || !strings.EqualFold(rec.Name, sub) {
			continue
		}
		id := strconv.FormatUint(rec.RecordID, 10)
		byID[id] = rec
		a := parseRecordAddr(rec.Value)
		live = append(live, liveRecord{ID: id, Data: rec.Value, Addr: a, TTL: rec.TTL, Marked: rec.Remark == ManagedMarker})
		if a.IsValid() {
			have = append(have, a)
		}
	}
	want := rrsetAfter(have, r.Addresses, r.Delivered, r.KeepOthers)
	q := rrsetRequest{Name: name, Type: rtype, Want: ours, Delivered: r.Delivered, KeepOthers: r.KeepOthers, Markers: true}
	if s.TTL != nil {
		q.TTL = *s.TTL
	}
	plan := planRRset(q, live)
	var changes []string
	for _, u := range plan.Update {
		rec, a := byID[u.Rec.ID], u.Addr
		params := map[string]any{"Domain": domain, "RecordId": rec.RecordID, "SubDomain": sub, "RecordType": rtype,
			"RecordLine": cmp.Or(rec.Line, dnspodDefaultLine), "Value": a.String()}
		if ttl := cmp.Or(q.TTL, rec.TTL); ttl > 0 {
			params["TTL"] = ttl
		}
		if _, out := call.do(ctx, "ModifyRecord", params, nil, "modifying "+rtype+" "+name+" "+rec.Value+" → "+a.String()); out != nil {
			return *out
		}
		changes = append(changes, "modified")
	}
	for _, a := range plan.Create {
		params := map[string]any{"Domain": domain, "SubDomain": sub, "RecordType": rtype, "RecordLine": dnspodDefaultLine,
			"Value": a.String(), "Remark": ManagedMarker}
		if s.TTL != nil {
			params["TTL"] = *s.TTL
		}
		if _, out := call.do(ctx, "CreateRecord", params, nil, "creating "+rtype+" "+name+" → "+a.String()); out != nil {
			return *out
		}
		changes = append(changes, "created")
	}
	var foreign []string
	for _, rec := range plan.Left {
		foreign = append(foreign, rec.Data)
	}
	for _, rec := range plan.Delete {
		if _, out := call.do(ctx, "DeleteRecord", map[string]any{"Domain": domain, "RecordId": byID[rec.ID].RecordID}, nil,
			"deleting "+rtype+" "+name+" "+rec.Data); out != nil {
			return *out
		}
		changes = append(changes, "deleted")
	}
	msg := what + " unchanged"
	if len(changes) > 0 {
		msg = what + " in domain " + domain + ": " + summarize(changes)
	}
	if kept := len(want) - len(r.Addresses); kept > 0 {
		msg += fmt.Sprintf("; kept %d other address(es)", kept)
	}
	if len(foreign) > 0 {
		msg += "; left " + strings.Join(foreign, ", ") + ": records the broker did not create are never deleted"
	}
	return Outcome{Result: Delivered, Message: call.api.red.message(msg)}
}

// summarize counts words: "1 modified, 2 created".
func summarize(words []string) string {
	var parts []string
	var order []string
	counts := map[string]int{}
	for _, w := range words {
		if counts[w] == 0 {
			order = append(order, w)
		}
		counts[w]++
	}
	for _, w := range order {
		parts = append(parts, strconv.Itoa(counts[w])+" "+w)
	}
	return strings.Join(parts, ", ")
}

// Check reads the domain (DescribeDomain), which tells a refused key
// from a missing domain; whether the key may modify records only CAM
// knows, which the key cannot read.
func (d *dnspod) Check(ctx context.Context, r CheckRequest[dnspodSettings]) []Step {
	call, out := d.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	name := strings.ToLower(strings.TrimSuffix(cmp.Or(r.FQDN, r.Settings.Domain), "."))
	if name == "" {
		if _, out := call.do(ctx, "DescribeDomainList", map[string]any{"Limit": 1}, nil, "listing domains"); out != nil {
			return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
		}
		return []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "the key may list the account's domains"},
			{Name: "zone found", Status: StepUnchecked, Detail: "no domain and no record name to look for"}}
	}
	domain, code, out := call.domain(ctx, r.Settings, name)
	if out == nil && r.Settings.Domain != "" {
		code, out = call.do(ctx, "DescribeDomain", map[string]string{"Domain": domain}, nil, "reading domain "+domain)
	}
	if out != nil && strings.HasPrefix(code, "AuthFailure") {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "the signature and the key were accepted"}}
	if out != nil {
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: out.Message})
	}
	return append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "domain " + call.api.red.answer(domain)},
		Step{Name: "may edit records", Status: StepUnchecked, Detail: "only an update tells whether the key's CAM policy allows modifying records"})
}
