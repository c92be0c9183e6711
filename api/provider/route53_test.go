package provider_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const (
	r53KeyID  = "AKIAIOSFODNN7EXAMPLE"
	r53Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	r53Zone   = "Z1D633PJN98FT9"
	r53NS     = "https://route53.amazonaws.com/doc/2013-04-01/"
)

// fakeRoute53 is a local Route 53 REST-XML API written from its reference
// (ListHostedZonesByName, GetHostedZone, ListResourceRecordSets,
// ChangeResourceRecordSets): it verifies each request's Signature Version 4
// by recomputing it from the request it received (its own code, not the
// SDK's), keeps hosted zones and record sets, and answers AWS's error XML.
type fakeRoute53 struct {
	mu    sync.Mutex
	keys  map[string]string // access key id → secret
	zones map[string]r53FakeZone
	sets  map[string]*r53FakeSet // zone id|name.|type
	// fail answers the named action (after the signature check) with an
	// error: status and body.
	fail       map[string]func(w http.ResponseWriter)
	changes    []string // the change batches received, as XML
	changeSeen int
}

type r53FakeZone struct {
	Name    string // with the trailing dot
	Private bool
}

type r53FakeSet struct {
	Name   string
	Type   string
	TTL    int
	Values []string
}

func newFakeRoute53() *fakeRoute53 {
	return &fakeRoute53{
		keys: map[string]string{r53KeyID: r53Secret},
		zones: map[string]r53FakeZone{
			r53Zone:           {Name: "example.com."},
			"ZPRIVATE0000001": {Name: "example.com.", Private: true},
			"ZOTHER000000001": {Name: "example.org."},
		},
		sets: map[string]*r53FakeSet{},
		fail: map[string]func(http.ResponseWriter){},
	}
}

func (f *fakeRoute53) put(name, typ string, ttl int, values ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sets[r53Zone+"|"+name+".|"+typ] = &r53FakeSet{Name: name + ".", Type: typ, TTL: ttl, Values: values}
}

func (f *fakeRoute53) get(name, typ string) (r53FakeSet, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sets[r53Zone+"|"+name+".|"+typ]
	if !ok {
		return r53FakeSet{}, false
	}
	return *s, true
}

