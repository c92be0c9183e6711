package rest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// A script on one machine holds a token limited to its host: it reads its
// host's status and records, sets the address by hand and rotates the
// secret; every other host, record, service or account is 404, and it
// cannot create anything outside its host.
func TestHostScopedToken(t *testing.T) {
	h := newHarness(t)
	adm, _ := h.login(adminName, adminPassword)
	svc := create[rest.Service](h, adm, "/services", map[string]any{"name": "svc", "protocol": "dyndns2", "url": "http://127.0.0.1:9/nic/update"})
	mine := create[rest.HostCreated](h, adm, "/hosts", map[string]any{"fqdn": "mine.example.net"})
	other := create[rest.HostCreated](h, adm, "/hosts", map[string]any{"fqdn": "other.example.net"})
	myRec := create[rest.Record](h, adm, "/records", map[string]any{"host_id": mine.Id, "service_id": svc.Id, "fqdn": "www.mine.example.net"})
	otherRec := create[rest.Record](h, adm, "/records", map[string]any{"host_id": other.Id, "service_id": svc.Id, "fqdn": "www.other.example.net"})
	var tok rest.ApiTokenCreated
	h.do(request{method: "POST", path: "/tokens", token: adm,
		body: map[string]any{"name": "mine", "scope": "write", "host_ids": []int64{mine.Id}}}).expect(t, http.StatusCreated).decode(t, &tok)
	script := tok.Token

	status := func(method, path string, body any) int {
		return h.do(request{method: method, path: path, token: script, body: body}).status
	}
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", fmt.Sprintf("/hosts/%d", mine.Id), nil, 200},
		{"PUT", fmt.Sprintf("/hosts/%d/addresses", mine.Id), map[string]any{"ipv4": "198.51.100.9"}, 200},
		{"POST", fmt.Sprintf("/hosts/%d/secret", mine.Id), map[string]any{}, 200},
		{"GET", fmt.Sprintf("/records/%d", myRec.Id), nil, 200},
		{"GET", fmt.Sprintf("/records/%d/deliveries", myRec.Id), nil, 200},
		{"GET", fmt.Sprintf("/hosts/%d", other.Id), nil, 404},
		{"PUT", fmt.Sprintf("/hosts/%d/addresses", other.Id), map[string]any{"ipv4": "198.51.100.10"}, 404},
		{"POST", fmt.Sprintf("/hosts/%d/secret", other.Id), map[string]any{}, 404},
		{"DELETE", fmt.Sprintf("/hosts/%d", other.Id), nil, 404},
		{"GET", fmt.Sprintf("/records/%d", otherRec.Id), nil, 404},
		{"PATCH", fmt.Sprintf("/records/%d", otherRec.Id), map[string]any{"username": "x"}, 404},
		{"GET", fmt.Sprintf("/services/%d", svc.Id), nil, 404},
		{"GET", fmt.Sprintf("/tokens/%d", tok.Id), nil, 404},
		{"POST", "/hosts", map[string]any{"fqdn": "new.example.net"}, 403},
		{"POST", "/webhooks", map[string]any{"name": "w", "url": "http://127.0.0.1:9/"}, 403},
		{"POST", "/tokens", map[string]any{"name": "child", "scope": "write"}, 403},
	} {
		if got := status(c.method, c.path, c.body); got != c.want {
			t.Errorf("%s %s with the host token: %d, want %d", c.method, c.path, got, c.want)
		}
	}
	// The other host kept its address; the token's host got its own.
	if o := get[rest.Host](h, adm, fmt.Sprintf("/hosts/%d", other.Id)); o.Ipv4 != nil {
		t.Errorf("the other host's address changed to %v", *o.Ipv4)
	}
	if m := get[rest.Host](h, script, fmt.Sprintf("/hosts/%d", mine.Id)); m.Ipv4 == nil || *m.Ipv4 != "198.51.100.9" {
		t.Errorf("the token's host has address %v, want 198.51.100.9", m.Ipv4)
	}
	var st struct {
		Hosts struct {
			Total int `json:"total"`
		} `json:"hosts"`
	}
	h.do(request{method: "GET", path: "/status", token: script}).expect(t, 200).decode(t, &st)
	if st.Hosts.Total != 1 {
		t.Errorf("/status with the host token counts %d hosts, want 1", st.Hosts.Total)
	}
	// A token cannot be limited to a host its user does not have.
	h.do(request{method: "POST", path: "/tokens", token: adm,
		body: map[string]any{"name": "bad", "scope": "read", "host_ids": []int64{other.Id + 1000}}}).expect(t, 422)
}

