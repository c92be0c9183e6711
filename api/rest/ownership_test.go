package rest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/rest"
)

// The callers of the ownership tests: an admin, two users, and a
// write-scope API token of alice's limited to her first host.
const (
	asAdmin     = "admin"
	asAlice     = "alice"
	asBob       = "bob"
	asHostToken = "alice's host token"
)

// world is what the ownership tests run against: each user's objects,
// made through the API, and a shared service of the admin's.
type world struct {
	h      *harness
	tokens map[string]string // caller → bearer token
	ids    map[string]int64  // user id by name
	// Alice's and Bob's objects; hostA2 is a host of Alice's that her
	// host token does not reach.
	hostA, hostA2, hostB, hostAdmin int64
	recA, recA2, recB               int64
	svcA, svcB, svcShared           int64
	hookA, hookB                    int64
	chanA, chanB                    int64 // Shoutrrr channels
	tokA, tokB                      int64
	receiver                        string
	chans                           map[string]int64
}

// channelURL is a Shoutrrr destination on the test receiver.
func (w *world) channelURL(path string) string {
	return "generic://" + strings.TrimPrefix(w.receiver, "http://") + "/" + path + "?disabletls=yes"
}

func newWorld(t *testing.T) *world {
	h := newHarness(t)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(rcv.Close)
	w := &world{h: h, tokens: map[string]string{}, ids: map[string]int64{}, receiver: rcv.URL, chans: map[string]int64{}}
	adm, _ := h.login(adminName, adminPassword)
	w.tokens[asAdmin] = adm
	for _, name := range []string{asAlice, asBob} {
		u := create[rest.User](h, adm, "/users", map[string]any{"username": name, "password": name + "-Passw0rd-long", "role": "user"})
		if u.Role != rest.RoleUser {
			t.Fatalf("%s created with role %q", name, u.Role)
		}
		w.ids[name] = u.Id
		w.tokens[name], _ = h.login(name, name+"-Passw0rd-long")
	}
	objects := func(who string) (host, host2, rec, rec2, svc, hook, tok int64) {
		tk := w.tokens[who]
		svc = create[rest.Service](h, tk, "/services", map[string]any{"name": who + "-svc", "protocol": "dyndns2",
			"url": "http://127.0.0.1:9/nic/update"}).Id
		host = create[rest.HostCreated](h, tk, "/hosts", map[string]any{"fqdn": who + ".example.net"}).Id
		host2 = create[rest.HostCreated](h, tk, "/hosts", map[string]any{"fqdn": who + "-2.example.net"}).Id
		rec = create[rest.Record](h, tk, "/records", map[string]any{"host_id": host, "service_id": svc, "fqdn": "www." + who + ".example.net"}).Id
		rec2 = create[rest.Record](h, tk, "/records", map[string]any{"host_id": host2, "service_id": svc, "fqdn": "www." + who + "-2.example.net"}).Id
		hook = create[rest.Webhook](h, tk, "/webhooks", map[string]any{"name": who + "-hook", "url": rcv.URL + "/" + who}).Id
		w.chans[who] = create[rest.Notifier](h, tk, "/notifiers", map[string]any{"name": who + "-chan", "url": w.channelURL(who)}).Id
		_, tok = h.apiToken(tk, who+"-script", "write")
		return
	}
	var hostB2, recB2 int64
	w.hostA, w.hostA2, w.recA, w.recA2, w.svcA, w.hookA, w.tokA = objects(asAlice)
	w.hostB, hostB2, w.recB, recB2, w.svcB, w.hookB, w.tokB = objects(asBob)
	_, _ = hostB2, recB2
	w.chanA, w.chanB = w.chans[asAlice], w.chans[asBob]
	w.svcShared = create[rest.Service](h, adm, "/services", map[string]any{"name": "shared-svc", "protocol": "dyndns2",
		"url": "http://127.0.0.1:9/nic/update", "shared": true}).Id
	w.hostAdmin = create[rest.HostCreated](h, adm, "/hosts", map[string]any{"fqdn": "admin.example.net"}).Id
	var tok rest.ApiTokenCreated
	h.do(request{method: "POST", path: "/tokens", token: w.tokens[asAlice],
		body: map[string]any{"name": "router-a", "scope": "write", "host_ids": []int64{w.hostA}}}).expect(t, 201).decode(t, &tok)
	if tok.HostIds == nil || !slices.Equal(*tok.HostIds, []int64{w.hostA}) {
		t.Fatalf("host token limited to %v, want [%d]", tok.HostIds, w.hostA)
	}
	w.tokens[asHostToken] = tok.Token
	return w
}

// call sends a request as who and returns the answer.
func (w *world) call(who, method, path string, body any) response {
	w.h.t.Helper()
	return w.h.do(request{method: method, path: path, token: w.tokens[who], body: body})
}

// want checks each caller's status for one request; a request that
// changes something must leave nothing changed when refused, which the
// rules check by reading the object afterwards.
func (w *world) want(t *testing.T, method, path string, body any, statuses map[string]int) {
	t.Helper()
	for _, who := range []string{asBob, asHostToken, asAlice, asAdmin} { // refusals first
		st, ok := statuses[who]
		if !ok {
			continue
		}
		if r := w.call(who, method, path, body); r.status != st {
			t.Errorf("%s %s as %s: status %d, want %d: %s", method, path, who, r.status, st, r.body)
		}
	}
}

