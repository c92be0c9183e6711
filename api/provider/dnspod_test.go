package provider_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
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
	dpSecretID         = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
	dpSecretKey        = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLEKEY"
	dpReadOnlySecretID = "AKIDreadonlyEXAMPLE0123456789"
)

// fakeDNSPod plays Tencent Cloud's DNSPod API 3.0 (version 2021-03-23) as
// its documentation describes it: POST / with the action in X-TC-Action,
// every request signed with TC3-HMAC-SHA256 — the fake rebuilds the
// canonical request from the headers the request says it signed and the
// raw body, derives the key from its own copy of the SecretKey and
// compares (AuthFailure.SignatureFailure otherwise; an unknown SecretId
// is AuthFailure.SecretIdNotFound, a timestamp more than 5 minutes off
// AuthFailure.SignatureExpire) — and every answer HTTP 200 with
// {"Response": {…}} holding Error{Code, Message} on failure.
type fakeDNSPod struct {
	mu      sync.Mutex
	domains map[string][]*dpRecord
	next    uint64
	// throttle answers RequestLimitExceeded after that many requests (-1: never).
	throttle int
	seen     int
}

type dpRecord struct {
	ID                             uint64
	Sub, Type, Value, Line, Remark string
	TTL                            int
}

func newFakeDNSPod(domains ...string) *fakeDNSPod {
	f := &fakeDNSPod{domains: map[string][]*dpRecord{}, next: 1000, throttle: -1}
	for _, d := range domains {
		// Domains added since 2021-10 list two NS records at the apex.
		f.domains[d] = []*dpRecord{{ID: 1, Sub: "@", Type: "NS", Value: "a.dnspod.com.", Line: "默认", TTL: 86400},
			{ID: 2, Sub: "@", Type: "NS", Value: "b.dnspod.com.", Line: "默认", TTL: 86400}}
	}
	return f
}

func (f *fakeDNSPod) add(domain, sub, rtype, value, remark string, ttl int) *fakeDNSPod {
	f.next++
	f.domains[domain] = append(f.domains[domain], &dpRecord{ID: f.next, Sub: sub, Type: rtype, Value: value, Line: "默认", Remark: remark, TTL: ttl})
	return f
}

// values are the name's records of the type: "value/remark/ttl", sorted.
func (f *fakeDNSPod) values(domain, sub, rtype string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.domains[domain] {
		if r.Sub == sub && r.Type == rtype {
			out = append(out, r.Value+"/"+r.Remark+"/"+strconv.Itoa(r.TTL))
		}
	}
	sort.Strings(out)
	return out
}

func dpAnswer(w http.ResponseWriter, resp map[string]any) {
	resp["RequestId"] = "6ef60bec-0242-43af-bb20-270359fb54a7"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"Response": resp})
}

func dpError(w http.ResponseWriter, code, msg string) {
	dpAnswer(w, map[string]any{"Error": map[string]string{"Code": code, "Message": msg}})
}

func dpHMAC(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// verify checks the request's TC3-HMAC-SHA256 signature; "" when good,
// else the error code Tencent Cloud answers.
func dpVerify(r *http.Request, body []byte) (code, msg, secretID string) {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "TC3-HMAC-SHA256 ")
	if !ok {
		return "AuthFailure.InvalidAuthorization", "Authorization header is malformed", ""
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(part, "=")
		fields[k] = v
	}
	cred := strings.Split(fields["Credential"], "/")
	signed := strings.Split(fields["SignedHeaders"], ";")
	if len(cred) != 4 || cred[2] != "dnspod" || cred[3] != "tc3_request" || !slices.Contains(signed, "content-type") || !slices.Contains(signed, "host") {
		return "AuthFailure.InvalidAuthorization", "Credential or SignedHeaders is malformed", ""
	}
	secretKey := map[string]string{dpSecretID: dpSecretKey, dpReadOnlySecretID: dpSecretKey}[cred[0]]
	if secretKey == "" {
		return "AuthFailure.SecretIdNotFound", "The SecretId is not found, please ensure that your SecretId is correct.", ""
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return "AuthFailure.SignatureExpire", "The request has expired, please check the timestamp.", ""
	}
	if date := time.Unix(ts, 0).UTC().Format("2006-01-02"); cred[1] != date {
		return "AuthFailure.SignatureFailure", "The credential scope's date is not the timestamp's.", ""
	}
	var canonicalHeaders strings.Builder
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		canonicalHeaders.WriteString(h + ":" + strings.ToLower(strings.TrimSpace(v)) + "\n")
	}
	bodyHash := sha256.Sum256(body)
	canonical := r.Method + "\n" + r.URL.Path + "\n" + r.URL.RawQuery + "\n" + canonicalHeaders.String() + "\n" +
		fields["SignedHeaders"] + "\n" + hex.EncodeToString(bodyHash[:])
	ch := sha256.Sum256([]byte(canonical))
	scope := cred[1] + "/dnspod/tc3_request"
	toSign := "TC3-HMAC-SHA256\n" + strconv.FormatInt(ts, 10) + "\n" + scope + "\n" + hex.EncodeToString(ch[:])
	key := dpHMAC(dpHMAC(dpHMAC([]byte("TC3"+secretKey), cred[1]), "dnspod"), "tc3_request")
	if !hmac.Equal([]byte(hex.EncodeToString(dpHMAC(key, toSign))), []byte(fields["Signature"])) {
		return "AuthFailure.SignatureFailure", "The provided credentials could not be validated. Please check your signature is correct.", ""
	}
	return "", "", cred[0]
}

