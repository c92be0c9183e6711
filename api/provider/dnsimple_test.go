package provider_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const dnsimpleToken = "dnsimpletest_a_0123456789abcdefghijklmnopqrstuv"

// dnsimpleFake plays DNSimple's API v2 as its reference documents it:
// Bearer token, whoami naming the token's account (or, for a user token,
// none: then /accounts), zones by name under /<account>, records
// filtered by exact name and type and paged, 201 on create, 200 on
// PATCH, 204 on delete, {"message"} errors and X-RateLimit-* headers on
// every answer.
type dnsimpleFake struct {
	zones *fakeZones
	// userToken answers whoami without an account, as for a user token.
	userToken bool
	readOnly  bool
}

const dnsimpleAccount = "1385"

func (f *dnsimpleFake) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-RateLimit-Limit", "2400")
	w.Header().Set("X-RateLimit-Remaining", "2399")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	fail := func(status int, msg string) {
		providertest.JSON(status, `{"message":"`+msg+`"}`)(w, r)
	}
	answer := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	if !fakeBearer(r, dnsimpleToken) {
		fail(401, "Authentication failed")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
	switch {
	case parts[0] == "whoami" && f.userToken:
		answer(200, map[string]any{"data": map[string]any{"user": map[string]any{"id": 7, "email": "u@example.com"}, "account": nil}})
		return
	case parts[0] == "whoami":
		answer(200, map[string]any{"data": map[string]any{"user": nil, "account": map[string]any{"id": 1385, "email": "a@example.com"}}})
		return
	case parts[0] == "accounts":
		answer(200, map[string]any{"data": []any{map[string]any{"id": 1385}}})
		return
	case parts[0] != dnsimpleAccount || len(parts) < 3 || parts[1] != "zones":
		fail(404, "Not Found")
		return
	}
	zone := parts[2]
	recs, ok := f.zones.list(zone)
	if !ok {
		fail(404, "Zone `"+zone+"` not found")
		return
	}
	if f.readOnly && r.Method != http.MethodGet {
		fail(403, "Permission Denied. Required Scope: zones:"+zone+":records:write")
		return
	}
	out := func(rec fakeRecord) map[string]any {
		id, _ := strconv.Atoi(rec.ID)
		return map[string]any{"id": id, "zone_id": zone, "parent_id": nil, "name": rec.Name, "content": rec.Data, "ttl": rec.TTL,
			"priority": nil, "type": rec.Type, "regions": []string{"global"}, "system_record": false}
	}
	var in struct {
		Name    *string `json:"name"`
		Type    string  `json:"type"`
		Content string  `json:"content"`
		TTL     int     `json:"ttl"`
	}
	switch {
	case len(parts) == 3 && r.Method == http.MethodGet:
		answer(200, map[string]any{"data": map[string]any{"id": 1, "account_id": 1385, "name": zone, "reverse": false}})
	case len(parts) == 4 && r.Method == http.MethodGet:
		q := r.URL.Query()
		list := []any{
			// The zone's system records, which a delivery never touches.
			map[string]any{"id": 1, "name": "", "type": "NS", "content": "ns1.dnsimple.com", "ttl": 3600, "system_record": true},
		}
		for _, rec := range recs {
			if (q.Get("name") == "" || q.Get("name") == rec.Name) && (q.Get("type") == "" || q.Get("type") == rec.Type) {
				list = append(list, out(rec))
			}
		}
		answer(200, map[string]any{"data": list, "pagination": map[string]int{"current_page": 1, "per_page": 100, "total_entries": len(list), "total_pages": 1}})
	case len(parts) == 4 && r.Method == http.MethodPost:
		if !jsonBody(r, &in) || in.Name == nil || strings.HasSuffix(*in.Name, zone) || !validData(in.Type, in.Content) {
			providertest.JSON(400, `{"message":"Validation failed","errors":{"content":["is invalid"]}}`)(w, r)
			return
		}
		answer(201, map[string]any{"data": out(f.zones.add(zone, fakeRecord{Name: *in.Name, Type: in.Type, Data: in.Content, TTL: in.TTL}))})
	case len(parts) == 5 && r.Method == http.MethodPatch:
		rec, found := f.zones.change(zone, parts[4], func(*fakeRecord) {})
		if !found {
			fail(404, "Record `"+parts[4]+"` not found")
			return
		}
		if !jsonBody(r, &in) || !validData(rec.Type, in.Content) {
			providertest.JSON(400, `{"message":"Validation failed","errors":{"content":["is invalid"]}}`)(w, r)
			return
		}
		rec, _ = f.zones.change(zone, parts[4], func(rec *fakeRecord) { rec.Data, rec.TTL = in.Content, in.TTL })
		answer(200, map[string]any{"data": out(rec)})
	case len(parts) == 5 && r.Method == http.MethodDelete:
		if !f.zones.remove(zone, parts[4]) {
			fail(404, "Record `"+parts[4]+"` not found")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		fail(405, "Method Not Allowed")
	}
}

func TestDNSimpleRecords(t *testing.T) {
	p := provider.NewDNSimple(providertest.Deps())
	runRRsetCases(t, p, dnsimpleToken, rrsetFake{apex: "", path: "/v2", settings: map[string]any{"zone": "example.com", "account_id": dnsimpleAccount},
		serve: func(z *fakeZones) http.HandlerFunc { return (&dnsimpleFake{zones: z}).serve },
		requests: map[string]int{"created": 2, "updated": 2, "unchanged": 1, "other addresses replaced": 3, "keep other addresses": 2,
			"keep other addresses, first delivery": 2, "AAAA beside an A": 2, "apex": 2}})
	// Without settings: whoami names the account, then the zone is found.
	runRRsetCases(t, p, dnsimpleToken, rrsetFake{apex: "", path: "/v2", settings: map[string]any{},
		serve: func(z *fakeZones) http.HandlerFunc { return (&dnsimpleFake{zones: z}).serve },
		requests: map[string]int{"created": 5, "updated": 5, "unchanged": 4, "other addresses replaced": 6, "keep other addresses": 5,
			"keep other addresses, first delivery": 5, "AAAA beside an A": 5, "apex": 4}})
}

// TestDNSimpleAccount: the token's account is asked once and remembered;
// a user token with one account uses it.
func TestDNSimpleAccount(t *testing.T) {
	p := provider.NewDNSimple(providertest.Deps())
	zones := newFakeZones("example.com")
	fake := providertest.NewFake(t, (&dnsimpleFake{zones: zones, userToken: true}).serve)
	for i, want := range []int{4, 2} { // whoami, accounts, list, create; then list, update
		r := providertest.Request("home.example.com", "198.51.100."+strconv.Itoa(7+i), "", "", dnsimpleToken)
		r.Settings = providertest.Settings(t, map[string]any{"zone": "example.com", "api_url": fake.URL + "/v2"})
		fake.Reset()
		if out := p.Send(t.Context(), r); out.Result != provider.Delivered {
			t.Fatalf("attempt %d: %v %s", i, out.Result, out.Message)
		}
		if n := len(fake.Requests()); n != want {
			t.Errorf("attempt %d made %d requests: %+v", i, n, fake.Requests())
		}
	}
	if got := zones.data("example.com", "home", "A"); len(got) != 1 || got[0] != "198.51.100.8" {
		t.Errorf("home holds %v", got)
	}
}

func TestDNSimpleAnswers(t *testing.T) {
	p := provider.NewDNSimple(providertest.Deps())
	req := providertest.Request("home.example.com", "198.51.100.7", "", "", dnsimpleToken)
	settings := map[string]any{"zone": "example.com", "account_id": dnsimpleAccount}
	providertest.Run(t, p, "api_url", []providertest.Case{
		{Name: "token refused", Settings: settings, Path: "/v2", Request: providertest.Request("home.example.com", "198.51.100.7", "", "", "wrong_token"),
			Serve: (&dnsimpleFake{zones: newFakeZones("example.com")}).serve,
			Want:  provider.Failed, WantMessage: "HTTP 401: Authentication failed", WantAdvice: "DNSimple refused the API token"},
		{Name: "scope missing", Settings: settings, Path: "/v2", Request: req, Requests: 2,
			Serve: (&dnsimpleFake{zones: newFakeZones("example.com"), readOnly: true}).serve,
			Want:  provider.Failed, WantMessage: "HTTP 403: Permission Denied. Required Scope", WantAdvice: "write scope"},
		{Name: "zone not found", Settings: map[string]any{"zone": "example.org", "account_id": dnsimpleAccount}, Path: "/v2",
			Request: providertest.Request("home.example.org", "198.51.100.7", "", "", dnsimpleToken),
			Serve:   (&dnsimpleFake{zones: newFakeZones("example.com")}).serve,
			Want:    provider.Failed, WantMessage: "HTTP 404: Zone `example.org` not found", WantAdvice: "check the service's account id and zone"},
		{Name: "wrong account", Settings: map[string]any{"zone": "example.com", "account_id": "99"}, Path: "/v2", Request: req,
			Serve: (&dnsimpleFake{zones: newFakeZones("example.com")}).serve,
			Want:  provider.Failed, WantMessage: "HTTP 404: Not Found", WantAdvice: "account id"},
		{Name: "account not in good standing", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.JSON(402, `{"message":"Your account has invoices that need to be paid"}`), Want: provider.Failed, WantAdvice: "good standing"},
		{Name: "validation failed", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.JSON(400, `{"message":"Validation failed","errors":{"ttl":["is not a number"],"content":["can't be blank"]}}`),
			Want:  provider.Failed, WantMessage: "HTTP 400: Validation failed; content: can't be blank; ttl: is not a number"},
		{Name: "server timeout", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.JSON(504, `{"message":"Could not query zone, connection timed out"}`), Want: provider.Retry, WantMessage: "HTTP 504"},
		{Name: "token echoed back", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.JSON(400, `{"message":"bad token `+dnsimpleToken+`"}`), Want: provider.Failed, WantMessage: "bad token ***"},
	})
}

// TestDNSimpleRateLimit: a 429 has no Retry-After; the broker waits until
// X-RateLimit-Reset.
func TestDNSimpleRateLimit(t *testing.T) {
	p := provider.NewDNSimple(providertest.Deps())
	fake := providertest.NewFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "2400")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(20*time.Minute).Unix(), 10))
		providertest.JSON(429, `{"message":"quota exceeded"}`)(w, r)
	})
	r := providertest.Request("home.example.com", "198.51.100.7", "", "", dnsimpleToken)
	r.Settings = providertest.Settings(t, map[string]any{"zone": "example.com", "account_id": dnsimpleAccount, "api_url": fake.URL})
	out := p.Send(t.Context(), r)
	if out.Result != provider.Retry || !strings.Contains(out.Message, "HTTP 429: quota exceeded") || out.RetryAfter < 15*time.Minute || out.RetryAfter > 20*time.Minute {
		t.Fatalf("%v %s, RetryAfter %v: want a retry after about 20 minutes", out.Result, out.Message, out.RetryAfter)
	}
}

