package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

// TestOneAttemptOneRequest: whatever a provider does with a request (close
// the connection without answering, reset it, answer half, never answer),
// one attempt of each protocol puts exactly one request on the wire,
// counted by the provider (providertest.OneRequestPerAttempt).
func TestOneAttemptOneRequest(t *testing.T) {
	req := func(i int) provider.Request[json.RawMessage] {
		return providertest.Request("home.example.com", "198.51.100.7", "", "record-password", "cf-token-0123456789")
	}
	t.Run("dyndns2", func(t *testing.T) {
		providertest.OneRequestPerAttempt(t, provider.NewDyndns2, "good 198.51.100.7",
			func(url string) map[string]any { return map[string]any{"url": url + "/nic/update"} }, req)
	})
	t.Run("http GET", func(t *testing.T) {
		providertest.OneRequestPerAttempt(t, provider.NewHTTPTemplate, "OK",
			func(url string) map[string]any { return map[string]any{"url": url + "/update?ip={ip}"} }, req)
	})
	// An Idempotency-Key header makes Go treat a POST as replayable.
	t.Run("http POST with Idempotency-Key", func(t *testing.T) {
		providertest.OneRequestPerAttempt(t, provider.NewHTTPTemplate, "OK", func(url string) map[string]any {
			return map[string]any{"method": "POST", "url": url + "/update", "body": "ip={ip}",
				"headers": map[string]string{"Idempotency-Key": "{fqdn}-{ip}"}}
		}, req)
	})
	// A new name each time, so that every attempt starts with a GET.
	t.Run("cloudflare", func(t *testing.T) {
		providertest.OneRequestPerAttempt(t, provider.NewCloudflare, `{"success":true,"errors":[],"result":[]}`,
			func(url string) map[string]any {
				return map[string]any{"api_url": url + "/client/v4", "zone_id": "0123456789abcdef0123456789abcdef"}
			}, func(i int) provider.Request[json.RawMessage] {
				return providertest.Request(fmt.Sprintf("h%d.example.com", i), "198.51.100.7", "", "", "cf-token-0123456789")
			})
	})
}

// TestRefusedDestinationFails: a service at a link-local or metadata
// address fails (no retry would help) with a reason naming the setting, and
// nothing is sent: the dial hook behind the policy fails the test instead
// of connecting.
func TestRefusedDestinationFails(t *testing.T) {
	hc := egress.Dialer{Policy: egress.DefaultPolicy(), Control: func(network, address string, c syscall.RawConn) error {
		t.Errorf("the policy let a protocol connect to %s", address)
		return errors.New("test: not connecting beyond loopback")
	}}.Client(5 * time.Second)
	protocols := provider.New(provider.Deps{HTTP: hc, UserAgent: provider.UserAgent("test")})
	v4 := netip.MustParseAddr("198.51.100.7")
	tests := []struct {
		protocol string
		settings string
	}{
		{"dyndns2", `{"url": "http://169.254.169.254/nic/update"}`},
		{"http", `{"url": "http://[fd00:ec2::254]/latest/api/token?ip={ip}", "method": "PUT", "headers": {"X-aws-ec2-metadata-token-ttl-seconds": "60"}}`},
		{"http", `{"url": "http://169.254.169.254/computeMetadata/v1/?ip={ip}", "headers": {"Metadata-Flavor": "Google"}}`},
		{"cloudflare", `{"api_url": "http://100.100.100.200/latest/meta-data", "zone_id": "0123456789abcdef0123456789abcdef"}`},
		{"dyndns2", `{"url": "http://[fe80::1%25lo]:8080/nic/update"}`},
	}
	for _, tt := range tests {
		p, _ := protocols.Provider(tt.protocol)
		out := send(context.Background(), p, json.RawMessage(tt.settings),
			target{FQDN: "home.example.com", Family: 4, Address: v4, Password: "record-password", Credential: "cf-token-0123456789"})
		if out.Result != provider.Failed || !strings.Contains(out.Message, "DDNSBROKER_ALLOW_TARGETS") {
			t.Errorf("%s %s: %v %q, want failed naming DDNSBROKER_ALLOW_TARGETS", tt.protocol, tt.settings, out.Result, out.Message)
		}
	}
}
