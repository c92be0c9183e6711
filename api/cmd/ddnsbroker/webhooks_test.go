package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// TestServeNotifiesWebhooks: serve runs the notifier with the configured
// stale-after, and the API flags stale hosts with it. A delivery refused
// for good and a host that has been silent too long reach a webhook,
// signed with its secret.
func TestServeNotifiesWebhooks(t *testing.T) {
	dbURL := storetest.NewURL(t)
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "badauth")
	}))
	t.Cleanup(provider.Close)
	var mu sync.Mutex
	got := map[string]notify.Payload{}
	const secret = "webhook-secret-for-serve"
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(notify.HeaderSignature) != notify.Sign([]byte(secret), body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p notify.Payload
		_ = json.Unmarshal(body, &p)
		mu.Lock()
		got[p.Event] = p
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)

	ctx := context.Background()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	box := secretbox.New([]byte(testSecretKey))
	sealed, key := box.Seal(secret)
	if _, err := st.CreateWebhook(ctx, store.NewWebhook{Name: "ops", URL: receiver.URL, Secret: sealed, SecretKey: key,
		Events: notify.WebhookEvents(), Enabled: true}); err != nil {
		t.Fatal(err)
	}
	svc, err := st.CreateService(ctx, store.NewService{Name: "p", Protocol: "dyndns2",
		Settings: []byte(fmt.Sprintf(`{"url": %q}`, provider.URL+"/nic/update"))})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(auth.TestParams, "router-secret-1")
	if err != nil {
		t.Fatal(err)
	}
	router, err := st.CreateHost(ctx, store.NewHost{FQDN: "router.example.com", SecretHash: hash, Enabled: true, IPv4Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateRecord(ctx, store.NewRecord{HostID: router.ID, ServiceID: svc.ID, FQDN: "www.example.com",
		IPv4Enabled: true, IPv4Netmask: 32, IPv4HostIdentifier: netip.MustParseAddr("0.0.0.0"),
		IPv6HostIdentifier: netip.MustParseAddr("::")}); err != nil {
		t.Fatal(err)
	}
	silent, err := st.CreateHost(ctx, store.NewHost{FQDN: "silent.example.com", SecretHash: hash, Enabled: true, IPv4Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool.Exec(ctx, `UPDATE hosts SET created_at = now() - interval '3 hours' WHERE id = $1`, silent.ID); err != nil {
		t.Fatal(err)
	}

	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_STALE_AFTER": "2h"})
	req, _ := http.NewRequest("GET", srv.URL+"/nic/update?myip=198.51.100.7", nil)
	req.SetBasicAuth("router.example.com", "router-secret-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// A failure waits for others at its service (the digest, 30 s) before
	// it is sent.
	waitUntil(t, "both notifications", 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		_, failed := got[notify.DeliveryFailed]
		_, stale := got[notify.HostStale]
		return failed && stale
	})
	mu.Lock()
	failed, stale := got[notify.DeliveryFailed], got[notify.HostStale]
	mu.Unlock()
	if failed.Record == nil || failed.Record.FQDN != "www.example.com" || !strings.Contains(failed.Message, "badauth") {
		t.Errorf("delivery.failed %+v", failed)
	}
	if stale.Host == nil || stale.Host.FQDN != "silent.example.com" || !strings.Contains(stale.Message, "stale after 2h0m0s") {
		t.Errorf("host.stale %+v", stale)
	}

	// The API flags the same host with the same stale-after.
	login, _ := http.Post(srv.URL+"/api/v1/auth/login", "application/json",
		strings.NewReader(`{"username": "admin", "password": "admin-password-for-tests"}`))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(login.Body).Decode(&tok)
	login.Body.Close()
	req, _ = http.NewRequest("GET", srv.URL+"/api/v1/hosts?stale=true", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var hosts struct {
		Items []struct {
			FQDN  string `json:"fqdn"`
			Stale bool   `json:"stale"`
		} `json:"items"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&hosts)
	resp.Body.Close()
	if len(hosts.Items) != 1 || hosts.Items[0].FQDN != "silent.example.com" || !hosts.Items[0].Stale {
		t.Errorf("stale hosts %+v", hosts)
	}
	if strings.Contains(srv.Log.String(), secret) {
		t.Error("the webhook secret reached the log")
	}
}
