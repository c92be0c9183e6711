package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const (
	nsKey       = "f0e1d2c3b4a5968778695a4b"
	nsReadOnly  = "0a1b2c3d4e5f60718293a4b5"
	nsIPLimited = "99aa88bb77cc66dd55ee44ff"
)

// fakeNameSilo is NameSilo's API as its reference has it: GET
// /api/<operation>?version=1&type=json&key=…, HTTP 200 with
// {"request":{…},"reply":{"code":…,"detail":…}} for every answer, reply
// code 300 for success, 110 for an invalid key or a read-only key's write,
// 113 for a caller outside the key's IP list, 200 for a domain not in the
// account, 280 for a refused DNS change (TTL below 3600, bad value,
// unknown record id); hosts relative in requests and full in answers.
type fakeNameSilo struct {
	*providertest.Fake
	mu      sync.Mutex
	domains map[string][]nsRecord
	nextID  int
	ops     []string
}

type nsRecord struct {
	ID    string `json:"record_id"`
	Type  string `json:"type"`
	Host  string `json:"host"`
	Value string `json:"value"`
	TTL   string `json:"ttl"`
}

func newFakeNameSilo(t *testing.T) *fakeNameSilo {
	f := &fakeNameSilo{domains: map[string][]nsRecord{"example.com": {
		{ID: "mx0000000000000001", Type: "MX", Host: "example.com", Value: "mail.example.com", TTL: "7207"}}}}
	f.Fake = providertest.NewFake(t, f.serve)
	return f
}

func (f *fakeNameSilo) add(host, typ, value string, ttl int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	f.domains["example.com"] = append(f.domains["example.com"], nsRecord{ID: fmt.Sprintf("a1b2c3d4e5%06d", f.nextID), Type: typ,
		Host: host, Value: value, TTL: strconv.Itoa(ttl)})
}

func (f *fakeNameSilo) values(host, typ string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.domains["example.com"] {
		if r.Host == host && r.Type == typ {
			out = append(out, r.Value+"/"+r.TTL)
		}
	}
	slices.Sort(out)
	return out
}

func (f *fakeNameSilo) takeOps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.ops
	f.ops = nil
	return o
}

func nsReply(w http.ResponseWriter, op string, code int, detail string, extra map[string]any) {
	reply := map[string]any{"code": code, "detail": detail}
	for k, v := range extra {
		reply[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"request": map[string]string{"operation": op, "ip": "127.0.0.1"}, "reply": reply})
}

func (f *fakeNameSilo) serve(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.URL.Path, "/api/")
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, op)
	if r.Method != http.MethodGet || q.Get("version") != "1" || q.Get("type") != "json" {
		nsReply(w, op, 107, "Invalid API type or version", nil)
		return
	}
	write := op != "dnsListRecords" && op != "listDomains"
	switch key := q.Get("key"); {
	case key == nsIPLimited:
		nsReply(w, op, 113, "API account cannot be accessed from your IP", nil)
		return
	case key == nsReadOnly && write:
		nsReply(w, op, 110, "Invalid API Key (Permission denied)", nil)
		return
	case key != nsKey && key != nsReadOnly:
		nsReply(w, op, 110, "Invalid API Key", nil)
		return
	}
	domain := q.Get("domain")
	recs, ok := f.domains[domain]
	if !ok {
		nsReply(w, op, 200, "Domain is not active, or does not belong to this user", nil)
		return
	}
	full := func(host string) string {
		if host == "" {
			return domain
		}
		return host + "." + domain
	}
	checkValue := func() (string, bool) {
		ttl, err := strconv.Atoi(q.Get("rrttl"))
		_, aerr := netip.ParseAddr(q.Get("rrvalue"))
		return strconv.Itoa(ttl), err == nil && ttl >= 3600 && aerr == nil
	}
	switch op {
	case "dnsListRecords":
		list := make([]nsRecord, len(recs))
		copy(list, recs)
		nsReply(w, op, 300, "success", map[string]any{"resource_record": list})
	case "dnsAddRecord":
		ttl, ok := checkValue()
		if !ok {
			nsReply(w, op, 280, "DNS modification error: invalid value or TTL", nil)
			return
		}
		f.nextID++
		id := fmt.Sprintf("a1b2c3d4e5%06d", f.nextID)
		f.domains[domain] = append(recs, nsRecord{ID: id, Type: q.Get("rrtype"), Host: full(q.Get("rrhost")), Value: q.Get("rrvalue"), TTL: ttl})
		nsReply(w, op, 300, "success", map[string]any{"record_id": id})
	case "dnsUpdateRecord", "dnsDeleteRecord":
		i := slices.IndexFunc(recs, func(r nsRecord) bool { return r.ID == q.Get("rrid") })
		if i < 0 {
			nsReply(w, op, 280, "DNS modification error: record not found", nil)
			return
		}
		if op == "dnsDeleteRecord" {
			f.domains[domain] = slices.Delete(recs, i, i+1)
			nsReply(w, op, 300, "success", nil)
			return
		}
		ttl, ok := checkValue()
		if !ok {
			nsReply(w, op, 280, "DNS modification error: invalid value or TTL", nil)
			return
		}
		recs[i].Host, recs[i].Value, recs[i].TTL = full(q.Get("rrhost")), q.Get("rrvalue"), ttl
		nsReply(w, op, 300, "success", map[string]any{"record_id": recs[i].ID})
	default:
		nsReply(w, op, 102, "Invalid operation", nil)
	}
}