func (f *fakeDNSPod) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen++
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("X-TC-Version") != "2021-03-23" {
		dpError(w, "InvalidParameter", "method, path or version not supported")
		return
	}
	code, msg, secretID := dpVerify(r, body)
	if code != "" {
		dpError(w, code, msg)
		return
	}
	if f.throttle >= 0 && f.seen > f.throttle {
		dpError(w, "RequestLimitExceeded", "Your current request frequency has reached the limit.")
		return
	}
	var p struct {
		Domain                                       string
		Subdomain, SubDomain, RecordType, RecordLine string
		Value, Remark                                string
		RecordID                                     uint64 `json:"RecordId"`
		TTL                                          *int
	}
	if err := json.Unmarshal(body, &p); err != nil {
		dpError(w, "InvalidParameter", "The request body is not JSON.")
		return
	}
	action := r.Header.Get("X-TC-Action")
	if action == "DescribeDomainList" {
		var list []map[string]any
		for d := range f.domains {
			list = append(list, map[string]any{"Name": d, "DomainId": 1})
		}
		dpAnswer(w, map[string]any{"DomainList": list, "DomainCountInfo": map[string]int{"AllTotal": len(list)}})
		return
	}
	recs, ok := f.domains[p.Domain]
	if !ok {
		dpError(w, "InvalidParameterValue.DomainNotExists", "The current domain is incorrect. Please refresh and try again.")
		return
	}
	write := action == "CreateRecord" || action == "ModifyRecord" || action == "DeleteRecord"
	if write && secretID == dpReadOnlySecretID {
		dpError(w, "AuthFailure.UnauthorizedOperation", "The request is not authorized: the CAM policy does not allow "+action+".")
		return
	}
	if write && action != "DeleteRecord" {
		a, err := netip.ParseAddr(p.Value)
		switch {
		case p.RecordLine == "":
			dpError(w, "MissingParameter", "The request is missing a required parameter `RecordLine`.")
			return
		case err != nil || (p.RecordType == "A") != a.Is4():
			dpError(w, "InvalidParameter.RecordValueInvalid", "The record value is invalid.")
			return
		case p.TTL != nil && *p.TTL < 600:
			dpError(w, "LimitExceeded.RecordTtlLimit", "The TTL value exceeds the limit of your domain's plan.")
			return
		}
	}
	find := func() (int, *dpRecord) {
		for i, rec := range recs {
			if rec.ID == p.RecordID {
				return i, rec
			}
		}
		return -1, nil
	}
	switch action {
	case "DescribeDomain":
		dpAnswer(w, map[string]any{"DomainInfo": map[string]any{"Domain": p.Domain, "DomainId": 1, "Status": "ENABLE"}})
	case "DescribeRecordList":
		var list []map[string]any
		for _, rec := range recs {
			if (p.Subdomain == "" || rec.Sub == p.Subdomain) && (p.RecordType == "" || rec.Type == p.RecordType) {
				list = append(list, map[string]any{"RecordId": rec.ID, "Name": rec.Sub, "Type": rec.Type, "Value": rec.Value,
					"Line": rec.Line, "LineId": "0", "TTL": rec.TTL, "Remark": rec.Remark, "Status": "ENABLE"})
			}
		}
		if len(list) == 0 {
			dpError(w, "ResourceNotFound.NoDataOfRecord", "The record list is empty.")
			return
		}
		dpAnswer(w, map[string]any{"RecordList": list, "RecordCountInfo": map[string]int{"ListCount": len(list), "TotalCount": len(list)}})
	case "CreateRecord":
		for _, rec := range recs {
			if rec.Sub == cmpOr(p.SubDomain, "@") && rec.Type == p.RecordType && rec.Value == p.Value {
				dpError(w, "InvalidParameter.DomainRecordExist", "The record already exists.")
				return
			}
		}
		f.next++
		rec := &dpRecord{ID: f.next, Sub: cmpOr(p.SubDomain, "@"), Type: p.RecordType, Value: p.Value, Line: p.RecordLine, Remark: p.Remark, TTL: 600}
		if p.TTL != nil {
			rec.TTL = *p.TTL
		}
		f.domains[p.Domain] = append(recs, rec)
		dpAnswer(w, map[string]any{"RecordId": rec.ID})
	case "ModifyRecord":
		_, rec := find()
		if rec == nil {
			dpError(w, "InvalidParameter.RecordIdInvalid", "The record ID is invalid.")
			return
		}
		rec.Sub, rec.Type, rec.Value, rec.Line = cmpOr(p.SubDomain, "@"), p.RecordType, p.Value, p.RecordLine
		if p.TTL != nil {
			rec.TTL = *p.TTL
		}
		dpAnswer(w, map[string]any{"RecordId": rec.ID})
	case "DeleteRecord":
		i, rec := find()
		if rec == nil {
			dpError(w, "InvalidParameter.RecordIdInvalid", "The record ID is invalid.")
			return
		}
		f.domains[p.Domain] = slices.Delete(recs, i, i+1)
		dpAnswer(w, map[string]any{})
	default:
		dpError(w, "InvalidAction", "The action "+action+" does not exist.")
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func testDNSPod() provider.Provider { return provider.NewDNSPod(providertest.Deps()) }

func dpRequest(name, addr, delivered string, keep bool) provider.Request[json.RawMessage] {
	r := providertest.Request(name, addr, "", "", dpSecretKey)
	if delivered != "" {
		r.Delivered = []netip.Addr{netip.MustParseAddr(delivered)}
	}
	r.KeepOthers = keep
	return r
}

// dpActions checks the actions the case sent, in order.
func dpActions(want ...string) func(t *testing.T, seen []providertest.Seen) {
	return func(t *testing.T, seen []providertest.Seen) {
		t.Helper()
		var got []string
		for _, s := range seen {
			got = append(got, s.Header.Get("X-TC-Action"))
		}
		if !slices.Equal(got, want) {
			t.Errorf("actions %v, want %v", got, want)
		}
	}
}

// dpStateful runs the case against f and checks the name's records
// afterwards ("value/remark/ttl", sorted).
func dpStateful(f *fakeDNSPod, sub, rtype string, actions []string, want ...string) (http.HandlerFunc, func(t *testing.T, seen []providertest.Seen)) {
	return f.serve, func(t *testing.T, seen []providertest.Seen) {
		t.Helper()
		dpActions(actions...)(t, seen)
		if got := f.values("example.com", sub, rtype); !slices.Equal(got, want) {
			t.Errorf("records %v, want %v", got, want)
		}
	}
}

func TestDNSPodAnswerTable(t *testing.T) {
	settings := map[string]any{"secret_id": dpSecretID}
	withDomain := map[string]any{"secret_id": dpSecretID, "domain": "example.com"}
	req := dpRequest("home.example.com", "198.51.100.7", "", false)
	const marker = "managed by ddnsbroker"
	type row struct {
		providertest.Case
		fake    *fakeDNSPod
		sub     string
		rtype   string
		actions []string
		records []string
	}
	rows := []row{
		{Case: providertest.Case{Name: "created with the remark, domain found by name", Settings: settings, Request: req,
			Want: provider.Delivered, WantMessage: "A home.example.com → 198.51.100.7 in domain example.com: 1 created"},
			fake: newFakeDNSPod("example.com"), sub: "home", rtype: "A",
			actions: []string{"DescribeDomain", "DescribeDomain", "DescribeRecordList", "CreateRecord"},
			records: []string{"198.51.100.7/" + marker + "/600"}},
		{Case: providertest.Case{Name: "apex AAAA with a TTL", Settings: map[string]any{"secret_id": dpSecretID, "domain": "example.com", "ttl": 900},
			Request: dpRequest("example.com", "2001:db8::7", "", false), Want: provider.Delivered, WantMessage: "1 created"},
			fake: newFakeDNSPod("example.com"), sub: "@", rtype: "AAAA",
			actions: []string{"DescribeRecordList", "CreateRecord"}, records: []string{"2001:db8::7/" + marker + "/900"}},
		{Case: providertest.Case{Name: "a hand-made record is modified, not replaced", Settings: withDomain, Request: req,
			Want: provider.Delivered, WantMessage: "1 modified"},
			fake: newFakeDNSPod("example.com").add("example.com", "home", "A", "192.0.2.1", "", 600), sub: "home", rtype: "A",
			actions: []string{"DescribeRecordList", "ModifyRecord"}, records: []string{"198.51.100.7//600"}},
		{Case: providertest.Case{Name: "unchanged: no write", Settings: withDomain, Request: req, Want: provider.Delivered, WantMessage: "unchanged"},
			fake: newFakeDNSPod("example.com").add("example.com", "home", "A", "198.51.100.7", marker, 600), sub: "home", rtype: "A",
			actions: []string{"DescribeRecordList"}, records: []string{"198.51.100.7/" + marker + "/600"}},
		{Case: providertest.Case{Name: "the TTL setting differs", Settings: map[string]any{"secret_id": dpSecretID, "domain": "example.com", "ttl": 3600},
			Request: req, Want: provider.Delivered, WantMessage: "1 modified"},
			fake: newFakeDNSPod("example.com").add("example.com", "home", "A", "198.51.100.7", marker, 600), sub: "home", rtype: "A",
			actions: []string{"DescribeRecordList", "ModifyRecord"}, records: []string{"198.51.100.7/" + marker + "/3600"}},
		{Case: providertest.Case{Name: "keep_other_addresses replaces only ours", Settings: withDomain,
			Request: dpRequest("home.example.com", "198.51.100.7", "192.0.2.1", true), Want: provider.Delivered, WantMessage: "kept 1 other address"},
			fake: newFakeDNSPod("example.com").add("example.com", "home", "A", "192.0.2.1", marker, 600).add("example.com", "home", "A", "203.0.113.9", "", 600),
			sub:  "home", rtype: "A", actions: []string{"DescribeRecordList", "ModifyRecord"},
			records: []string{"198.51.100.7/" + marker + "/600", "203.0.113.9//600"}},
		{Case: providertest.Case{Name: "without keep_other_addresses our extra records go", Settings: withDomain, Request: req,
			Want: provider.Delivered, WantMessage: "1 modified, 1 deleted"},
			fake: newFakeDNSPod("example.com").add("example.com", "home", "A", "192.0.2.1", marker, 600).add("example.com", "home", "A", "192.0.2.2", marker, 600),
			sub:  "home", rtype: "A", actions: []string{"DescribeRecordList", "ModifyRecord", "DeleteRecord"},
			records: []string{"198.51.100.7/" + marker + "/600"}},
		{Case: providertest.Case{Name: "records without the remark are never deleted", Settings: withDomain, Request: req,
			Want: provider.Delivered, WantMessage: "left 203.0.113.9: records the broker did not create are never deleted"},
			fake: newFakeDNSPod("example.com").add("example.com", "home", "A", "198.51.100.7", marker, 600).add("example.com", "home", "A", "203.0.113.9", "", 600),
			sub:  "home", rtype: "A", actions: []string{"DescribeRecordList"},
			records: []string{"198.51.100.7/" + marker + "/600", "203.0.113.9//600"}},
		{Case: providertest.Case{Name: "TTL below the plan's minimum", Settings: map[string]any{"secret_id": dpSecretID, "domain": "example.com", "ttl": 60},
			Request: req, Want: provider.Failed, WantMessage: "LimitExceeded.RecordTtlLimit: The TTL value exceeds the limit", WantAdvice: "600 on the free plan"},
			fake: newFakeDNSPod("example.com"), sub: "home", rtype: "A", actions: []string{"DescribeRecordList", "CreateRecord"}},
		{Case: providertest.Case{Name: "wrong SecretKey: the signature fails", Settings: withDomain,
			Request: providertest.Request("home.example.com", "198.51.100.7", "", "", "WrongSecretKey0123456789"),
			Want:    provider.Failed, WantMessage: "AuthFailure.SignatureFailure: The provided credentials could not be validated",
			WantAdvice: "refused the API key"},
			fake: newFakeDNSPod("example.com"), sub: "home", rtype: "A", actions: []string{"DescribeRecordList"}},
		{Case: providertest.Case{Name: "unknown SecretId", Settings: map[string]any{"secret_id": "AKIDunknown0123456789", "domain": "example.com"}, Request: req,
			Want: provider.Failed, WantMessage: "AuthFailure.SecretIdNotFound", WantAdvice: "secret_id"},
			fake: newFakeDNSPod("example.com"), sub: "home", rtype: "A", actions: []string{"DescribeRecordList"}},
		{Case: providertest.Case{Name: "no permission to write", Settings: map[string]any{"secret_id": dpReadOnlySecretID, "domain": "example.com"}, Request: req,
			Want: provider.Failed, WantMessage: "AuthFailure.UnauthorizedOperation", WantAdvice: "CAM user a DNSPod policy"},
			fake: newFakeDNSPod("example.com"), sub: "home", rtype: "A", actions: []string{"DescribeRecordList", "CreateRecord"}},
		{Case: providertest.Case{Name: "no domain holds the name", Settings: settings, Request: dpRequest("home.example.org", "198.51.100.7", "", false),
			Want: provider.Failed, WantMessage: "no domain of the account holds home.example.org (asked for home.example.org, example.org)",
			WantAdvice: "add the domain"},
			fake: newFakeDNSPod("example.com"), actions: []string{"DescribeDomain", "DescribeDomain"}},
		{Case: providertest.Case{Name: "domain setting unknown", Settings: map[string]any{"secret_id": dpSecretID, "domain": "example.org"},
			Request: dpRequest("home.example.org", "198.51.100.7", "", false),
			Want:    provider.Failed, WantMessage: "InvalidParameterValue.DomainNotExists", WantAdvice: "not in this DNSPod account"},
			fake: newFakeDNSPod("example.com"), actions: []string{"DescribeRecordList"}},
		{Case: providertest.Case{Name: "rate limited: retried", Settings: withDomain, Request: req,
			Want: provider.Retry, WantMessage: "RequestLimitExceeded", WantAdvice: "limits how often"},
			fake: func() *fakeDNSPod { f := newFakeDNSPod("example.com"); f.throttle = 1; return f }(), sub: "home", rtype: "A",
			actions: []string{"DescribeRecordList", "CreateRecord"}},
	}
	var cases []providertest.Case
	for _, r := range rows {
		c := r.Case
		c.Requests = len(r.actions)
		if r.records != nil || r.sub != "" {
			c.Serve, c.Check = dpStateful(r.fake, r.sub, r.rtype, r.actions, r.records...)
		} else {
			c.Serve, c.Check = r.fake.serve, dpActions(r.actions...)
		}
		cases = append(cases, c)
	}
	cases = append(cases,
		providertest.Case{Name: "internal error retried", Settings: withDomain, Request: req,
			Serve: func(w http.ResponseWriter, _ *http.Request) {
				dpError(w, "InternalError", "An internal error has occurred.")
			},
			Want: provider.Retry, WantMessage: "InternalError: An internal error has occurred."},
		providertest.Case{Name: "gateway error retried", Settings: withDomain, Request: req,
			Serve: providertest.Answer(502, nil, "<html>502 Bad Gateway</html>"), Want: provider.Retry, WantMessage: "HTTP 502"},
		providertest.Case{Name: "an answer that is not API JSON", Settings: withDomain, Request: req,
			Serve: providertest.Answer(200, nil, "<html>portal</html>"), Want: provider.Failed, WantMessage: "not Tencent Cloud API JSON"},
	)
	providertest.Run(t, testDNSPod(), "api_url", cases)
}

// TestDNSPodSignature: the request carries the documented headers and a
// signature the fake recomputes; a changed body no longer verifies.
func TestDNSPodSignature(t *testing.T) {
	var got *http.Request
	var body []byte
	fake := providertest.NewFake(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		got = r.Clone(context.Background())
		dpError(w, "InvalidParameterValue.DomainNotExists", "The current domain is incorrect.")
	})
	r := dpRequest("home.example.com", "198.51.100.7", "", false)
	r.Settings = providertest.Settings(t, map[string]any{"api_url": fake.URL, "secret_id": dpSecretID, "domain": "example.com"})
	testDNSPod().Send(context.Background(), r)
	if got == nil {
		t.Fatal("no request")
	}
	if code, msg, _ := dpVerify(got, body); code != "" {
		t.Fatalf("signature: %s %s (Authorization %s)", code, msg, got.Header.Get("Authorization"))
	}
	for h, want := range map[string]string{"X-TC-Action": "DescribeRecordList", "X-TC-Version": "2021-03-23", "Content-Type": "application/json"} {
		if got.Header.Get(h) != want {
			t.Errorf("%s: %q, want %q", h, got.Header.Get(h), want)
		}
	}
	if !strings.HasPrefix(got.Header.Get("Authorization"), "TC3-HMAC-SHA256 Credential="+dpSecretID+"/"+time.Now().UTC().Format("2006-01-02")[:4]) {
		t.Errorf("Authorization %s", got.Header.Get("Authorization"))
	}
	if want := `{"Domain":"example.com","Limit":3000,"RecordType":"A","Subdomain":"home"}`; string(body) != want {
		t.Errorf("body %s, want %s", body, want)
	}
	if code, _, _ := dpVerify(got, append(body, ' ')); code != "AuthFailure.SignatureFailure" {
		t.Errorf("a changed body verified: %q", code)
	}
}

