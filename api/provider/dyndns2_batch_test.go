package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/provider/providertest"
)

// TestDyndns2Batch: several names go in one request, hostname=a,b,c with
// plain commas as ddclient sends them, and each name takes the answer line
// at its position; one line answers every name, a missing line is retried.
func TestDyndns2Batch(t *testing.T) {
	names := []string{"a.example.org", "b.example.org", "c.example.org"}
	for _, tt := range []struct {
		name   string
		status int
		body   string
		want   []provider.Result
		msg    []string
	}{
		{"a line per name", 200, "good 198.51.100.7\nnohost\n911\n",
			[]provider.Result{provider.Delivered, provider.Failed, provider.Retry}, []string{"good 198.51.100.7", "nohost", "911"}},
		{"one line for all", 200, "nochg 198.51.100.7\n",
			[]provider.Result{provider.Delivered, provider.Delivered, provider.Delivered}, []string{"nochg", "nochg", "nochg"}},
		{"a line missing", 200, "good 198.51.100.7\ngood 198.51.100.7\n",
			[]provider.Result{provider.Delivered, provider.Delivered, provider.Retry}, []string{"good", "good", "2 lines for 3 names"}},
		{"another address", 200, "good 198.51.100.7\ngood 192.0.2.1\ngood 198.51.100.7\n",
			[]provider.Result{provider.Delivered, provider.Failed, provider.Delivered}, []string{"good", "the provider set 192.0.2.1", "good"}},
		{"HTTP error", 401, "badauth\n",
			[]provider.Result{provider.Failed, provider.Failed, provider.Failed}, []string{"HTTP 401", "HTTP 401", "HTTP 401"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var queries []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				queries = append(queries, r.URL.RawQuery)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			settings := json.RawMessage(fmt.Sprintf(`{"url": %q}`, srv.URL+"/nic/update"))
			var rs []provider.Request[json.RawMessage]
			for _, n := range names {
				rs = append(rs, provider.Request[json.RawMessage]{FQDN: n, Family: netcalc.V4, Username: "acct", Password: "pw",
					Addresses: []netip.Addr{netip.MustParseAddr("198.51.100.7")}, Settings: settings})
			}
			outs := provider.NewDyndns2(providertest.Deps()).SendBatch(context.Background(), rs)
			if len(queries) != 1 || queries[0] != "hostname=a.example.org,b.example.org,c.example.org&myip=198.51.100.7" {
				t.Fatalf("requests %q, want one for the three names", queries)
			}
			if len(outs) != len(names) {
				t.Fatalf("%d outcomes for %d names", len(outs), len(names))
			}
			for i, o := range outs {
				if o.Result != tt.want[i] || !strings.Contains(o.Message, tt.msg[i]) {
					t.Errorf("%s: %s %q, want %s with %q", names[i], o.Result, o.Message, tt.want[i], tt.msg[i])
				}
			}
		})
	}
}

// TestDyndns2BatchSize: max_hostnames, 20 by default (Dyn's cap), and 1
// where each record logs in with its own name.
func TestDyndns2BatchSize(t *testing.T) {
	p := provider.NewDyndns2(providertest.Deps())
	for settings, want := range map[string]int{
		`{"url": "https://example.org/nic/update"}`:                           20,
		`{"url": "https://example.org/nic/update", "max_hostnames": 5}`:       5,
		`{"url": "https://example.org/nic/update", "max_hostnames": 1}`:       1,
		`{"url": "https://example.org/nic/update", "username_is_fqdn": true}`: 1,
	} {
		if got := p.BatchSize(json.RawMessage(settings)); got != want {
			t.Errorf("%s: batch size %d, want %d", settings, got, want)
		}
	}
	for _, n := range []int{0, 21} {
		errs := p.Validate(json.RawMessage(fmt.Sprintf(`{"url": "https://example.org/nic/update", "max_hostnames": %d}`, n)), provider.Has{})
		if len(errs) != 1 || errs[0].Field != "settings.max_hostnames" {
			t.Errorf("max_hostnames %d: %v, want a field error naming it", n, errs)
		}
	}
	if got := provider.NewCloudflare(providertest.Deps()).BatchSize(json.RawMessage(`{}`)); got != 1 {
		t.Errorf("cloudflare batch size %d, want 1: it sends each record alone", got)
	}
}
