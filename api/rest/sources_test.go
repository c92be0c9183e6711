package rest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// TestRecordAddressSources: a record's IPv6 identifier given as a MAC, its
// /64 as a subnet id of the delegated prefix, a static address, and the
// derivation that shows each step, in the record and in the preview; what
// cannot be applied is a 422 naming the field and changes nothing.
func TestRecordAddressSources(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	svc := create[rest.Service](h, tok, "/services", map[string]any{"name": "ns1", "protocol": "rfc2136",
		"settings":   map[string]any{"server": "127.0.0.1:53", "zone": "example.net", "key_name": "ddns-key"},
		"credential": "c2VjcmV0LXRzaWcta2V5LWZvci10ZXN0cw=="})
	host := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "home.example.net"})
	req, _ := http.NewRequest("GET", h.url+"/nic/update?myip=203.0.113.7&ip6lanprefix=2001:db8:aa00::/56", nil)
	req.SetBasicAuth("home.example.net", host.Secret)
	if res, err := h.client.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("router update: %v %v", res, err)
	}

	// MAC + subnet id: prefix 2001:db8:aa00::/56, subnet 1, EUI-64 of
	// 00:11:22:33:44:55 (::211:22ff:fe33:4455).
	rec := create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id, "fqdn": "nas.example.net",
		"ipv6_host_mac": "00-11-22-33-44-55", "ipv6_subnet_id": "1"})
	if rec.Ipv6HostIdentifier != "::211:22ff:fe33:4455" || deref(rec.Ipv6HostMac) != "00:11:22:33:44:55" ||
		deref(rec.Ipv6SubnetId) != "0x1" || rec.Ipv6Netmask != 64 {
		t.Errorf("record %+v", rec)
	}
	if got := deref(rec.EffectiveIpv6); got != "2001:db8:aa00:1:211:22ff:fe33:4455" {
		t.Errorf("effective IPv6 %s", got)
	}
	d6 := rec.Derivation.Ipv6
	if d6.Mode != rest.Derived || deref(d6.Base) != "2001:db8:aa00::/56" || d6.BaseSource != "ip6lanprefix" ||
		deref(d6.SubnetId) != "0x1" || deref(d6.Subnet) != "2001:db8:aa00:1::/64" || d6.HostIdentifier != "::211:22ff:fe33:4455" ||
		deref(d6.HostMac) != "00:11:22:33:44:55" || d6.Netmask != 64 || deref(d6.Result) != "2001:db8:aa00:1:211:22ff:fe33:4455" || d6.Reason != "" {
		t.Errorf("IPv6 derivation %+v", d6)
	}
	d4 := rec.Derivation.Ipv4
	if deref(d4.Base) != "203.0.113.7/32" || d4.BaseSource != "myip" || deref(d4.Result) != "203.0.113.7" {
		t.Errorf("IPv4 derivation %+v", d4)
	}
	if st := get[rest.Record](h, tok, fmt.Sprintf("/records/%d", rec.Id)); deref(st.Derivation.Ipv6.Result) != deref(d6.Result) {
		t.Errorf("GET derivation %+v", st.Derivation.Ipv6)
	}

	// Refusals name the field; nothing is stored.
	for _, tc := range []struct {
		body  map[string]any
		field string
		text  string
	}{
		{map[string]any{"ipv6_subnet_id": "0x100"}, "ipv6_subnet_id", "does not fit in the 8 bits between /56 and /64"},
		{map[string]any{"ipv6_subnet_id": "zz"}, "ipv6_subnet_id", "is not a subnet id"},
		{map[string]any{"ipv6_subnet_id": "1", "ipv6_netmask": 56}, "ipv6_netmask", "must be 64 with a subnet id"},
		{map[string]any{"ipv6_host_mac": "00:11:22:33:44"}, "ipv6_host_mac", "is not a MAC address"},
		{map[string]any{"ipv6_host_mac": "00:11:22:33:44:55", "ipv6_host_identifier": "::1"}, "ipv6_host_mac", "not both"},
		{map[string]any{"ipv4_mode": "static"}, "ipv4_static_address", "is required with ipv4_mode static"},
		{map[string]any{"ipv4_static_address": "192.0.2.1"}, "ipv4_static_address", "only taken with ipv4_mode static"},
		{map[string]any{"ipv6_mode": "static", "ipv6_static_address": "192.0.2.1"}, "ipv6_static_address", "not an IPv6 address"},
	} {
		body := map[string]any{"host_id": host.Id, "service_id": svc.Id, "fqdn": "bad.example.net"}
		for k, v := range tc.body {
			body[k] = v
		}
		p := h.do(request{method: "POST", path: "/records", token: tok, body: body}).expect(t, http.StatusUnprocessableEntity).problem(t)
		if !hasFieldError(p, tc.field, tc.text) {
			t.Errorf("%v: problem %+v, want %s: %q", tc.body, p.Errors, tc.field, tc.text)
		}
		delete(body, "fqdn")
		delete(body, "service_id")
		p = h.do(request{method: "POST", path: "/records/preview", token: tok, body: body}).expect(t, http.StatusUnprocessableEntity).problem(t)
		if !hasFieldError(p, tc.field, tc.text) {
			t.Errorf("preview %v: problem %+v, want %s: %q", tc.body, p.Errors, tc.field, tc.text)
		}
	}
	if n := len(get[rest.RecordList](h, tok, "/records?q=bad").Items); n != 0 {
		t.Errorf("%d refused records stored", n)
	}

	// A patch: a plain identifier drops the MAC, the subnet id stays.
	recPath := fmt.Sprintf("/records/%d", rec.Id)
	var after rest.Record
	h.do(request{method: "PATCH", path: recPath, token: tok, body: map[string]any{"ipv6_host_identifier": "::5"}}).expect(t, http.StatusOK).decode(t, &after)
	if after.Ipv6HostMac != nil || deref(after.EffectiveIpv6) != "2001:db8:aa00:1::5" {
		t.Errorf("after a plain identifier: %+v", after)
	}
	h.do(request{method: "PATCH", path: recPath, token: tok, body: map[string]any{"ipv6_subnet_id": "0x1ff"}}).expect(t, http.StatusUnprocessableEntity)
	// "" removes a MAC (the identifier stays) and a subnet id.
	h.do(request{method: "PATCH", path: recPath, token: tok, body: map[string]any{"ipv6_host_mac": "00:11:22:33:44:55"}}).expect(t, http.StatusOK)
	h.do(request{method: "PATCH", path: recPath, token: tok, body: map[string]any{"ipv6_host_mac": "", "ipv6_subnet_id": "", "ipv6_netmask": 128}}).
		expect(t, http.StatusOK).decode(t, &after)
	if after.Ipv6HostMac != nil || after.Ipv6HostIdentifier != "::211:22ff:fe33:4455" || after.Ipv6SubnetId != nil || after.Ipv6Netmask != 128 {
		t.Errorf("after removing the MAC and the subnet id: %+v", after)
	}
	h.do(request{method: "PATCH", path: recPath, token: tok, body: map[string]any{"ipv6_host_identifier": "::5", "ipv6_subnet_id": "0x1", "ipv6_netmask": 64}}).
		expect(t, http.StatusOK)

	// Static: the fixed address, whatever the host reports; derived again
	// drops it.
	h.do(request{method: "PATCH", path: recPath, token: tok, body: map[string]any{"ipv4_mode": "static", "ipv4_static_address": "198.51.100.80"}}).
		expect(t, http.StatusOK).decode(t, &after)
	if after.Ipv4Mode != rest.Static || deref(after.Ipv4StaticAddress) != "198.51.100.80" || deref(after.EffectiveIpv4) != "198.51.100.80" ||
		after.Derivation.Ipv4.Mode != rest.Static || after.Derivation.Ipv4.Base != nil {
		t.Errorf("static: %+v", after)
	}
	if d := get[rest.DeliveryList](h, tok, recPath+"/deliveries").Items; len(d) == 0 || d[0].Address != "198.51.100.80" {
		t.Errorf("static address not queued: %+v", d)
	}
	h.do(request{method: "PATCH", path: recPath, token: tok, body: map[string]any{"ipv4_mode": "derived"}}).expect(t, http.StatusOK).decode(t, &after)
	if after.Ipv4Mode != rest.Derived || after.Ipv4StaticAddress != nil || deref(after.EffectiveIpv4) != "203.0.113.7" {
		t.Errorf("derived again: %+v", after)
	}

	// The preview computes the same derivation for an unsaved record.
	var pv rest.RecordPreview
	h.do(request{method: "POST", path: "/records/preview", token: tok, body: map[string]any{"host_id": host.Id,
		"ipv6_host_mac": "0011.2233.4455", "ipv6_subnet_id": "0x2"}}).expect(t, http.StatusOK).decode(t, &pv)
	if deref(pv.EffectiveIpv6) != "2001:db8:aa00:2:211:22ff:fe33:4455" || deref(pv.Derivation.Ipv6.Subnet) != "2001:db8:aa00:2::/64" ||
		deref(pv.Derivation.Ipv6.HostMac) != "00:11:22:33:44:55" {
		t.Errorf("preview %+v", pv)
	}
}

