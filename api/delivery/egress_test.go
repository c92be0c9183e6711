package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/delivery"
	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/egress/egresstest"
)

// TestOneAttemptOneRequest: whatever a provider does with a request (close
// the connection without answering, reset it, answer half, never answer),
// one attempt puts exactly one request on the wire, counted by the
// provider. Go's transport replays idempotent requests that fail on a
// reused connection, so each protocol first leaves several idle
// connections behind with successful requests.
func TestOneAttemptOneRequest(t *testing.T) {
	v4 := netip.MustParseAddr("198.51.100.7")
	type protocol struct {
		name   string
		answer string // what a healthy provider answers
		send   func(ctx context.Context, url string, i int) delivery.Outcome
	}
	dyn := delivery.Dyndns2{Client: delivery.NewDyndns2Client("test")}
	tmpl := delivery.NewHTTPTemplate(nil, "test")
	cf := delivery.NewCloudflare(nil, "test")
	settings := func(v map[string]any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	protocols := []protocol{
		{"dyndns2", "good 198.51.100.7", func(ctx context.Context, url string, i int) delivery.Outcome {
			return dyn.Send(ctx, settings(map[string]any{"url": url + "/nic/update"}),
				delivery.Target{FQDN: "home.example.com", Family: 4, Address: v4, Password: "record-password"})
		}},
		{"http GET", "OK", func(ctx context.Context, url string, i int) delivery.Outcome {
			return tmpl.Send(ctx, settings(map[string]any{"url": url + "/update?ip={ip}"}),
				delivery.Target{FQDN: "home.example.com", Family: 4, Address: v4})
		}},
		// An Idempotency-Key header makes Go treat a POST as replayable.
		{"http POST with Idempotency-Key", "OK", func(ctx context.Context, url string, i int) delivery.Outcome {
			return tmpl.Send(ctx, settings(map[string]any{"method": "POST", "url": url + "/update", "body": "ip={ip}",
				"headers": map[string]string{"Idempotency-Key": "{fqdn}-{ip}"}}),
				delivery.Target{FQDN: "home.example.com", Family: 4, Address: v4})
		}},
		// A new name each time, so that every attempt starts with a GET.
		{"cloudflare", `{"success":true,"errors":[],"result":[]}`, func(ctx context.Context, url string, i int) delivery.Outcome {
			return cf.Send(ctx, settings(map[string]any{"api_url": url + "/client/v4", "zone_id": "0123456789abcdef0123456789abcdef"}),
				delivery.Target{FQDN: fmt.Sprintf("h%d.example.com", i), Family: 4, Address: v4, Credential: "cf-token-0123456789"})
		}},
	}
	for _, p := range protocols {
		for _, mode := range egresstest.Modes() {
			t.Run(p.name+"/"+mode.String(), func(t *testing.T) {
				t.Parallel()
				prov := egresstest.New(t)
				prov.SetAnswer(http.StatusOK, p.answer)
				var wg sync.WaitGroup
				for i := range 8 {
					wg.Add(1)
					go func() { defer wg.Done(); p.send(context.Background(), prov.URL, i) }()
				}
				wg.Wait()
				before := prov.Requests()
				if before < 8 {
					t.Fatalf("the provider saw %d requests while warming up, want at least 8", before)
				}

				prov.SetMode(mode)
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				out := p.send(ctx, prov.URL, 100)
				if out.Result == delivery.Delivered {
					t.Errorf("attempt against a provider that did not answer: %v %s", out.Result, out.Message)
				}
				if n := prov.Requests() - before; n != 1 {
					t.Errorf("one attempt put %d requests on the wire, want 1 (%v: %s)", n, out.Result, out.Message)
				}
			})
		}
	}
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
	protocols := delivery.Protocols("test", hc)
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
		out := protocols[tt.protocol].Send(context.Background(), json.RawMessage(tt.settings),
			delivery.Target{FQDN: "home.example.com", Family: 4, Address: v4, Password: "record-password", Credential: "cf-token-0123456789"})
		if out.Result != delivery.Failed || !strings.Contains(out.Message, "DDNSBROKER_ALLOW_TARGETS") {
			t.Errorf("%s %s: %v %q, want failed naming DDNSBROKER_ALLOW_TARGETS", tt.protocol, tt.settings, out.Result, out.Message)
		}
	}
}