// The history says who changed what: the account, the API token and the
// source address of the request, also on the events the broker writes in
// the request's transaction; each is a filter of GET /events.
func TestAuditTrail(t *testing.T) {
	h := newHarness(t, behindProxy)
	adm, _ := h.login(adminName, adminPassword)
	u := create[rest.User](h, adm, "/users", map[string]any{"username": "carol", "password": "carol-Passw0rd-long"})
	if u.Role != rest.RoleUser {
		t.Fatalf("a new account is %q, want user", u.Role)
	}
	carol, _ := h.login("carol", "carol-Passw0rd-long")
	script, tokID := h.apiToken(carol, "script", "write")

	var host rest.HostCreated
	h.do(request{method: "POST", path: "/hosts", token: carol, header: map[string]string{"X-Forwarded-For": "192.0.2.44"},
		body: map[string]any{"fqdn": "carol.example.net"}}).expect(t, 201).decode(t, &host)
	h.do(request{method: "PUT", path: fmt.Sprintf("/hosts/%d/addresses", host.Id), token: script,
		header: map[string]string{"X-Forwarded-For": "2001:db8::77"}, body: map[string]any{"ipv4": "198.51.100.5"}}).expect(t, 200)

	events := func(query string) []rest.Event {
		var l rest.EventList
		h.do(request{method: "GET", path: "/events?limit=200" + query, token: adm}).expect(t, 200).decode(t, &l)
		return l.Items
	}
	byKind := func(evs []rest.Event, kind rest.EventKind) *rest.Event {
		for i := range evs {
			if evs[i].Kind == kind {
				return &evs[i]
			}
		}
		return nil
	}
	created := byKind(events(""), "host.created")
	if created == nil || created.ActorUserId == nil || *created.ActorUserId != u.Id || created.ActorTokenId != nil ||
		created.Source == nil || *created.Source != "192.0.2.44" {
		t.Fatalf("host.created carries %+v, want carol's id %d, no token, source 192.0.2.44", created, u.Id)
	}
	// The address change is written by the broker, inside the request.
	viaToken := events(fmt.Sprintf("&actor_token_id=%d", tokID))
	changed := byKind(viaToken, "address.set_by_hand")
	if changed == nil || changed.ActorUserId == nil || *changed.ActorUserId != u.Id || changed.Source == nil || *changed.Source != "2001:db8::77" {
		t.Fatalf("the events of token %d are %+v; want address.set_by_hand by carol from 2001:db8::77", tokID, viaToken)
	}
	for _, e := range viaToken {
		if e.ActorTokenId == nil || *e.ActorTokenId != tokID {
			t.Errorf("actor_token_id=%d lists event %+v", tokID, e)
		}
	}
	if evs := events("&source=192.0.2.44"); len(evs) == 0 || byKind(evs, "address.changed") != nil {
		t.Errorf("source=192.0.2.44 lists %+v", evs)
	}
	for _, e := range events(fmt.Sprintf("&actor_user_id=%d", u.Id)) {
		if e.ActorUserId == nil || *e.ActorUserId != u.Id {
			t.Errorf("actor_user_id=%d lists %+v", u.Id, e)
		}
	}
	if p := h.do(request{method: "GET", path: "/events?source=nonsense", token: adm}).expect(t, 422).problem(t); p.Errors == nil {
		t.Errorf("a bad source is refused without naming the field: %+v", p)
	}
}

// An admin limits what a user may own; the limits hold at creation and
// when an admin gives a host away. The last admin keeps their role.
func TestAccountLimitsAndRoles(t *testing.T) {
	h := newHarness(t)
	adm, _ := h.login(adminName, adminPassword)
	u := create[rest.User](h, adm, "/users", map[string]any{"username": "dave", "password": "dave-Passw0rd-long", "role": "user",
		"limits": map[string]any{"max_hosts": 1, "max_records": 1}})
	if u.Limits.MaxHosts == nil || *u.Limits.MaxHosts != 1 {
		t.Fatalf("limits %+v", u.Limits)
	}
	dave, _ := h.login("dave", "dave-Passw0rd-long")
	svc := create[rest.Service](h, dave, "/services", map[string]any{"name": "svc", "protocol": "dyndns2", "url": "http://127.0.0.1:9/"})
	h1 := create[rest.HostCreated](h, dave, "/hosts", map[string]any{"fqdn": "d1.example.net"})
	h.do(request{method: "POST", path: "/hosts", token: dave, body: map[string]any{"fqdn": "d2.example.net"}}).expect(t, 409)
	create[rest.Record](h, dave, "/records", map[string]any{"host_id": h1.Id, "service_id": svc.Id, "fqdn": "a.d1.example.net"})
	h.do(request{method: "POST", path: "/records", token: dave,
		body: map[string]any{"host_id": h1.Id, "service_id": svc.Id, "fqdn": "b.d1.example.net"}}).expect(t, 409)
	// An admin's host given to dave passes his limit too.
	ah := create[rest.HostCreated](h, adm, "/hosts", map[string]any{"fqdn": "a.example.net"})
	h.do(request{method: "PATCH", path: fmt.Sprintf("/hosts/%d", ah.Id), token: adm, body: map[string]any{"owner_id": u.Id}}).expect(t, 409)
	h.do(request{method: "POST", path: "/hosts", token: adm, body: map[string]any{"fqdn": "b.example.net", "owner_id": u.Id}}).expect(t, 409)
	// Removing the limit (null) lets him have more.
	h.do(request{method: "PATCH", path: fmt.Sprintf("/users/%d", u.Id), token: adm,
		body: map[string]any{"limits": map[string]any{"max_hosts": nil, "max_records": nil}}}).expect(t, 200)
	create[rest.HostCreated](h, dave, "/hosts", map[string]any{"fqdn": "d2.example.net"})

	// Roles: dave made an admin sees the admin's host; the last admin
	// cannot be made a user.
	h.do(request{method: "GET", path: fmt.Sprintf("/hosts/%d", ah.Id), token: dave}).expect(t, 404)
	h.do(request{method: "PATCH", path: fmt.Sprintf("/users/%d", u.Id), token: adm, body: map[string]any{"role": "admin"}}).expect(t, 200)
	h.do(request{method: "GET", path: fmt.Sprintf("/hosts/%d", ah.Id), token: dave}).expect(t, 200)
	me := get[rest.Me](h, adm, "/me")
	h.do(request{method: "PATCH", path: fmt.Sprintf("/users/%d", u.Id), token: adm, body: map[string]any{"role": "user"}}).expect(t, 200)
	h.do(request{method: "PATCH", path: fmt.Sprintf("/users/%d", me.Id), token: adm, body: map[string]any{"role": "user"}}).expect(t, 409)
	if got := get[rest.User](h, adm, fmt.Sprintf("/users/%d", me.Id)); got.Role != rest.RoleAdmin {
		t.Errorf("the last admin became %q", got.Role)
	}
}
