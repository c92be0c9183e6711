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

const linodeToken = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

// linodeFake plays Linode's API v4 Domains as its reference documents
// it: Bearer token, domains and records by numeric id, listings narrowed
// by an X-Filter JSON header and paged, records named by hostname or
// FQDN and returned relative ("" for the apex), 200 for every success,
// {"errors":[{"field","reason"}]} errors.
type linodeFake struct {
	zones    *fakeZones
	readOnly bool
}

// linodeDomainID is the id of example.com at the fake.
const linodeDomainID = "1234"

func (f *linodeFake) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, reason string) {
		providertest.JSON(status, `{"errors":[{"reason":"`+reason+`"}]}`)(w, r)
	}
	answer := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	if !fakeBearer(r, linodeToken) {
		fail(401, "Invalid Token")
		return
	}
	if f.readOnly && r.Method != http.MethodGet {
		fail(403, "Unauthorized")
		return
	}
	filter := map[string]string{}
	if x := r.Header.Get("X-Filter"); x != "" && json.Unmarshal([]byte(x), &filter) != nil {
		fail(400, "Invalid JSON in X-Filter")
		return
	}
	page := func(data []any) map[string]any {
		return map[string]any{"data": data, "page": 1, "pages": 1, "results": len(data)}
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v4/"), "/")
	if parts[0] != "domains" {
		fail(404, "Not found")
		return
	}
	if len(parts) == 1 {
		list := []any{}
		if d := filter["domain"]; (d == "" || d == "example.com") && f.zones.has("example.com") {
			list = append(list, map[string]any{"id": 1234, "domain": "example.com", "type": "master", "status": "active"})
		}
		answer(page(list))
		return
	}
	const zone = "example.com"
	if parts[1] != linodeDomainID || len(parts) < 3 || parts[2] != "records" {
		fail(404, "Not found")
		return
	}
	recs, _ := f.zones.list(zone)
	out := func(rec fakeRecord) map[string]any {
		id, _ := strconv.Atoi(rec.ID)
		return map[string]any{"id": id, "type": rec.Type, "name": rec.Name, "target": rec.Data, "ttl_sec": rec.TTL, "priority": 0, "tag": nil}
	}
	var in struct {
		Type   string `json:"type"`
		Name   string `json:"name"`
		Target string `json:"target"`
		TTL    int    `json:"ttl_sec"`
	}
	switch {
	case len(parts) == 3 && r.Method == http.MethodGet:
		list := []any{}
		for _, rec := range recs {
			if (filter["type"] == "" || filter["type"] == rec.Type) && (filter["name"] == "" || filter["name"] == rec.Name) {
				list = append(list, out(rec))
			}
		}
		answer(page(list))
	case len(parts) == 3 && r.Method == http.MethodPost:
		if !jsonBody(r, &in) || len(in.Name) < 1 || len(in.Name) > 100 || !validData(in.Type, in.Target) {
			providertest.JSON(400, `{"errors":[{"field":"target","reason":"Invalid IP address"}]}`)(w, r)
			return
		}
		name := strings.TrimSuffix(strings.TrimSuffix(in.Name, zone), ".")
		answer(out(f.zones.add(zone, fakeRecord{Name: name, Type: in.Type, Data: in.Target, TTL: in.TTL})))
	case len(parts) == 4 && r.Method == http.MethodPut:
		rec, found := f.zones.change(zone, parts[3], func(*fakeRecord) {})
		if !found {
			fail(404, "Not found")
			return
		}
		if !jsonBody(r, &in) || !validData(rec.Type, in.Target) {
			providertest.JSON(400, `{"errors":[{"field":"target","reason":"Invalid IP address"}]}`)(w, r)
			return
		}
		rec, _ = f.zones.change(zone, parts[3], func(rec *fakeRecord) { rec.Data, rec.TTL = in.Target, in.TTL })
		answer(out(rec))
	case len(parts) == 4 && r.Method == http.MethodDelete:
		if !f.zones.remove(zone, parts[3]) {
			fail(404, "Not found")
			return
		}
		answer(map[string]any{})
	default:
		fail(405, "Method not allowed")
	}
}

func TestLinodeRecords(t *testing.T) {
	p := provider.NewLinode(providertest.Deps())
	// The domain's id first (X-Filter on domain), a list, then one write
	// per record that changes.
	runRRsetCases(t, p, linodeToken, rrsetFake{apex: "", path: "/v4", settings: map[string]any{"zone": "example.com"},
		serve: func(z *fakeZones) http.HandlerFunc { return (&linodeFake{zones: z}).serve },
		requests: map[string]int{"created": 3, "updated": 3, "unchanged": 2, "other addresses replaced": 4, "keep other addresses": 3,
			"keep other addresses, first delivery": 3, "AAAA beside an A": 3, "apex": 3}})
	// Without a zone: home.example.com is asked for first.
	runRRsetCases(t, p, linodeToken, rrsetFake{apex: "", path: "/v4", settings: map[string]any{"ttl": 300},
		serve: func(z *fakeZones) http.HandlerFunc { return (&linodeFake{zones: z}).serve },
		requests: map[string]int{"created": 4, "updated": 4, "unchanged": 3, "other addresses replaced": 5, "keep other addresses": 4,
			"keep other addresses, first delivery": 4, "AAAA beside an A": 4, "apex": 3}})
}

