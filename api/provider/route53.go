package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// ProtocolRoute53 is the route53 protocol's name.
const ProtocolRoute53 = "route53"

const (
	route53APIURL = "https://route53.amazonaws.com"
	// route53Region is the signing region of the global endpoint.
	route53Region = "us-east-1"
	// route53Version starts every path of the REST-XML API.
	route53Version = "/2013-04-01"
	route53XMLNS   = "https://route53.amazonaws.com/doc/2013-04-01/"
	route53TTL     = 300
	// maxRoute53Cache bounds the zone id cache; it is emptied when full.
	maxRoute53Cache = 10000
)

// route53ZoneID matches a hosted zone id (Z1D633PJN98FT9).
var route53ZoneID = regexp.MustCompile(`^[A-Z0-9]{1,32}$`)

// awsAccessKeyID matches an access key id (AKIA…, ASIA…).
var awsAccessKeyID = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)

// route53Settings are the options of a route53 service. The secret access
// key is the service's credential; the access key id, an identifier that
// is no secret on its own, is a setting.
type route53Settings struct {
	AccessKeyID string `json:"access_key_id"`
	// ZoneID skips the lookup by name (for policies without
	// route53:ListHostedZonesByName).
	ZoneID string `json:"zone_id"`
	TTL    *int   `json:"ttl"`
	// Region signs the requests: us-east-1 for the global endpoint, the
	// partition's region for others (cn-northwest-1 for China).
	Region string `json:"region"`
	APIURL string `json:"api_url"`
}

// route53 is Amazon Route 53's REST-XML API, signed with AWS Signature
// Version 4 by the AWS SDK's signer (the SDK's service client would bring
// its own retries and transport; one signed request is all we need). It
// finds the hosted zone by name (ids cached), reads the name's RRset and
// UPSERTs it when it differs.
type route53 struct {
	deps Deps

	mu    sync.Mutex
	zones map[string]string // key id|api|zone name → hosted zone id
}

// NewRoute53 is the route53 protocol.
func NewRoute53(d Deps) Provider {
	return Adapt[route53Settings](&route53{deps: d.withDefaults(), zones: map[string]string{}})
}

func (*route53) Describe() Description {
	return Description{
		RRsets:   true,
		Protocol: ProtocolRoute53, Title: "Amazon Route 53",
		Summary: "Finds the hosted zone by name (or takes its id), reads the name's A or AAAA record set and replaces it (UPSERT) when it differs; requests are signed with AWS Signature Version 4.",
		Settings: []Field{
			{Key: "access_key_id", Type: FieldString, Label: "Access key ID", Required: true,
				Help: "The access key id of an IAM user allowed route53:ListHostedZonesByName, route53:ListResourceRecordSets and route53:ChangeResourceRecordSets (AKIA…)."},
			{Key: "zone_id", Type: FieldString, Label: "Hosted zone ID",
				Help: "The hosted zone's id (Z…); when empty, the public zone is found from each record's name."},
			{Key: "ttl", Type: FieldInteger, Label: "TTL", Default: route53TTL, Min: ptrTo(0), Max: ptrTo(maxTTL),
				Help: "TTL of the record set in seconds."},
			{Key: "region", Type: FieldString, Label: "Signing region", Default: route53Region,
				Help: "us-east-1 for the global endpoint; the partition's region for others (cn-northwest-1 for AWS China)."},
			{Key: "api_url", Type: FieldURL, Label: "API URL", Default: route53APIURL, Destination: true,
				Help: "Replaces Route 53's global endpoint (for AWS China, GovCloud, FIPS or tests); leave it empty otherwise."},
		},
		Credential: &Prompt{Label: "Secret access key",
			Help: "The secret access key that belongs to the access key id."},
		Families: netcalc.Families(),
		Together: TogetherNever,
		DocsURL:  "https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html",
	}
}

func (*route53) Presets() []Preset {
	return []Preset{{
		ID: "route53", Name: "Amazon Route 53", Protocol: ProtocolRoute53,
		Settings: raw(`{"access_key_id": "AKIAIOSFODNN7EXAMPLE", "ttl": 300}`),
		Edit:     []PresetSetting{{Key: "access_key_id", Help: "Your IAM user's access key id."}},
		Credential: &Prompt{Label: "Secret access key",
			Help: "The secret access key of the IAM user's access key."},
		Families: netcalc.Families(),
		Notes: "Create an IAM user with a policy allowing route53:ListHostedZonesByName (on *), route53:ListResourceRecordSets and " +
			"route53:ChangeResourceRecordSets (on the hosted zone), and an access key for it. The public hosted zone is found " +
			"from each record's name unless zone_id is set. Route 53 allows 5 requests per second per account: throttled " +
			"requests are retried.",
		DocsURL: "https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html",
	}}
}

