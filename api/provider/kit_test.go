package provider_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

// TestCloudflareAnswerTable is the shape a new provider's test takes: one
// table of the provider's answers and the outcome each one means, run by
// providertest.Run against a fake API on 127.0.0.1, one fresh provider
// per case (caches), exactly the requests each attempt should make.
func TestCloudflareAnswerTable(t *testing.T) {
	const zone = "0123456789abcdef0123456789abcdef"
	req := providertest.Request("home.example.com", "198.51.100.7", "", "", cfToken)
	settings := map[string]any{"zone_id": zone}
	cases := []providertest.Case{
		{Name: "record created", Settings: settings, Request: req, Requests: 2,
			Serve: func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					providertest.JSON(200, `{"success":true,"errors":[],"result":[]}`)(w, r)
					return
				}
				providertest.JSON(200, `{"success":true,"errors":[],"result":{"id":"rec1","type":"A","name":"home.example.com","content":"198.51.100.7","ttl":1}}`)(w, r)
			},
			Want: provider.Delivered, WantMessage: "A home.example.com → 198.51.100.7",
			Check: func(t *testing.T, seen []providertest.Seen) {
				if seen[0].Header.Get("Authorization") != "Bearer "+cfToken || seen[1].Method != http.MethodPost ||
					seen[1].Path != "/client/v4/zones/"+zone+"/dns_records" {
					t.Errorf("requests %+v", seen)
				}
			}},
		{Name: "token refused", Settings: settings, Request: req,
			Serve: providertest.JSON(403, `{"success":false,"errors":[{"code":10000,"message":"Authentication error"}]}`),
			Want:  provider.Failed, WantMessage: "HTTP 403: 10000 Authentication error", WantAdvice: "the API token lacks a permission: give it Zone → DNS → Edit"},
		{Name: "rate limited", Settings: settings, Request: req,
			Serve: providertest.Answer(429, http.Header{"Retry-After": {"30"}}, `{"success":false,"errors":[{"code":971,"message":"Please wait"}]}`),
			Want:  provider.Retry, WantMessage: "HTTP 429", WantAdvice: provider.AdviceRateLimited, WantRetryAfter: 30 * time.Second},
		{Name: "server error", Settings: settings, Request: req,
			Serve: providertest.Answer(502, nil, "<html>Bad Gateway</html>"),
			Want:  provider.Retry, WantMessage: "HTTP 502"},
		{Name: "token echoed back", Settings: settings, Request: req,
			Serve: providertest.JSON(400, `{"success":false,"errors":[{"code":6111,"message":"Invalid header: Bearer `+cfToken+`"}]}`),
			Want:  provider.Failed, WantMessage: "Bearer ***"},
	}
	for i := range cases {
		cases[i].Path = "/client/v4"
		p := provider.NewCloudflare(providertest.Deps())
		providertest.Run(t, p, "api_url", cases[i:i+1])
	}
}

// TestCloudflareCheck: the credential and the zone are checked with GETs
// only (providertest.RunChecks refuses anything that could change DNS).
func TestCloudflareCheck(t *testing.T) {
	p := provider.NewCloudflare(providertest.Deps())
	ok := `{"success":true,"errors":[],"result":{"status":"active"}}`
	zones := `{"success":true,"errors":[],"result":[{"id":"0123456789abcdef0123456789abcdef","name":"example.com"}]}`
	providertest.RunChecks(t, p, "api_url", []providertest.CheckCase{
		{Name: "token and zone", Path: "/client/v4",
			Request: provider.CheckRequest[json.RawMessage]{FQDN: "home.example.com", Credential: cfToken},
			Serve: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/client/v4/user/tokens/verify" {
					providertest.JSON(200, ok)(w, r)
					return
				}
				providertest.JSON(200, zones)(w, r)
			},
			Want: []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepPassed},
				{Name: "zone found", Status: provider.StepPassed}, {Name: "may read records", Status: provider.StepPassed},
				{Name: "may edit records", Status: provider.StepUnchecked}}},
		{Name: "token refused", Path: "/client/v4",
			Request: provider.CheckRequest[json.RawMessage]{FQDN: "home.example.com", Credential: cfToken},
			Serve:   providertest.JSON(401, `{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}]}`),
			Want:    []providertest.StepWant{{Name: "credentials accepted", Status: provider.StepFailed}}},
	})
}

// TestDescriptions: every registered protocol describes itself well
// enough for the web app to render its form.
func TestDescriptions(t *testing.T) {
	r := registry()
	for _, name := range r.Names() {
		p, _ := r.Provider(name)
		providertest.Describe(t, p)
	}
}
