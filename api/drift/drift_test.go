package drift_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/drift"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// fakeDNS is an in-test resolver on 127.0.0.1 that answers from a table
// and counts the questions it gets.
type fakeDNS struct {
	addr string
	mu   sync.Mutex
	zone map[string][]string // "name. A" → addresses
	asks map[string]int      // "name. A" → questions
	// onQuery, when set, runs before each answer.
	onQuery func()
}

func newFakeDNS(t *testing.T) *fakeDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDNS{addr: pc.LocalAddr().String(), zone: map[string][]string{}, asks: map[string]int{}}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(f.serve), NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return f
}

func (f *fakeDNS) set(name, qtype string, addrs ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.zone[dns.Fqdn(name)+" "+qtype] = addrs
}

func (f *fakeDNS) asked(name, qtype string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asks[dns.Fqdn(name)+" "+qtype]
}

func (f *fakeDNS) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.asks {
		n += v
	}
	return n
}

func (f *fakeDNS) serve(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	q := r.Question[0]
	key := strings.ToLower(q.Name) + " " + dns.TypeToString[q.Qtype]
	f.mu.Lock()
	f.asks[key]++
	addrs, ok := f.zone[key]
	hook := f.onQuery
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	if !ok {
		m.Rcode = dns.RcodeNameError
	}
	for _, a := range addrs {
		rr, err := dns.NewRR(q.Name + " 60 IN " + dns.TypeToString[q.Qtype] + " " + a)
		if err == nil {
			m.Answer = append(m.Answer, rr)
		}
	}
	_ = w.WriteMsg(m)
}

type fixture struct {
	t   *testing.T
	st  *store.Store
	ctx context.Context
}

// checker is a drift checker telling a broker of the fixture's store.
func (f fixture) checker() *drift.Checker {
	return drift.New(f.st, broker.New(f.st, slog.New(slog.DiscardHandler)), nil)
}

func (f fixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.st.Pool.Exec(f.ctx, sql, args...); err != nil {
		f.t.Fatal(err)
	}
}