func (*route53) Validate(s route53Settings, _ Has) []FieldError {
	var errs []FieldError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: "settings." + field, Message: msg}) }
	if s.AccessKeyID != "" && !awsAccessKeyID.MatchString(s.AccessKeyID) {
		add("access_key_id", "must be an AWS access key id: capital letters and digits, e.g. AKIAIOSFODNN7EXAMPLE")
	}
	if s.ZoneID != "" && !route53ZoneID.MatchString(strings.TrimPrefix(s.ZoneID, "/hostedzone/")) {
		add("zone_id", "must be a hosted zone id: capital letters and digits, e.g. Z1D633PJN98FT9")
	}
	if s.Region != "" && !awsRegion.MatchString(s.Region) {
		add("region", "must be an AWS region such as us-east-1")
	}
	if msg := checkEndpointURL(s.APIURL, false); msg != "" {
		add("api_url", msg)
	}
	return errs
}

var awsRegion = regexp.MustCompile(`^[a-z]{2,}(-[a-z]+)+-[0-9]+$`)

// r53Call is one delivery's view of the API.
type r53Call struct {
	p      *route53
	api    *API // redaction and outcomes; requests are signed and sent by do
	creds  aws.Credentials
	region string
	zkey   string // cache key prefix: key id, secret's hash and API
}

func (p *route53) newCall(s route53Settings, secret string) (r53Call, *Outcome) {
	if err := checkAPIToken(secret); err != nil {
		return r53Call{}, &Outcome{Result: Failed, Message: "the service's secret access key " + err.Error() + ": set its credential",
			Advice: AdviceServiceCredential}
	}
	if !awsAccessKeyID.MatchString(s.AccessKeyID) {
		return r53Call{}, &Outcome{Result: Failed, Message: "service access_key_id is not an AWS access key id", Advice: "set the service's access_key_id"}
	}
	base := strings.TrimRight(s.APIURL, "/")
	if base == "" {
		base = route53APIURL
	}
	if msg := checkEndpointURL(base, true); msg != "" {
		return r53Call{}, &Outcome{Result: Failed, Message: "service api_url " + msg}
	}
	region := s.Region
	if region == "" {
		region = route53Region
	}
	api := newAPI(p.deps, base, "route53: ", nil, secret)
	sum := sha256.Sum256([]byte(secret))
	return r53Call{p: p, api: api, region: region, zkey: s.AccessKeyID + "|" + hex.EncodeToString(sum[:8]) + "|" + base + "|",
		creds: aws.Credentials{AccessKeyID: s.AccessKeyID, SecretAccessKey: secret}}, nil
}

// Send reads the name's record set and replaces it when it differs from
// what the name must hold (see rrsetAfter). Route 53 answers throttling
// (Throttling, PriorRequestNotComplete) with HTTP 400: both are retried.
func (p *route53) Send(ctx context.Context, r Request[route53Settings]) Outcome {
	call, out := p.newCall(r.Settings, r.Credential)
	if out != nil {
		return *out
	}
	red := call.api.red
	ttl := route53TTL
	if r.Settings.TTL != nil {
		ttl = *r.Settings.TTL
	}
	if ttl < 0 || ttl > maxTTL {
		return Outcome{Result: Failed, Message: "service ttl must be 0..86400"}
	}
	if _, out := publishable(r.Family, r.Addresses); out != nil {
		return *out
	}
	name, out := recordName(r.FQDN)
	if out != nil {
		return *out
	}
	rtype := r.Family.RecordType()
	zoneID, out := call.zoneID(ctx, r.Settings, name, true)
	if out != nil {
		return *out
	}
	current, curTTL, found, out := call.rrset(ctx, zoneID, name, rtype)
	if out != nil {
		return *out
	}
	want := rrsetAfter(current, r.Addresses, r.Delivered, r.KeepOthers)
	what := fmt.Sprintf("%s %s → %s", rtype, name, joinAddrs(want))
	if found && sameAddresses(current, want) && curTTL == ttl {
		return Outcome{Result: Delivered, Message: red.message(what + " unchanged (ttl " + strconv.Itoa(ttl) + ")")}
	}
	verb := "created"
	if found {
		verb = "updated"
	}
	change := r53ChangeRequest{Batch: r53Batch{Comment: ManagedMarker, Changes: []r53Change{{Action: "UPSERT",
		Set: r53Set{Name: name + ".", Type: rtype, TTL: ttl, Values: addrStrings(want)}}}}}
	body, err := xml.Marshal(change)
	if err != nil {
		return Outcome{Result: Failed, Message: "route53: " + err.Error()}
	}
	var info struct {
		ID     string `xml:"ChangeInfo>Id"`
		Status string `xml:"ChangeInfo>Status"`
	}
	if out := call.do(ctx, http.MethodPost, "/hostedzone/"+zoneID+"/rrset", nil, append([]byte(xml.Header), body...), &info,
		"changing "+rtype+" "+name); out != nil {
		return *out
	}
	msg := what + " " + verb + " (ttl " + strconv.Itoa(ttl) + ")"
	if info.Status != "" {
		msg += ", change " + strings.TrimPrefix(info.ID, "/change/") + " " + strings.ToLower(info.Status)
	}
	return Outcome{Result: Delivered, Message: red.message(msg)}
}

