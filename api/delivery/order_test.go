package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// rmwProvider behaves like the original Django DDnsBroker as an upstream:
// each request reads the hostname's row, takes its time (delay), then
// writes the row back with the one family it was given. Two requests for
// one hostname at once lose one of the two families, as the original does.
type rmwProvider struct {
	*httptest.Server
	delay time.Duration

	mu       sync.Mutex
	rows     map[string][2]string // hostname → {IPv4, IPv6}
	reqs     []hit
	inFlight map[string]int
	maxIn    map[string]int // most requests at once per hostname
	answer   func(hostname, ip string) string
}

func newRMWProvider(t *testing.T, delay time.Duration) *rmwProvider {
	p := &rmwProvider{delay: delay, rows: map[string][2]string{}, inFlight: map[string]int{}, maxIn: map[string]int{}}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *rmwProvider) serve(w http.ResponseWriter, r *http.Request) {
	host, myip := r.URL.Query().Get("hostname"), r.URL.Query().Get("myip")
	p.mu.Lock()
	p.reqs = append(p.reqs, hit{Hostname: host, MyIP: myip, At: time.Now()})
	p.inFlight[host]++
	p.maxIn[host] = max(p.maxIn[host], p.inFlight[host])
	row := p.rows[host] // read
	answer := p.answer
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inFlight[host]--
		p.mu.Unlock()
	}()
	time.Sleep(p.delay)
	if answer != nil {
		if a := answer(host, myip); a != "" {
			fmt.Fprint(w, a)
			return
		}
	}
	a, err := netip.ParseAddr(myip) // one address per request
	if err != nil {
		fmt.Fprint(w, "dnserr")
		return
	}
	if a.Is4() {
		row[0] = a.String()
	} else {
		row[1] = a.String()
	}
	p.mu.Lock()
	p.rows[host] = row // write
	p.mu.Unlock()
	fmt.Fprintf(w, "good %s", a)
}

func (p *rmwProvider) row(host string) [2]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rows[host]
}

func (p *rmwProvider) requests() []hit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]hit(nil), p.reqs...)
}

func (p *rmwProvider) mostAtOnce(host string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxIn[host]
}

func (p *rmwProvider) busy(host string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlight[host] > 0
}

// useService points the fixture's records at a new dyndns2 service.
func (f *fixture) useService(t *testing.T, name, url, extra string) {
	t.Helper()
	svc, err := f.st.CreateService(context.Background(), store.NewService{Name: name, Protocol: "dyndns2",
		Settings: []byte(fmt.Sprintf(`{"url": %q%s}`, url+"/nic/update", extra))})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
}

// settled waits until both families of r are delivered at the addresses
// the host's current ones give and nothing more waits or runs.
func (f *fixture) settled(t *testing.T, r store.Record, v4, v6 string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s delivered as %s and %s", r.FQDN, v4, v6), 20*time.Second, func() bool {
		s4, s6 := f.state(t, r.ID, 4), f.state(t, r.ID, 6)
		q, err := f.st.Queue(context.Background())
		return err == nil && q.Pending == 0 && q.Running == 0 &&
			s4.State == "delivered" && s4.Delivered.String() == v4 && s6.State == "delivered" && s6.Delivered.String() == v6
	})
}

// A dual-stack change moves a record's A and AAAA; a provider that handles
// each request as read-modify-write of the hostname's row keeps both only
// when the two requests do not overlap. Every one of 20 changes in a row
// ends with the provider holding both families right, with one dispatcher
// and with two sharing the database (as two replicas do).
func TestDualStackChangesReachAReadModifyWriteProvider(t *testing.T) {
	for _, dispatchers := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d dispatchers", dispatchers), func(t *testing.T) {
			f := newFixture(t)
			p := newRMWProvider(t, 300*time.Millisecond)
			f.useService(t, "rmw", p.URL, "")
			r := f.record(t, "www.example.com", 32, "0.0.0.0", 64, "::1")
			for i := 0; i < dispatchers; i++ {
				f.dispatcher(t, fastConfig())
			}
			for i := 1; i <= 20; i++ {
				v4, v6 := fmt.Sprintf("198.51.100.%d", i), fmt.Sprintf("2001:db8:0:%x::1", i)
				f.update(t, broker.Addresses{IPv4: netip.MustParseAddr(v4), IPv6: netip.MustParseAddr(fmt.Sprintf("2001:db8:0:%x::99", i))})
				f.settled(t, r, v4, v6)
				if got := p.row("www.example.com"); got != [2]string{v4, v6} {
					t.Fatalf("change %d: the provider holds %v, want [%s %s] (requests %+v)", i, got, v4, v6, p.requests())
				}
			}
			if n := p.mostAtOnce("www.example.com"); n != 1 {
				t.Errorf("the provider had %d requests for the name at once, want 1", n)
			}
			if n := len(p.requests()); n != 40 {
				t.Errorf("the provider got %d requests for 20 dual-stack changes, want 40", n)
			}
		})
	}
}

