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

const vultrKey = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// vultrFake plays Vultr's API v2 DNS as its reference documents it:
// Bearer API key, domains by name, record listings without filters paged
// by cursor (meta.links.next), 201 on create, 204 on update and delete,
// {"error","status"} errors.
type vultrFake struct {
	zones    *fakeZones
	pageSize int // 0: per_page
	// denied answers every request 401 as for an address outside the
	// key's access control.
	denied bool
}

func (f *vultrFake) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		providertest.JSON(status, `{"error":"`+msg+`","status":`+strconv.Itoa(status)+`}`)(w, r)
	}
	answer := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	if !fakeBearer(r, vultrKey) {
		fail(401, "Invalid API token.")
		return
	}
	if f.denied {
		fail(401, "Unauthorized IP address: 127.0.0.1")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
	if parts[0] != "domains" {
		fail(404, "Not found")
		return
	}
	if len(parts) == 1 {
		answer(200, map[string]any{"domains": []any{map[string]any{"domain": "example.com", "dns_sec": "disabled"}},
			"meta": map[string]any{"total": 1, "links": map[string]string{"next": "", "prev": ""}}})
		return
	}
	zone := parts[1]
	recs, ok := f.zones.list(zone)
	if !ok {
		fail(404, "Invalid domain.")
		return
	}
	out := func(rec fakeRecord) map[string]any {
		return map[string]any{"id": rec.ID, "type": rec.Type, "name": rec.Name, "data": rec.Data, "priority": -1, "ttl": rec.TTL}
	}
	var in struct {
		Type, Name, Data string
		TTL              int
	}
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		answer(200, map[string]any{"domain": map[string]any{"domain": zone, "dns_sec": "disabled"}})
	case len(parts) == 3 && r.Method == http.MethodGet:
		size, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		if f.pageSize > 0 {
			size = f.pageSize
		}
		if size <= 0 || size > 500 {
			size = 100
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		end := min(start+size, len(recs))
		list := []any{}
		for _, rec := range recs[min(start, end):end] {
			list = append(list, out(rec))
		}
		next := ""
		if end < len(recs) {
			next = strconv.Itoa(end)
		}
		answer(200, map[string]any{"records": list, "meta": map[string]any{"total": len(recs), "links": map[string]string{"next": next, "prev": ""}}})
	case len(parts) == 3 && r.Method == http.MethodPost:
		if !jsonBody(r, &in) || strings.HasSuffix(in.Name, zone) || !validData(in.Type, in.Data) {
			fail(400, "Unable to create record: invalid data")
			return
		}
		answer(201, map[string]any{"record": out(f.zones.add(zone, fakeRecord{Name: in.Name, Type: in.Type, Data: in.Data, TTL: in.TTL}))})
	case len(parts) == 4 && r.Method == http.MethodPatch:
		rec, found := f.zones.change(zone, parts[3], func(*fakeRecord) {})
		if !found {
			fail(404, "Invalid record.")
			return
		}
		if !jsonBody(r, &in) || !validData(rec.Type, in.Data) {
			fail(400, "Unable to update record: invalid data")
			return
		}
		f.zones.change(zone, parts[3], func(rec *fakeRecord) { rec.Data, rec.TTL = in.Data, in.TTL })
		w.WriteHeader(http.StatusNoContent)
	case len(parts) == 4 && r.Method == http.MethodDelete:
		if !f.zones.remove(zone, parts[3]) {
			fail(404, "Invalid record.")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		fail(405, "Method not allowed")
	}
}

func TestVultrRecords(t *testing.T) {
	p := provider.NewVultr(providertest.Deps())
	runRRsetCases(t, p, vultrKey, rrsetFake{apex: "", path: "/v2", settings: map[string]any{"zone": "example.com"},
		serve: func(z *fakeZones) http.HandlerFunc { return (&vultrFake{zones: z}).serve },
		requests: map[string]int{"created": 2, "updated": 2, "unchanged": 1, "other addresses replaced": 3, "keep other addresses": 2,
			"keep other addresses, first delivery": 2, "AAAA beside an A": 2, "apex": 2}})
	runRRsetCases(t, p, vultrKey, rrsetFake{apex: "", path: "/v2", settings: map[string]any{},
		serve: func(z *fakeZones) http.HandlerFunc { return (&vultrFake{zones: z}).serve },
		requests: map[string]int{"created": 4, "updated": 4, "unchanged": 3, "other addresses replaced": 5, "keep other addresses": 4,
			"keep other addresses, first delivery": 4, "AAAA beside an A": 4, "apex": 3}})
}

// TestVultrPages: the name's records are found on every page of the
// listing (one record a page here), following the cursor.
func TestVultrPages(t *testing.T) {
	p := provider.NewVultr(providertest.Deps())
	zones := newFakeZones("example.com", fakeRecord{Name: "a", Type: "A", Data: "192.0.2.10", TTL: 300},
		fakeRecord{Name: "b", Type: "A", Data: "192.0.2.11", TTL: 300}, fakeRecord{Name: "home", Type: "A", Data: "192.0.2.1", TTL: 300})
	providertest.Run(t, p, "api_url", []providertest.Case{{Name: "third page", Path: "/v2", Settings: map[string]any{"zone": "example.com"},
		Request: providertest.Request("home.example.com", "198.51.100.7", "", "", vultrKey), Requests: 4,
		Serve: (&vultrFake{zones: zones, pageSize: 1}).serve, Want: provider.Delivered, WantMessage: "updated",
		Check: func(t *testing.T, seen []providertest.Seen) {
			if got := zones.data("example.com", "home", "A"); len(got) != 1 || got[0] != "198.51.100.7" {
				t.Errorf("home holds %v", got)
			}
			if seen[2].Query.Get("cursor") != "2" {
				t.Errorf("third page asked with %v", seen[2].Query)
			}
		}}})
}

func TestVultrAnswers(t *testing.T) {
	p := provider.NewVultr(providertest.Deps())
	req := providertest.Request("home.example.com", "198.51.100.7", "", "", vultrKey)
	settings := map[string]any{"zone": "example.com"}
	providertest.Run(t, p, "api_url", []providertest.Case{
		{Name: "key refused", Settings: settings, Path: "/v2", Request: providertest.Request("home.example.com", "198.51.100.7", "", "", "WRONGKEY"),
			Serve: (&vultrFake{zones: newFakeZones("example.com")}).serve,
			Want:  provider.Failed, WantMessage: "HTTP 401: Invalid API token.", WantAdvice: "Vultr refused the API key"},
		{Name: "address not allowed", Settings: settings, Path: "/v2", Request: req,
			Serve: (&vultrFake{zones: newFakeZones("example.com"), denied: true}).serve,
			Want:  provider.Failed, WantMessage: "Unauthorized IP address", WantAdvice: "access control"},
		{Name: "no DNS permission", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.JSON(403, `{"error":"Unauthorized","status":403}`), Want: provider.Failed, WantAdvice: "DNS permission"},
		{Name: "domain not in the account", Settings: map[string]any{"zone": "example.org"}, Path: "/v2",
			Request: providertest.Request("home.example.org", "198.51.100.7", "", "", vultrKey),
			Serve:   (&vultrFake{zones: newFakeZones("example.com")}).serve,
			Want:    provider.Failed, WantMessage: "HTTP 404: Invalid domain.", WantAdvice: "add it under Network → DNS"},
		{Name: "rate limited", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.Answer(429, http.Header{"Retry-After": {"2"}}, `{"error":"Rate limit reached","status":429}`),
			Want:  provider.Retry, WantMessage: "HTTP 429: Rate limit reached", WantAdvice: provider.AdviceRateLimited, WantRetryAfter: 2 * time.Second},
		{Name: "overloaded", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.JSON(503, `{"error":"Service Unavailable","status":503}`), Want: provider.Retry, WantMessage: "HTTP 503"},
		{Name: "key echoed back", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.JSON(400, `{"error":"bad key `+vultrKey+`","status":400}`), Want: provider.Failed, WantMessage: "bad key ***"},
	})
}

func TestVultrCheck(t *testing.T) {
	p := provider.NewVultr(providertest.Deps())
	check := func(fqdn, key string) provider.CheckRequest[json.RawMessage] {
		return provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: key}
	}
	providertest.RunChecks(t, p, "api_url", []providertest.CheckCase{
		{Name: "good key and domain", Path: "/v2", Request: check("home.example.com", vultrKey), Serve: (&vultrFake{zones: newFakeZones("example.com")}).serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "bad key", Path: "/v2", Request: check("home.example.com", "WRONGKEY"), Serve: (&vultrFake{zones: newFakeZones("example.com")}).serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing domain", Path: "/v2", Request: check("home.example.org", vultrKey), Serve: (&vultrFake{zones: newFakeZones("example.com")}).serve,
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
	})
}

func TestVultrValidate(t *testing.T) {
	p := provider.NewVultr(providertest.Deps())
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{"zone":"example.com","ttl":120}`, has)
	providertest.Validate(t, p, `{"ttl":5}`, has, "settings.ttl: must be 60..86400")
	providertest.Validate(t, p, `{}`, provider.Has{}, "credential: is required: the API key")
}