// Check signs a read of the zone: a refused signature or key fails the
// credentials, a missing zone or a policy without the read permissions
// fails the zone. Whether the policy allows changes only a change tells.
func (p *route53) Check(ctx context.Context, r CheckRequest[route53Settings]) []Step {
	call, out := p.newCall(r.Settings, r.Credential)
	if out != nil {
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message}}
	}
	name := strings.ToLower(strings.TrimSuffix(r.FQDN, "."))
	var zoneID string
	if r.Settings.ZoneID != "" || name != "" {
		zoneID, out = call.zoneID(ctx, r.Settings, name, false)
		if r.Settings.ZoneID != "" && out == nil {
			// A configured id is not looked up: read the zone itself.
			out = call.do(ctx, http.MethodGet, "/hostedzone/"+zoneID, nil, nil, nil, "reading hosted zone "+zoneID)
		}
	} else {
		out = call.do(ctx, http.MethodGet, "/hostedzonesbyname", url.Values{"maxitems": {"1"}}, nil, nil, "listing hosted zones")
	}
	switch {
	case out != nil && slices.Contains([]string{r53AdviceKey, r53AdviceSecret, r53AdviceClock}, out.Advice):
		return []Step{{Name: "credentials accepted", Status: StepFailed, Detail: out.Message + ": " + out.Advice}}
	case out != nil && out.Result == Retry:
		return []Step{{Name: "credentials accepted", Status: StepUnchecked, Detail: out.Message}}
	}
	steps := []Step{{Name: "credentials accepted", Status: StepPassed, Detail: "the signature of access key " + r.Settings.AccessKeyID + " was accepted"}}
	switch {
	case out != nil:
		return append(steps, Step{Name: "zone found", Status: StepFailed, Detail: out.Message + ": " + out.Advice})
	case zoneID == "":
		return append(steps, Step{Name: "zone found", Status: StepUnchecked, Detail: "no zone id and no record name to look for"})
	}
	steps = append(steps, Step{Name: "zone found", Status: StepPassed, Detail: "hosted zone " + zoneID})
	return append(steps, Step{Name: "may edit records", Status: StepUnchecked,
		Detail: "Route 53 has no dry run: only a change tells whether the policy allows route53:ChangeResourceRecordSets"})
}

