package provider_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const doToken = "dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"

// doFake plays DigitalOcean's API v2 as its reference documents it:
// Bearer token, domains by name, records with relative names ("@" for
// the apex) found with the full name as filter, 201 on create, 204 on
// delete, {"id","message"} errors and ratelimit-* headers on every answer.
type doFake struct {
	zones *fakeZones
	// readOnly answers writes 403, as a token with domain:read only.
	readOnly bool
}

func (f *doFake) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("ratelimit-limit", "5000")
	w.Header().Set("ratelimit-remaining", "4999")
	w.Header().Set("ratelimit-reset", strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10))
	fail := func(status int, id, msg string) {
		providertest.JSON(status, `{"id":"`+id+`","message":"`+msg+`","request_id":"a1b2"}`)(w, r)
	}
	answer := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	if !fakeBearer(r, doToken) {
		fail(401, "unauthorized", "Unable to authenticate you.")
		return
	}
	if f.readOnly && r.Method != http.MethodGet {
		fail(403, "forbidden", "You do not have permission to perform this action.")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
	if parts[0] != "domains" {
		fail(404, "not_found", "The resource you requested could not be found.")
		return
	}
	if len(parts) == 1 {
		answer(200, map[string]any{"domains": []any{map[string]any{"name": "example.com", "ttl": 1800}}, "meta": map[string]int{"total": 1}})
		return
	}
	zone := parts[1]
	recs, ok := f.zones.list(zone)
	if !ok {
		fail(404, "not_found", "The resource you requested could not be found.")
		return
	}
	out := func(rec fakeRecord) map[string]any {
		id, _ := strconv.Atoi(rec.ID)
		return map[string]any{"id": id, "type": rec.Type, "name": rec.Name, "data": rec.Data, "ttl": rec.TTL, "priority": nil, "tag": nil}
	}
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		answer(200, map[string]any{"domain": map[string]any{"name": zone, "ttl": 1800, "zone_file": ""}})
	case len(parts) == 3 && r.Method == http.MethodGet:
		// The name filter is the full name.
		list := []any{}
		for _, rec := range recs {
			full := rec.Name + "." + zone
			if rec.Name == "@" {
				full = zone
			}
			if q := r.URL.Query(); (q.Get("type") == "" || q.Get("type") == rec.Type) && (q.Get("name") == "" || q.Get("name") == full) {
				list = append(list, out(rec))
			}
		}
		answer(200, map[string]any{"domain_records": list, "links": map[string]any{}, "meta": map[string]int{"total": len(list)}})
	case len(parts) == 3 && r.Method == http.MethodPost:
		var in struct {
			Type, Name, Data string
			TTL              int
		}
		if !jsonBody(r, &in) || in.Name == "" || strings.HasSuffix(in.Name, zone) || !validData(in.Type, in.Data) || in.TTL < 30 {
			fail(422, "unprocessable_entity", "Data needs to end with a dot (.)")
			return
		}
		answer(201, map[string]any{"domain_record": out(f.zones.add(zone, fakeRecord{Name: in.Name, Type: in.Type, Data: in.Data, TTL: in.TTL}))})
	case len(parts) == 4 && r.Method == http.MethodPatch:
		var in struct {
			Data string
			TTL  int
		}
		rec, found := f.zones.change(zone, parts[3], func(*fakeRecord) {})
		if !found {
			fail(404, "not_found", "The resource you requested could not be found.")
			return
		}
		if !jsonBody(r, &in) || !validData(rec.Type, in.Data) || in.TTL < 30 {
			fail(422, "unprocessable_entity", "invalid data")
			return
		}
		rec, _ = f.zones.change(zone, parts[3], func(rec *fakeRecord) { rec.Data, rec.TTL = in.Data, in.TTL })
		answer(200, map[string]any{"domain_record": out(rec)})
	case len(parts) == 4 && r.Method == http.MethodDelete:
		if !f.zones.remove(zone, parts[3]) {
			fail(404, "not_found", "The resource you requested could not be found.")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		fail(405, "method_not_allowed", "method not allowed")
	}
}