// TestNameSiloAnswerTable: one attempt per row against the fake API.
func TestNameSiloAnswerTable(t *testing.T) {
	req := func(fqdn, addr, key string) provider.Request[json.RawMessage] {
		return providertest.Request(fqdn, addr, "", "", key)
	}
	tests := []struct {
		name       string
		settings   map[string]any
		setup      func(f *fakeNameSilo)
		req        provider.Request[json.RawMessage]
		want       provider.Result
		wantMsg    string
		wantAdvice string
		retryAfter time.Duration
		wantA      []string // "value/ttl" of home's A records after (nil: not checked)
		ops        []string
	}{
		{name: "create, domain found from the name", req: req("home.example.com", "198.51.100.7", nsKey), want: provider.Delivered,
			wantMsg: "A home.example.com → 198.51.100.7 created (ttl 3600)", wantA: []string{"198.51.100.7/3600"},
			ops: []string{"dnsListRecords", "dnsAddRecord"}},
		{name: "update", settings: map[string]any{"domain": "example.com"},
			setup: func(f *fakeNameSilo) { f.add("home.example.com", "A", "192.0.2.1", 3600) },
			req:   req("home.example.com", "198.51.100.7", nsKey), want: provider.Delivered, wantMsg: "updated",
			wantA: []string{"198.51.100.7/3600"}, ops: []string{"dnsListRecords", "dnsUpdateRecord"}},
		{name: "unchanged", settings: map[string]any{"domain": "example.com"},
			setup: func(f *fakeNameSilo) { f.add("home.example.com", "A", "198.51.100.7", 3600) },
			req:   req("home.example.com", "198.51.100.7", nsKey), want: provider.Delivered, wantMsg: "unchanged",
			ops: []string{"dnsListRecords"}},
		{name: "AAAA at the apex", settings: map[string]any{"domain": "example.com", "ttl": 7200},
			req: req("example.com", "2001:db8::1", nsKey), want: provider.Delivered, wantMsg: "AAAA example.com → 2001:db8::1 created (ttl 7200)"},
		{name: "without keep_other_addresses the name holds exactly ours", settings: map[string]any{"domain": "example.com"},
			setup: func(f *fakeNameSilo) {
				f.add("home.example.com", "A", "192.0.2.1", 3600)
				f.add("home.example.com", "A", "203.0.113.5", 3600)
			},
			req: req("home.example.com", "198.51.100.7", nsKey), want: provider.Delivered, wantMsg: "removed 1 other record(s)",
			wantA: []string{"198.51.100.7/3600"}},
		{name: "keep_other_addresses: only ours changes", settings: map[string]any{"domain": "example.com"},
			setup: func(f *fakeNameSilo) {
				f.add("home.example.com", "A", "192.0.2.1", 3600)
				f.add("home.example.com", "A", "203.0.113.5", 3600)
			},
			req: func() provider.Request[json.RawMessage] {
				r := req("home.example.com", "198.51.100.7", nsKey)
				r.KeepOthers, r.Delivered = true, []netip.Addr{netip.MustParseAddr("192.0.2.1")}
				return r
			}(),
			want: provider.Delivered, wantMsg: "kept 1 other", wantA: []string{"198.51.100.7/3600", "203.0.113.5/3600"},
			ops: []string{"dnsListRecords", "dnsUpdateRecord"}},
		{name: "invalid key", req: req("home.example.com", "198.51.100.7", "0000000000000000000bad"), want: provider.Failed,
			wantMsg: "110 Invalid API Key", wantAdvice: "NameSilo refused the API key", ops: []string{"dnsListRecords"}},
		{name: "read-only key: the write is refused", settings: map[string]any{"domain": "example.com"},
			req: req("home.example.com", "198.51.100.7", nsReadOnly), want: provider.Failed,
			wantMsg: "adding A home.example.com → 198.51.100.7: HTTP 200: 110 Invalid API Key (Permission denied)", wantAdvice: "read-only"},
		{name: "key limited to other IP addresses", req: req("home.example.com", "198.51.100.7", nsIPLimited), want: provider.Failed,
			wantMsg: "113", wantAdvice: "IP addresses"},
		{name: "domain not in the account", settings: map[string]any{"domain": "example.org"},
			req: req("home.example.org", "198.51.100.7", nsKey), want: provider.Failed, wantMsg: "200 Domain is not active",
			wantAdvice: "not active in this NameSilo account"},
		{name: "no domain holds the name", req: req("a.example.org", "198.51.100.7", nsKey), want: provider.Failed,
			wantMsg: "no domain of the account holds a.example.org (asked for example.org, a.example.org)",
			ops:     []string{"dnsListRecords", "dnsListRecords"}},
		{name: "TTL below NameSilo's minimum is NameSilo's error", settings: map[string]any{"domain": "example.com", "ttl": 600},
			req: req("home.example.com", "198.51.100.7", nsKey), want: provider.Failed, wantMsg: "280 DNS modification error",
			wantAdvice: provider.AdviceRefused},
		{name: "internal error is retried",
			setup: func(f *fakeNameSilo) {
				f.Serve(providertest.JSON(200, `{"request":{"operation":"dnsListRecords"},"reply":{"code":"201","detail":"Internal system error"}}`))
			},
			req: req("home.example.com", "198.51.100.7", nsKey), want: provider.Retry, wantMsg: "201 Internal system error"},
		{name: "rate limited by HTTP 429", settings: map[string]any{"domain": "example.com"},
			setup: func(f *fakeNameSilo) {
				f.Serve(providertest.Answer(429, http.Header{"Retry-After": {"5"}}, "Too Many Requests"))
			},
			req: req("home.example.com", "198.51.100.7", nsKey), want: provider.Retry, wantMsg: "HTTP 429",
			wantAdvice: provider.AdviceRateLimited, retryAfter: 5 * time.Second},
		{name: "server error is retried", settings: map[string]any{"domain": "example.com"},
			setup: func(f *fakeNameSilo) { f.Serve(providertest.Answer(502, nil, "Bad Gateway")) },
			req:   req("home.example.com", "198.51.100.7", nsKey), want: provider.Retry, wantMsg: "HTTP 502"},
		{name: "an echoed key is redacted", settings: map[string]any{"domain": "example.com"},
			setup: func(f *fakeNameSilo) {
				f.Serve(providertest.JSON(200, `{"reply":{"code":110,"detail":"Invalid API Key `+nsKey+` key=`+nsKey+`"}}`))
			},
			req: req("home.example.com", "198.51.100.7", nsKey), want: provider.Failed, wantMsg: "Invalid API Key ***"},
		{name: "not NameSilo's JSON", settings: map[string]any{"domain": "example.com"},
			setup: func(f *fakeNameSilo) {
				f.Serve(providertest.Answer(200, nil, "<namesilo><reply><code>300</code></reply></namesilo>"))
			},
			req: req("home.example.com", "198.51.100.7", nsKey), want: provider.Failed, wantMsg: "not NameSilo API JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeNameSilo(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			s := map[string]any{"api_url": f.URL + "/api"}
			for k, v := range tc.settings {
				s[k] = v
			}
			r := tc.req
			r.Settings = providertest.Settings(t, s)
			out := provider.NewNameSilo(providertest.Deps()).Send(context.Background(), r)
			if out.Result != tc.want || !strings.Contains(out.Message, tc.wantMsg) || !strings.Contains(out.Advice, tc.wantAdvice) {
				t.Fatalf("got %v %q (advice %q), want %v with %q (advice %q)", out.Result, out.Message, out.Advice, tc.want, tc.wantMsg, tc.wantAdvice)
			}
			if out.RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter %v, want %v", out.RetryAfter, tc.retryAfter)
			}
			providertest.CheckOutcome(t, out, nsKey, r.Credential)
			if got := f.values("home.example.com", "A"); tc.wantA != nil && !slices.Equal(got, tc.wantA) {
				t.Errorf("A records %v, want %v", got, tc.wantA)
			}
			if got := f.takeOps(); tc.ops != nil && !slices.Equal(got, tc.ops) {
				t.Errorf("operations %v, want %v", got, tc.ops)
			}
			if mx := f.values("example.com", "MX"); len(mx) != 1 {
				t.Errorf("the domain's other records were touched: %v", mx)
			}
		})
	}
}

