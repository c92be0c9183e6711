package provider_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

const scwSecret = "11111111-2222-4333-8444-555555555555"

// scalewayFake plays Scaleway's Domains and DNS API v2beta1 as its
// reference documents it: the secret key in X-Auth-Token, zones found
// with dns_zones=, records listed by name and type (an empty name filters
// nothing), every write one PATCH of `changes` (add, set by id, delete by
// id) that creates the zone unless disallow_new_zone_creation, 403 for a
// zone that is not there, errors {"type","message"}.
type scalewayFake struct {
	zones    *fakeZones
	readOnly bool
	// created counts zones the fake created because a PATCH allowed it.
	created int
}

func (f *scalewayFake) serve(w http.ResponseWriter, r *http.Request) {
	answer := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch tok := r.Header.Get("X-Auth-Token"); {
	case tok == "":
		answer(401, map[string]string{"message": "authentication is denied", "method": "api_key", "reason": "invalid_argument", "type": "denied_authentication"})
		return
	case tok != scwSecret:
		answer(401, map[string]string{"message": "authentication is denied", "method": "api_key", "reason": "not_found", "type": "denied_authentication"})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/domain/v2beta1/dns-zones")
	if !ok {
		answer(404, map[string]string{"message": "resource is not found", "type": "not_found"})
		return
	}
	if rest == "" && r.Method == http.MethodGet {
		zones := []any{}
		if want := r.URL.Query()["dns_zones"]; len(want) == 0 || slices.Contains(want, "example.com") {
			zones = append(zones, map[string]any{"domain": "example.com", "subdomain": "", "status": "active", "ns_master": []string{}})
		}
		answer(200, map[string]any{"dns_zones": zones, "total_count": len(zones)})
		return
	}
	zone, ok := strings.CutSuffix(strings.TrimPrefix(rest, "/"), "/records")
	if !ok {
		answer(404, map[string]string{"message": "resource is not found", "type": "not_found"})
		return
	}
	type record struct {
		ID      string  `json:"id,omitempty"`
		Name    string  `json:"name"`
		Type    string  `json:"type"`
		Data    string  `json:"data"`
		TTL     int     `json:"ttl"`
		Comment *string `json:"comment"`
	}
	out := func(rec fakeRecord) record {
		o := record{ID: rec.ID, Name: rec.Name, Type: rec.Type, Data: rec.Data, TTL: rec.TTL}
		if rec.Comment != "" {
			o.Comment = &rec.Comment
		}
		return o
	}
	in := func(rec record) fakeRecord {
		f := fakeRecord{Name: rec.Name, Type: rec.Type, Data: rec.Data, TTL: rec.TTL}
		if rec.Comment != nil {
			f.Comment = *rec.Comment
		}
		return f
	}
	switch r.Method {
	case http.MethodGet:
		recs, ok := f.zones.list(zone)
		if !ok {
			answer(403, map[string]string{"message": "domain not found"})
			return
		}
		q := r.URL.Query()
		list := []record{}
		for _, rec := range recs {
			if (q.Get("name") == "" || q.Get("name") == rec.Name) && (q.Get("type") == "" || q.Get("type") == rec.Type) {
				list = append(list, out(rec))
			}
		}
		answer(200, map[string]any{"records": list, "total_count": len(list)})
	case http.MethodPatch:
		if f.readOnly {
			answer(403, map[string]any{"type": "permissions_denied", "message": "insufficient permissions",
				"details": []map[string]string{{"resource": "dns_zone", "action": "write"}}})
			return
		}
		var body struct {
			Changes []struct {
				Add *struct {
					Records []record `json:"records"`
				} `json:"add"`
				Set *struct {
					ID      string   `json:"id"`
					Records []record `json:"records"`
				} `json:"set"`
				Delete *struct {
					ID string `json:"id"`
				} `json:"delete"`
			} `json:"changes"`
			ReturnAll bool `json:"return_all_records"`
			Disallow  bool `json:"disallow_new_zone_creation"`
		}
		raw, _ := io.ReadAll(r.Body)
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if dec.Decode(&body) != nil {
			answer(400, map[string]string{"message": "error on field 'change': unknown field"})
			return
		}
		if !f.zones.has(zone) {
			if body.Disallow {
				answer(403, map[string]string{"message": "domain not found"})
				return
			}
			f.created++
			f.zones.zones[zone] = nil
		}
		var written []record
		for _, c := range body.Changes {
			n := 0
			if c.Add != nil {
				n++
				for _, rec := range c.Add.Records {
					if !validData(rec.Type, rec.Data) {
						answer(400, map[string]any{"type": "invalid_arguments", "message": "invalid argument(s)",
							"details": []map[string]string{{"argument_name": "data", "reason": "constraint", "help_message": "invalid IP"}}})
						return
					}
					written = append(written, out(f.zones.add(zone, in(rec))))
				}
			}
			if c.Set != nil {
				n++
				if len(c.Set.Records) != 1 {
					answer(400, map[string]string{"type": "invalid_arguments", "message": "set by id takes one record here"})
					return
				}
				rec, found := f.zones.change(zone, c.Set.ID, func(rec *fakeRecord) {
					id := rec.ID
					*rec = in(c.Set.Records[0])
					rec.ID = id
				})
				if !found {
					answer(403, map[string]string{"message": "record not found"})
					return
				}
				written = append(written, out(rec))
			}
			if c.Delete != nil {
				n++
				if !f.zones.remove(zone, c.Delete.ID) {
					answer(403, map[string]string{"message": "record not found"})
					return
				}
			}
			if n != 1 {
				answer(400, map[string]string{"type": "invalid_arguments", "message": "a change has exactly one of add, set, delete, clear"})
				return
			}
		}
		answer(200, map[string]any{"records": written})
	default:
		answer(405, map[string]string{"message": "method not allowed"})
	}
}

func TestScalewayRecords(t *testing.T) {
	p := provider.NewScaleway(providertest.Deps())
	// A list, then one PATCH with every change.
	runRRsetCases(t, p, scwSecret, rrsetFake{apex: "", path: "/domain/v2beta1", settings: map[string]any{"zone": "example.com"}, marker: "managed by ddnsbroker",
		serve: func(z *fakeZones) http.HandlerFunc { return (&scalewayFake{zones: z}).serve },
		requests: map[string]int{"created": 2, "updated": 2, "unchanged": 1, "other addresses replaced": 2, "keep other addresses": 2,
			"keep other addresses, first delivery": 2, "AAAA beside an A": 2, "apex": 2}})
	runRRsetCases(t, p, scwSecret, rrsetFake{apex: "", path: "/domain/v2beta1", settings: map[string]any{}, marker: "managed by ddnsbroker",
		serve: func(z *fakeZones) http.HandlerFunc { return (&scalewayFake{zones: z}).serve },
		requests: map[string]int{"created": 4, "updated": 4, "unchanged": 3, "other addresses replaced": 4, "keep other addresses": 4,
			"keep other addresses, first delivery": 4, "AAAA beside an A": 4, "apex": 3}})
}

// TestScalewayMarker: records the broker creates carry the marker; a
// record without it is rewritten (and marked) when the name is the
// broker's, but never deleted.
func TestScalewayMarker(t *testing.T) {
	p := provider.NewScaleway(providertest.Deps())
	req := providertest.Request("home.example.com", "198.51.100.7", "", "", scwSecret)
	settings := map[string]any{"zone": "example.com"}
	created := newFakeZones("example.com")
	foreign := newFakeZones("example.com", fakeRecord{ID: "1", Name: "home", Type: "A", Data: "192.0.2.1", TTL: 300},
		fakeRecord{ID: "2", Name: "home", Type: "A", Data: "192.0.2.2", TTL: 300, Comment: "the other site"})
	same := newFakeZones("example.com", fakeRecord{ID: "1", Name: "home", Type: "A", Data: "198.51.100.7", TTL: 300})
	providertest.Run(t, p, "api_url", []providertest.Case{
		{Name: "created with the marker", Settings: settings, Path: "/domain/v2beta1", Request: req, Requests: 2,
			Serve: (&scalewayFake{zones: created}).serve, Want: provider.Delivered, WantMessage: "created",
			Check: func(t *testing.T, seen []providertest.Seen) {
				recs, _ := created.list("example.com")
				if len(recs) != 1 || recs[0].Comment != "managed by ddnsbroker" {
					t.Errorf("records %+v", recs)
				}
				if !strings.Contains(seen[1].Body, `"disallow_new_zone_creation":true`) || seen[1].Header.Get("X-Auth-Token") != scwSecret {
					t.Errorf("PATCH %+v", seen[1])
				}
			}},
		{Name: "unmarked records are not deleted", Settings: settings, Path: "/domain/v2beta1", Request: req, Requests: 2,
			Serve: (&scalewayFake{zones: foreign}).serve, Want: provider.Delivered,
			WantMessage: "updated (ttl 300); left 1 A record(s) the broker did not create", WantAdvice: "delete them, or turn on keep other addresses",
			Check: func(t *testing.T, _ []providertest.Seen) {
				recs, _ := foreign.list("example.com")
				if len(recs) != 2 || recs[0].Data != "198.51.100.7" || recs[0].Comment != "managed by ddnsbroker" ||
					recs[1] != (fakeRecord{ID: "2", Name: "home", Type: "A", Data: "192.0.2.2", TTL: 300, Comment: "the other site"}) {
					t.Errorf("records %+v", recs)
				}
			}},
		{Name: "the right address without the marker is marked", Settings: settings, Path: "/domain/v2beta1", Request: req, Requests: 2,
			Serve: (&scalewayFake{zones: same}).serve, Want: provider.Delivered, WantMessage: "updated",
			Check: func(t *testing.T, _ []providertest.Seen) {
				if recs, _ := same.list("example.com"); len(recs) != 1 || recs[0].Comment != "managed by ddnsbroker" || recs[0].ID != "1" {
					t.Errorf("records %+v", recs)
				}
			}},
	})
}

func TestScalewayAnswers(t *testing.T) {
	p := provider.NewScaleway(providertest.Deps())
	req := providertest.Request("home.example.com", "198.51.100.7", "", "", scwSecret)
	settings := map[string]any{"zone": "example.com"}
	missing := &scalewayFake{zones: newFakeZones("example.com")}
	providertest.Run(t, p, "api_url", []providertest.Case{
		{Name: "key refused", Settings: settings, Path: "/domain/v2beta1", Request: providertest.Request("home.example.com", "198.51.100.7", "", "", "00000000-0000-4000-8000-000000000000"),
			Serve: (&scalewayFake{zones: newFakeZones("example.com")}).serve,
			Want:  provider.Failed, WantMessage: "HTTP 401: authentication is denied", WantAdvice: "Scaleway refused the secret key"},
		{Name: "no permission to write", Settings: settings, Path: "/domain/v2beta1", Request: req, Requests: 2,
			Serve: (&scalewayFake{zones: newFakeZones("example.com"), readOnly: true}).serve,
			Want:  provider.Failed, WantMessage: "HTTP 403: insufficient permissions", WantAdvice: "DomainsDNSFullAccess"},
		{Name: "zone not found", Settings: map[string]any{"zone": "example.org"}, Path: "/domain/v2beta1",
			Request: providertest.Request("home.example.org", "198.51.100.7", "", "", scwSecret), Serve: missing.serve,
			Want: provider.Failed, WantMessage: "HTTP 403: domain not found", WantAdvice: "Scaleway has no such DNS zone",
			Check: func(t *testing.T, _ []providertest.Seen) {
				if missing.created != 0 {
					t.Error("the delivery let Scaleway create a zone")
				}
			}},
		{Name: "invalid argument", Settings: settings, Path: "/domain/v2beta1", Request: req,
			Serve: providertest.JSON(400, `{"type":"invalid_arguments","message":"invalid argument(s)","details":[{"argument_name":"ttl","reason":"constraint","help_message":"must be at least 60"}]}`),
			Want:  provider.Failed, WantMessage: "HTTP 400: invalid argument(s); ttl: must be at least 60", WantAdvice: provider.AdviceRefused},
		{Name: "rate limited without a header", Settings: settings, Path: "/domain/v2beta1", Request: req,
			Serve: providertest.Answer(429, nil, ""), Want: provider.Retry, WantMessage: "HTTP 429", WantAdvice: provider.AdviceRateLimited},
		{Name: "gateway error", Settings: settings, Path: "/domain/v2beta1", Request: req,
			Serve: providertest.Answer(502, nil, "<html>Scaleway API Gateway</html>"), Want: provider.Retry, WantMessage: "HTTP 502"},
		{Name: "key echoed back", Settings: settings, Path: "/domain/v2beta1", Request: req,
			Serve: providertest.JSON(400, `{"message":"bad key `+scwSecret+`"}`), Want: provider.Failed, WantMessage: "bad key ***"},
	})
}

func TestScalewayCheck(t *testing.T) {
	p := provider.NewScaleway(providertest.Deps())
	check := func(fqdn, key string) provider.CheckRequest[json.RawMessage] {
		return provider.CheckRequest[json.RawMessage]{FQDN: fqdn, Credential: key}
	}
	serve := func() http.HandlerFunc { return (&scalewayFake{zones: newFakeZones("example.com")}).serve }
	providertest.RunChecks(t, p, "api_url", []providertest.CheckCase{
		{Name: "good key and zone", Path: "/domain/v2beta1", Request: check("home.example.com", scwSecret), Serve: serve(),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "bad key", Path: "/domain/v2beta1", Request: check("home.example.com", "00000000-0000-4000-8000-000000000000"), Serve: serve(),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
		{Name: "missing zone", Path: "/domain/v2beta1", Request: check("home.example.org", scwSecret), Serve: serve(),
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed}, {Name: "zone found", Status: provider.StepFailed}}},
	})
}

func TestScalewayValidate(t *testing.T) {
	p := provider.NewScaleway(providertest.Deps())
	has := provider.Has{Credential: true}
	providertest.Validate(t, p, `{"zone":"home.example.com","ttl":60}`, has)
	providertest.Validate(t, p, `{"ttl":30}`, has, "settings.ttl: must be 60..86400")
	providertest.Validate(t, p, `{}`, provider.Has{}, "credential: is required: the secret key")
}
