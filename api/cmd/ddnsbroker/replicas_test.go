package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// readModifyWrite is a dyndns2 provider that behaves like the original
// Django DDnsBroker: it reads the hostname's row, takes 300 ms, and writes
// the row back with the one address of the request. Two requests for one
// name at once lose a family.
type readModifyWrite struct {
	mu    sync.Mutex
	rows  map[string][2]string
	busy  map[string]int
	most  int
	count int
}

func (p *readModifyWrite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.URL.Query().Get("hostname")
	a, err := netip.ParseAddr(r.URL.Query().Get("myip"))
	if err != nil {
		fmt.Fprint(w, "dnserr")
		return
	}
	p.mu.Lock()
	p.count++
	p.busy[host]++
	p.most = max(p.most, p.busy[host])
	row := p.rows[host]
	p.mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	if a.Is4() {
		row[0] = a.String()
	} else {
		row[1] = a.String()
	}
	p.mu.Lock()
	p.rows[host] = row
	p.busy[host]--
	p.mu.Unlock()
	fmt.Fprintf(w, "good %s", a)
}

func (p *readModifyWrite) row(host string) [2]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rows[host]
}

// Two `serve` processes on one database, each router update sent to the
// other one: every one of 20 dual-stack changes in a row ends with a
// read-modify-write provider holding both families right, because a name
// never has two requests in flight, whichever replica sends them.
func TestTwoReplicasKeepBothFamiliesAtAReadModifyWriteProvider(t *testing.T) {
	dbURL := storetest.NewURL(t)
	p := &readModifyWrite{rows: map[string][2]string{}, busy: map[string]int{}}
	up := httptest.NewServer(p)
	defer up.Close()
	seed(t, dbURL, up.URL, "router.replicas.example", "replica-secret",
		recordSpec{"www.replicas.example", 32, "0.0.0.0", 64, "::1", ""})
	bin := buildServer(t)
	env := map[string]string{"DDNSBROKER_DATABASE_URL": dbURL}
	replicas := []*proc{newProc(t, bin, "replica A", env), newProc(t, bin, "replica B", env)}
	for _, r := range replicas {
		r.start()
	}
	for i := 1; i <= 20; i++ {
		v4, v6 := fmt.Sprintf("198.51.100.%d", i), fmt.Sprintf("2001:db8:0:%x::1", i)
		mustUpdate(t, replicas[i%2].URL(), "router.replicas.example", "replica-secret",
			fmt.Sprintf("%s,2001:db8:0:%x::99", v4, i), "good")
		waitUntil(t, fmt.Sprintf("change %d delivered", i), 20*time.Second, func() bool {
			s := recordStates(t, dbURL)
			a, aaaa := s["www.replicas.example/4"], s["www.replicas.example/6"]
			return a.State == "delivered" && a.Delivered.String() == v4 && aaaa.State == "delivered" && aaaa.Delivered.String() == v6
		})
		if got := p.row("www.replicas.example"); got != [2]string{v4, v6} {
			t.Fatalf("change %d: the provider holds %v, want [%s %s]", i, got, v4, v6)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.most != 1 || p.count != 40 {
		t.Fatalf("the provider got %d requests, at most %d at once for the name; want 40, one at a time", p.count, p.most)
	}
}

// apiDo sends one JSON API request with token and returns the status.
func apiDo(t *testing.T, method, url, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode
}

// Replica B answers nochg from the hosts it keeps in memory; what an admin
// or a router changes on replica A holds on A at once and reaches B within
// a second: a rotated
// secret (the old one is refused), a disabled host (abuse), a deleted host
// (badauth) and a new address (the old one is a change again, not nochg).
func TestReplicaHonoursChangesMadeOnAnotherWithinASecond(t *testing.T) {
	dbURL := storetest.NewURL(t)
	up := newFakeUpstream(t)
	names := []string{"rotate", "disable", "address", "delete"}
	ids := map[string]int64{}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, n := range names {
		var recs []recordSpec
		if n != "delete" { // a host with records cannot be deleted
			recs = append(recs, recordSpec{"www." + n + ".replicas.example", 32, "0.0.0.0", -1, "::", ""})
		}
		seed(t, dbURL, up.URL, n+".replicas.example", "secret-of-"+n, recs...)
		// seed names its service "fake" each time.
		if _, err := conn.Exec(context.Background(), `UPDATE services SET name = 'fake-' || id WHERE name = 'fake'`); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		var id int64
		if err := conn.QueryRow(context.Background(), `SELECT id FROM hosts WHERE fqdn = $1`, n+".replicas.example").Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[n] = id
	}
	bin := buildServer(t)
	env := map[string]string{"DDNSBROKER_DATABASE_URL": dbURL}
	a, b := newProc(t, bin, "replica A", env), newProc(t, bin, "replica B", env)
	a.start()
	b.start()
	update := func(p *proc, n, secret, ip string) string {
		t.Helper()
		_, body, err := routerUpdate(http.DefaultClient, p.URL(), n+".replicas.example", secret, "myip="+ip)
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	// B has seen every host: its secret verified, its address known.
	for _, n := range names {
		update(b, n, "secret-of-"+n, "192.0.2.1")
		if got := update(b, n, "secret-of-"+n, "192.0.2.1"); got != "nochg 192.0.2.1\n" {
			t.Fatalf("%s on B: %q", n, got)
		}
	}

	// A has verified the secrets it is about to replace, and disabled.
	for _, n := range []string{"rotate", "disable"} {
		if got := update(a, n, "secret-of-"+n, "192.0.2.1"); got != "nochg 192.0.2.1\n" {
			t.Fatalf("%s on A: %q", n, got)
		}
	}

	token := apiLogin(t, a.URL(), "admin", "admin-password-for-tests")
	if token == "" {
		t.Fatal("no API login on replica A")
	}
	api := a.URL() + "/api/v1/hosts/"
	apiDo(t, "POST", fmt.Sprint(api, ids["rotate"], "/secret"), token, `{"secret": "the-new-secret-of-rotate"}`)
	// On the replica that made the change it holds as soon as the API
	// answered, not when its notification comes back a few milliseconds
	// later.
	if got := update(a, "rotate", "secret-of-rotate", "192.0.2.1"); got != "badauth\n" {
		t.Errorf("the old secret on A right after A rotated it: %q, want badauth", got)
	}
	apiDo(t, "PATCH", fmt.Sprint(api, ids["disable"]), token, `{"enabled": false}`)
	if got := update(a, "disable", "secret-of-disable", "192.0.2.1"); got != "abuse\n" {
		t.Errorf("the host on A right after A disabled it: %q, want abuse", got)
	}
	apiDo(t, "DELETE", fmt.Sprint(api, ids["delete"]), token, "")
	if got := update(a, "address", "secret-of-address", "192.0.2.2"); got != "good 192.0.2.2\n" {
		t.Fatalf("address change on A: %q", got)
	}
	time.Sleep(time.Second)

	for _, c := range []struct{ name, secret, ip, want string }{
		{"rotate", "secret-of-rotate", "192.0.2.1", "badauth\n"},
		{"rotate", "the-new-secret-of-rotate", "192.0.2.1", "nochg 192.0.2.1\n"},
		{"disable", "secret-of-disable", "192.0.2.1", "abuse\n"},
		{"delete", "secret-of-delete", "192.0.2.1", "badauth\n"},
		{"address", "secret-of-address", "192.0.2.1", "good 192.0.2.1\n"},
	} {
		if got := update(b, c.name, c.secret, c.ip); got != c.want {
			t.Errorf("%s with %s on B a second after the change on A: %q, want %q", c.name, c.secret, got, c.want)
		}
	}
}
