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

// TestStaleAfterPerHost: a host's own stale_after decides its stale flag,
// the stale filter and the status count; null goes back to the server's.
// Out-of-range values are refused naming the field and change nothing.
func TestStaleAfterPerHost(t *testing.T) {
	h := newHarness(t, func(cfg *config.Serve, _ *app.Options) { cfg.StaleAfter = time.Hour })
	tok, _ := h.login(adminName, adminPassword)
	ctx := context.Background()
	own := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "own.example.net", "secret": "router-secret-1", "stale_after": 600})
	global := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "global.example.net", "secret": "router-secret-1"})
	if own.StaleAfter != 600 || own.StaleAfterDefault || global.StaleAfter != 3600 || !global.StaleAfterDefault {
		t.Fatalf("created: own %d/%v, global %d/%v", own.StaleAfter, own.StaleAfterDefault, global.StaleAfter, global.StaleAfterDefault)
	}
	if _, err := h.st.Pool.Exec(ctx, `UPDATE hosts SET created_at = now() - interval '2 days', last_seen_at = now() - interval '30 minutes'`); err != nil {
		t.Fatal(err)
	}
	path := func(id int64) string { return fmt.Sprintf("/hosts/%d", id) }
	if !get[rest.Host](h, tok, path(own.Id)).Stale || get[rest.Host](h, tok, path(global.Id)).Stale {
		t.Error("30 minutes of silence: own (10 min) should be stale, global (1 h) not")
	}
	staleIDs := func() []int64 {
		var out []int64
		for _, x := range get[rest.HostList](h, tok, "/hosts?stale=true").Items {
			out = append(out, x.Id)
		}
		return out
	}
	if got := staleIDs(); !slices.Equal(got, []int64{own.Id}) {
		t.Errorf("stale=true: %v", got)
	}
	if st := get[rest.Status](h, tok, "/status"); st.Hosts.Stale != 1 {
		t.Errorf("status hosts %+v", st.Hosts)
	}

	for _, bad := range []any{59, 31536001, 0, -5, "10m"} {
		p := h.do(request{method: "PATCH", path: path(global.Id), token: tok, body: map[string]any{"stale_after": bad}}).expect(t, 422).problem(t)
		if !slices.Equal(fieldsOf(p), []string{"stale_after"}) {
			t.Errorf("stale_after %v: fields %v", bad, fieldsOf(p))
		}
		p = h.do(request{method: "POST", path: "/hosts", token: tok,
			body: map[string]any{"fqdn": "bad.example.net", "stale_after": bad}}).expect(t, 422).problem(t)
		if !slices.Equal(fieldsOf(p), []string{"stale_after"}) {
			t.Errorf("create stale_after %v: fields %v", bad, fieldsOf(p))
		}
	}
	if got := get[rest.Host](h, tok, path(global.Id)); !got.StaleAfterDefault || got.StaleAfter != 3600 {
		t.Errorf("a refused patch changed the host: %+v", got)
	}

	// A patch without stale_after keeps it; null goes back to the global.
	var got rest.Host
	h.do(request{method: "PATCH", path: path(own.Id), token: tok, body: map[string]any{"notes": "x"}}).expect(t, 200).decode(t, &got)
	if got.StaleAfter != 600 || got.StaleAfterDefault {
		t.Errorf("patch without stale_after: %d/%v", got.StaleAfter, got.StaleAfterDefault)
	}
	h.do(request{method: "PATCH", path: path(own.Id), token: tok, raw: `{"stale_after": null}`}).expect(t, 200).decode(t, &got)
	if got.StaleAfter != 3600 || !got.StaleAfterDefault || got.Stale {
		t.Errorf("back to the global: %+v", got)
	}
	if got := staleIDs(); len(got) != 0 {
		t.Errorf("stale=true after the reset: %v", got)
	}
	// And a global host takes its own.
	h.do(request{method: "PATCH", path: path(global.Id), token: tok, body: map[string]any{"stale_after": 60}}).expect(t, 200).decode(t, &got)
	if got.StaleAfter != 60 || got.StaleAfterDefault || !got.Stale {
		t.Errorf("own 60 s: %+v", got)
	}
}
