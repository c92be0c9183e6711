package rest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// TestServicesCannotReadInternalAnswers: with default settings, a write
// token points services of every HTTP protocol and a webhook at a local
// page that holds secrets past its first 200 bytes and on its second line.
// The API shows at most the first line's first 200 characters of what
// answered (enough for an admin to see what went wrong), the webhook test
// not even that, and no answer, event or notification holds a secret.
func TestServicesCannotReadInternalAnswers(t *testing.T) {
	const (
		pastByte200 = "SECRET-PAST-BYTE-200-7f3a9c"
		secondLine  = "SECRET-ON-LINE-2-c41d07"
		marker      = "internal-page"
	)
	page := marker + " " + strings.Repeat("x", 200) + " " + pastByte200 + "\n" + secondLine + "\n"
	var mu sync.Mutex
	var notifications []string
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			notifications = append(notifications, string(b))
			mu.Unlock()
			w.WriteHeader(http.StatusInternalServerError)
		}
		_, _ = io.WriteString(w, page)
	}))
	t.Cleanup(internal.Close)

	h := newHarness(t, poll(50*time.Millisecond))
	session, _ := h.login(adminName, adminPassword)
	write, _ := h.apiToken(session, "intruder", "write")
	read, _ := h.apiToken(session, "reader", "read")

	services := []map[string]any{
		{"name": "dyn", "protocol": "dyndns2", "url": internal.URL + "/nic/update"},
		{"name": "tmpl", "protocol": "http", "settings": map[string]any{"url": internal.URL + "/u?ip={ip}", "success_regexp": "^OK"}},
		{"name": "cf", "protocol": "cloudflare", "credential": "cf-token-0123456789",
			"settings": map[string]any{"api_url": internal.URL + "/client/v4", "zone_id": "0123456789abcdef0123456789abcdef"}},
	}
	host := create[rest.HostCreated](h, write, "/hosts", map[string]any{"fqdn": "home.example.net"})
	var records []rest.Record
	for i, s := range services {
		svc := create[rest.Service](h, write, "/services", s)
		records = append(records, create[rest.Record](h, write, "/records", map[string]any{"host_id": host.Id,
			"service_id": svc.Id, "fqdn": fmt.Sprintf("r%d.example.net", i), "password": "record-password-1"}))
	}
	hook := create[rest.Webhook](h, write, "/webhooks", map[string]any{"name": "hook", "url": internal.URL + "/hook",
		"events": []string{"delivery.failed"}})

	h.runWorkers(t, h.app.Dispatcher.Run, h.app.Notifier.Run)

	h.do(request{method: "PUT", path: fmt.Sprintf("/hosts/%d/addresses", host.Id), token: write,
		body: map[string]any{"ipv4": "203.0.113.7"}}).expect(t, http.StatusOK)
	deadline := time.Now().Add(15 * time.Second)
	for _, r := range records {
		for {
			got := get[rest.Record](h, read, fmt.Sprintf("/records/%d", r.Id))
			if got.Status.Ipv4.State == rest.SyncStateFailed {
				if !strings.Contains(got.Status.Ipv4.Message, marker+" xxx") {
					t.Errorf("record %s: message %q does not show the answer's beginning", r.Fqdn, got.Status.Ipv4.Message)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("record %s: %+v, want failed", r.Fqdn, got.Status.Ipv4)
			}
			time.Sleep(50 * time.Millisecond)
		}
		get[rest.DeliveryList](h, read, fmt.Sprintf("/records/%d/deliveries", r.Id))
	}
	for get[rest.Webhook](h, read, fmt.Sprintf("/webhooks/%d", hook.Id)).LastAttemptAt == nil {
		if time.Now().After(deadline) {
			t.Fatal("the webhook was never notified")
		}
		time.Sleep(50 * time.Millisecond)
	}
	get[rest.RecordList](h, read, "/records")
	get[rest.EventList](h, read, "/events?limit=500")
	get[rest.WebhookList](h, read, "/webhooks")

	var res rest.WebhookTestResult
	h.do(request{method: "POST", path: fmt.Sprintf("/webhooks/%d/test", hook.Id), token: write}).expect(t, http.StatusOK).decode(t, &res)
	if res.Delivered || res.StatusCode == nil || *res.StatusCode != 500 || res.Error != "HTTP 500 Internal Server Error" {
		t.Errorf("webhook test %+v, want the status and its text only", res)
	}
	if after := get[rest.Webhook](h, read, fmt.Sprintf("/webhooks/%d", hook.Id)); strings.Contains(after.LastError, marker) {
		t.Errorf("after the test, the webhook's last error quotes the receiver: %q", after.LastError)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if len(notifications) == 0 {
		t.Fatal("no notification reached the receiver")
	}
	for _, text := range append(append([]string{}, h.responses...), notifications...) {
		for _, secret := range []string{pastByte200, secondLine} {
			if strings.Contains(text, secret) {
				t.Errorf("%s came back: %s", secret, text)
			}
		}
	}
}