// A→B→A: the router goes back to the address the provider holds before B
// was sent (here the AAAA job waits for the A request of the same name to
// be answered): nothing is sent for that family, and its state is
// delivered again. The family whose B was in flight gets A after it.
func TestBackToTheDeliveredAddressBeforeTheChangeWasSent(t *testing.T) {
	f := newFixture(t)
	p := newRMWProvider(t, time.Second) // slow: the change back comes while the first request runs
	f.useService(t, "rmw", p.URL, "")
	r := f.record(t, "www.example.com", 32, "0.0.0.0", 64, "::1")
	f.dispatcher(t, fastConfig())
	a := broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.1"), IPv6: netip.MustParseAddr("2001:db8:0:a::99")}
	b := broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.2"), IPv6: netip.MustParseAddr("2001:db8:0:b::99")}
	f.update(t, a)
	f.settled(t, r, "198.51.100.1", "2001:db8:0:a::1")
	before := len(p.requests())

	f.update(t, b)
	waitFor(t, "the first request of the change in flight", 5*time.Second, func() bool { return p.busy("www.example.com") })
	f.update(t, a)
	f.settled(t, r, "198.51.100.1", "2001:db8:0:a::1")
	time.Sleep(500 * time.Millisecond) // a late request would have started by now

	sent := p.requests()[before:]
	if len(sent) != 2 || sent[0].MyIP != "198.51.100.2" || sent[1].MyIP != "198.51.100.1" {
		t.Fatalf("after A→B→A the provider got %+v, want B then A for IPv4 and nothing for IPv6", sent)
	}
	if got := p.row("www.example.com"); got != [2]string{"198.51.100.1", "2001:db8:0:a::1"} {
		t.Fatalf("the provider holds %v", got)
	}
	ds, err := f.st.DeliveriesPage(context.Background(), r.ID, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Family == 6 && d.Address.String() == "2001:db8:0:b::1" && d.State != "superseded" {
			t.Errorf("the AAAA job of B ended %q, want superseded", d.State)
		}
	}
}

// A→B→A where B was sent but not confirmed (the provider answered 911 and
// the retry waits): the provider may hold B now, so A is sent.
func TestBackToTheDeliveredAddressAfterBWasSent(t *testing.T) {
	f := newFixture(t)
	p := newRMWProvider(t, 0)
	p.answer = func(_, ip string) string {
		if ip == "198.51.100.2" {
			return "911"
		}
		return ""
	}
	f.useService(t, "rmw", p.URL, "")
	r := f.record(t, "www.example.com", 32, "0.0.0.0", -1, "::")
	cfg := fastConfig()
	cfg.RetryBase, cfg.RetryMax = time.Minute, time.Minute
	f.dispatcher(t, cfg)
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.1")})
	waitFor(t, "A delivered", 5*time.Second, func() bool { return f.state(t, r.ID, 4).State == "delivered" })
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.2")})
	waitFor(t, "B answered 911", 5*time.Second, func() bool { return f.state(t, r.ID, 4).State == "retrying" })
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.1")})
	waitFor(t, "A sent again", 5*time.Second, func() bool {
		reqs := p.requests()
		return len(reqs) == 3 && reqs[2].MyIP == "198.51.100.1"
	})
	waitFor(t, "A delivered again", 5*time.Second, func() bool {
		st := f.state(t, r.ID, 4)
		return st.State == "delivered" && st.Delivered.String() == "198.51.100.1"
	})
}

// A provider that answers with an address other than the one sent did not
// take it (it may not understand what was sent): the delivery fails with a
// plain reason and is not retried. An answer naming the address sent is a
// delivery.
func TestAnswerWithAnotherAddressFails(t *testing.T) {
	f := newFixture(t)
	p := newRMWProvider(t, 0)
	p.answer = func(_, ip string) string {
		if ip == "198.51.100.2" {
			return "nochg 198.51.100.1"
		}
		return "nochg " + ip
	}
	f.useService(t, "kept", p.URL, "")
	r := f.record(t, "www.example.com", 32, "0.0.0.0", -1, "::")
	f.dispatcher(t, fastConfig())
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.1")})
	waitFor(t, "nochg with the address sent delivered", 5*time.Second, func() bool { return f.state(t, r.ID, 4).State == "delivered" })

	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.2")})
	waitFor(t, "failed", 5*time.Second, func() bool { return f.state(t, r.ID, 4).State == "failed" })
	st := f.state(t, r.ID, 4)
	if !strings.Contains(st.Message, "the provider kept 198.51.100.1, we sent 198.51.100.2") {
		t.Errorf("message %q does not say what the provider kept", st.Message)
	}
	if st.Delivered.String() != "198.51.100.1" {
		t.Errorf("delivered = %s, want the address confirmed before", st.Delivered)
	}
	time.Sleep(5 * fastConfig().RetryBase) // several retry delays
	if n := len(p.requests()); n != 2 {
		t.Fatalf("the provider got %d requests, want 2 (no blind retry)", n)
	}
}

// A combined service takes a record's two families in one request: a claim
// takes both jobs together, so the pair is never split between two claims
// or two dispatchers (which sent it twice), however few workers are free.
func TestCombinedPairIsNeverSplitBetweenClaims(t *testing.T) {
	f := newFixture(t)
	f.useService(t, "combined", f.up.URL, `, "combined": true`)
	var recs []store.Record
	for i := 0; i < 6; i++ {
		recs = append(recs, f.record(t, fmt.Sprintf("r%d.example.com", i), 24, fmt.Sprintf("0.0.0.%d", i+1), 64, fmt.Sprintf("::%d", i+1)))
	}
	cfg := fastConfig()
	cfg.Workers = 1
	f.dispatcher(t, cfg)
	f.dispatcher(t, cfg)
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.77"), IPv6: netip.MustParseAddr("2001:db8:0:1::99")})
	for i, r := range recs {
		f.settled(t, r, fmt.Sprintf("198.51.100.%d", i+1), fmt.Sprintf("2001:db8:0:1::%d", i+1))
	}
	for i := range recs {
		name, want := fmt.Sprintf("r%d.example.com", i), fmt.Sprintf("198.51.100.%d,2001:db8:0:1::%d", i+1, i+1)
		var got []string
		for _, h := range f.up.hits() {
			if h.Hostname == name {
				got = append(got, h.MyIP)
			}
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: the provider got %v, want one request %s", name, got, want)
		}
	}
}