func r53Err(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", "4f7c3d4b-0000-0000-0000-000000000000")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0"?>
<ErrorResponse xmlns=%q><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>4f7c3d4b</RequestId></ErrorResponse>`,
		r53NS, typ, code, msg)
}

func r53Answer(status int, code, msg string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) { r53Err(w, status, "Sender", code, msg) }
}

func (f *fakeRoute53) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if code, msg := f.verify(r, body, time.Now()); code != "" {
		r53Err(w, http.StatusForbidden, "Sender", code, msg)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/2013-04-01/"), "/")
	action := ""
	switch {
	case r.Method == "GET" && len(parts) == 1 && parts[0] == "hostedzonesbyname":
		action = "ListHostedZonesByName"
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "hostedzone":
		action = "GetHostedZone"
	case r.Method == "GET" && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		action = "ListResourceRecordSets"
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		action = "ChangeResourceRecordSets"
	default:
		r53Err(w, 404, "Sender", "UnknownOperationException", "no such operation "+r.Method+" "+r.URL.Path)
		return
	}
	if fail := f.fail[action]; fail != nil {
		fail(w)
		return
	}
	if action != "ListHostedZonesByName" {
		if _, ok := f.zones[parts[1]]; !ok {
			r53Err(w, 404, "Sender", "NoSuchHostedZone", "No hosted zone found with ID: "+parts[1])
			return
		}
	}
	w.Header().Set("Content-Type", "text/xml")
	switch action {
	case "ListHostedZonesByName":
		f.listZones(w, r.URL.Query())
	case "GetHostedZone":
		z := f.zones[parts[1]]
		fmt.Fprintf(w, `<GetHostedZoneResponse xmlns=%q><HostedZone><Id>/hostedzone/%s</Id><Name>%s</Name><Config><PrivateZone>%v</PrivateZone></Config></HostedZone></GetHostedZoneResponse>`,
			r53NS, parts[1], z.Name, z.Private)
	case "ListResourceRecordSets":
		f.listSets(w, parts[1], r.URL.Query())
	case "ChangeResourceRecordSets":
		f.change(w, r, parts[1], body)
	}
}

// reversed orders names as Route 53 lists them: labels from the right.
func reversed(name string) string {
	labels := strings.Split(strings.TrimSuffix(strings.ToLower(name), "."), ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".")
}

// listZones answers zones in order from dnsname on, as AWS does (not only
// the zone of that name).
func (f *fakeRoute53) listZones(w http.ResponseWriter, q url.Values) {
	ids := make([]string, 0, len(f.zones))
	for id := range f.zones {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := reversed(f.zones[ids[i]].Name), reversed(f.zones[ids[j]].Name)
		if a != b {
			return a < b
		}
		return ids[i] < ids[j]
	})
	max, _ := strconv.Atoi(q.Get("maxitems"))
	if max == 0 {
		max = 100
	}
	var b strings.Builder
	for _, id := range ids {
		z := f.zones[id]
		if q.Get("dnsname") != "" && reversed(z.Name) < reversed(q.Get("dnsname")) || max == 0 {
			continue
		}
		max--
		fmt.Fprintf(&b, `<HostedZone><Id>/hostedzone/%s</Id><Name>%s</Name><CallerReference>x</CallerReference><Config><PrivateZone>%v</PrivateZone></Config><ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone>`,
			id, z.Name, z.Private)
	}
	fmt.Fprintf(w, `<?xml version="1.0"?><ListHostedZonesByNameResponse xmlns=%q><HostedZones>%s</HostedZones><DNSName>%s</DNSName><IsTruncated>false</IsTruncated><MaxItems>%s</MaxItems></ListHostedZonesByNameResponse>`,
		r53NS, b.String(), q.Get("dnsname"), q.Get("maxitems"))
}

// listSets answers the zone's record sets in order from name and type on.
func (f *fakeRoute53) listSets(w http.ResponseWriter, zone string, q url.Values) {
	if q.Get("type") != "" && q.Get("name") == "" {
		r53Err(w, 400, "Sender", "InvalidInput", "The input is not valid: type without name")
		return
	}
	var sets []*r53FakeSet
	for k, s := range f.sets {
		if strings.HasPrefix(k, zone+"|") {
			sets = append(sets, s)
		}
	}
	key := func(s *r53FakeSet) string { return reversed(s.Name) + " " + s.Type }
	sort.Slice(sets, func(i, j int) bool { return key(sets[i]) < key(sets[j]) })
	start := reversed(q.Get("name")) + " " + q.Get("type")
	var b strings.Builder
	n, _ := strconv.Atoi(q.Get("maxitems"))
	for _, s := range sets {
		if key(s) < start || n == 0 {
			continue
		}
		n--
		fmt.Fprintf(&b, `<ResourceRecordSet><Name>%s</Name><Type>%s</Type><TTL>%d</TTL><ResourceRecords>`, s.Name, s.Type, s.TTL)
		for _, v := range s.Values {
			fmt.Fprintf(&b, `<ResourceRecord><Value>%s</Value></ResourceRecord>`, v)
		}
		b.WriteString(`</ResourceRecords></ResourceRecordSet>`)
	}
	fmt.Fprintf(w, `<?xml version="1.0"?><ListResourceRecordSetsResponse xmlns=%q><ResourceRecordSets>%s</ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>%s</MaxItems></ListResourceRecordSetsResponse>`,
		r53NS, b.String(), q.Get("maxitems"))
}

func (f *fakeRoute53) change(w http.ResponseWriter, r *http.Request, zone string, body []byte) {
	var req struct {
		XMLName xml.Name
		Comment string `xml:"ChangeBatch>Comment"`
		Changes []struct {
			Action string `xml:"Action"`
			Set    struct {
				Name   string   `xml:"Name"`
				Type   string   `xml:"Type"`
				TTL    *int     `xml:"TTL"`
				Values []string `xml:"ResourceRecords>ResourceRecord>Value"`
			} `xml:"ResourceRecordSet"`
		} `xml:"ChangeBatch>Changes>Change"`
	}
	if err := xml.Unmarshal(body, &req); err != nil || req.XMLName.Space != r53NS || req.XMLName.Local != "ChangeResourceRecordSetsRequest" ||
		r.Header.Get("Content-Type") != "application/xml" {
		r53Err(w, 400, "Sender", "InvalidInput", "Could not parse the request body")
		return
	}
	var msgs []string
	for _, c := range req.Changes {
		name := strings.ToLower(c.Set.Name)
		if !strings.HasSuffix(name, ".") {
			name += "."
		}
		zname := f.zones[zone].Name
		if name != zname && !strings.HasSuffix(name, "."+zname) {
			msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", name, zname))
			continue
		}
		for _, v := range c.Set.Values {
			a, err := netip.ParseAddr(v)
			if err != nil || (c.Set.Type == "A") != a.Is4() {
				msgs = append(msgs, fmt.Sprintf("ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '%s'", v))
			}
		}
		if c.Set.TTL == nil || len(c.Set.Values) == 0 {
			msgs = append(msgs, "TTL and ResourceRecords are required")
		}
		if c.Action != "UPSERT" {
			msgs = append(msgs, "only UPSERT in this fake")
		}
	}
	if len(msgs) > 0 {
		w.WriteHeader(400)
		fmt.Fprintf(w, `<?xml version="1.0"?><InvalidChangeBatch xmlns=%q><Messages><Message>%s</Message></Messages><RequestId>b25f48e8</RequestId></InvalidChangeBatch>`,
			r53NS, strings.Join(msgs, "</Message><Message>"))
		return
	}
	for _, c := range req.Changes {
		name := strings.ToLower(strings.TrimSuffix(c.Set.Name, ".")) + "."
		f.sets[zone+"|"+name+"|"+c.Set.Type] = &r53FakeSet{Name: name, Type: c.Set.Type, TTL: *c.Set.TTL, Values: c.Set.Values}
	}
	f.changes = append(f.changes, req.Comment)
	fmt.Fprintf(w, `<?xml version="1.0"?><ChangeResourceRecordSetsResponse xmlns=%q><ChangeInfo><Id>/change/C2682N5HXP0BZ4</Id><Status>PENDING</Status><SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`, r53NS)
}

// verify checks the request's Signature Version 4 as AWS documents it
// ("Create a signed AWS API request"): the canonical request rebuilt from
// what arrived, the string to sign, the key derived from the secret of the
// access key named in the credential scope. It returns AWS's error code
// and message, or "" when the signature is right.
func (f *fakeRoute53) verify(r *http.Request, body []byte, now time.Time) (string, string) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "MissingAuthenticationToken", "Missing Authentication Token"
	}
	const alg = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, alg) {
		return "IncompleteSignature", "Unsupported authorization type"
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, alg), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return "IncompleteSignature", "Authorization header requires Credential, SignedHeaders and Signature"
	}
	secret, ok := f.keys[scope[0]]
	if !ok {
		return "InvalidClientTokenId", "The security token included in the request is invalid."
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return "IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header"
	}
	if d := now.Sub(t); d > 5*time.Minute || d < -5*time.Minute {
		return "SignatureDoesNotMatch", "Signature expired: " + amzDate + " is now earlier than the allowed window"
	}
	if scope[1] != amzDate[:8] || scope[2] != "us-east-1" || scope[3] != "route53" || scope[4] != "aws4_request" {
		return "SignatureDoesNotMatch", "Credential should be scoped to a valid region and to service route53"
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if !slices.Contains(signed, "host") || !slices.Contains(signed, "x-amz-date") || !slices.IsSorted(signed) {
		return "SignatureDoesNotMatch", "host and x-amz-date must be signed, names sorted"
	}
	var headers strings.Builder
	for _, h := range signed {
		v := strings.Join(r.Header.Values(h), ",")
		if h == "host" {
			v = r.Host
		}
		headers.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	q := r.URL.Query()
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, rfc3986(k)+"="+rfc3986(v))
		}
	}
	sort.Strings(pairs)
	payload := sha256.Sum256(body)
	canonical := strings.Join([]string{r.Method, r.URL.EscapedPath(), strings.Join(pairs, "&"), headers.String(),
		fields["SignedHeaders"], hex.EncodeToString(payload[:])}, "\n")
	hashed := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + strings.Join(scope[1:], "/") + "\n" + hex.EncodeToString(hashed[:])
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	key := mac(mac(mac(mac([]byte("AWS4"+secret), scope[1]), scope[2]), scope[3]), scope[4])
	if want := hex.EncodeToString(mac(key, toSign)); !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method."
	}
	return "", ""
}

// rfc3986 percent-encodes all but the unreserved characters.
func rfc3986(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// TestFakeRoute53SignatureCheck: the fake's own check against AWS's
// documented example (GET ListUsers of IAM would differ in service; this
// one builds a request by hand from the documented recipe's pieces and
// proves a changed byte fails), so the table below cannot pass on a fake
// that accepts everything.
func TestFakeRoute53SignatureCheck(t *testing.T) {
	f := newFakeRoute53()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r, _ := http.NewRequest("GET", "https://route53.amazonaws.com/2013-04-01/hostedzonesbyname?dnsname=example.com&maxitems=1", nil)
	r.Header.Set("X-Amz-Date", "20260102T030405Z")
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	empty := sha256.Sum256(nil)
	canonical := "GET\n/2013-04-01/hostedzonesbyname\ndnsname=example.com&maxitems=1\nhost:route53.amazonaws.com\nx-amz-date:20260102T030405Z\n\nhost;x-amz-date\n" +
		hex.EncodeToString(empty[:])
	h := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n20260102T030405Z\n20260102/us-east-1/route53/aws4_request\n" + hex.EncodeToString(h[:])
	key := mac(mac(mac(mac([]byte("AWS4"+r53Secret), "20260102"), "us-east-1"), "route53"), "aws4_request")
	sig := hex.EncodeToString(mac(key, toSign))
	r.Host = "route53.amazonaws.com"
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+r53KeyID+"/20260102/us-east-1/route53/aws4_request, SignedHeaders=host;x-amz-date, Signature="+sig)
	if code, msg := f.verify(r, nil, now); code != "" {
		t.Fatalf("a correctly signed request was refused: %s %s", code, msg)
	}
	r.URL.RawQuery = "dnsname=example.org&maxitems=1"
	if code, _ := f.verify(r, nil, now); code != "SignatureDoesNotMatch" {
		t.Fatalf("a changed query passed the check: %q", code)
	}
	if code, _ := f.verify(r, nil, now.Add(time.Hour)); code != "SignatureDoesNotMatch" {
		t.Fatalf("an old signature passed: %q", code)
	}
}

func r53Request(fqdn, addr string) provider.Request[json.RawMessage] {
	return providertest.Request(fqdn, addr, "", "", r53Secret)
}

// TestRoute53AnswerTable: create, update, unchanged, keep_other_addresses
// and Route 53's error answers, each against a fresh fake that checks the
// signature of every request.
func TestRoute53AnswerTable(t *testing.T) {
	withZone := map[string]any{"access_key_id": r53KeyID, "zone_id": r53Zone}
	byName := map[string]any{"access_key_id": r53KeyID}
	keepOthers := providertest.Request("home.example.com", "198.51.100.7", "", "", r53Secret)
	keepOthers.KeepOthers = true
	keepOthers.Delivered = []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	replace := keepOthers
	replace.KeepOthers = false

	type spec struct {
		name     string
		settings map[string]any
		request  provider.Request[json.RawMessage]
		setup    func(f *fakeRoute53)
		requests int
		want     provider.Result
		msg      string
		advice   string
		after    func(t *testing.T, f *fakeRoute53)
	}
	wantSet := func(name, typ string, ttl int, values ...string) func(t *testing.T, f *fakeRoute53) {
		return func(t *testing.T, f *fakeRoute53) {
			t.Helper()
			s, ok := f.get(name, typ)
			if !ok || s.TTL != ttl || !slices.Equal(s.Values, values) {
				t.Errorf("record set %s %s = %+v (exists %v), want ttl %d values %v", name, typ, s, ok, ttl, values)
			}
		}
	}
	specs := []spec{
		{name: "created, the public zone found by name", settings: byName, request: r53Request("home.example.com", "198.51.100.7"),
			requests: 4, want: provider.Delivered, msg: "A home.example.com → 198.51.100.7 created (ttl 300), change C2682N5HXP0BZ4 pending",
			after: func(t *testing.T, f *fakeRoute53) {
				wantSet("home.example.com", "A", 300, "198.51.100.7")(t, f)
				if len(f.changes) != 1 || f.changes[0] != "managed by ddnsbroker" {
					t.Errorf("change comments %q", f.changes)
				}
			}},
		{name: "AAAA created with the zone id", settings: withZone, request: r53Request("home.example.com", "2001:db8::7"),
			requests: 2, want: provider.Delivered, msg: "AAAA home.example.com → 2001:db8::7 created",
			after: wantSet("home.example.com", "AAAA", 300, "2001:db8::7")},
		{name: "updated", settings: map[string]any{"access_key_id": r53KeyID, "zone_id": r53Zone, "ttl": 60},
			request:  r53Request("home.example.com", "198.51.100.8"),
			setup:    func(f *fakeRoute53) { f.put("home.example.com", "A", 60, "198.51.100.7") },
			requests: 2, want: provider.Delivered, msg: "A home.example.com → 198.51.100.8 updated (ttl 60)",
			after: wantSet("home.example.com", "A", 60, "198.51.100.8")},
		{name: "unchanged: one read, no change", settings: withZone, request: r53Request("home.example.com", "198.51.100.7"),
			setup:    func(f *fakeRoute53) { f.put("home.example.com", "A", 300, "198.51.100.7") },
			requests: 1, want: provider.Delivered, msg: "unchanged"},
		{name: "keep_other_addresses: only the delivered address is replaced", settings: withZone, request: keepOthers,
			setup:    func(f *fakeRoute53) { f.put("home.example.com", "A", 300, "192.0.2.1", "203.0.113.50") },
			requests: 2, want: provider.Delivered, msg: "A home.example.com → 203.0.113.50, 198.51.100.7 updated",
			after: wantSet("home.example.com", "A", 300, "203.0.113.50", "198.51.100.7")},
		{name: "without keep_other_addresses the set becomes ours", settings: withZone, request: replace,
			setup:    func(f *fakeRoute53) { f.put("home.example.com", "A", 300, "192.0.2.1", "203.0.113.50") },
			requests: 2, want: provider.Delivered, msg: "A home.example.com → 198.51.100.7 updated",
			after: wantSet("home.example.com", "A", 300, "198.51.100.7")},
		{name: "wrong secret: the fake's signature differs", settings: withZone,
			request: providertest.Request("home.example.com", "198.51.100.7", "", "", "wrongSecretKey0000000000000000000000000"),
			want:    provider.Failed, msg: "HTTP 403: SignatureDoesNotMatch The request signature we calculated", advice: "secret access key does not belong"},
		{name: "unknown access key", settings: map[string]any{"access_key_id": "AKIAUNKNOWN000000000", "zone_id": r53Zone},
			request: r53Request("home.example.com", "198.51.100.7"),
			want:    provider.Failed, msg: "HTTP 403: InvalidClientTokenId", advice: "AWS does not know the access key id"},
		{name: "the policy does not allow the change", settings: withZone, request: r53Request("home.example.com", "198.51.100.7"),
			setup: func(f *fakeRoute53) {
				f.fail["ChangeResourceRecordSets"] = r53Answer(403, "AccessDenied", "User: arn:aws:iam::123456789012:user/ddns is not authorized to perform: route53:ChangeResourceRecordSets on resource: arn:aws:route53:::hostedzone/"+r53Zone)
			},
			requests: 2, want: provider.Failed, msg: "HTTP 403: AccessDenied User: arn:aws:iam::123456789012:user/ddns is not authorized", advice: "IAM policy"},
		{name: "hosted zone id unknown", settings: map[string]any{"access_key_id": r53KeyID, "zone_id": "ZNOSUCHZONE0001"},
			request: r53Request("home.example.com", "198.51.100.7"),
			want:    provider.Failed, msg: "HTTP 404: NoSuchHostedZone No hosted zone found with ID: ZNOSUCHZONE0001", advice: "zone_id"},
		{name: "no public zone holds the name", settings: byName, request: r53Request("home.example.net", "198.51.100.7"),
			requests: 2, want: provider.Failed, msg: "no public hosted zone holds home.example.net (asked for home.example.net, example.net)"},
		{name: "name outside the zone: InvalidChangeBatch", settings: map[string]any{"access_key_id": r53KeyID, "zone_id": "ZOTHER000000001"},
			request:  r53Request("home.example.com", "198.51.100.7"),
			requests: 2, want: provider.Failed, msg: "HTTP 400: InvalidChangeBatch RRSet with DNS name home.example.com. is not permitted", advice: provider.AdviceRefused},
		{name: "throttled (HTTP 400 Throttling) is retried", settings: withZone, request: r53Request("home.example.com", "198.51.100.7"),
			setup: func(f *fakeRoute53) { f.fail["ListResourceRecordSets"] = r53Answer(400, "Throttling", "Rate exceeded") },
			want:  provider.Retry, msg: "HTTP 400: Throttling Rate exceeded", advice: provider.AdviceRateLimited},
		{name: "prior change not complete is retried", settings: withZone, request: r53Request("home.example.com", "198.51.100.7"),
			setup: func(f *fakeRoute53) {
				f.fail["ChangeResourceRecordSets"] = r53Answer(400, "PriorRequestNotComplete", "The request was rejected because Route 53 was still processing a prior request.")
			},
			requests: 2, want: provider.Retry, msg: "PriorRequestNotComplete"},
		{name: "server error is retried", settings: withZone, request: r53Request("home.example.com", "198.51.100.7"),
			setup: func(f *fakeRoute53) {
				f.fail["ListResourceRecordSets"] = func(w http.ResponseWriter) { r53Err(w, 503, "Receiver", "ServiceUnavailable", "Service Unavailable") }
			},
			want: provider.Retry, msg: "HTTP 503: ServiceUnavailable"},
		{name: "an answer that is not XML", settings: withZone, request: r53Request("home.example.com", "198.51.100.7"),
			setup: func(f *fakeRoute53) {
				f.fail["ListResourceRecordSets"] = func(w http.ResponseWriter) { _, _ = w.Write([]byte("<html>captive portal")) }
			},
			want: provider.Failed, msg: "not Route 53 XML"},
	}
	for _, sp := range specs {
		f := newFakeRoute53()
		if sp.setup != nil {
			sp.setup(f)
		}
		after := sp.after
		providertest.Run(t, provider.NewRoute53(providertest.Deps()), "api_url", []providertest.Case{{
			Name: sp.name, Settings: sp.settings, Request: sp.request, Serve: f.ServeHTTP, Requests: sp.requests,
			Want: sp.want, WantMessage: sp.msg, WantAdvice: sp.advice,
			Check: func(t *testing.T, seen []providertest.Seen) {
				for _, s := range seen {
					if s.Header.Get("User-Agent") != "ddnsbroker/test" {
						t.Errorf("User-Agent %q", s.Header.Get("User-Agent"))
					}
				}
				if after != nil {
					after(t, f)
				}
			},
		}})
	}
}

// TestRoute53CachesZones: the second delivery of a name in a zone found
// by name makes no lookup.
func TestRoute53CachesZones(t *testing.T) {
	f := newFakeRoute53()
	fake := providertest.NewFake(t, f.ServeHTTP)
	p := provider.NewRoute53(providertest.Deps())
	for i, addr := range []string{"198.51.100.7", "198.51.100.8"} {
		req := r53Request("home.example.com", addr)
		req.Settings = providertest.Settings(t, map[string]any{"access_key_id": r53KeyID, "api_url": fake.URL})
		fake.Reset()
		if out := p.Send(t.Context(), req); out.Result != provider.Delivered {
			t.Fatalf("delivery %d: %v %s", i, out.Result, out.Message)
		}
		if n, want := len(fake.Requests()), []int{4, 2}[i]; n != want {
			t.Errorf("delivery %d made %d requests, want %d", i, n, want)
		}
	}
}

func TestRoute53Check(t *testing.T) {
	p := provider.NewRoute53(providertest.Deps())
	good := newFakeRoute53()
	denied := newFakeRoute53()
	denied.fail["ListHostedZonesByName"] = r53Answer(403, "AccessDenied", "User: arn:aws:iam::123456789012:user/ddns is not authorized to perform: route53:ListHostedZonesByName")
	req := provider.CheckRequest[json.RawMessage]{FQDN: "home.example.com", Credential: r53Secret}
	bad := req
	bad.Credential = "wrongSecretKey0000000000000000000000000"
	providertest.RunChecks(t, p, "api_url", []providertest.CheckCase{
		{Name: "good key, zone by name", Settings: map[string]any{"access_key_id": r53KeyID}, Request: req, Serve: good.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "good key, zone id", Settings: map[string]any{"access_key_id": r53KeyID, "zone_id": r53Zone}, Request: req, Serve: good.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "wrong secret", Settings: map[string]any{"access_key_id": r53KeyID}, Request: bad, Serve: good.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing zone", Settings: map[string]any{"access_key_id": r53KeyID, "zone_id": "ZNOSUCHZONE0001"}, Request: req, Serve: good.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
		{Name: "no permission to list zones", Settings: map[string]any{"access_key_id": r53KeyID}, Request: req, Serve: denied.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
	})
}

func TestRoute53Validate(t *testing.T) {
	p := provider.NewRoute53(providertest.Deps())
	providertest.Validate(t, p, `{"access_key_id": "AKIAIOSFODNN7EXAMPLE", "zone_id": "Z1D633PJN98FT9", "ttl": 60, "region": "cn-northwest-1"}`,
		provider.Has{Credential: true})
	providertest.Validate(t, p, `{"access_key_id": "secret key", "zone_id": "example.com", "ttl": -1, "region": "mars", "api_url": "ftp://x"}`,
		provider.Has{},
		"settings.access_key_id: must be an AWS access key id", "settings.zone_id: must be a hosted zone id",
		"settings.region: must be an AWS region", "settings.api_url: ", "settings.ttl: must be 0..86400", "credential: is required")
	providertest.Validate(t, p, `{}`, provider.Has{Credential: true}, "settings.access_key_id: is required")
}