func TestDNSimpleCheck(t *testing.T) {
	p := provider.NewDNSimple(providertest.Deps())
	check := func(fqdn, token string) provider.CheckRequest[json.RawMessage] {
		return provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: token}
	}
	serve := func() http.HandlerFunc { return (&dnsimpleFake{zones: newFakeZones("example.com")}).serve }
	providertest.RunChecks(t, p, "api_url", []providertest.CheckCase{
		{Name: "good token and zone", Path: "/v2", Request: check("home.example.com", dnsimpleToken), Serve: serve(),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "bad token", Path: "/v2", Request: check("home.example.com", "wrong_token"), Serve: serve(),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing zone", Path: "/v2", Request: check("home.example.org", dnsimpleToken), Serve: serve(),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
		{Name: "wrong account", Path: "/v2", Settings: map[string]any{"account_id": "99"}, Request: check("home.example.com", dnsimpleToken), Serve: serve(),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
	})
}

func TestDNSimpleValidate(t *testing.T) {
	p := provider.NewDNSimple(providertest.Deps())
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{"account_id":"1385","zone":"example.com","ttl":60}`, has)
	providertest.Validate(t, p, `{"account_id":"acme","ttl":30}`, has, "settings.account_id: must be the numeric account id", "settings.ttl: must be 60..86400")
	providertest.Validate(t, p, `{"account_id":1385}`, has, "settings.account_id: must be a JSON string")
	providertest.Validate(t, p, `{}`, provider.Has{}, "credential: is required: the API token")
}
