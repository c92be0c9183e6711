package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

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
