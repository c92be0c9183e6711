package main

import (
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
}