// TestNameSiloKeyStaysOutOfMessages: the key travels in the URL; a
// network error (which Go words with the URL) shows neither.
func TestNameSiloKeyStaysOutOfMessages(t *testing.T) {
	f := newFakeNameSilo(t)
	url := f.URL + "/api"
	f.Close()
	r := providertest.Request("home.example.com", "198.51.100.7", "", "", nsKey)
	r.Settings = providertest.Settings(t, map[string]any{"api_url": url, "domain": "example.com"})
	out := provider.NewNameSilo(providertest.Deps()).Send(context.Background(), r)
	if out.Result != provider.Retry {
		t.Fatalf("got %v %s", out.Result, out.Message)
	}
	providertest.CheckOutcome(t, out, nsKey)
	if strings.Contains(out.Message, "key=") && !strings.Contains(out.Message, "key=***") {
		t.Errorf("message shows the key parameter: %q", out.Message)
	}
}

func TestNameSiloCheck(t *testing.T) {
	p := provider.NewNameSilo(providertest.Deps())
	for _, tc := range []struct {
		name, fqdn, key string
		want            []providertest.StepWant
	}{
		{name: "good", fqdn: "home.example.com", key: nsKey, want: []providertest.StepWant{
			{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepPassed},
			{Name: "may edit records", Status: provider.StepUnchecked}}},
		{name: "bad key", fqdn: "home.example.com", key: "0000000000000000000bad", want: []providertest.StepWant{
			{Name: "credentials accepted", Status: provider.StepFailed}}},
		{name: "IP not allowed", fqdn: "home.example.com", key: nsIPLimited, want: []providertest.StepWant{
			{Name: "credentials accepted", Status: provider.StepFailed}}},
		{name: "domain missing", fqdn: "home.example.org", key: nsKey, want: []providertest.StepWant{
			{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeNameSilo(t)
			steps := p.Check(context.Background(), provider.CheckRequest[json.RawMessage]{FQDN: tc.fqdn, Credential: tc.key,
				Settings: providertest.Settings(t, map[string]any{"api_url": f.URL + "/api"})})
			var got, want []string
			for _, s := range steps {
				got = append(got, s.Name+": "+string(s.Status))
				if strings.Contains(s.Detail, tc.key) {
					t.Errorf("step shows the key: %q", s.Detail)
				}
			}
			for _, w := range tc.want {
				want = append(want, w.Name+": "+string(w.Status))
			}
			if !slices.Equal(got, want) {
				t.Errorf("steps %v, want %v (%+v)", got, want, steps)
			}
			for _, op := range f.takeOps() {
				if op != "dnsListRecords" {
					t.Errorf("the check called %s", op)
				}
			}
		})
	}
}

func TestNameSiloSettings(t *testing.T) {
	p := provider.NewNameSilo(providertest.Deps())
	providertest.Describe(t, p)
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{}`, has)
	providertest.Validate(t, p, `{"domain": "example.com", "ttl": 7200}`, has)
	providertest.Validate(t, p, `{"domain": "not a domain", "ttl": 600}`, has,
		"settings.domain: must be a domain name", "settings.ttl: must be 3600..2592000")
}

// TestNameSiloOneRequestPerAttempt: with the domain set, an unchanged
// record is one request, and a misbehaving provider gets exactly one.
func TestNameSiloOneRequestPerAttempt(t *testing.T) {
	providertest.OneRequestPerAttempt(t, provider.NewNameSilo,
		`{"reply":{"code":300,"detail":"success","resource_record":[{"record_id":"abc123","type":"A","host":"home.example.com","value":"198.51.100.7","ttl":"3600"}]}}`,
		func(url string) map[string]any { return map[string]any{"api_url": url, "domain": "example.com"} },
		func(int) provider.Request[json.RawMessage] {
			return providertest.Request("home.example.com", "198.51.100.7", "", "", nsKey)
		})
}
