package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

func TestMetricsAfterUpdates(t *testing.T) {
	dbURL := storetest.NewURL(t)
	up := newFakeUpstream(t)
	seed(t, dbURL, up.URL, "router.example.com", "router-secret-3",
		recordSpec{"www.example.com", 32, "0.0.0.0", -1, "::", ""})
	const token = "metrics-token-0123456789"
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_METRICS_TOKEN": token})
	update := func(secret, ip string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/nic/update?myip="+ip, nil)
		req.SetBasicAuth("router.example.com", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	update("router-secret-3", "192.0.2.1") // good
	update("router-secret-3", "192.0.2.1") // nochg
	update("wrong-secret", "192.0.2.1")    // badauth
	waitUntil(t, "the delivery", 10*time.Second, func() bool { return len(up.requests()) == 1 })

	scrape := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := scrape(""); code != 401 {
		t.Fatalf("metrics without token: %d", code)
	}
	if code, _ := scrape("Bearer wrong-token-0123456789"); code != 401 {
		t.Fatalf("metrics with a wrong token: %d", code)
	}
	var body string
	waitUntil(t, "delivery counted", 5*time.Second, func() bool {
		_, body = scrape("Bearer " + token)
		return strings.Contains(body, `ddnsbroker_deliveries_total{outcome="delivered",protocol="dyndns2"} 1`)
	})
	for _, want := range []string{
		`ddnsbroker_dyndns2_requests_total{code="good"} 1`,
		`ddnsbroker_dyndns2_requests_total{code="nochg"} 1`,
		`ddnsbroker_dyndns2_requests_total{code="badauth"} 1`,
		`ddnsbroker_auth_failures_total{reason="bad_credentials"} 1`,
		`ddnsbroker_delivery_duration_seconds_count{protocol="dyndns2"} 1`,
		`ddnsbroker_deliveries_queued{state="pending"} 0`,
		`ddnsbroker_database_up 1`,
		`ddnsbroker_db_pool_connections{state="max"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	logs := srv.Log.String()
	for _, secret := range []string{"router-secret-3", "wrong-secret", "upstream-password", token} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the secret %q", secret)
		}
	}
}