// validData tells whether data is an address of the record type typ.
func validData(typ, data string) bool {
	a, err := netip.ParseAddr(data)
	return err == nil && (typ == "A" && a.Is4() || typ == "AAAA" && a.Is6() && !a.Is4In6())
}

func TestDigitalOceanRecords(t *testing.T) {
	p := provider.NewDigitalOcean(providertest.Deps())
	fk := rrsetFake{apex: "@", path: "/v2", settings: map[string]any{"zone": "example.com"},
		serve: func(z *fakeZones) http.HandlerFunc { return (&doFake{zones: z}).serve },
		// A list, then one write per record that changes.
		requests: map[string]int{"created": 2, "updated": 2, "unchanged": 1, "other addresses replaced": 3, "keep other addresses": 2,
			"keep other addresses, first delivery": 2, "AAAA beside an A": 2, "apex": 2}}
	runRRsetCases(t, p, doToken, fk)

	// Without a zone setting the domain is found from the name, longest
	// candidate first: home.example.com is not a domain (404), example.com is.
	fk.settings = map[string]any{"ttl": 300}
	fk.requests = map[string]int{"created": 4, "updated": 4, "unchanged": 3, "other addresses replaced": 5, "keep other addresses": 4,
		"keep other addresses, first delivery": 4, "AAAA beside an A": 4, "apex": 3}
	runRRsetCases(t, p, doToken, fk)
}

func TestDigitalOceanAnswers(t *testing.T) {
	p := provider.NewDigitalOcean(providertest.Deps())
	req := providertest.Request("home.example.com", "198.51.100.7", "", "", doToken)
	settings := map[string]any{"zone": "example.com"}
	serve := func(f *doFake) http.HandlerFunc { return f.serve }
	providertest.Run(t, p, "api_url", []providertest.Case{
		{Name: "token refused", Settings: settings, Path: "/v2", Request: providertest.Request("home.example.com", "198.51.100.7", "", "", "dop_v1_wrongtoken"),
			Serve: serve(&doFake{zones: newFakeZones("example.com")}),
			Want:  provider.Failed, WantMessage: "HTTP 401: unauthorized: Unable to authenticate you.", WantAdvice: "DigitalOcean refused the API token"},
		{Name: "no permission to write", Settings: settings, Path: "/v2", Request: req, Requests: 2,
			Serve: serve(&doFake{zones: newFakeZones("example.com"), readOnly: true}),
			Want:  provider.Failed, WantMessage: "creating A 198.51.100.7: HTTP 403: forbidden: You do not have permission", WantAdvice: "domain:create"},
		{Name: "domain not in the account", Settings: map[string]any{"zone": "example.org"}, Path: "/v2",
			Request: providertest.Request("home.example.org", "198.51.100.7", "", "", doToken),
			Serve:   serve(&doFake{zones: newFakeZones("example.com")}),
			Want:    provider.Failed, WantMessage: "HTTP 404: not_found", WantAdvice: "add it under Networking → Domains"},
		{Name: "no domain holds the name", Path: "/v2", Request: providertest.Request("home.example.org", "198.51.100.7", "", "", doToken), Requests: 2,
			Serve: serve(&doFake{zones: newFakeZones("example.com")}),
			Want:  provider.Failed, WantMessage: "no zone of the account holds home.example.org (asked for home.example.org, example.org)", WantAdvice: "add the zone"},
		{Name: "burst rate limit", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.Answer(429, http.Header{"Retry-After": {"42"}, "Ratelimit-Remaining": {"0"}, "Content-Type": {"application/json"}},
				`{"id":"too_many_requests","message":"API Rate limit exceeded."}`),
			Want: provider.Retry, WantMessage: "HTTP 429: too_many_requests: API Rate limit exceeded.", WantAdvice: provider.AdviceRateLimited, WantRetryAfter: 42 * time.Second},
		{Name: "server error", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.JSON(500, `{"id":"server_error","message":"Unexpected server-side error"}`),
			Want:  provider.Retry, WantMessage: "HTTP 500: server_error: Unexpected server-side error"},
		{Name: "bad gateway page", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.Answer(502, nil, "<html>Bad Gateway</html>"), Want: provider.Retry, WantMessage: "HTTP 502"},
		{Name: "token echoed back", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.JSON(400, `{"id":"bad_request","message":"bad header Bearer `+doToken+`"}`),
			Want:  provider.Failed, WantMessage: "Bearer ***"},
		{Name: "answer not JSON", Settings: settings, Path: "/v2", Request: req,
			Serve: providertest.Answer(200, nil, "<html>a captive portal</html>"), Want: provider.Failed, WantMessage: "unexpected answer"},
	})
}

