package provider_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const (
	aliKeyID  = "LTAI5tExampleKeyId0000"
	aliSecret = "ExampleAccessKeySecret0000000000"
)

// fakeAliDNS is a local Alibaba Cloud DNS RPC endpoint (2015-01-09): it
// recomputes each request's signature V1 (its own encoding and HMAC-SHA1,
// checked against the documentation's example in
// TestFakeAliDNSSignature), refuses stale timestamps and reused nonces,
// keeps the domain's records and answers Alibaba's error JSON.
type fakeAliDNS struct {
	mu      sync.Mutex
	nonces  map[string]bool
	records map[string]*fakeAliRecord // id → record of example.com
	next    int
	fail    map[string]http.HandlerFunc // by Action
	actions []string
}

type fakeAliRecord struct {
	RecordID, RR, Type, Value, Remark string
	TTL                               int
}

func newFakeAliDNS() *fakeAliDNS {
	return &fakeAliDNS{nonces: map[string]bool{}, records: map[string]*fakeAliRecord{}, fail: map[string]http.HandlerFunc{}}
}

func (f *fakeAliDNS) add(rr, typ, value, remark string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := fmt.Sprint(9999984 + f.next)
	f.records[id] = &fakeAliRecord{RecordID: id, RR: rr, Type: typ, Value: value, Remark: remark, TTL: 600}
	return id
}

// values are the values of rr's records of typ with their remarks, sorted.
func (f *fakeAliDNS) values(rr, typ string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.records {
		if r.RR == rr && r.Type == typ {
			out = append(out, r.Value+"/"+r.Remark)
		}
	}
	sort.Strings(out)
	return out
}