// ids reads every page of a listing as who (one item a page, so cursors
// are walked too) and returns the ids.
func (w *world) ids_(t *testing.T, who, path string) []int64 {
	t.Helper()
	var out []int64
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	cursor := ""
	for range 200 {
		p := path + sep + "limit=1"
		if cursor != "" {
			p += "&cursor=" + cursor
		}
		var page struct {
			Items []struct {
				Id int64 `json:"id"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		w.call(who, "GET", p, nil).expect(t, 200).decode(t, &page)
		for _, it := range page.Items {
			out = append(out, it.Id)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (w *world) listIs(t *testing.T, who, path string, want ...int64) {
	t.Helper()
	got := w.ids_(t, who, path)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("GET %s as %s: ids %v, want %v", path, who, got, want)
	}
}

func (w *world) listHas(t *testing.T, who, path string, want ...int64) {
	t.Helper()
	got := w.ids_(t, who, path)
	for _, id := range want {
		if !slices.Contains(got, id) {
			t.Errorf("GET %s as %s: ids %v lack %d", path, who, got, id)
		}
	}
}

func (w *world) listLacks(t *testing.T, who, path string, not ...int64) {
	t.Helper()
	got := w.ids_(t, who, path)
	for _, id := range not {
		if slices.Contains(got, id) {
			t.Errorf("GET %s as %s: ids %v include %d, which is not theirs", path, who, got, id)
		}
	}
}

// Statuses by caller, for the common cases.
func ownerOnly(ok int) map[string]int {
	return map[string]int{asBob: 404, asHostToken: 404, asAlice: ok, asAdmin: ok}
}

func ownerAndHostToken(ok int) map[string]int {
	return map[string]int{asBob: 404, asHostToken: ok, asAlice: ok, asAdmin: ok}
}

// ownershipRules says, for every operation of openapi.yaml, what an admin,
// the owner (alice), another user (bob) and alice's host-scoped token get.
// An operation missing here fails TestOwnershipEveryOperation: a new
// endpoint must say who may see and change what it serves.
var ownershipRules = map[string]func(t *testing.T, w *world){
	// Sessions and the caller's own account: no owned object.
	"login":            func(t *testing.T, w *world) {},
	"refreshSession":   func(t *testing.T, w *world) {},
	"logout":           func(t *testing.T, w *world) {},
	"changeMyPassword": func(t *testing.T, w *world) {},
	"getMe": func(t *testing.T, w *world) {
		for who, role := range map[string]rest.Role{asAdmin: rest.RoleAdmin, asAlice: rest.RoleUser, asHostToken: rest.RoleUser} {
			me := get[rest.Me](w.h, w.tokens[who], "/me")
			if me.Role != role {
				t.Errorf("/me as %s: role %q, want %q", who, me.Role, role)
			}
		}
		if me := get[rest.Me](w.h, w.tokens[asHostToken], "/me"); me.HostIds == nil || !slices.Equal(*me.HostIds, []int64{w.hostA}) {
			t.Errorf("/me of the host token: host_ids %v, want [%d]", me.HostIds, w.hostA)
		}
	},
	// Catalogues and the broker's own settings: the same for everyone.
	"listPresets": func(t *testing.T, w *world) {
		w.want(t, "GET", "/presets", nil, map[string]int{asBob: 200, asAdmin: 200})
	},
	"listProtocols": func(t *testing.T, w *world) {
		w.want(t, "GET", "/protocols", nil, map[string]int{asBob: 200, asAdmin: 200})
	},
	"getSetup": func(t *testing.T, w *world) {
		w.want(t, "GET", "/setup", nil, map[string]int{asBob: 200, asAdmin: 200})
	},
	// The preview reads the host's addresses: another owner's host does not exist.
	"previewRecord": func(t *testing.T, w *world) {
		w.want(t, "POST", "/records/preview", map[string]any{"host_id": w.hostA, "ipv4_netmask": 32},
			map[string]int{asBob: 422, asAlice: 200, asHostToken: 200, asAdmin: 200})
		w.want(t, "POST", "/records/preview", map[string]any{"host_id": w.hostA2, "ipv4_netmask": 32},
			map[string]int{asHostToken: 422})
	},
	// Testing settings not saved anywhere reaches no stored object; a
	// host-scoped token cannot (it has no service).
	"testNewService": func(t *testing.T, w *world) {},

	// Services: own and shared ones visible; only own ones change.
	"listServices": func(t *testing.T, w *world) {
		w.listIs(t, asAlice, "/services", w.svcA, w.svcShared)
		w.listHas(t, asBob, "/services", w.svcB, w.svcShared)
		w.listLacks(t, asBob, "/services", w.svcA)
		w.listIs(t, asHostToken, "/services")
		w.listHas(t, asAdmin, "/services", w.svcA, w.svcB, w.svcShared)
	},
	"createService": func(t *testing.T, w *world) {
		w.want(t, "POST", "/services", map[string]any{"name": "x", "protocol": "dyndns2", "url": "http://127.0.0.1:9/"},
			map[string]int{asHostToken: 403})
		w.want(t, "POST", "/services", map[string]any{"name": "y", "protocol": "dyndns2", "url": "http://127.0.0.1:9/", "shared": true},
			map[string]int{asBob: 422})
		w.want(t, "POST", "/services", map[string]any{"name": "z", "protocol": "dyndns2", "url": "http://127.0.0.1:9/", "owner_id": w.ids[asAlice]},
			map[string]int{asBob: 422})
		s := create[rest.Service](w.h, w.tokens[asAdmin], "/services", map[string]any{"name": "for-bob", "protocol": "dyndns2",
			"url": "http://127.0.0.1:9/", "owner_id": w.ids[asBob]})
		w.listHas(t, asBob, "/services", s.Id)
		w.listLacks(t, asAlice, "/services", s.Id)
	},
	"getService": func(t *testing.T, w *world) {
		w.want(t, "GET", fmt.Sprintf("/services/%d", w.svcA), nil, ownerOnly(200))
		w.want(t, "GET", fmt.Sprintf("/services/%d", w.svcShared), nil, map[string]int{asBob: 200, asAlice: 200, asHostToken: 404})
		// Bob counts his own records of a shared service, not Alice's.
		r := create[rest.Record](w.h, w.tokens[asAlice], "/records", map[string]any{"host_id": w.hostA, "service_id": w.svcShared, "fqdn": "count.alice.example.net"})
		for who, n := range map[string]int{asBob: 0, asAlice: 1, asAdmin: 1} {
			s := get[rest.Service](w.h, w.tokens[who], fmt.Sprintf("/services/%d", w.svcShared))
			if s.RecordCount != n || s.HostCount != n {
				t.Errorf("the shared service as %s: %d records of %d hosts, want %d", who, s.RecordCount, s.HostCount, n)
			}
			var l rest.ServiceList
			w.call(who, "GET", "/services", nil).expect(t, 200).decode(t, &l)
			for _, s := range l.Items {
				if s.Id == w.svcShared && s.RecordCount != n {
					t.Errorf("the list of services as %s counts %d records of the shared one, want %d", who, s.RecordCount, n)
				}
			}
		}
		w.want(t, "DELETE", fmt.Sprintf("/records/%d", r.Id), nil, map[string]int{asAlice: 204})
	},
	"updateService": func(t *testing.T, w *world) {
		w.want(t, "PATCH", fmt.Sprintf("/services/%d", w.svcA), map[string]any{"name": "taken-over"}, map[string]int{asBob: 404, asHostToken: 404})
		w.want(t, "PATCH", fmt.Sprintf("/services/%d", w.svcShared), map[string]any{"name": "taken-over"}, map[string]int{asBob: 403})
		w.want(t, "PATCH", fmt.Sprintf("/services/%d", w.svcA), map[string]any{"shared": true}, map[string]int{asAlice: 422})
		if s := get[rest.Service](w.h, w.tokens[asAdmin], fmt.Sprintf("/services/%d", w.svcA)); s.Name != "alice-svc" || s.Shared {
			t.Errorf("a refused change changed the service: %+v", s)
		}
		w.want(t, "PATCH", fmt.Sprintf("/services/%d", w.svcA), map[string]any{"name": "alice-svc"}, map[string]int{asAlice: 200, asAdmin: 200})
	},
	"deleteService": func(t *testing.T, w *world) {
		s := create[rest.Service](w.h, w.tokens[asAlice], "/services", map[string]any{"name": "alice-spare", "protocol": "dyndns2", "url": "http://127.0.0.1:9/"})
		path := fmt.Sprintf("/services/%d", s.Id)
		w.want(t, "DELETE", path, nil, map[string]int{asBob: 404, asHostToken: 404})
		w.want(t, "DELETE", fmt.Sprintf("/services/%d", w.svcShared), nil, map[string]int{asBob: 403})
		w.want(t, "GET", path, nil, map[string]int{asAlice: 200})
		w.want(t, "DELETE", path, nil, map[string]int{asAlice: 204})
	},
	"testService": func(t *testing.T, w *world) {
		w.want(t, "POST", fmt.Sprintf("/services/%d/test", w.svcA), map[string]any{}, map[string]int{asBob: 404, asHostToken: 404})
		w.want(t, "POST", fmt.Sprintf("/services/%d/test", w.svcShared), map[string]any{}, map[string]int{asBob: 403})
		w.want(t, "POST", fmt.Sprintf("/services/%d/test", w.svcA), map[string]any{"record_id": w.recB}, map[string]int{asAlice: 422})
	},

	// Hosts.
	"listHosts": func(t *testing.T, w *world) {
		w.listIs(t, asAlice, "/hosts", w.hostA, w.hostA2)
		w.listIs(t, asHostToken, "/hosts", w.hostA)
		w.listLacks(t, asBob, "/hosts", w.hostA, w.hostA2, w.hostAdmin)
		w.listHas(t, asAdmin, "/hosts", w.hostA, w.hostA2, w.hostB, w.hostAdmin)
		w.listIs(t, asAdmin, fmt.Sprintf("/hosts?owner_id=%d", w.ids[asAlice]), w.hostA, w.hostA2)
		w.listIs(t, asBob, fmt.Sprintf("/hosts?owner_id=%d", w.ids[asAlice]))
		w.listIs(t, asAlice, "/hosts?q=bob")
	},
	"createHost": func(t *testing.T, w *world) {
		w.want(t, "POST", "/hosts", map[string]any{"fqdn": "scripted.example.net"}, map[string]int{asHostToken: 403})
		w.want(t, "POST", "/hosts", map[string]any{"fqdn": "given.example.net", "owner_id": w.ids[asAlice]}, map[string]int{asBob: 422})
		h := create[rest.HostCreated](w.h, w.tokens[asAdmin], "/hosts", map[string]any{"fqdn": "gift.example.net", "owner_id": w.ids[asBob]})
		if h.OwnerId == nil || *h.OwnerId != w.ids[asBob] || h.Owner != asBob {
			t.Errorf("host given to bob: owner %v %q", h.OwnerId, h.Owner)
		}
		w.want(t, "GET", fmt.Sprintf("/hosts/%d", h.Id), nil, map[string]int{asBob: 200, asAlice: 404})
		w.want(t, "DELETE", fmt.Sprintf("/hosts/%d", h.Id), nil, map[string]int{asBob: 204})
	},
	"getHost": func(t *testing.T, w *world) {
		w.want(t, "GET", fmt.Sprintf("/hosts/%d", w.hostA), nil, ownerAndHostToken(200))
		w.want(t, "GET", fmt.Sprintf("/hosts/%d", w.hostA2), nil, ownerOnly(200))
		w.want(t, "GET", fmt.Sprintf("/hosts/%d", w.hostAdmin), nil, map[string]int{asAlice: 404, asAdmin: 200})
	},
	"updateHost": func(t *testing.T, w *world) {
		w.want(t, "PATCH", fmt.Sprintf("/hosts/%d", w.hostA2), map[string]any{"notes": "mine now"}, map[string]int{asBob: 404, asHostToken: 404})
		w.want(t, "PATCH", fmt.Sprintf("/hosts/%d", w.hostA), map[string]any{"owner_id": w.ids[asBob]}, map[string]int{asAlice: 422, asHostToken: 422})
		if h := get[rest.Host](w.h, w.tokens[asAdmin], fmt.Sprintf("/hosts/%d", w.hostA2)); h.Notes != "" {
			t.Errorf("a refused change changed the host: notes %q", h.Notes)
		}
		w.want(t, "PATCH", fmt.Sprintf("/hosts/%d", w.hostA), map[string]any{"notes": "ok"}, ownerAndHostToken(200))
		// An admin reassigns a host, with its records.
		w.want(t, "PATCH", fmt.Sprintf("/hosts/%d", w.hostA2), map[string]any{"owner_id": w.ids[asBob]}, map[string]int{asAdmin: 200})
		w.want(t, "GET", fmt.Sprintf("/records/%d", w.recA2), nil, map[string]int{asAlice: 404, asBob: 200})
		w.want(t, "PATCH", fmt.Sprintf("/hosts/%d", w.hostA2), map[string]any{"owner_id": w.ids[asAlice]}, map[string]int{asAdmin: 200})
		w.want(t, "GET", fmt.Sprintf("/records/%d", w.recA2), nil, map[string]int{asAlice: 200, asBob: 404})
	},
	"deleteHost": func(t *testing.T, w *world) {
		h := create[rest.HostCreated](w.h, w.tokens[asAlice], "/hosts", map[string]any{"fqdn": "spare.example.net"})
		path := fmt.Sprintf("/hosts/%d", h.Id)
		w.want(t, "DELETE", path, nil, map[string]int{asBob: 404, asHostToken: 404})
		w.want(t, "DELETE", path, nil, map[string]int{asAlice: 204})
	},
	"rotateHostSecret": func(t *testing.T, w *world) {
		w.want(t, "POST", fmt.Sprintf("/hosts/%d/secret", w.hostA2), map[string]any{}, ownerOnly(200))
		w.want(t, "POST", fmt.Sprintf("/hosts/%d/secret", w.hostA), map[string]any{}, ownerAndHostToken(200))
	},
	"setHostAddresses": func(t *testing.T, w *world) {
		w.want(t, "PUT", fmt.Sprintf("/hosts/%d/addresses", w.hostA2), map[string]any{"ipv4": "198.51.100.2"}, ownerOnly(200))
		w.want(t, "PUT", fmt.Sprintf("/hosts/%d/addresses", w.hostA), map[string]any{"ipv4": "198.51.100.1"}, ownerAndHostToken(200))
	},
	"getHostSetup": func(t *testing.T, w *world) {
		w.want(t, "GET", fmt.Sprintf("/hosts/%d/setup", w.hostA2), nil, ownerOnly(200))
		w.want(t, "GET", fmt.Sprintf("/hosts/%d/setup", w.hostA), nil, ownerAndHostToken(200))
	},
	"resyncHost": func(t *testing.T, w *world) {
		w.want(t, "POST", fmt.Sprintf("/hosts/%d/resync", w.hostA2), nil, ownerOnly(200))
		w.want(t, "POST", fmt.Sprintf("/hosts/%d/resync", w.hostA), nil, ownerAndHostToken(200))
	},

	// Records: their host's owner's.
	"listRecords": func(t *testing.T, w *world) {
		w.listIs(t, asAlice, "/records", w.recA, w.recA2)
		w.listIs(t, asHostToken, "/records", w.recA)
		w.listLacks(t, asBob, "/records", w.recA, w.recA2)
		w.listHas(t, asAdmin, "/records", w.recA, w.recA2, w.recB)
		w.listIs(t, asBob, fmt.Sprintf("/records?host_id=%d", w.hostA))
		w.listIs(t, asAlice, fmt.Sprintf("/records?service_id=%d", w.svcB))
		w.listIs(t, asHostToken, fmt.Sprintf("/records?host_id=%d", w.hostA2))
	},
	"createRecord": func(t *testing.T, w *world) {
		// Another owner's host or service does not exist for the caller.
		w.want(t, "POST", "/records", map[string]any{"host_id": w.hostB, "service_id": w.svcA, "fqdn": "x.example.net"}, map[string]int{asAlice: 422})
		w.want(t, "POST", "/records", map[string]any{"host_id": w.hostA, "service_id": w.svcB, "fqdn": "x.example.net"}, map[string]int{asAlice: 422})
		w.want(t, "POST", "/records", map[string]any{"host_id": w.hostA, "service_id": w.svcA, "fqdn": "y.example.net"}, map[string]int{asHostToken: 422})
		// A shared service is usable.
		r := create[rest.Record](w.h, w.tokens[asAlice], "/records", map[string]any{"host_id": w.hostA, "service_id": w.svcShared, "fqdn": "shared.alice.example.net"})
		w.want(t, "DELETE", fmt.Sprintf("/records/%d", r.Id), nil, map[string]int{asAlice: 204})
	},
	"getRecord": func(t *testing.T, w *world) {
		w.want(t, "GET", fmt.Sprintf("/records/%d", w.recA), nil, ownerAndHostToken(200))
		w.want(t, "GET", fmt.Sprintf("/records/%d", w.recA2), nil, ownerOnly(200))
	},
	"updateRecord": func(t *testing.T, w *world) {
		w.want(t, "PATCH", fmt.Sprintf("/records/%d", w.recA2), map[string]any{"username": "stolen"}, map[string]int{asBob: 404, asHostToken: 404})
		w.want(t, "PATCH", fmt.Sprintf("/records/%d", w.recA), map[string]any{"service_id": w.svcB}, map[string]int{asAlice: 422})
		if r := get[rest.Record](w.h, w.tokens[asAdmin], fmt.Sprintf("/records/%d", w.recA2)); r.Username != "" {
			t.Errorf("a refused change changed the record: username %q", r.Username)
		}
		w.want(t, "PATCH", fmt.Sprintf("/records/%d", w.recA), map[string]any{"username": "a"}, ownerAndHostToken(200))
	},
	"deleteRecord": func(t *testing.T, w *world) {
		r := create[rest.Record](w.h, w.tokens[asAlice], "/records", map[string]any{"host_id": w.hostA, "service_id": w.svcA, "fqdn": "spare.alice.example.net"})
		path := fmt.Sprintf("/records/%d", r.Id)
		w.want(t, "DELETE", path, nil, map[string]int{asBob: 404})
		w.want(t, "DELETE", path, nil, map[string]int{asHostToken: 204})
	},
	"resyncRecord": func(t *testing.T, w *world) {
		w.want(t, "POST", fmt.Sprintf("/records/%d/resync", w.recA2), nil, ownerOnly(200))
		w.want(t, "POST", fmt.Sprintf("/records/%d/resync", w.recA), nil, ownerAndHostToken(200))
	},
	"listRecordDeliveries": func(t *testing.T, w *world) {
		w.want(t, "GET", fmt.Sprintf("/records/%d/deliveries", w.recA2), nil, ownerOnly(200))
		w.want(t, "GET", fmt.Sprintf("/records/%d/deliveries", w.recA), nil, ownerAndHostToken(200))
	},

	// The history: events of the caller's own objects only.
	"listEvents": func(t *testing.T, w *world) {
		type ev struct {
			Id       int64  `json:"id"`
			HostId   *int64 `json:"host_id"`
			RecordId *int64 `json:"record_id"`
			OwnerId  *int64 `json:"owner_id"`
		}
		events := func(who, query string) []ev {
			var page struct{ Items []ev }
			w.call(who, "GET", "/events?limit=200"+query, nil).expect(t, 200).decode(t, &page)
			return page.Items
		}
		for _, who := range []string{asAlice, asBob} {
			evs := events(who, "")
			if len(evs) == 0 {
				t.Errorf("%s sees no events of their own", who)
			}
			for _, e := range evs {
				if e.OwnerId == nil || *e.OwnerId != w.ids[who] {
					t.Errorf("%s sees event %+v of another owner", who, e)
				}
			}
		}
		for _, e := range events(asHostToken, "") {
			if (e.HostId == nil || *e.HostId != w.hostA) && (e.RecordId == nil || *e.RecordId != w.recA) {
				t.Errorf("the host token sees event %+v beyond its host", e)
			}
		}
		if evs := events(asBob, fmt.Sprintf("&host_id=%d", w.hostA)); len(evs) != 0 {
			t.Errorf("bob filters alice's host's events and gets %v", evs)
		}
		if evs := events(asAdmin, fmt.Sprintf("&host_id=%d", w.hostA)); len(evs) == 0 {
			t.Errorf("the admin sees no events of alice's host")
		}
	},

	// Accounts: a user sees their own only, and manages none.
	"listUsers": func(t *testing.T, w *world) {
		w.listIs(t, asAlice, "/users", w.ids[asAlice])
		w.listIs(t, asHostToken, "/users")
		w.listHas(t, asAdmin, "/users", w.ids[asAlice], w.ids[asBob])
	},
	"createUser": func(t *testing.T, w *world) {
		w.want(t, "POST", "/users", map[string]any{"username": "mallory", "password": "mallory-Passw0rd", "role": "admin"},
			map[string]int{asAlice: 403})
	},
	"getUser": func(t *testing.T, w *world) {
		w.want(t, "GET", fmt.Sprintf("/users/%d", w.ids[asAlice]), nil, map[string]int{asBob: 404, asHostToken: 404, asAlice: 200, asAdmin: 200})
	},
	"updateUser": func(t *testing.T, w *world) {
		// A user cannot make themselves an admin, nor change another.
		w.want(t, "PATCH", fmt.Sprintf("/users/%d", w.ids[asAlice]), map[string]any{"role": "admin"}, map[string]int{asAlice: 403})
		w.want(t, "PATCH", fmt.Sprintf("/users/%d", w.ids[asAlice]), map[string]any{"role": "admin"}, map[string]int{asBob: 403})
		if u := get[rest.User](w.h, w.tokens[asAdmin], fmt.Sprintf("/users/%d", w.ids[asAlice])); u.Role != rest.RoleUser {
			t.Errorf("a refused change changed the role: %q", u.Role)
		}
	},
	"deleteUser": func(t *testing.T, w *world) {
		w.want(t, "DELETE", fmt.Sprintf("/users/%d", w.ids[asBob]), nil, map[string]int{asAlice: 403})
	},

	// API tokens: a user's own.
	"listTokens": func(t *testing.T, w *world) {
		got := w.ids_(t, asAlice, "/tokens")
		if !slices.Contains(got, w.tokA) || slices.Contains(got, w.tokB) {
			t.Errorf("alice's tokens %v: want %d and not bob's %d", got, w.tokA, w.tokB)
		}
		w.listIs(t, asHostToken, "/tokens")
		w.listHas(t, asAdmin, "/tokens", w.tokA, w.tokB)
	},
	"createToken": func(t *testing.T, w *world) {
		w.want(t, "POST", "/tokens", map[string]any{"name": "steal", "scope": "write", "host_ids": []int64{w.hostB}}, map[string]int{asAlice: 422})
	},
	"getToken": func(t *testing.T, w *world) {
		w.want(t, "GET", fmt.Sprintf("/tokens/%d", w.tokA), nil, map[string]int{asBob: 404, asHostToken: 404, asAlice: 200, asAdmin: 200})
	},
	"deleteToken": func(t *testing.T, w *world) {
		w.want(t, "DELETE", fmt.Sprintf("/tokens/%d", w.tokA), nil, map[string]int{asBob: 404})
		w.want(t, "GET", fmt.Sprintf("/tokens/%d", w.tokA), nil, map[string]int{asAlice: 200})
	},

	// Webhooks.
	"listWebhooks": func(t *testing.T, w *world) {
		w.listIs(t, asAlice, "/webhooks", w.hookA)
		w.listIs(t, asBob, "/webhooks", w.hookB)
		w.listIs(t, asHostToken, "/webhooks")
		w.listHas(t, asAdmin, "/webhooks", w.hookA, w.hookB)
	},
	"createWebhook": func(t *testing.T, w *world) {
		w.want(t, "POST", "/webhooks", map[string]any{"name": "tok-hook", "url": w.receiver + "/t"}, map[string]int{asHostToken: 403})
	},
	"getWebhook": func(t *testing.T, w *world) {
		w.want(t, "GET", fmt.Sprintf("/webhooks/%d", w.hookA), nil, ownerOnly(200))
	},
	"updateWebhook": func(t *testing.T, w *world) {
		w.want(t, "PATCH", fmt.Sprintf("/webhooks/%d", w.hookA), map[string]any{"name": "renamed"}, map[string]int{asBob: 404, asHostToken: 404})
		w.want(t, "PATCH", fmt.Sprintf("/webhooks/%d", w.hookA), map[string]any{"name": "alice-hook"}, map[string]int{asAlice: 200})
	},
	"deleteWebhook": func(t *testing.T, w *world) {
		hk := create[rest.Webhook](w.h, w.tokens[asAlice], "/webhooks", map[string]any{"name": "spare-hook", "url": w.receiver + "/s"})
		w.want(t, "DELETE", fmt.Sprintf("/webhooks/%d", hk.Id), nil, map[string]int{asBob: 404, asHostToken: 404, asAlice: 204})
	},
	"testWebhook": func(t *testing.T, w *world) {
		w.want(t, "POST", fmt.Sprintf("/webhooks/%d/test", w.hookA), nil, ownerOnly(200))
	},

	// Notification channels: the webhooks table, so the same rules.
	"listNotifiers": func(t *testing.T, w *world) {
		w.listIs(t, asAlice, "/notifiers", w.hookA, w.chanA)
		w.listIs(t, asBob, "/notifiers", w.hookB, w.chanB)
		w.listIs(t, asHostToken, "/notifiers")
		w.listHas(t, asAdmin, "/notifiers", w.hookA, w.hookB, w.chanA, w.chanB)
	},
	"createNotifier": func(t *testing.T, w *world) {
		w.want(t, "POST", "/notifiers", map[string]any{"name": "tok-chan", "url": w.channelURL("t")}, map[string]int{asHostToken: 403})
		n := create[rest.Notifier](w.h, w.tokens[asBob], "/notifiers", map[string]any{"name": "bob-spare", "url": w.channelURL("bs")})
		w.listHas(t, asBob, "/notifiers", n.Id)
		w.listLacks(t, asAlice, "/notifiers", n.Id)
		// notify.queue tells a channel of its owner's objects only, unless
		// the owner is an admin: bob's channel must be his, not the admins'.
		hooks, err := w.h.st.EnabledWebhooks(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, hk := range hooks {
			if hk.ID == n.Id && (hk.OwnerAdmin || hk.OwnerID == nil || *hk.OwnerID != w.ids[asBob]) {
				t.Errorf("bob's channel as notify sees it: owner %v, admin's %v; want bob's (%d)", hk.OwnerID, hk.OwnerAdmin, w.ids[asBob])
			}
		}
		w.want(t, "DELETE", fmt.Sprintf("/notifiers/%d", n.Id), nil, map[string]int{asBob: 204})
	},
	"getNotifier": func(t *testing.T, w *world) {
		w.want(t, "GET", fmt.Sprintf("/notifiers/%d", w.chanA), nil, ownerOnly(200))
		w.want(t, "GET", fmt.Sprintf("/notifiers/%d", w.hookA), nil, ownerOnly(200))
	},
	"updateNotifier": func(t *testing.T, w *world) {
		path := fmt.Sprintf("/notifiers/%d", w.chanA)
		w.want(t, "PATCH", path, map[string]any{"name": "taken"}, map[string]int{asBob: 404, asHostToken: 404})
		if n := get[rest.Notifier](w.h, w.tokens[asAdmin], path); n.Name != "alice-chan" {
			t.Errorf("a refused change changed the channel: name %q", n.Name)
		}
		w.want(t, "PATCH", path, map[string]any{"name": "alice-chan"}, map[string]int{asAlice: 200, asAdmin: 200})
	},
	"deleteNotifier": func(t *testing.T, w *world) {
		n := create[rest.Notifier](w.h, w.tokens[asAlice], "/notifiers", map[string]any{"name": "alice-spare", "url": w.channelURL("as")})
		path := fmt.Sprintf("/notifiers/%d", n.Id)
		w.want(t, "DELETE", path, nil, map[string]int{asBob: 404, asHostToken: 404})
		w.want(t, "GET", path, nil, map[string]int{asAlice: 200})
		w.want(t, "DELETE", path, nil, map[string]int{asAlice: 204})
	},
	"testNotifier": func(t *testing.T, w *world) {
		w.want(t, "POST", fmt.Sprintf("/notifiers/%d/test", w.chanA), nil, ownerOnly(200))
	},

	// The broker's heartbeat is a setting of the broker: admins only.
	"getHeartbeat": func(t *testing.T, w *world) {
		w.want(t, "PUT", "/heartbeat", map[string]any{"url": w.receiver + "/beat"}, map[string]int{asAdmin: 200})
		w.want(t, "GET", "/heartbeat", nil, map[string]int{asBob: 403, asHostToken: 403, asAlice: 403, asAdmin: 200})
	},
	"setHeartbeat": func(t *testing.T, w *world) {
		w.want(t, "PUT", "/heartbeat", map[string]any{"url": w.receiver + "/mine"}, map[string]int{asBob: 403, asHostToken: 403, asAlice: 403})
		w.want(t, "PUT", "/heartbeat", map[string]any{"url": w.receiver + "/beat"}, map[string]int{asAdmin: 200})
		if b := get[rest.Heartbeat](w.h, w.tokens[asAdmin], "/heartbeat"); b.Url != w.receiver {
			t.Errorf("the broker's heartbeat: %+v", b)
		}
	},
	"deleteHeartbeat": func(t *testing.T, w *world) {
		w.want(t, "PUT", "/heartbeat", map[string]any{"url": w.receiver + "/beat"}, map[string]int{asAdmin: 200})
		w.want(t, "DELETE", "/heartbeat", nil, map[string]int{asBob: 403, asHostToken: 403, asAlice: 403})
		w.want(t, "GET", "/heartbeat", nil, map[string]int{asAdmin: 200})
		w.want(t, "DELETE", "/heartbeat", nil, map[string]int{asAdmin: 204})
	},
	// A host's heartbeat follows the host.
	"getHostHeartbeat": func(t *testing.T, w *world) {
		for _, id := range []int64{w.hostA, w.hostA2} {
			w.want(t, "PUT", fmt.Sprintf("/hosts/%d/heartbeat", id), map[string]any{"url": w.receiver + "/host"}, map[string]int{asAlice: 200})
		}
		w.want(t, "GET", fmt.Sprintf("/hosts/%d/heartbeat", w.hostA), nil, ownerAndHostToken(200))
		w.want(t, "GET", fmt.Sprintf("/hosts/%d/heartbeat", w.hostA2), nil, ownerOnly(200))
	},
	"setHostHeartbeat": func(t *testing.T, w *world) {
		w.want(t, "PUT", fmt.Sprintf("/hosts/%d/heartbeat", w.hostA2), map[string]any{"url": w.receiver + "/h2"}, ownerOnly(200))
		w.want(t, "PUT", fmt.Sprintf("/hosts/%d/heartbeat", w.hostA), map[string]any{"url": w.receiver + "/h1"}, ownerAndHostToken(200))
		w.want(t, "PUT", fmt.Sprintf("/hosts/%d/heartbeat", w.hostB), map[string]any{"url": w.receiver + "/stolen"}, map[string]int{asAlice: 404})
	},
	"deleteHostHeartbeat": func(t *testing.T, w *world) {
		for _, id := range []int64{w.hostA, w.hostA2} {
			w.want(t, "PUT", fmt.Sprintf("/hosts/%d/heartbeat", id), map[string]any{"url": w.receiver + "/host"}, map[string]int{asAlice: 200})
		}
		w.want(t, "DELETE", fmt.Sprintf("/hosts/%d/heartbeat", w.hostA2), nil, map[string]int{asBob: 404, asHostToken: 404})
		w.want(t, "GET", fmt.Sprintf("/hosts/%d/heartbeat", w.hostA2), nil, map[string]int{asAlice: 200})
		w.want(t, "DELETE", fmt.Sprintf("/hosts/%d/heartbeat", w.hostA2), nil, map[string]int{asAlice: 204})
		w.want(t, "DELETE", fmt.Sprintf("/hosts/%d/heartbeat", w.hostA), nil, map[string]int{asBob: 404, asHostToken: 204})
	},
	// A host's history follows the host.
	"getHostHistory": func(t *testing.T, w *world) {
		w.want(t, "GET", fmt.Sprintf("/hosts/%d/history", w.hostA), nil, ownerAndHostToken(200))
		w.want(t, "GET", fmt.Sprintf("/hosts/%d/history", w.hostA2), nil, ownerOnly(200))
		w.want(t, "GET", fmt.Sprintf("/hosts/%d/history", w.hostAdmin), nil, map[string]int{asAlice: 404, asAdmin: 200})
	},

	// Two-factor sign-in: the caller's own account, from a session only
	// (x-ddnsbroker-scope: session refuses every API token, as /me's
	// password change does).
	"enrolOtp": func(t *testing.T, w *world) {
		w.want(t, "POST", "/me/otp", nil, map[string]int{asHostToken: 403, asAlice: 201})
		if me := get[rest.Me](w.h, w.tokens[asBob], "/me"); me.OtpEnabled == nil || *me.OtpEnabled {
			t.Errorf("/me of bob after alice enrolled: otp %v", me.OtpEnabled)
		}
	},
	"confirmOtp": func(t *testing.T, w *world) {
		w.want(t, "POST", "/me/otp", nil, map[string]int{asAlice: 201})
		// Alice's pending secret is hers: bob has none to confirm.
		w.want(t, "POST", "/me/otp/confirm", map[string]any{"code": "000000"}, map[string]int{asHostToken: 403, asBob: 409})
	},
	"disableOtp": func(t *testing.T, w *world) {
		w.want(t, "DELETE", "/me/otp", map[string]any{"password": "alice-Passw0rd-long"}, map[string]int{asHostToken: 403})
		w.want(t, "DELETE", "/me/otp", map[string]any{"password": "bob-Passw0rd-long"}, map[string]int{asBob: 409})
	},
	// The sign-in rules are the broker's: admins only. How to sign in is
	// public.
	"getSignInSettings": func(t *testing.T, w *world) {
		w.want(t, "GET", "/settings/sign-in", nil, map[string]int{asBob: 403, asHostToken: 403, asAlice: 403, asAdmin: 200})
	},
	"setSignInSettings": func(t *testing.T, w *world) {
		w.want(t, "PUT", "/settings/sign-in", map[string]any{"require_2fa": false, "password_login": true},
			map[string]int{asBob: 403, asHostToken: 403, asAlice: 403, asAdmin: 200})
	},
	"getSignInMethods": func(t *testing.T, w *world) {
		w.want(t, "GET", "/auth/methods", nil, map[string]int{asBob: 200, asAdmin: 200})
		w.h.do(request{method: "GET", path: "/auth/methods"}).expect(t, 200)
	},

	// The live stream: the same events as listEvents.
	"streamEvents": func(t *testing.T, w *world) {
		streams := map[string]*sseStream{}
		for _, who := range []string{asAdmin, asBob, asHostToken} {
			streams[who] = w.h.openStream(w.tokens[who], "", "")
			defer streams[who].close()
		}
		a := create[rest.HostCreated](w.h, w.tokens[asAlice], "/hosts", map[string]any{"fqdn": "streamed.alice.example.net"})
		w.want(t, "PATCH", fmt.Sprintf("/hosts/%d", w.hostA), map[string]any{"notes": "streamed"}, map[string]int{asAlice: 200})
		b := create[rest.HostCreated](w.h, w.tokens[asBob], "/hosts", map[string]any{"fqdn": "streamed.bob.example.net"})
		// Ordered: a stream that carried alice's events would show them first.
		if m := streams[asBob].next(); m.event.HostId == nil || *m.event.HostId != b.Id {
			t.Errorf("bob's stream: first event %+v, want the creation of his host %d", m.event, b.Id)
		}
		if m := streams[asHostToken].next(); m.event.HostId == nil || *m.event.HostId != w.hostA {
			t.Errorf("the host token's stream: first event %+v, want the change of its host %d", m.event, w.hostA)
		}
		if m := streams[asAdmin].next(); m.event.HostId == nil || *m.event.HostId != a.Id {
			t.Errorf("the admin's stream: first event %+v, want the creation of alice's host %d", m.event, a.Id)
		}
		for _, id := range []int64{a.Id, b.Id} {
			w.h.do(request{method: "DELETE", path: fmt.Sprintf("/hosts/%d", id), token: w.tokens[asAdmin]}).expect(t, 204)
		}
	},

	// The dashboard counts the caller's own.
	"getStatus": func(t *testing.T, w *world) {
		for who, hosts := range map[string]int{asAlice: 2, asBob: 2, asHostToken: 1} {
			var st struct {
				Hosts struct {
					Total int `json:"total"`
				} `json:"hosts"`
				Records struct {
					Total int `json:"total"`
				} `json:"records"`
			}
			w.call(who, "GET", "/status", nil).expect(t, 200).decode(t, &st)
			if st.Hosts.Total != hosts || st.Records.Total != hosts {
				t.Errorf("/status as %s: %d hosts and %d records, want %d of each", who, st.Hosts.Total, st.Records.Total, hosts)
			}
		}
	},
}

// TestOwnershipEveryOperation walks every operation of openapi.yaml and
// runs its rule: each role gets its own objects or 404.
func TestOwnershipEveryOperation(t *testing.T) {
	w := newWorld(t)
	var ops []string
	for path, item := range w.h.spec.Paths.Map() {
		for method, op := range item.Operations() {
			id := strings.ToLower(op.OperationID[:1]) + op.OperationID[1:] // as openapi.yaml spells it
			ops = append(ops, id)
			if _, ok := ownershipRules[id]; !ok {
				t.Errorf("operation %s (%s %s) has no owner rule: add one to ownershipRules in api/rest/ownership_test.go "+
					"saying what an admin, the owner, another user and a host-scoped token get from it", id, method, path)
			}
		}
	}
	sort.Strings(ops)
	for _, op := range ops {
		if rule, ok := ownershipRules[op]; ok {
			t.Run(op, func(t *testing.T) { rule(t, w) })
		}
	}
	for op := range ownershipRules {
		if !slices.Contains(ops, op) {
			t.Errorf("ownershipRules names %s, which openapi.yaml does not have", op)
		}
	}
}
