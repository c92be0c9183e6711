package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// No secret reaches the log when deliveries fail, even when the provider
// echoes the credentials it received, at the most verbose log level.
func TestFailedDeliveriesLogNoSecret(t *testing.T) {
	dbURL := storetest.NewURL(t)
	var calls atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "oops for %s:%s at %s\n", user, pass, r.URL.String())
			return
		}
		fmt.Fprintf(w, "badauth %s %s\n", user, pass)
	}))
	defer up.Close()
	seed(t, dbURL, up.URL, "router.example.com", "router-secret-9",
		recordSpec{"www.example.com", 32, "0.0.0.0", -1, "::", ""})
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_RETRY_BASE": "100ms",
		"DDNSBROKER_RETRY_MAX": "200ms", "DDNSBROKER_LOG_LEVEL": "debug"})
	req, _ := http.NewRequest("GET", srv.URL+"/nic/update?myip=192.0.2.44&password=router-secret-9&username=router.example.com", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("update: %d", resp.StatusCode)
	}
	waitUntil(t, "a retry and a failure", 10*time.Second, func() bool {
		return calls.Load() >= 2 && strings.Contains(srv.Log.String(), "outcome=failed")
	})
	logs := srv.Log.String()
	if !strings.Contains(logs, "badauth") {
		t.Fatalf("the provider's answer is not in the log:\n%s", logs)
	}
	for _, secret := range []string{"upstream-password", "router-secret-9"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
	// A delivery that failed for good has no next attempt: none is logged
	// (the zero time read as year 1).
	if strings.Contains(logs, "0001-01-01") || strings.Contains(logs, "next_attempt") && !strings.Contains(logs, "outcome=retry") {
		t.Errorf("the log shows a next attempt of a failed delivery:\n%s", logs)
	}
}

// At the info level the log holds what changed something or went wrong:
// one line per router update, one per delivery, one per write to the API,
// client and server errors. The web app's files, health checks, metrics
// scrapes and the dashboard's polling are debug. No secret is logged.
func TestInfoLogIsTheUsefulLines(t *testing.T) {
	dbURL := storetest.NewURL(t)
	up := newFakeUpstream(t)
	seed(t, dbURL, up.URL, "router.example.com", "router-secret-9",
		recordSpec{"www.example.com", 32, "0.0.0.0", -1, "::", ""})
	const metricsToken = "metrics-token-0123456789"
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_LOG_LEVEL": "info",
		"DDNSBROKER_LOG_FORMAT": "json", "DDNSBROKER_METRICS_TOKEN": metricsToken})
	do := func(method, path, token, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	for _, path := range []string{"/healthz", "/readyz", "/", "/hosts/1", "/favicon.ico"} {
		do("GET", path, "", "")
	}
	do("GET", "/metrics", metricsToken, "")
	code, body := do("POST", "/api/v1/auth/login", "", `{"username": "admin", "password": "admin-password-for-tests"}`)
	var session struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &session); code != 200 || err != nil {
		t.Fatalf("login: %d %s", code, body)
	}
	accessToken := session.AccessToken
	for range 3 { // the dashboard polling
		do("GET", "/api/v1/status", accessToken, "")
		do("GET", "/api/v1/hosts", accessToken, "")
	}
	do("POST", "/api/v1/hosts", accessToken, `{"fqdn": "other.example.com"}`)
	do("POST", "/api/v1/hosts", accessToken, `{"fqdn": "not a name"}`)
	do("GET", "/nic/update?hostname=router.example.com&myip=192.0.2.44&username=router.example.com&password=router-secret-9", "", "")
	waitUntil(t, "the delivery", 10*time.Second, func() bool { return strings.Contains(srv.Log.String(), `"msg":"delivered"`) })
	do("GET", "/nic/update?hostname=router.example.com&myip=192.0.2.44&username=router.example.com&password=router-secret-9", "", "")
	srv.stop()

	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(srv.Log.String()), "\n") {
		var e struct {
			Level, Msg, Method, Route, Code string
			Status                          int
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not a JSON log line: %s", l)
		}
		switch e.Msg {
		case "request":
			lines = append(lines, fmt.Sprintf("%s request %s %s %d", e.Level, e.Method, e.Route, e.Status))
		case "dyndns2 answer":
			lines = append(lines, fmt.Sprintf("%s dyndns2 answer %s", e.Level, e.Code))
		case "delivered", "delivery not done":
			lines = append(lines, e.Level+" "+e.Msg)
		}
	}
	want := []string{
		"INFO request POST /api/v1/auth/login 200",
		"INFO request POST /api/v1/hosts 201",
		"INFO request POST /api/v1/hosts 422",
		"INFO dyndns2 answer good",
		"INFO delivered",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("request, update and delivery lines at info:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, secret := range []string{"router-secret-9", "admin-password-for-tests", metricsToken, accessToken, "upstream-password"} {
		if strings.Contains(srv.Log.String(), secret) {
			t.Errorf("the log contains a secret (%.8s…)", secret)
		}
	}
}