// zoneID is the configured hosted zone, a cached one (when cache is set:
// a check asks again), or the first of name and its parents (longest
// first) that is a public hosted zone.
func (call r53Call) zoneID(ctx context.Context, s route53Settings, name string, cache bool) (string, *Outcome) {
	if s.ZoneID != "" {
		id := strings.TrimPrefix(s.ZoneID, "/hostedzone/")
		if !route53ZoneID.MatchString(id) {
			return "", &Outcome{Result: Failed, Message: "service zone_id is not a hosted zone id", Advice: "check the service's zone_id"}
		}
		return id, nil
	}
	candidates, _ := zoneCandidates(name, "") // without a zone setting there is no error
	for _, cand := range candidates {
		if id, ok := call.p.cached(call.zkey + cand); ok && cache {
			return id, nil
		}
	}
	for _, cand := range candidates {
		var list struct {
			Zones []struct {
				ID      string `xml:"Id"`
				Name    string `xml:"Name"`
				Private bool   `xml:"Config>PrivateZone"`
			} `xml:"HostedZones>HostedZone"`
		}
		// Zones come in order from dnsname on: the first ones are its own.
		q := url.Values{"dnsname": {cand}, "maxitems": {"10"}}
		if out := call.do(ctx, http.MethodGet, "/hostedzonesbyname", q, nil, &list, "finding hosted zone "+cand); out != nil {
			return "", out
		}
		for _, z := range list.Zones {
			id := strings.TrimPrefix(z.ID, "/hostedzone/")
			if r53Name(z.Name) == cand && !z.Private && route53ZoneID.MatchString(id) {
				call.p.remember(call.zkey+cand, id)
				return id, nil
			}
		}
	}
	return "", &Outcome{Result: Failed, Message: "route53: no public hosted zone holds " + name + " (asked for " + strings.Join(candidates, ", ") + ")",
		Advice: "create the hosted zone, or set the service's zone_id"}
}

// rrset reads the simple-routing record set of name and type: its
// addresses and TTL, and whether it exists.
func (call r53Call) rrset(ctx context.Context, zoneID, name, rtype string) ([]netip.Addr, int, bool, *Outcome) {
	var list struct {
		Sets []struct {
			Name          string   `xml:"Name"`
			Type          string   `xml:"Type"`
			SetIdentifier string   `xml:"SetIdentifier"`
			TTL           int      `xml:"TTL"`
			Values        []string `xml:"ResourceRecords>ResourceRecord>Value"`
			Alias         *struct {
				DNSName string `xml:"DNSName"`
			} `xml:"AliasTarget"`
		} `xml:"ResourceRecordSets>ResourceRecordSet"`
	}
	q := url.Values{"name": {name + "."}, "type": {rtype}, "maxitems": {"10"}}
	if out := call.do(ctx, http.MethodGet, "/hostedzone/"+zoneID+"/rrset", q, nil, &list, "reading "+rtype+" "+name); out != nil {
		return nil, 0, false, out
	}
	// Sets come in order from name and type on: the first ones may be it.
	for _, set := range list.Sets {
		if r53Name(set.Name) != name || set.Type != rtype || set.SetIdentifier != "" {
			continue
		}
		if set.Alias != nil {
			return nil, 0, false, &Outcome{Result: Failed, Message: "route53: " + rtype + " " + name + " is an alias record",
				Advice: "the broker does not replace alias records: delete the alias, or publish another name"}
		}
		var addrs []netip.Addr
		for _, v := range set.Values {
			if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
				addrs = append(addrs, a.Unmap())
			}
		}
		return addrs, set.TTL, true, nil
	}
	return nil, 0, false, nil
}