// TestSharedNames: records of two hosts may publish one name through a
// service that holds RRsets; a dyndns2 service takes one address per
// name, so the second host's record is refused with 409 saying why.
func TestSharedNames(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	ns := create[rest.Service](h, tok, "/services", map[string]any{"name": "ns1", "protocol": "rfc2136",
		"settings":   map[string]any{"server": "127.0.0.1:53", "zone": "example.net", "key_name": "ddns-key"},
		"credential": "c2VjcmV0LXRzaWcta2V5LWZvci10ZXN0cw=="})
	dd := create[rest.Service](h, tok, "/services", map[string]any{"name": "he", "protocol": "dyndns2", "url": "https://x.example/u"})
	a := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "a.example.net", "ipv4": "203.0.113.1"})
	b := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "b.example.net", "ipv4": "203.0.113.2"})
	rec := func(host, svc int64, status int) response {
		return h.do(request{method: "POST", path: "/records", token: tok, body: map[string]any{"host_id": host, "service_id": svc,
			"fqdn": "www.example.net", "ipv6_enabled": false}}).expect(t, status)
	}
	var shared rest.Record
	rec(a.Id, ns.Id, http.StatusCreated).decode(t, &shared)
	rec(b.Id, ns.Id, http.StatusCreated)
	rec(a.Id, ns.Id, http.StatusConflict) // the same host twice stays refused
	rec(a.Id, dd.Id, http.StatusCreated)
	p := rec(b.Id, dd.Id, http.StatusConflict).problem(t)
	if p.Detail == nil || !strings.Contains(*p.Detail, "sets one address per name") || !strings.Contains(*p.Detail, "a.example.net") {
		t.Errorf("409 %+v", p)
	}
	// Moving a record onto the name is refused the same way.
	other := create[rest.Record](h, tok, "/records", map[string]any{"host_id": b.Id, "service_id": dd.Id, "fqdn": "b.example.net"})
	h.do(request{method: "PATCH", path: fmt.Sprintf("/records/%d", other.Id), token: tok,
		body: map[string]any{"fqdn": "www.example.net"}}).expect(t, http.StatusConflict)
	// Deleting one site's record re-sends the other's, so that the name
	// loses the deleted one's address.
	sharers := get[rest.RecordList](h, tok, fmt.Sprintf("/records?service_id=%d", ns.Id)).Items
	if len(sharers) != 2 {
		t.Fatalf("records at ns1: %+v", sharers)
	}
	var otherSite rest.Record
	for _, r := range sharers {
		if r.Id != shared.Id {
			otherSite = r
		}
	}
	before := len(get[rest.DeliveryList](h, tok, fmt.Sprintf("/records/%d/deliveries", otherSite.Id)).Items)
	h.do(request{method: "DELETE", path: fmt.Sprintf("/records/%d", shared.Id), token: tok}).expect(t, http.StatusNoContent)
	if d := get[rest.DeliveryList](h, tok, fmt.Sprintf("/records/%d/deliveries", otherSite.Id)).Items; len(d) != before+1 || d[0].Address != "203.0.113.2" {
		t.Errorf("after deleting the other site's record: %d deliveries (had %d): %+v", len(d), before, d)
	}
	protos := get[rest.ProtocolList](h, tok, "/protocols")
	for _, p := range protos.Items {
		if want := p.Protocol != rest.Dyndns2 && p.Protocol != rest.Http; p.Rrsets != want {
			t.Errorf("protocol %s: rrsets %v", p.Protocol, p.Rrsets)
		}
	}
}