func TestLinodeAnswers(t *testing.T) {
	p := provider.NewLinode(providertest.Deps())
	req := providertest.Request("home.example.com", "198.51.100.7", "", "", linodeToken)
	settings := map[string]any{"zone": "example.com"}
	serve := func(f *linodeFake) http.HandlerFunc { return f.serve }
	providertest.Run(t, p, "api_url", []providertest.Case{
		{Name: "token refused", Settings: settings, Path: "/v4", Request: providertest.Request("home.example.com", "198.51.100.7", "", "", "wrongtoken"),
			Serve: serve(&linodeFake{zones: newFakeZones("example.com")}),
			Want:  provider.Failed, WantMessage: "finding domain example.com: HTTP 401: Invalid Token", WantAdvice: "Linode refused the API token"},
		{Name: "read-only token", Settings: settings, Path: "/v4", Request: req, Requests: 3,
			Serve: serve(&linodeFake{zones: newFakeZones("example.com"), readOnly: true}),
			Want:  provider.Failed, WantMessage: "creating A 198.51.100.7: HTTP 403: Unauthorized", WantAdvice: "Domains scope set to Read/Write"},
		{Name: "domain not in the account", Settings: map[string]any{"zone": "example.org"}, Path: "/v4",
			Request: providertest.Request("home.example.org", "198.51.100.7", "", "", linodeToken),
			Serve:   serve(&linodeFake{zones: newFakeZones("example.com")}),
			Want:    provider.Failed, WantMessage: "no zone of the account holds home.example.org (asked for example.org)", WantAdvice: "add the zone"},
		{Name: "invalid target", Settings: settings, Path: "/v4", Request: req, Requests: 3,
			Serve: func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					providertest.JSON(400, `{"errors":[{"field":"target","reason":"Invalid IP address"}]}`)(w, r)
					return
				}
				(&linodeFake{zones: newFakeZones("example.com")}).serve(w, r)
			},
			Want: provider.Failed, WantMessage: "HTTP 400: target: Invalid IP address", WantAdvice: provider.AdviceRefused},
		{Name: "rate limited", Settings: settings, Path: "/v4", Request: req,
			Serve: providertest.Answer(429, http.Header{"Retry-After": {"17"}, "Content-Type": {"application/json"}}, `{"errors":[{"reason":"Too Many Requests"}]}`),
			Want:  provider.Retry, WantMessage: "HTTP 429: Too Many Requests", WantAdvice: provider.AdviceRateLimited, WantRetryAfter: 17 * time.Second},
		{Name: "server error", Settings: settings, Path: "/v4", Request: req,
			Serve: providertest.JSON(503, `{"errors":[{"reason":"Service unavailable"}]}`), Want: provider.Retry, WantMessage: "HTTP 503"},
		{Name: "token echoed back", Settings: settings, Path: "/v4", Request: req,
			Serve: providertest.JSON(400, `{"errors":[{"reason":"bad token `+linodeToken+`"}]}`), Want: provider.Failed, WantMessage: "bad token ***"},
	})
}

func TestLinodeCheck(t *testing.T) {
	p := provider.NewLinode(providertest.Deps())
	serve := func(f *linodeFake) http.HandlerFunc { return f.serve }
	check := func(fqdn, token string) provider.CheckRequest[json.RawMessage] {
		return provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: token}
	}
	providertest.RunChecks(t, p, "api_url", []providertest.CheckCase{
		{Name: "good token and domain", Path: "/v4", Request: check("home.example.com", linodeToken), Serve: serve(&linodeFake{zones: newFakeZones("example.com")}),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "bad token", Path: "/v4", Request: check("home.example.com", "wrongtoken"), Serve: serve(&linodeFake{zones: newFakeZones("example.com")}),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing domain", Path: "/v4", Request: check("home.example.org", linodeToken), Serve: serve(&linodeFake{zones: newFakeZones("example.com")}),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
	})
}

func TestLinodeValidate(t *testing.T) {
	p := provider.NewLinode(providertest.Deps())
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{"zone":"example.com","ttl":3600}`, has)
	providertest.Validate(t, p, `{"ttl":60}`, has, "settings.ttl: must be one of Linode's TTLs")
	providertest.Validate(t, p, `{"zone":"a b"}`, has, "settings.zone: must be a domain name")
	providertest.Validate(t, p, `{}`, provider.Has{}, "credential: is required: the API token")
}