// do signs and sends one request to path (below the API version) and, on
// success, decodes the XML answer into out (when not nil).
func (call r53Call) do(ctx context.Context, method, path string, query url.Values, body []byte, out any, op string) *Outcome {
	target := call.api.base + route53Version + path
	if len(query) > 0 {
		target += "?" + strings.ReplaceAll(query.Encode(), "+", "%20")
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return call.api.fail(op, Response{}, Meaning{Result: Failed}, "invalid request: "+errText(err))
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	} else {
		req.Header.Set("Content-Type", "application/xml")
	}
	req.Header.Set("User-Agent", call.api.userAgent)
	sum := sha256.Sum256(body)
	// A signer per request: the SDK's signer caches the signing key by
	// access key id and day, not by secret, so a shared one would go on
	// signing with a replaced secret until midnight.
	if err := v4.NewSigner().SignHTTP(ctx, call.creds, req, hex.EncodeToString(sum[:]), "route53", call.region, time.Now().UTC()); err != nil {
		return call.api.fail(op, Response{}, Meaning{Result: Failed}, "signing: "+err.Error())
	}
	resp, raw, o := exchange(ctx, call.api.client, req, call.api.limit, call.api.prefix+op+": ", call.api.red)
	if o != nil {
		return o
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if r.Status >= 300 {
		code, words := r53Error(raw)
		m, ok := route53Answers[code]
		if !ok {
			m = HTTPStatus(r.Status, AdviceServiceCredential)
		}
		if r.Status >= 500 {
			m = Meaning{Result: Retry}
		}
		if code == "SignatureDoesNotMatch" && strings.Contains(strings.ToLower(words), "expired") {
			m = Meaning{Result: Failed, Advice: r53AdviceClock}
		}
		if r.Status >= 300 && r.Status < 400 {
			words = "redirect not followed"
		}
		return call.api.fail(op, r, m, call.api.detail(r, strings.TrimSpace(code+" "+words)))
	}
	if out != nil {
		if err := xml.Unmarshal(raw, out); err != nil {
			return call.api.fail(op, r, Meaning{Result: Failed, Advice: AdviceRefused}, "the answer is not Route 53 XML: "+call.api.detail(r, ""))
		}
	}
	return nil
}

// Advice of the Route 53 answers.
const (
	r53AdviceKey    = "AWS does not know the access key id: check the service's access_key_id, or create a new access key for the IAM user"
	r53AdviceSecret = "AWS refused the signature: the secret access key does not belong to the access key id; set the service's credential again"
	r53AdviceClock  = "AWS refused a signature made with this server's clock: set the clock right (NTP)"
	r53AdvicePolicy = "the IAM policy does not allow this: allow route53:ListHostedZonesByName, route53:ListResourceRecordSets and route53:ChangeResourceRecordSets on the hosted zone"
)

// route53Answers is what Route 53's error codes mean; other codes mean
// what their HTTP status does.
var route53Answers = map[string]Meaning{
	"InvalidClientTokenId":        {Result: Failed, Advice: r53AdviceKey},
	"UnrecognizedClientException": {Result: Failed, Advice: r53AdviceKey},
	"MissingAuthenticationToken":  {Result: Failed, Advice: r53AdviceKey},
	"SignatureDoesNotMatch":       {Result: Failed, Advice: r53AdviceSecret},
	"IncompleteSignature":         {Result: Failed, Advice: r53AdviceSecret},
	"AccessDenied":                {Result: Failed, Advice: r53AdvicePolicy},
	"AccessDeniedException":       {Result: Failed, Advice: r53AdvicePolicy},
	"NoSuchHostedZone":            {Result: Failed, Advice: "Route 53 has no hosted zone with this id: check the service's zone_id"},
	"InvalidChangeBatch":          {Result: Failed, Advice: AdviceRefused},
	"InvalidInput":                {Result: Failed, Advice: AdviceRefused},
	"Throttling":                  {Result: Retry, Advice: AdviceRateLimited},
	"ThrottlingException":         {Result: Retry, Advice: AdviceRateLimited},
	"PriorRequestNotComplete":     {Result: Retry, Advice: "Route 53 is still applying an earlier change to the zone; the broker tries again"},
	"ServiceUnavailable":          {Result: Retry},
}

// r53Error reads Route 53's two error shapes: <ErrorResponse><Error>
// with a code and a message, and <InvalidChangeBatch> with messages.
func r53Error(body []byte) (code, message string) {
	var e struct {
		XMLName  xml.Name
		Code     string   `xml:"Error>Code"`
		Message  string   `xml:"Error>Message"`
		Messages []string `xml:"Messages>Message"`
	}
	if xml.Unmarshal(body, &e) != nil {
		return "", ""
	}
	if e.XMLName.Local == "InvalidChangeBatch" {
		return "InvalidChangeBatch", strings.Join(e.Messages, "; ")
	}
	return e.Code, e.Message
}

type r53ChangeRequest struct {
	XMLName xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ChangeResourceRecordSetsRequest"`
	Batch   r53Batch `xml:"ChangeBatch"`
}

type r53Batch struct {
	Comment string      `xml:"Comment,omitempty"`
	Changes []r53Change `xml:"Changes>Change"`
}

type r53Change struct {
	Action string `xml:"Action"`
	Set    r53Set `xml:"ResourceRecordSet"`
}

type r53Set struct {
	Name   string   `xml:"Name"`
	Type   string   `xml:"Type"`
	TTL    int      `xml:"TTL"`
	Values []string `xml:"ResourceRecords>ResourceRecord>Value"`
}

// r53Name is a name as Route 53 returns it (trailing dot, \ooo octal
// escapes such as \052 for *) in the form the broker compares.
func r53Name(s string) string {
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (p *route53) cached(key string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.zones[key]
	return v, ok
}

func (p *route53) remember(key, id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.zones) >= maxRoute53Cache {
		clear(p.zones)
	}
	p.zones[key] = id
}

// The record-set arithmetic every RRset provider shares.

// validZone is the shared check of a zone setting.
func validZone(zone string) bool {
	return dnsname.IsHostName(strings.TrimSuffix(zone, "."))
}