func TestDNSPodCheck(t *testing.T) {
	check := func(fqdn, key string) provider.CheckRequest[json.RawMessage] {
		return provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: key}
	}
	s := map[string]any{"secret_id": dpSecretID}
	providertest.RunChecks(t, testDNSPod(), "api_url", []providertest.CheckCase{
		{Name: "all good", Settings: s, Request: check("home.example.com", dpSecretKey), Serve: newFakeDNSPod("example.com").serve,
			Mutating: []string{}, // every call is a POST: the actions are checked below
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "domain set", Settings: map[string]any{"secret_id": dpSecretID, "domain": "example.com"}, Request: check("", dpSecretKey),
			Serve: newFakeDNSPod("example.com").serve, Mutating: []string{},
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "bad key", Settings: s, Request: check("home.example.com", "WrongSecretKey0123456789"), Serve: newFakeDNSPod("example.com").serve,
			Mutating: []string{}, Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing zone", Settings: s, Request: check("home.example.org", dpSecretKey), Serve: newFakeDNSPod("example.com").serve,
			Mutating: []string{}, Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepFailed}}},
		{Name: "no name: the key is checked", Settings: s, Request: check("", dpSecretKey), Serve: newFakeDNSPod("example.com").serve,
			Mutating: []string{}, Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepUnchecked}}},
	})
	// The check only reads: no action that changes records.
	fake := providertest.NewFake(t, newFakeDNSPod("example.com").serve)
	req := check("home.example.com", dpSecretKey)
	req.Settings = providertest.Settings(t, map[string]any{"api_url": fake.URL, "secret_id": dpSecretID})
	testDNSPod().Check(context.Background(), req)
	for _, s := range fake.Requests() {
		if a := s.Header.Get("X-TC-Action"); !strings.HasPrefix(a, "Describe") {
			t.Errorf("the check sent %s", a)
		}
	}
}

func TestDNSPodValidate(t *testing.T) {
	p := testDNSPod()
	providertest.Describe(t, p)
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{"secret_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"}`, has)
	providertest.Validate(t, p, `{"secret_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "domain": "example.com", "ttl": 600, "api_url": "https://dnspod.intl.tencentcloudapi.com"}`, has)
	providertest.Validate(t, p, `{}`, has, "settings.secret_id: is required")
	providertest.Validate(t, p, `{"secret_id": "AKID with spaces"}`, has, "settings.secret_id: must be a Tencent Cloud SecretId")
	providertest.Validate(t, p, `{"secret_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "domain": "not a domain"}`, has, "settings.domain: must be a domain name")
	providertest.Validate(t, p, `{"secret_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "ttl": 0}`, has, "settings.ttl: must be 1..604800")
	providertest.Validate(t, p, `{"secret_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"}`, provider.Has{}, "credential: is required: the API SecretKey")
	if d := p.Destinations(json.RawMessage(`{"secret_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"}`)); !slices.Equal(d, []string{"https://dnspod.tencentcloudapi.com:443"}) {
		t.Errorf("destinations %v", d)
	}
}