// TestDigitalOceanRateLimitReset: a 429 without Retry-After (the hourly
// limit) waits until ratelimit-reset; a record outside the domain is
// refused before any request.
func TestDigitalOceanRateLimitReset(t *testing.T) {
	p := provider.NewDigitalOcean(providertest.Deps())
	fake := providertest.NewFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ratelimit-reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
		providertest.JSON(429, `{"id":"too_many_requests","message":"API Rate limit exceeded."}`)(w, r)
	})
	r := providertest.Request("home.example.com", "198.51.100.7", "", "", doToken)
	r.Settings = providertest.Settings(t, map[string]any{"zone": "example.com", "api_url": fake.URL})
	out := p.Send(t.Context(), r)
	if out.Result != provider.Retry || out.RetryAfter < 50*time.Minute || out.RetryAfter > time.Hour {
		t.Fatalf("%v %s, RetryAfter %v: want a retry after about an hour", out.Result, out.Message, out.RetryAfter)
	}

	// A record outside the configured domain fails before any request.
	fake.Reset()
	r = providertest.Request("home.example.org", "198.51.100.7", "", "", doToken)
	r.Settings = providertest.Settings(t, map[string]any{"zone": "example.com", "api_url": fake.URL})
	if out := p.Send(t.Context(), r); out.Result != provider.Failed || !strings.Contains(out.Message, "record home.example.org is not in zone example.com") ||
		len(fake.Requests()) != 0 {
		t.Errorf("record outside the zone: %v %s after %d requests", out.Result, out.Message, len(fake.Requests()))
	}
}

func TestDigitalOceanCheck(t *testing.T) {
	p := provider.NewDigitalOcean(providertest.Deps())
	serve := func(f *doFake) http.HandlerFunc { return f.serve }
	check := func(fqdn, token string) provider.CheckRequest[json.RawMessage] {
		return provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: token}
	}
	providertest.RunChecks(t, p, "api_url", []providertest.CheckCase{
		{Name: "good token and domain", Path: "/v2", Request: check("home.example.com", doToken), Serve: serve(&doFake{zones: newFakeZones("example.com")}),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "bad token", Path: "/v2", Request: check("home.example.com", "dop_v1_wrongtoken"), Serve: serve(&doFake{zones: newFakeZones("example.com")}),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing domain", Path: "/v2", Request: check("home.example.org", doToken), Serve: serve(&doFake{zones: newFakeZones("example.com")}),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
		{Name: "no name to look for", Path: "/v2", Request: check("", doToken), Serve: serve(&doFake{zones: newFakeZones("example.com")}),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepUnchecked}, {Name: "may edit records", Status: provider.StepUnchecked}}},
	})
}

func TestDigitalOceanValidate(t *testing.T) {
	p := provider.NewDigitalOcean(providertest.Deps())
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{"zone":"example.com","ttl":300}`, has)
	providertest.Validate(t, p, `{}`, has)
	providertest.Validate(t, p, `{"zone":"not a domain","ttl":10}`, has, "settings.zone: must be a domain name", "settings.ttl: must be 30..86400")
	providertest.Validate(t, p, `{"api_url":"ftp://example.net"}`, has, "settings.api_url:")
	providertest.Validate(t, p, `{}`, provider.Has{}, "credential: is required: the API token")
	if errs := p.ValidateCredential("two words"); len(errs) != 1 {
		t.Errorf("a token with a space: %v", errs)
	}
}