func aliError(status int, code, msg string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"RequestId":"536E9CAD-DB30-4647-AC87-AA5CC38C5382","HostId":"alidns.aliyuncs.com","Code":%q,"Message":%q,"Recommend":"https://api.aliyun.com/troubleshoot?q=%s"}`,
			code, msg, code)
	}
}

// fakeAliSign is signature V1 as the documentation writes it.
func fakeAliSign(method string, q url.Values, secret string) string {
	enc := func(s string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		return b.String()
	}
	var pairs []string
	for k, vs := range q {
		if k != "Signature" {
			pairs = append(pairs, enc(k)+"="+enc(vs[0]))
		}
	}
	sort.Strings(pairs)
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(method + "&%2F&" + enc(strings.Join(pairs, "&"))))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestFakeAliDNSSignature(t *testing.T) {
	q := url.Values{"AccessKeyId": {"testid"}, "Action": {"DescribeRegions"}, "Format": {"XML"}, "SignatureMethod": {"HMAC-SHA1"},
		"SignatureNonce": {"3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"}, "SignatureVersion": {"1.0"}, "TimeStamp": {"2016-02-23T12:46:24Z"},
		"Version": {"2014-05-26"}}
	if got := fakeAliSign("GET", q, "testsecret"); got != "CT9X0VtwR86fNWSnsc6v8YGOjuE=" {
		t.Fatalf("the fake's signature of the documentation's example: %s", got)
	}
}

func (f *fakeAliDNS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	switch {
	case r.URL.Path != "/" || q.Get("Format") != "JSON" || q.Get("Version") != "2015-01-09" || q.Get("SignatureMethod") != "HMAC-SHA1" ||
		q.Get("SignatureVersion") != "1.0" || q.Get("SignatureNonce") == "" || q.Get("Signature") == "":
		aliError(400, "MissingParameter", "a common parameter is missing or wrong")(w, r)
		return
	case q.Get("AccessKeyId") != aliKeyID:
		aliError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")(w, r)
		return
	}
	if ts, err := time.Parse("2006-01-02T15:04:05Z", q.Get("Timestamp")); err != nil || time.Since(ts).Abs() > 15*time.Minute {
		aliError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")(w, r)
		return
	}
	if want := fakeAliSign(r.Method, q, aliSecret); !hmac.Equal([]byte(want), []byte(q.Get("Signature"))) {
		aliError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")(w, r)
		return
	}
	if f.nonces[q.Get("SignatureNonce")] {
		aliError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")(w, r)
		return
	}
	f.nonces[q.Get("SignatureNonce")] = true
	action := q.Get("Action")
	f.actions = append(f.actions, action)
	if h := f.fail[action]; h != nil {
		h(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	reply := func(v map[string]any) {
		v["RequestId"] = "536E9CAD-DB30-4647-AC87-AA5CC38C5382"
		_ = json.NewEncoder(w).Encode(v)
	}
	domainOK := func(d string) bool {
		if d != "example.com" {
			aliError(400, "InvalidDomainName.NoExist", "The specified domain name does not exist. Refresh the page and try again.")(w, r)
			return false
		}
		return true
	}
	switch action {
	case "GetMainDomainName":
		in := q.Get("InputString")
		labels := strings.Split(in, ".")
		main := strings.Join(labels[max(0, len(labels)-2):], ".")
		reply(map[string]any{"DomainName": main, "RR": strings.TrimSuffix(strings.TrimSuffix(in, main), "."), "DomainLevel": len(labels) - 1})
	case "DescribeDomains":
		reply(map[string]any{"TotalCount": 1, "Domains": map[string]any{"Domain": []map[string]string{{"DomainName": "example.com", "DomainId": "1"}}}})
	case "DescribeSubDomainRecords":
		if !domainOK(q.Get("DomainName")) {
			return
		}
		rr := strings.TrimSuffix(strings.TrimSuffix(q.Get("SubDomain"), "example.com"), ".")
		if rr == "" {
			rr = "@"
		}
		recs := []map[string]any{}
		for _, rec := range f.records {
			if rec.RR == rr && (q.Get("Type") == "" || rec.Type == q.Get("Type")) {
				recs = append(recs, map[string]any{"DomainName": "example.com", "RecordId": rec.RecordID, "RR": rec.RR, "Type": rec.Type,
					"Value": rec.Value, "TTL": rec.TTL, "Line": "default", "Status": "ENABLE", "Locked": false, "Remark": rec.Remark})
			}
		}
		slices.SortFunc(recs, func(a, b map[string]any) int { return strings.Compare(a["RecordId"].(string), b["RecordId"].(string)) })
		reply(map[string]any{"TotalCount": len(recs), "PageNumber": 1, "PageSize": 100, "DomainRecords": map[string]any{"Record": recs}})
	case "AddDomainRecord", "UpdateDomainRecord":
		if action == "AddDomainRecord" && !domainOK(q.Get("DomainName")) {
			return
		}
		var ttl int
		_, _ = fmt.Sscan(q.Get("TTL"), &ttl)
		if ttl < 600 {
			aliError(400, "QuotaExceeded.TTL", "A valid TTL must be in the range of 600 to 86400.")(w, r)
			return
		}
		if a, err := netip.ParseAddr(q.Get("Value")); err != nil || (q.Get("Type") == "A") != a.Is4() {
			aliError(400, "InvalidRecordValue", "The record value is invalid.")(w, r)
			return
		}
		for _, rec := range f.records {
			if rec.RR == q.Get("RR") && rec.Type == q.Get("Type") && rec.Value == q.Get("Value") {
				aliError(400, "DomainRecordDuplicate", "The DNS record already exists.")(w, r)
				return
			}
		}
		if action == "AddDomainRecord" {
			f.next++
			id := fmt.Sprint(9999984 + f.next)
			f.records[id] = &fakeAliRecord{RecordID: id, RR: q.Get("RR"), Type: q.Get("Type"), Value: q.Get("Value"), TTL: ttl}
			reply(map[string]any{"RecordId": id})
			return
		}
		rec, ok := f.records[q.Get("RecordId")]
		if !ok {
			aliError(400, "DomainRecordNotBelongToUser", "The DNS record does not exist in your account.")(w, r)
			return
		}
		rec.RR, rec.Type, rec.Value, rec.TTL = q.Get("RR"), q.Get("Type"), q.Get("Value"), ttl
		reply(map[string]any{"RecordId": rec.RecordID})
	case "UpdateDomainRecordRemark", "DeleteDomainRecord":
		rec, ok := f.records[q.Get("RecordId")]
		if !ok {
			aliError(400, "DomainRecordNotBelongToUser", "The DNS record does not exist in your account.")(w, r)
			return
		}
		if action == "DeleteDomainRecord" {
			delete(f.records, rec.RecordID)
			reply(map[string]any{"RecordId": rec.RecordID})
			return
		}
		rec.Remark = q.Get("Remark")
		reply(map[string]any{})
	default:
		aliError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")(w, r)
	}
}

func TestAliDNSAnswerTable(t *testing.T) {
	req := func(fqdn, addr string) provider.Request[json.RawMessage] {
		return providertest.Request(fqdn, addr, "", "", aliSecret)
	}
	keep := req("home.example.com", "198.51.100.7")
	keep.KeepOthers, keep.Delivered = true, []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	replace := keep
	replace.KeepOthers = false
	zone := map[string]any{"access_key_id": aliKeyID, "zone": "example.com"}
	byName := map[string]any{"access_key_id": aliKeyID}
	type spec struct {
		urlCase
		setup   func(f *fakeAliDNS)
		want    []string // values/remarks of home's records afterwards
		actions []string
	}
	specs := []spec{
		{urlCase: urlCase{name: "added and marked, domain found by name", settings: byName, request: req("home.example.com", "198.51.100.7"), requests: 4,
			want: provider.Delivered, msg: "A home.example.com → 198.51.100.7: added 198.51.100.7 (ttl 600)"},
			want:    []string{"198.51.100.7/managed-by-ddnsbroker"},
			actions: []string{"GetMainDomainName", "DescribeSubDomainRecords", "AddDomainRecord", "UpdateDomainRecordRemark"}},
		{urlCase: urlCase{name: "updated in place", settings: zone, request: req("home.example.com", "198.51.100.8"), requests: 2,
			want: provider.Delivered, msg: "updated 198.51.100.7 → 198.51.100.8"},
			setup: func(f *fakeAliDNS) { f.add("home", "A", "198.51.100.7", "") },
			want:  []string{"198.51.100.8/"}},
		{urlCase: urlCase{name: "unchanged: read only", settings: zone, request: req("home.example.com", "198.51.100.7"), requests: 1,
			want: provider.Delivered, msg: "unchanged"},
			setup: func(f *fakeAliDNS) { f.add("home", "A", "198.51.100.7", "") },
			want:  []string{"198.51.100.7/"}},
		{urlCase: urlCase{name: "keep_other_addresses: only ours changes", settings: zone, request: keep, requests: 2, want: provider.Delivered},
			setup: func(f *fakeAliDNS) { f.add("home", "A", "192.0.2.1", ""); f.add("home", "A", "203.0.113.50", "") },
			want:  []string{"198.51.100.7/", "203.0.113.50/"}},
		{urlCase: urlCase{name: "without keep_other_addresses: the broker's extra record goes, another's stays", settings: zone, request: replace,
			requests: 3, want: provider.Delivered, msg: "kept 203.0.113.50", advice: "remove them by hand"},
			setup: func(f *fakeAliDNS) {
				f.add("home", "A", "203.0.113.50", "")
				f.add("home", "A", "192.0.2.1", "managed-by-ddnsbroker")
				f.add("home", "A", "192.0.2.2", "managed-by-ddnsbroker")
			},
			want:    []string{"198.51.100.7/managed-by-ddnsbroker", "203.0.113.50/"},
			actions: []string{"DescribeSubDomainRecords", "UpdateDomainRecord", "DeleteDomainRecord"}},
		{urlCase: urlCase{name: "wrong secret: the fake's signature differs", settings: zone,
			request: providertest.Request("home.example.com", "198.51.100.7", "", "", "WrongAccessKeySecret000000000000"),
			want:    provider.Failed, msg: "HTTP 400: SignatureDoesNotMatch", advice: "AccessKey secret does not belong"}},
		{urlCase: urlCase{name: "unknown AccessKey ID", settings: map[string]any{"access_key_id": "LTAI5tUnknown000000000", "zone": "example.com"},
			request: req("home.example.com", "198.51.100.7"), want: provider.Failed, msg: "HTTP 404: InvalidAccessKeyId.NotFound", advice: "access_key_id"}},
		{urlCase: urlCase{name: "RAM user without DNS rights", settings: zone, request: req("home.example.com", "198.51.100.7"), requests: 2,
			want: provider.Failed, msg: "HTTP 403: Forbidden.RAM", advice: "AliyunDNSFullAccess"},
			setup: func(f *fakeAliDNS) {
				f.fail["AddDomainRecord"] = aliError(403, "Forbidden.RAM", "User not authorized to operate on the specified resource, or this API doesn't support RAM.")
			}},
		{urlCase: urlCase{name: "domain not in the account", settings: map[string]any{"access_key_id": aliKeyID, "zone": "example.net"},
			request: req("home.example.net", "198.51.100.7"), want: provider.Failed, msg: "InvalidDomainName.NoExist", advice: "add it"}},
		{urlCase: urlCase{name: "TTL below the edition's minimum", settings: map[string]any{"access_key_id": aliKeyID, "zone": "example.com", "ttl": 60},
			request: req("home.example.com", "198.51.100.7"), requests: 2, want: provider.Failed, msg: "QuotaExceeded.TTL", advice: "raise the service's ttl"}},
		{urlCase: urlCase{name: "throttled is retried", settings: zone, request: req("home.example.com", "198.51.100.7"),
			want: provider.Retry, msg: "Throttling.User", advice: provider.AdviceRateLimited},
			setup: func(f *fakeAliDNS) {
				f.fail["DescribeSubDomainRecords"] = aliError(400, "Throttling.User", "Request was denied due to user flow control.")
			}},
		{urlCase: urlCase{name: "server error is retried", settings: zone, request: req("home.example.com", "198.51.100.7"),
			want: provider.Retry, msg: "HTTP 503: ServiceUnavailable"},
			setup: func(f *fakeAliDNS) {
				f.fail["DescribeSubDomainRecords"] = aliError(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
			}},
	}
	for _, sp := range specs {
		f := newFakeAliDNS()
		if sp.setup != nil {
			sp.setup(f)
		}
		c := sp.urlCase
		c.serve = f.ServeHTTP
		want, actions := sp.want, sp.actions
		c.after = func(t *testing.T, _ []providertest.Seen) {
			if got := f.values("home", "A"); want != nil && !slices.Equal(got, want) {
				t.Errorf("records %v, want %v", got, want)
			}
			if actions != nil && !slices.Equal(f.actions, actions) {
				t.Errorf("actions %v, want %v", f.actions, actions)
			}
		}
		runURLCases(t, provider.NewAliDNS, map[string]string{"api_url": ""}, []urlCase{c})
	}
}

func TestAliDNSCheck(t *testing.T) {
	ok, ram := newFakeAliDNS(), newFakeAliDNS()
	ram.fail["DescribeSubDomainRecords"] = aliError(403, "Forbidden.RAM", "User not authorized to operate on the specified resource.")
	req := provider.CheckRequest[json.RawMessage]{FQDN: "home.example.com", Credential: aliSecret}
	bad := req
	bad.Credential = "WrongAccessKeySecret000000000000"
	s := map[string]any{"access_key_id": aliKeyID}
	providertest.RunChecks(t, provider.NewAliDNS(providertest.Deps()), "api_url", []providertest.CheckCase{
		{Name: "good", Settings: s, Request: req, Serve: ok.ServeHTTP, Mutating: []string{"POST", "PUT", "PATCH", "DELETE"},
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "wrong secret", Settings: s, Request: bad, Serve: ok.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing domain", Settings: map[string]any{"access_key_id": aliKeyID, "zone": "example.net"},
			Request: provider.CheckRequest[json.RawMessage]{FQDN: "home.example.net", Credential: aliSecret}, Serve: ok.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
		{Name: "no permission", Settings: s, Request: req, Serve: ram.ServeHTTP,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
	})
	for _, f := range []*fakeAliDNS{ok, ram} {
		for _, a := range f.actions {
			if !strings.HasPrefix(a, "Describe") && !strings.HasPrefix(a, "Get") {
				t.Errorf("the check called %s", a)
			}
		}
	}
}

func TestAliDNSValidate(t *testing.T) {
	p := provider.NewAliDNS(providertest.Deps())
	providertest.Validate(t, p, `{"access_key_id": "LTAI5tExampleKeyId0000", "zone": "example.com", "ttl": 600}`, provider.Has{Credential: true})
	providertest.Validate(t, p, `{"access_key_id": "no way", "zone": "bad zone"}`, provider.Has{Credential: true},
		"settings.access_key_id: must be an AccessKey ID", "settings.zone: must be a domain name")
	providertest.Validate(t, p, `{}`, provider.Has{}, "settings.access_key_id: is required", "credential: is required")
}
