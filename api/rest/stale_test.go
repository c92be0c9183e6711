package rest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// TestStaleHosts: a host is stale when it has not been seen for longer than
// stale-after, or never was and is older than that; the flag, the list
// filter and the status count agree.
func TestStaleHosts(t *testing.T) {
	h := newHarness(t, func(cfg *config.Serve, _ *app.Options) { cfg.StaleAfter = time.Hour })
	tok, _ := h.login(adminName, adminPassword)
	ctx := context.Background()
	mk := func(fqdn string, created, seen time.Duration) int64 {
		t.Helper()
		host := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": fqdn, "secret": "router-secret-1"})
		var lastSeen *time.Time
		if seen > 0 {
			at := time.Now().Add(-seen)
			lastSeen = &at
		}
		if _, err := h.st.Pool.Exec(ctx, `UPDATE hosts SET created_at = $2, last_seen_at = $3 WHERE id = $1`,
			host.Id, time.Now().Add(-created), lastSeen); err != nil {
			t.Fatal(err)
		}
		return host.Id
	}
	silent := mk("silent.example.net", 48*time.Hour, 2*time.Hour) // seen, too long ago
	never := mk("never.example.net", 3*time.Hour, 0)              // never seen, old
	fresh := mk("fresh.example.net", 48*time.Hour, time.Minute)   // seen recently
	newborn := mk("newborn.example.net", time.Minute, 0)          // never seen, just added
	want := map[int64]bool{silent: true, never: true, fresh: false, newborn: false}

	for id, stale := range want {
		if got := get[rest.Host](h, tok, fmt.Sprintf("/hosts/%d", id)); got.Stale != stale {
			t.Errorf("host %s: stale %v, want %v", got.Fqdn, got.Stale, stale)
		}
	}
	ids := func(path string) []int64 {
		var out []int64
		for _, x := range get[rest.HostList](h, tok, path).Items {
			if x.Stale != want[x.Id] {
				t.Errorf("%s: host %s stale %v", path, x.Fqdn, x.Stale)
			}
			out = append(out, x.Id)
		}
		return out
	}
	if got := ids("/hosts?stale=true"); !slices.Equal(got, []int64{never, silent}) {
		t.Errorf("stale=true: %v, want %v", got, []int64{never, silent})
	}
	if got := ids("/hosts?stale=false&limit=1"); !slices.Equal(got, []int64{fresh}) {
		t.Errorf("stale=false: %v, want %v", got, []int64{fresh})
	}
	if got := ids("/hosts?stale=false&q=newborn"); !slices.Equal(got, []int64{newborn}) {
		t.Errorf("stale=false&q=newborn: %v", got)
	}
	if len(ids("/hosts")) != 4 {
		t.Error("unfiltered list is not 4 hosts")
	}
	h.do(request{method: "GET", path: "/hosts?stale=maybe", token: tok}).expect(t, 422)
	if st := get[rest.Status](h, tok, "/status"); st.Hosts.Stale != 2 || st.Hosts.Total != 4 {
		t.Errorf("status hosts %+v", st.Hosts)
	}

	// A router's update ends the episode.
	req, _ := http.NewRequest("GET", h.url+"/nic/update?myip=192.0.2.1", nil)
	req.SetBasicAuth("silent.example.net", "router-secret-1")
	res, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(string(body), "good ") {
		t.Fatalf("router update: %d %s", res.StatusCode, body)
	}
	if got := get[rest.Host](h, tok, fmt.Sprintf("/hosts/%d", silent)); got.Stale {
		t.Error("a host seen just now is still stale")
	}
	if st := get[rest.Status](h, tok, "/status"); st.Hosts.Stale != 1 {
		t.Errorf("status after the update: %+v", st.Hosts)
	}
}
