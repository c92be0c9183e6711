package rest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/app"
	"github.com/ddnsbroker/ddnsbroker/api/config"
	"github.com/ddnsbroker/ddnsbroker/api/rest"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// A host holds at most DDNSBROKER_MAX_RECORDS_PER_HOST records (500 by
// default): the 501st is refused with 409 naming the limit, and a
// dual-stack update of the host with 500 records is answered good (within
// the dyndns2 deadline, or it would be 911) and queues both families of
// every record.
func TestRecordsPerHostLimit(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	svc := create[rest.Service](h, tok, "/services", map[string]any{"name": "he", "protocol": "dyndns2", "url": "https://x.example/u"})
	host := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "big.example.net", "secret": "Big-Router-Secret-1"})
	storetest.SeedRecords(t, h.st.Pool, host.Id, svc.Id, "seeded.example", 500)

	r := h.do(request{method: "POST", path: "/records", token: tok, body: map[string]any{"host_id": host.Id, "service_id": svc.Id,
		"fqdn": "one-more.example.net"}}).expect(t, http.StatusConflict)
	if p := r.problem(t); p.Detail == nil || !strings.Contains(*p.Detail, "DDNSBROKER_MAX_RECORDS_PER_HOST is 500") {
		t.Fatalf("409 does not name the limit: %s", r.body)
	}

	q := url.Values{"hostname": {"big.example.net"}, "myip": {"198.51.100.7,2001:db8:1:2::99"}}
	req, _ := http.NewRequest("GET", h.url+"/nic/update?"+q.Encode(), nil)
	req.SetBasicAuth("big.example.net", "Big-Router-Secret-1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(string(body), "good ") {
		t.Fatalf("dual-stack update of a host with 500 records: %d %q", res.StatusCode, body)
	}
	var queued int
	if err := h.st.Pool.QueryRow(context.Background(), `SELECT count(*) FROM deliveries WHERE state = 'pending'`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued != 1000 {
		t.Fatalf("%d deliveries queued, want 1000 (two families of 500 records)", queued)
	}
}

// A service holds at most DDNSBROKER_MAX_RECORDS_PER_SERVICE records: a new
// record or one moved there beyond it is refused with 409 naming the limit.
// Additions at once cannot pass a limit together.
func TestRecordsPerServiceLimitAndRaces(t *testing.T) {
	h := newHarness(t, func(cfg *config.Serve, _ *app.Options) { cfg.MaxRecordsPerService = 2 })
	tok, _ := h.login(adminName, adminPassword)
	full := create[rest.Service](h, tok, "/services", map[string]any{"name": "full", "protocol": "dyndns2", "url": "https://x.example/u"})
	other := create[rest.Service](h, tok, "/services", map[string]any{"name": "other", "protocol": "dyndns2", "url": "https://y.example/u"})
	host := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "home.example.net"})
	for i := 0; i < 2; i++ {
		create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": full.Id, "fqdn": fmt.Sprintf("r%d.example.net", i)})
	}
	r := h.do(request{method: "POST", path: "/records", token: tok, body: map[string]any{"host_id": host.Id, "service_id": full.Id,
		"fqdn": "r2.example.net"}}).expect(t, http.StatusConflict)
	if p := r.problem(t); p.Detail == nil || !strings.Contains(*p.Detail, "DDNSBROKER_MAX_RECORDS_PER_SERVICE is 2") {
		t.Fatalf("409 does not name the limit: %s", r.body)
	}
	moved := create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": other.Id, "fqdn": "r3.example.net"})
	h.do(request{method: "PATCH", path: fmt.Sprintf("/records/%d", moved.Id), token: tok,
		body: map[string]any{"service_id": full.Id}}).expect(t, http.StatusConflict)
	h.do(request{method: "PATCH", path: fmt.Sprintf("/records/%d", moved.Id), token: tok,
		body: map[string]any{"username": "still-editable"}}).expect(t, http.StatusOK)

	// Ten additions at once to a host with room for three.
	h = newHarness(t, func(cfg *config.Serve, _ *app.Options) { cfg.MaxRecordsPerHost = 3 })
	tok, _ = h.login(adminName, adminPassword)
	other = create[rest.Service](h, tok, "/services", map[string]any{"name": "other", "protocol": "dyndns2", "url": "https://y.example/u"})
	second := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "office.example.net"})
	var wg sync.WaitGroup
	statuses := make([]int, 10)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.do(request{method: "POST", path: "/records", token: tok, body: map[string]any{"host_id": second.Id,
				"service_id": other.Id, "fqdn": fmt.Sprintf("o%d.example.net", i)}}).status
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("concurrent addition answered %d", s)
		}
	}
	if created != 3 {
		t.Fatalf("%d of 10 concurrent additions created, want 3 (the host's limit)", created)
	}
}