// TestPrivateIPv4: a router behind NAT reports a private address: it is
// stored and answered, its records send nothing for IPv4, the host and its
// records say why and an address.private event warns; with the host's
// option on, the address is published.
func TestPrivateIPv4(t *testing.T) {
	h := newHarness(t)
	tok, _ := h.login(adminName, adminPassword)
	svc := create[rest.Service](h, tok, "/services", map[string]any{"name": "he", "protocol": "dyndns2", "url": "https://x.example/u"})
	host := create[rest.HostCreated](h, tok, "/hosts", map[string]any{"fqdn": "home.example.net"})
	rec := create[rest.Record](h, tok, "/records", map[string]any{"host_id": host.Id, "service_id": svc.Id, "ipv6_enabled": false})
	recPath := fmt.Sprintf("/records/%d", rec.Id)
	update := func(ip, want string) {
		t.Helper()
		req, _ := http.NewRequest("GET", h.url+"/nic/update?myip="+ip, nil)
		req.SetBasicAuth("home.example.net", host.Secret)
		res, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 64)
		n, _ := res.Body.Read(body)
		res.Body.Close()
		if got := string(body[:n]); got != want {
			t.Fatalf("update %s: %q, want %q", ip, got, want)
		}
	}
	update("100.64.3.4", "good 100.64.3.4\n")
	if d := get[rest.DeliveryList](h, tok, recPath+"/deliveries").Items; len(d) != 0 {
		t.Errorf("a CGNAT address was queued: %+v", d)
	}
	got := get[rest.Host](h, tok, fmt.Sprintf("/hosts/%d", host.Id))
	if deref(got.Ipv4) != "100.64.3.4" || len(got.Warnings) != 1 || got.Warnings[0].Code != rest.Ipv4Private ||
		!strings.Contains(got.Warnings[0].Message, "behind NAT") {
		t.Errorf("host %+v", got)
	}
	r := get[rest.Record](h, tok, recPath)
	if r.EffectiveIpv4 != nil || !strings.Contains(r.Derivation.Ipv4.Reason, "private or CGNAT") || !hasWarning(r, rest.Ipv4Private) {
		t.Errorf("record %+v", r)
	}
	if ev := get[rest.EventList](h, tok, "/events?kind=address.private").Items; len(ev) != 1 || !strings.Contains(ev[0].Message, "100.64.3.4") {
		t.Errorf("address.private events %+v", ev)
	}
	// RFC 1918 alike; a public address goes out at once.
	update("192.168.1.20", "good 192.168.1.20\n")
	if d := get[rest.DeliveryList](h, tok, recPath+"/deliveries").Items; len(d) != 0 {
		t.Errorf("an RFC 1918 address was queued: %+v", d)
	}
	// The option publishes it (internal DNS).
	h.do(request{method: "PATCH", path: fmt.Sprintf("/hosts/%d", host.Id), token: tok, body: map[string]any{"ipv4_private_allowed": true}}).
		expect(t, http.StatusOK)
	if d := get[rest.DeliveryList](h, tok, recPath+"/deliveries").Items; len(d) != 1 || d[0].Address != "192.168.1.20" {
		t.Errorf("with the option on: %+v", d)
	}
	if got := get[rest.Host](h, tok, fmt.Sprintf("/hosts/%d", host.Id)); !got.Ipv4PrivateAllowed || len(got.Warnings) != 0 {
		t.Errorf("host with the option %+v", got)
	}
	update("10.0.0.9", "good 10.0.0.9\n")
	if d := get[rest.DeliveryList](h, tok, recPath+"/deliveries").Items; len(d) != 2 || d[0].Address != "10.0.0.9" {
		t.Errorf("a private update with the option on: %+v", d)
	}
	if ev := get[rest.EventList](h, tok, "/events?kind=address.private").Items; len(ev) != 2 {
		t.Errorf("address.private events with the option on: %d, want still 2", len(ev))
	}
}

func hasFieldError(p rest.Problem, field, text string) bool {
	if p.Errors == nil {
		return false
	}
	for _, e := range *p.Errors {
		if e.Field == field && strings.Contains(e.Message, text) {
			return true
		}
	}
	return false
}
