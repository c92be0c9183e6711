package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// TestHeartbeats: a monitor on 127.0.0.1 sees the broker's and a host's
// success pings on schedule, and their failure pings once a record fails.
func TestHeartbeats(t *testing.T) {
	f := newFixture(t, fastConfig())
	var mu sync.Mutex
	var got []string
	monitor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(monitor.Close)
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		slices.Sort(out)
		return out
	}
	ctx := context.Background()
	set := func(hostID *int64, url, failURL string) {
		t.Helper()
		b := store.Heartbeat{HostID: hostID, Every: time.Minute}
		b.URL, b.URLKey = f.box.Seal(url)
		b.URLShown, _ = notify.CheckHeartbeatURL(url)
		if failURL != "" {
			b.FailURL, b.FailURLKey = f.box.Seal(failURL)
		}
		if _, err := f.st.SetHeartbeat(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	set(nil, monitor.URL+"/ping/broker-uuid", "")
	set(&f.host.ID, monitor.URL+"/api/push/host-token?status=up", monitor.URL+"/api/push/host-token?status=down")
	beat := func(now time.Time, want ...string) {
		t.Helper()
		if _, err := f.notifier.Heartbeats(ctx, now); err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		if g := take(); !slices.Equal(g, want) {
			t.Fatalf("the monitor got %q, want %q", g, want)
		}
	}
	start := time.Now()
	beat(start, "GET /api/push/host-token?status=up", "GET /ping/broker-uuid") // the first pings
	beat(start.Add(30 * time.Second))                                          // not due yet
	beat(start.Add(61*time.Second), "GET /api/push/host-token?status=up", "GET /ping/broker-uuid")

	wrong := f.record(t, "wrong.example.com", "badauth")
	f.dispatcher(t)
	f.update(t, "198.51.100.7")
	waitFor(t, "the failure", 10*time.Second, func() bool { return f.state(t, wrong.ID) == "failed" })
	now := time.Now()
	beat(now, "GET /api/push/host-token?status=down", "GET /ping/broker-uuid/fail") // at once, not at the next interval
	beat(now.Add(10 * time.Second))                                                 // told already
	var q string
	if err := f.st.Pool.QueryRow(ctx, `SELECT string_agg(last_state, ',' ORDER BY id) FROM heartbeats`).Scan(&q); err != nil || q != "fail,fail" {
		t.Errorf("states %q, %v", q, err)
	}
}