func (f fixture) service(name string, settings map[string]any) store.Service {
	f.t.Helper()
	raw, _ := json.Marshal(settings)
	s, err := f.st.CreateService(f.ctx, store.NewService{Name: name, Protocol: "dyndns2", Settings: raw})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// record adds a host and a record of svc whose families are delivered
// with the given addresses ("" leaves the family idle).
func (f fixture) record(svc store.Service, fqdn, v4, v6 string) store.Record {
	f.t.Helper()
	h, err := f.st.CreateHost(f.ctx, store.NewHost{FQDN: fqdn, SecretHash: "x", Enabled: true, IPv4Enabled: true, IPv6Enabled: true})
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := f.st.CreateRecord(f.ctx, store.NewRecord{HostID: h.ID, ServiceID: svc.ID, FQDN: fqdn,
		IPv4Enabled: true, IPv4Netmask: 32, IPv4HostIdentifier: netip.MustParseAddr("0.0.0.0"),
		IPv6Enabled: true, IPv6Netmask: 128, IPv6HostIdentifier: netip.MustParseAddr("::")})
	if err != nil {
		f.t.Fatal(err)
	}
	for fam, a := range map[int]string{4: v4, 6: v6} {
		if a != "" {
			f.exec(`UPDATE record_states SET desired = $3, delivered = $3, state = 'delivered', last_success_at = now() - interval '1 hour'
				WHERE record_id = $1 AND family = $2`, r.ID, fam, a)
		}
	}
	return r
}

type delivery struct {
	family  int
	address string
	reason  string
	state   string
}

func (f fixture) deliveries(recordID int64) []delivery {
	f.t.Helper()
	rows, err := f.st.Pool.Query(f.ctx, `SELECT family, host(address), reason, state FROM deliveries WHERE record_id = $1 ORDER BY id`, recordID)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []delivery
	for rows.Next() {
		var d delivery
		if err := rows.Scan(&d.family, &d.address, &d.reason, &d.state); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func (f fixture) events(kind string) []store.Event {
	f.t.Helper()
	ev, err := f.st.EventsPage(f.ctx, store.EventPage{Kind: kind, Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	return ev
}

func setup(t *testing.T) (fixture, *fakeDNS) {
	return fixture{t: t, st: storetest.New(t), ctx: context.Background()}, newFakeDNS(t)
}

func TestDriftQueuesADeliveryAndTellsWhy(t *testing.T) {
	f, res := setup(t)
	svc := f.service("checked", map[string]any{"url": "https://x.example/nic/update", "drift_resolver": res.addr, "drift_interval": "15m"})
	drifted := f.record(svc, "drifted.example.com", "192.0.2.1", "2001:db8::1")
	fine := f.record(svc, "fine.example.com", "192.0.2.2", "")
	res.set("drifted.example.com", "A", "198.51.100.7")
	res.set("drifted.example.com", "AAAA", "2001:db8::1")
	res.set("fine.example.com", "A", "192.0.2.99", "192.0.2.2") // the delivered one among others: fine

	c := f.checker()
	now := time.Now()
	r, err := c.Check(f.ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Services != 1 || r.Queries != 3 || r.Drifted != 1 || r.Queued != 1 || r.Errors != 0 {
		t.Fatalf("result %+v, want 1 service, 3 queries, 1 drifted and queued", r)
	}
	if got := f.deliveries(drifted.ID); len(got) != 1 || got[0] != (delivery{4, "192.0.2.1", "drift", "pending"}) {
		t.Fatalf("deliveries of the drifted record: %+v", got)
	}
	if got := f.deliveries(fine.ID); len(got) != 0 {
		t.Fatalf("the matching record got deliveries: %+v", got)
	}
	if res.asked("fine.example.com", "AAAA") != 0 {
		t.Fatal("an idle family was resolved")
	}
	rec, err := f.st.Record(f.ctx, drifted.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.V4.State != "pending" || rec.V6.State != "delivered" {
		t.Fatalf("states v4 %s v6 %s, want pending and delivered", rec.V4.State, rec.V6.State)
	}
	ev := f.events("drift.")
	if len(ev) != 1 || ev[0].Kind != "drift.detected" || ev[0].RecordID == nil || *ev[0].RecordID != drifted.ID ||
		ev[0].ServiceID == nil || *ev[0].ServiceID != svc.ID || ev[0].HostID == nil {
		t.Fatalf("events: %+v", ev)
	}
	var data struct {
		Name      string   `json:"name"`
		Family    int      `json:"family"`
		Expected  string   `json:"expected"`
		Published []string `json:"published"`
	}
	if err := json.Unmarshal(ev[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.Name != "drifted.example.com" || data.Family != 4 || data.Expected != "192.0.2.1" ||
		len(data.Published) != 1 || data.Published[0] != "198.51.100.7" {
		t.Fatalf("event data %s", ev[0].Data)
	}
	if !strings.Contains(ev[0].Message, "198.51.100.7") || !strings.Contains(ev[0].Message, "192.0.2.1") {
		t.Fatalf("event message %q", ev[0].Message)
	}

	// Within the interval nothing is asked again; after it, it is (the
	// drifted family waits for its delivery and is not checked).
	before := res.total()
	if r, err := c.Check(f.ctx, now.Add(14*time.Minute)); err != nil || r.Services != 0 || res.total() != before {
		t.Fatalf("check within the interval: %+v, %v, %d new questions", r, err, res.total()-before)
	}
	r, err = c.Check(f.ctx, now.Add(15*time.Minute))
	if err != nil || r.Services != 1 || r.Queries != 2 || r.Drifted != 0 {
		t.Fatalf("check after the interval: %+v, %v", r, err)
	}
}

func TestDriftNameMissingUpstream(t *testing.T) {
	f, res := setup(t)
	svc := f.service("checked", map[string]any{"url": "https://x.example/", "drift_resolver": res.addr})
	gone := f.record(svc, "gone.example.com", "192.0.2.1", "")
	r, err := f.checker().Check(f.ctx, time.Now())
	if err != nil || r.Drifted != 1 || r.Queued != 1 {
		t.Fatalf("%+v, %v: an NXDOMAIN is drift", r, err)
	}
	if got := f.deliveries(gone.ID); len(got) != 1 || got[0].reason != "drift" {
		t.Fatalf("deliveries %+v", got)
	}
	if ev := f.events("drift.detected"); len(ev) != 1 || !strings.Contains(ev[0].Message, "publishes nothing") {
		t.Fatalf("events %+v", ev)
	}
}

func TestDriftResolverDownIsOneErrorEvent(t *testing.T) {
	f, _ := setup(t)
	// A UDP port nobody listens on: refused at once on loopback.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := pc.LocalAddr().String()
	_ = pc.Close()
	svc := f.service("down", map[string]any{"url": "https://x.example/", "drift_resolver": down})
	var records []store.Record
	for _, n := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		records = append(records, f.record(svc, n, "192.0.2.1", "2001:db8::1"))
	}
	c := f.checker()
	c.Timeout = 500 * time.Millisecond
	r, err := c.Check(f.ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 1 || r.Drifted != 0 || r.Queued != 0 {
		t.Fatalf("result %+v, want one error and nothing queued", r)
	}
	ev := f.events("drift.")
	if len(ev) != 1 || ev[0].Kind != "drift.error" || ev[0].ServiceID == nil || *ev[0].ServiceID != svc.ID || ev[0].RecordID != nil {
		t.Fatalf("events: %+v", ev)
	}
	if !strings.Contains(ev[0].Message, down) {
		t.Fatalf("message %q does not name the resolver", ev[0].Message)
	}
	for _, rec := range records {
		if got := f.deliveries(rec.ID); len(got) != 0 {
			t.Fatalf("a resolver error queued deliveries: %+v", got)
		}
	}
}

func TestDriftOffWithoutResolver(t *testing.T) {
	f, res := setup(t)
	off := f.service("off", map[string]any{"url": "https://x.example/"})
	f.record(off, "off.example.com", "192.0.2.1", "")
	broken := f.service("broken", map[string]any{"url": "https://x.example/", "drift_resolver": res.addr, "drift_interval": "1s"})
	f.record(broken, "broken.example.com", "192.0.2.1", "")
	r, err := f.checker().Check(f.ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if r.Services != 0 || res.total() != 0 {
		t.Fatalf("result %+v, %d questions: services without a (valid) drift check were checked", r, res.total())
	}
	if ev := f.events("drift."); len(ev) != 0 {
		t.Fatalf("events %+v", ev)
	}
}

func TestDriftYieldsToANewerAddress(t *testing.T) {
	f, res := setup(t)
	svc := f.service("checked", map[string]any{"url": "https://x.example/", "drift_resolver": res.addr})
	rec := f.record(svc, "moving.example.com", "192.0.2.1", "")
	res.set("moving.example.com", "A", "192.0.2.200")
	// While the resolver is asked, the host reports a new address and
	// the broker queues it: the drift finding must not overwrite it.
	res.mu.Lock()
	res.onQuery = func() {
		if _, err := f.st.Pool.Exec(context.Background(), `WITH d AS (INSERT INTO deliveries (record_id, family, address, reason)
			VALUES ($1, 4, '192.0.2.50', 'update'))
			UPDATE record_states SET desired = '192.0.2.50', state = 'pending' WHERE record_id = $1 AND family = 4`, rec.ID); err != nil {
			t.Error(err)
		}
	}
	res.mu.Unlock()
	r, err := f.checker().Check(f.ctx, time.Now())
	if err != nil || r.Drifted != 1 || r.Queued != 0 {
		t.Fatalf("%+v, %v: want the finding dropped", r, err)
	}
	if got := f.deliveries(rec.ID); len(got) != 1 || got[0] != (delivery{4, "192.0.2.50", "update", "pending"}) {
		t.Fatalf("deliveries %+v: the newer address was touched", got)
	}
	if ev := f.events("drift."); len(ev) != 0 {
		t.Fatalf("events %+v", ev)
	}
}

func TestDriftLeavesFreshDeliveriesAlone(t *testing.T) {
	f, res := setup(t)
	svc := f.service("checked", map[string]any{"url": "https://x.example/", "drift_resolver": res.addr})
	rec := f.record(svc, "fresh.example.com", "192.0.2.1", "")
	f.exec(`UPDATE record_states SET last_success_at = now() - interval '1 minute' WHERE record_id = $1`, rec.ID)
	r, err := f.checker().Check(f.ctx, time.Now())
	if err != nil || r.Services != 1 || r.Queries != 0 || res.total() != 0 {
		t.Fatalf("%+v, %v, %d questions: a record delivered a minute ago was checked", r, err, res.total())
	}
}

func TestDriftOneReplicaAtATime(t *testing.T) {
	f, res := setup(t)
	svc := f.service("checked", map[string]any{"url": "https://x.example/", "drift_resolver": res.addr})
	f.record(svc, "r.example.com", "192.0.2.1", "")
	err := f.st.InTx(f.ctx, func(q *store.Queries) error {
		// Another replica's pass holds the lock.
		if _, err := q.TryLock(f.ctx, 0x6464647269667421); err != nil {
			return err
		}
		r, err := f.checker().Check(f.ctx, time.Now())
		if err != nil || !r.Skipped || res.total() != 0 {
			t.Errorf("check while locked: %+v, %v", r, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
