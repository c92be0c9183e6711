package rest_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// TestHostHistory: each address change of a host, newest first, with what
// it sent where and how long the delivery took; the deliveries of one
// change stay with it.
func TestHostHistory(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	svc := create[rest.Service](h, tok, "/services", map[string]any{"name": "he", "protocol": "dyndns2", "url": "https://x.example/u"})
	host := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "home.example.net", "ipv4": "203.0.113.7"})
	rec := create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id, "fqdn": "www.example.net",
		"ipv6_enabled": false})
	other := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "other.example.net"})
	set := func(id int64, ipv4 string) {
		t.Helper()
		h.do(request{method: "PUT", path: fmt.Sprintf("/hosts/%d/addresses", id), token: tok,
			body: map[string]any{"ipv4": ipv4}}).expect(t, http.StatusOK)
	}
	history := func(id int64, query string) rest.HostHistory {
		return get[rest.HostHistory](h, tok, fmt.Sprintf("/hosts/%d/history%s", id, query))
	}
	set(host.Id, "198.51.100.1")
	// The first change's delivery ends 1.5 s after the change.
	if _, err := h.st.Pool.Exec(context.Background(), `UPDATE deliveries SET state = 'delivered', result = 'good 198.51.100.1',
		finished_at = created_at + interval '1.5 s' WHERE record_id = $1 AND reason = 'update'`, rec.Id); err != nil {
		t.Fatal(err)
	}
	set(host.Id, "198.51.100.2")
	set(other.Id, "192.0.2.1")

	got := history(host.Id, "")
	if len(got.Items) != 2 || got.NextCursor != nil {
		t.Fatalf("history %+v", got)
	}
	newer, older := got.Items[0], got.Items[1]
	if deref(newer.OldIpv4) != "198.51.100.1" || deref(newer.NewIpv4) != "198.51.100.2" || newer.Actor != "user admin" ||
		deref(older.OldIpv4) != "203.0.113.7" || deref(older.NewIpv4) != "198.51.100.1" || newer.NewIpv6 != nil {
		t.Errorf("changes %+v, %+v", newer, older)
	}
	if len(older.Deliveries) != 1 || len(newer.Deliveries) != 1 {
		t.Fatalf("deliveries %+v / %+v", older.Deliveries, newer.Deliveries)
	}
	d := older.Deliveries[0]
	if d.RecordFqdn != "www.example.net" || d.ServiceName != "he" || d.ServiceId != svc.Id || d.Address != "198.51.100.1" ||
		d.State != rest.ChangeDeliveryStateDelivered || d.DurationMs == nil || *d.DurationMs != 1500 || d.Result != "good 198.51.100.1" {
		t.Errorf("delivered %+v (duration %v)", d, d.DurationMs)
	}
	if d := newer.Deliveries[0]; d.Address != "198.51.100.2" || d.State != rest.ChangeDeliveryStatePending || d.DurationMs != nil {
		t.Errorf("pending %+v", d)
	}

	first := history(host.Id, "?limit=1")
	if len(first.Items) != 1 || first.Items[0].EventId != newer.EventId || first.NextCursor == nil {
		t.Fatalf("first page %+v", first)
	}
	if rest := history(host.Id, "?limit=1&cursor="+*first.NextCursor); len(rest.Items) != 1 || rest.Items[0].EventId != older.EventId {
		t.Fatalf("second page %+v", rest)
	}
	if o := history(other.Id, ""); len(o.Items) != 1 || len(o.Items[0].Deliveries) != 0 {
		t.Errorf("other host %+v", o)
	}
	h.do(request{method: "GET", path: "/hosts/987654/history", token: tok}).expect(t, http.StatusNotFound)
}
