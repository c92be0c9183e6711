package delivery_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// linePerName answers a dyndns2 request as Dyn does: one line per name of
// hostname=a,b,c, in request order; line picks each name's line.
func linePerName(line func(name, ip string) string) func(h hit, _ int) (int, string) {
	return func(h hit, _ int) (int, string) {
		var b strings.Builder
		for _, name := range strings.Split(h.Hostname, ",") {
			b.WriteString(line(name, h.MyIP) + "\n")
		}
		return 200, b.String()
	}
}

// accountRecord adds an IPv4 record at svc that logs in upstream as user
// with password, sealed on its own (as the API seals each record's).
func (f *fixture) accountRecord(t *testing.T, svc store.Service, fqdn, user, password string) store.Record {
	t.Helper()
	pw, key := f.box.Seal(password)
	r, err := f.st.CreateRecord(context.Background(), store.NewRecord{HostID: f.host.ID, ServiceID: svc.ID, FQDN: fqdn,
		Username: user, Password: pw, PasswordKey: key, IPv4Enabled: true, IPv4Netmask: 32,
		IPv4HostIdentifier: netip.MustParseAddr("0.0.0.0"), IPv6HostIdentifier: netip.MustParseAddr("::")})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// allDelivered waits until every record's IPv4 is delivered.
func (f *fixture) allDelivered(t *testing.T, recs []store.Record) {
	t.Helper()
	waitFor(t, "every record delivered", 20*time.Second, func() bool {
		for _, r := range recs {
			if f.state(t, r.ID, 4).State != store.SyncDelivered {
				return false
			}
		}
		return true
	})
}

// names are the names of each request the upstream got.
func names(hits []hit) [][]string {
	var out [][]string
	for _, h := range hits {
		out = append(out, strings.Split(h.Hostname, ","))
	}
	return out
}

// 45 records with one login and one address go upstream as ddclient sends
// them: hostname=a,b,c, at most 20 names a request, so 3 requests.
func TestDyndns2SendsUpTo20NamesPerRequest(t *testing.T) {
	f := newFixture(t)
	f.up.answer = linePerName(func(_, ip string) string { return "good " + ip })
	var recs []store.Record
	want := map[string]bool{}
	for i := 0; i < 45; i++ {
		r := f.accountRecord(t, f.svc, fmt.Sprintf("r%02d.example.com", i), "acct", "one password")
		recs, want[r.FQDN] = append(recs, r), true
	}
	f.dispatcher(t, fastConfig())
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.7")})
	f.allDelivered(t, recs)

	hits := f.up.hits()
	var sizes []int
	got := map[string]int{}
	for i, h := range hits {
		if h.MyIP != "198.51.100.7" || h.User != "acct" || h.Pass != "one password" {
			t.Errorf("request %d: myip %q, login %q/%q", i, h.MyIP, h.User, h.Pass)
		}
		for _, n := range names(hits)[i] {
			got[n]++
		}
		sizes = append(sizes, len(names(hits)[i]))
	}
	slices.Sort(sizes)
	if !slices.Equal(sizes, []int{5, 20, 20}) {
		t.Errorf("names per request %v, want 20, 20 and 5 (3 requests)", sizes)
	}
	for n := range want {
		if got[n] != 1 {
			t.Errorf("%s sent %d times, want once", n, got[n])
		}
	}
	if len(got) != len(want) {
		t.Errorf("the upstream got %d names, want %d", len(got), len(want))
	}
}

// Each name of a request takes its own answer line: good, nohost and 911
// make one record delivered, one failed and one retried.
func TestDyndns2AnswerLinesGoToTheirNames(t *testing.T) {
	f := newFixture(t)
	f.up.answer = linePerName(func(name, ip string) string {
		switch {
		case strings.HasPrefix(name, "unknown"):
			return "nohost"
		case strings.HasPrefix(name, "busy"):
			return "911"
		}
		return "good " + ip
	})
	ok := f.accountRecord(t, f.svc, "ok.example.com", "acct", "pw")
	unknown := f.accountRecord(t, f.svc, "unknown.example.com", "acct", "pw")
	busy := f.accountRecord(t, f.svc, "busy.example.com", "acct", "pw")
	f.dispatcher(t, fastConfig())
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.7")})
	waitFor(t, "each record's outcome", 10*time.Second, func() bool {
		return f.state(t, ok.ID, 4).State == store.SyncDelivered && f.state(t, unknown.ID, 4).State == store.SyncFailed &&
			f.state(t, busy.ID, 4).Attempts >= 1 && f.state(t, busy.ID, 4).State != store.SyncPending
	})
	if hits := f.up.hits(); len(hits) == 0 || len(names(hits[:1])[0]) != 3 {
		t.Fatalf("first request %v, want the three names in one", names(hits))
	}
	if s := f.state(t, busy.ID, 4); s.State != store.SyncRetrying || !strings.Contains(s.Message, "911") {
		t.Errorf("busy record: %s %q, want retrying after its 911", s.State, s.Message)
	}
	if s := f.state(t, unknown.ID, 4); !strings.Contains(s.Message, "nohost") {
		t.Errorf("unknown record's message %q, want its nohost", s.Message)
	}
	if s := f.state(t, ok.ID, 4); !strings.Contains(s.Message, "good 198.51.100.7") {
		t.Errorf("delivered record's message %q, want its good line", s.Message)
	}
}

// Records that log in differently never share a request: the password is
// compared decrypted (two passwords, one username), and so is the username.
func TestDyndns2GroupsOnlyOneLogin(t *testing.T) {
	f := newFixture(t)
	f.up.answer = linePerName(func(_, ip string) string { return "good " + ip })
	var recs []store.Record
	for i := 0; i < 3; i++ {
		recs = append(recs, f.accountRecord(t, f.svc, fmt.Sprintf("one%d.example.com", i), "acct", "password one"),
			f.accountRecord(t, f.svc, fmt.Sprintf("two%d.example.com", i), "acct", "password two"))
	}
	recs = append(recs, f.accountRecord(t, f.svc, "other.example.com", "someone else", "password one"))
	f.dispatcher(t, fastConfig())
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.7")})
	f.allDelivered(t, recs)

	hits := f.up.hits()
	if len(hits) != 3 {
		t.Errorf("%d requests %v, want 3: one per login", len(hits), names(hits))
	}
	for i, h := range hits {
		prefix := map[string]string{"password one": "one", "password two": "two"}[h.Pass]
		if h.User == "someone else" {
			prefix = "other"
		}
		for _, n := range names(hits)[i] {
			if !strings.HasPrefix(n, prefix) {
				t.Errorf("request with login %q/%q carried %s", h.User, h.Pass, n)
			}
		}
	}
}

// max_hostnames caps the names of a request: 1 sends one name per
// request, for providers that do not take lists.
func TestDyndns2MaxHostnames(t *testing.T) {
	for _, tt := range []struct {
		max   int
		sizes []int
	}{{1, []int{1, 1, 1, 1, 1}}, {2, []int{1, 2, 2}}} {
		t.Run(fmt.Sprint(tt.max), func(t *testing.T) {
			f := newFixture(t)
			f.up.answer = linePerName(func(_, ip string) string { return "good " + ip })
			svc, err := f.st.CreateService(context.Background(), store.NewService{Name: "capped", Protocol: "dyndns2",
				Settings: []byte(fmt.Sprintf(`{"url": %q, "max_hostnames": %d}`, f.up.URL+"/nic/update", tt.max))})
			if err != nil {
				t.Fatal(err)
			}
			var recs []store.Record
			for i := 0; i < 5; i++ {
				recs = append(recs, f.accountRecord(t, svc, fmt.Sprintf("r%d.example.com", i), "acct", "pw"))
			}
			f.dispatcher(t, fastConfig())
			f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.7")})
			f.allDelivered(t, recs)
			var sizes []int
			for _, n := range names(f.up.hits()) {
				sizes = append(sizes, len(n))
			}
			slices.Sort(sizes)
			if !slices.Equal(sizes, tt.sizes) {
				t.Errorf("names per request %v, want %v", sizes, tt.sizes)
			}
		})
	}
}

// A request of many names counts as one against the per-service limit:
// 100 records at a service limited to 2 requests go as 5 requests of 20,
// two at a time, never three.
func TestDyndns2RequestsCountOnceAgainstPerService(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	inFlight, most := 0, 0
	f.up.answer = func(h hit, n int) (int, string) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(300 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		return linePerName(func(_, ip string) string { return "good " + ip })(h, n)
	}
	var recs []store.Record
	for i := 0; i < 100; i++ {
		recs = append(recs, f.accountRecord(t, f.svc, fmt.Sprintf("r%03d.example.com", i), "acct", "pw"))
	}
	cfg := fastConfig()
	cfg.PerService = 2
	f.dispatcher(t, cfg)
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.7")})
	f.allDelivered(t, recs)
	if hits := f.up.hits(); len(hits) != 5 {
		t.Errorf("%d requests, want 5 of 20 names", len(hits))
	}
	mu.Lock()
	defer mu.Unlock()
	if most != cfg.PerService {
		t.Errorf("at most %d requests at once, want the limit %d (a request of 20 names counts once)", most, cfg.PerService)
	}
}

// A service that sends both families together (combined) still does, for
// several names at once: hostname=a,b,c&myip=v4,v6, every job delivered.
func TestDyndns2BatchesBothFamiliesTogether(t *testing.T) {
	f := newFixture(t)
	f.up.answer = linePerName(func(_, ip string) string { return "good " + ip })
	svc, err := f.st.CreateService(context.Background(), store.NewService{Name: "combined", Protocol: "dyndns2",
		Settings: []byte(fmt.Sprintf(`{"url": %q, "combined": true}`, f.up.URL+"/nic/update"))})
	if err != nil {
		t.Fatal(err)
	}
	var recs []store.Record
	for i := 0; i < 3; i++ {
		pw, key := f.box.Seal("pw")
		r, err := f.st.CreateRecord(context.Background(), store.NewRecord{HostID: f.host.ID, ServiceID: svc.ID,
			FQDN: fmt.Sprintf("r%d.example.com", i), Username: "acct", Password: pw, PasswordKey: key,
			IPv4Enabled: true, IPv4Netmask: 32, IPv4HostIdentifier: netip.MustParseAddr("0.0.0.0"),
			IPv6Enabled: true, IPv6Netmask: 128, IPv6HostIdentifier: netip.MustParseAddr("::")})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	f.dispatcher(t, fastConfig())
	f.update(t, broker.Addresses{IPv4: netip.MustParseAddr("198.51.100.7"), IPv6: netip.MustParseAddr("2001:db8::7")})
	waitFor(t, "both families of every record delivered", 10*time.Second, func() bool {
		for _, r := range recs {
			if f.state(t, r.ID, 4).State != store.SyncDelivered || f.state(t, r.ID, 6).State != store.SyncDelivered {
				return false
			}
		}
		return true
	})
	hits := f.up.hits()
	if len(hits) != 1 || len(names(hits)[0]) != 3 || hits[0].MyIP != "198.51.100.7,2001:db8::7" {
		t.Errorf("requests %+v, want one with the three names and both addresses", hits)
	}
}
