package rest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// TestChangesQueueDeliveries: configuration changes, manual addresses and
// resyncs go through the broker in the same transaction, queueing what the
// upstream needs: a forced send for what it cannot know (name, service,
// credentials), a send on a changed address for the arithmetic.
func TestChangesQueueDeliveries(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	svc := create[rest.Service](h, tok, "/services", map[string]any{"name": "he", "protocol": "dyndns2", "url": "https://x.example/u"})
	svc2 := create[rest.Service](h, tok, "/services", map[string]any{"name": "other", "protocol": "dyndns2", "url": "https://y.example/u"})
	host := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "home.example.net", "ipv4": "203.0.113.7"})
	rec := create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id, "ipv6_enabled": false})

	deliveries := func() []rest.Delivery {
		return get[rest.DeliveryList](h, tok, fmt.Sprintf("/records/%d/deliveries", rec.Id)).Items
	}
	patch := func(path string, body map[string]any) {
		t.Helper()
		h.do(request{method: "PATCH", path: path, token: tok, body: body}).expect(t, http.StatusOK)
	}
	recPath := fmt.Sprintf("/records/%d", rec.Id)
	// step checks that a change queued n new deliveries, the newest as given.
	count := len(deliveries())
	step := func(name string, n int, reason rest.DeliveryReason, family rest.DeliveryFamily, address string) {
		t.Helper()
		d := deliveries()
		if len(d)-count != n {
			t.Fatalf("%s: %d new deliveries, want %d: %+v", name, len(d)-count, n, d)
		}
		count = len(d)
		if n > 0 && (d[0].Reason != reason || d[0].Family != family || d[0].Address != address || d[0].State != rest.DeliveryStatePending) {
			t.Fatalf("%s: newest delivery %+v", name, d[0])
		}
	}
	if count != 1 || deliveries()[0].Reason != rest.Config || deliveries()[0].Address != "203.0.113.7" {
		t.Fatalf("create queued %+v", deliveries())
	}

	patch(recPath, map[string]any{"ipv4_host_identifier": "0.0.0.9"}) // ignored under /32: same address
	step("identifier under /32", 0, "", 0, "")
	patch(recPath, map[string]any{"ipv4_netmask": 24})
	step("netmask", 1, rest.Config, 4, "203.0.113.9")
	patch(recPath, map[string]any{"ipv4_netmask": 24, "username": ""}) // nothing changes
	step("no-op patch", 0, "", 0, "")
	patch(recPath, map[string]any{"username": "u2"})
	step("username", 1, rest.Config, 4, "203.0.113.9")
	patch(recPath, map[string]any{"password": "k"})
	step("password", 1, rest.Config, 4, "203.0.113.9")
	patch(recPath, map[string]any{"fqdn": "www.example.net"})
	step("fqdn", 1, rest.Config, 4, "203.0.113.9")
	patch(recPath, map[string]any{"service_id": svc2.Id, "password": "k"})
	step("service", 1, rest.Config, 4, "203.0.113.9")
	patch(fmt.Sprintf("/services/%d", svc2.Id), map[string]any{"url": "https://z.example/u"})
	step("service URL", 1, rest.Config, 4, "203.0.113.9")
	patch(fmt.Sprintf("/services/%d", svc2.Id), map[string]any{"name": "renamed"})
	step("service name", 0, "", 0, "")

	h.do(request{method: "PUT", path: fmt.Sprintf("/hosts/%d/addresses", host.Id), token: tok,
		body: map[string]any{"ipv4": "198.51.100.1"}}).expect(t, http.StatusOK)
	step("manual address", 1, rest.Update, 4, "198.51.100.9")
	ev := get[rest.EventList](h, tok, "/events?kind=address.set_by_hand")
	if len(ev.Items) != 1 || ev.Items[0].Actor != "user admin" {
		t.Errorf("address events %+v", ev.Items)
	}

	patch(fmt.Sprintf("/hosts/%d", host.Id), map[string]any{"ipv4_enabled": false})
	step("family off", 0, "", 0, "")
	r := get[rest.Record](h, tok, recPath)
	if r.Status.Ipv4.State != rest.SyncStateIdle || r.EffectiveIpv4 != nil || deliveries()[0].State != rest.DeliveryStateCancelled {
		t.Errorf("after turning IPv4 off: %+v, newest delivery %+v", r.Status.Ipv4, deliveries()[0])
	}
	patch(fmt.Sprintf("/hosts/%d", host.Id), map[string]any{"ipv4_enabled": true})
	step("family on", 1, rest.Config, 4, "198.51.100.9")

	h.do(request{method: "POST", path: recPath + "/resync", token: tok}).expect(t, http.StatusOK)
	step("resync", 1, rest.Resync, 4, "198.51.100.9")
	h.do(request{method: "POST", path: fmt.Sprintf("/hosts/%d/resync", host.Id), token: tok}).expect(t, http.StatusOK)
	step("host resync", 1, rest.Resync, 4, "198.51.100.9")

	// Every change left a line naming who made it.
	for _, kind := range []string{"record.created", "record.updated", "record.resync", "host.updated", "host.resync", "service.updated"} {
		ev := get[rest.EventList](h, tok, "/events?kind="+kind)
		if len(ev.Items) == 0 || ev.Items[0].Actor != "user admin" {
			t.Errorf("%s events %+v", kind, ev.Items)
		}
	}
}
