package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/delivery"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// hangingProvider answers nothing for 20 s (or until released), counting
// the requests it holds at once.
type hangingProvider struct {
	*httptest.Server
	release chan struct{}
	once    sync.Once

	mu       sync.Mutex
	inFlight int
	most     int
}

func newHangingProvider(t *testing.T) *hangingProvider {
	p := &hangingProvider{release: make(chan struct{})}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.inFlight++
		p.most = max(p.most, p.inFlight)
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			p.inFlight--
			p.mu.Unlock()
		}()
		select {
		case <-p.release:
		case <-time.After(20 * time.Second):
		case <-r.Context().Done():
			return
		}
		fmt.Fprintf(w, "good %s", r.URL.Query().Get("myip"))
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *hangingProvider) stop() { p.once.Do(func() { close(p.release) }) }

func (p *hangingProvider) counts() (now, most int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlight, p.most
}

// hostWithRecords adds a host with n IPv4 records at svc.
func (f *fixture) hostWithRecords(t *testing.T, fqdn string, svc store.Service, n int) (store.Host, []store.Record) {
	t.Helper()
	ctx := context.Background()
	h, err := f.st.CreateHost(ctx, store.NewHost{FQDN: fqdn, SecretHash: "x", Enabled: true, IPv4Enabled: true, IPv6Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	var recs []store.Record
	for i := 0; i < n; i++ {
		r, err := f.st.CreateRecord(ctx, store.NewRecord{HostID: h.ID, ServiceID: svc.ID, FQDN: fmt.Sprintf("r%03d.%s", i, fqdn),
			IPv4Enabled: true, IPv4Netmask: 32, IPv4HostIdentifier: netip.MustParseAddr("0.0.0.0"),
			IPv6HostIdentifier: netip.MustParseAddr("::")})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return h, recs
}

func (f *fixture) updateHost(t *testing.T, h store.Host, a broker.Addresses) {
	t.Helper()
	h, err := f.st.Host(context.Background(), h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.brk.Update(context.Background(), h, a, "test"); err != nil {
		t.Fatal(err)
	}
}

// One provider that hangs cannot stall the others: with 100 records waiting
// at a service whose endpoint answers after 20 s (one or two such
// services), a record at a fast service is delivered within 2 s of its
// host's update, and no hanging service ever has more requests in flight
// than its limit.
func TestHangingServiceDoesNotStallOthers(t *testing.T) {
	for _, hanging := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d hanging", hanging), func(t *testing.T) {
			f := newFixture(t)
			cfg := delivery.DefaultConfig() // 64 workers, 32 per service
			cfg.Lease, cfg.RetryBase = 5*time.Second, time.Second
			var provs []*hangingProvider
			var hosts []store.Host
			for i := 0; i < hanging; i++ {
				p := newHangingProvider(t)
				svc, err := f.st.CreateService(context.Background(), store.NewService{Name: fmt.Sprintf("hanging %d", i),
					Protocol: "dyndns2", Settings: []byte(fmt.Sprintf(`{"url": %q}`, p.URL+"/nic/update"))})
				if err != nil {
					t.Fatal(err)
				}
				h, _ := f.hostWithRecords(t, fmt.Sprintf("slow%d.example.com", i), svc, 100)
				provs, hosts = append(provs, p), append(hosts, h)
			}
			fastHost, fast := f.hostWithRecords(t, "fast.example.com", f.svc, 1)
			f.dispatcher(t, cfg)
			for _, p := range provs {
				t.Cleanup(p.stop) // before the dispatcher stops: it waits for its requests
			}

			for i, h := range hosts {
				f.updateHost(t, h, broker.Addresses{IPv4: netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", i+1))})
				waitFor(t, "the hanging service busy", 5*time.Second, func() bool { n, _ := provs[i].counts(); return n > 0 })
			}
			time.Sleep(300 * time.Millisecond) // the hanging services take what they may

			updated := time.Now()
			f.updateHost(t, fastHost, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.9")})
			waitFor(t, "the fast record delivered within 2 s", 2*time.Second, func() bool {
				return f.state(t, fast[0].ID, 4).State == "delivered"
			})
			t.Logf("fast record delivered %s after its host's update", time.Since(updated).Round(time.Millisecond))
			for i, p := range provs {
				now, most := p.counts()
				t.Logf("hanging service %d: %d requests held now, at most %d", i, now, most)
				if most > cfg.PerService {
					t.Errorf("hanging service %d had %d requests in flight, more than its limit %d", i, most, cfg.PerService)
				}
			}
		})
	}
}
