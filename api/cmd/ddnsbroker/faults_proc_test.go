//go:build faults

package main

// The machinery of the slow fault tests: the real binary run as a child
// process, a fleet of hosts seeded with COPY, a load of routers updating it,
// and the end-to-end check that every acknowledged update reached every
// record's upstream.

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
)

// fleet is n hosts sharing one secret, each with two records at one
// dyndns2 service: a.<host> (IPv4 /32) and b.<host> (IPv4 /24 + 0.0.0.42,
// IPv6 /64 + ::42), so that one update of a host queues three deliveries.
type fleet struct {
	n      int
	domain string
	secret string
}

func (f fleet) host(i int) string { return fmt.Sprintf("h%04d.%s", i, f.domain) }

// hostIndex is the inverse of host for a record or host name, or -1.
func (f fleet) hostIndex(name string) int {
	name = strings.TrimPrefix(strings.TrimPrefix(name, "a."), "b.")
	if !strings.HasPrefix(name, "h") || !strings.HasSuffix(name, "."+f.domain) {
		return -1
	}
	i, err := strconv.Atoi(strings.TrimSuffix(name[1:], "."+f.domain))
	if err != nil {
		return -1
	}
	return i
}

// fleetAddr is the address of host i (< 1024) at generation g (1..16383):
// unique per (host, generation), and every record's effective address
// changes with g.
func fleetAddr(i, g int) (netip.Addr, netip.Addr) {
	v4 := netip.AddrFrom4([4]byte{10, byte(g), byte(g>>8<<2 | i>>8&3), byte(i)})
	v6 := netip.MustParseAddr(fmt.Sprintf("2001:db8:%x:%x::1", g, i))
	return v4, v6
}

// expected are the upstream addresses of host i's records at generation g,
// keyed by "fqdn/family".
func (f fleet) expected(i, g int) map[string]string {
	v4, _ := fleetAddr(i, g)
	b4 := v4.As4()
	b4[3] = 42
	return map[string]string{
		"a." + f.host(i) + "/4": v4.String(),
		"b." + f.host(i) + "/4": netip.AddrFrom4(b4).String(),
		"b." + f.host(i) + "/6": netip.MustParseAddr(fmt.Sprintf("2001:db8:%x:%x::42", g, i)).String(),
	}
}

// genOf reads the generation back from an address a fleet record was sent.
func genOf(ip string) int {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return -1
	}
	if a.Is4() {
		b := a.As4()
		return int(b[2]>>2)<<8 | int(b[1])
	}
	b := a.As16()
	return int(b[4])<<8 | int(b[5])
}

// seedFleet creates the service, n hosts and 2n records with COPY and plain
// SQL (the bench's way), all hosts with the secret "fleet-secret" and
// allowed to publish private IPv4 addresses.
func seedFleet(t *testing.T, dbURL, upURL string, n int, domain string) fleet {
	t.Helper()
	f := fleet{n: n, domain: domain, secret: "fleet-secret"}
	hash, err := auth.HashPassword(auth.DefaultParams, f.secret)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var svc int64
	if err := conn.QueryRow(ctx, `INSERT INTO services (name, protocol, settings) VALUES ($1, 'dyndns2', $2) RETURNING id`,
		"faults "+domain, fmt.Sprintf(`{"url": %q}`, upURL+"/nic/update")).Scan(&svc); err != nil {
		t.Fatal(err)
	}
	// The fleet's IPv4 addresses are in 10/8: its hosts publish private
	// addresses (internal DNS).
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{f.host(i), hash, true}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"hosts"}, []string{"fqdn", "secret_hash", "ipv4_private_allowed"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `
		INSERT INTO records (host_id, service_id, fqdn, ipv4_netmask, ipv4_host_identifier, ipv6_enabled, ipv6_netmask, ipv6_host_identifier)
		SELECT h.id, $1::bigint, 'a.' || h.fqdn, 32, '0.0.0.0'::inet, false, 128, '::'::inet FROM hosts h WHERE h.fqdn LIKE $2
		UNION ALL
		SELECT h.id, $1::bigint, 'b.' || h.fqdn, 24, '0.0.0.42'::inet, true, 64, '::42'::inet FROM hosts h WHERE h.fqdn LIKE $2`, svc, "%."+domain); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO record_states (record_id, family)
		SELECT r.id, f FROM records r, (VALUES (4), (6)) v(f) WHERE r.service_id = $1`, svc); err != nil {
		t.Fatal(err)
	}
	return f
}

// attempt is one request of the fleet load.
type attempt struct {
	host, gen  int
	start, end time.Time
	status     int
	code       string // first word of the answer, or the transport error
	target     int    // index of the URL it went to
}

// ackRec is an update the broker acknowledged (good or nochg).
type ackRec struct {
	gen  int
	code string
	at   time.Time
}

// fleetLoad is routers updating a fleet: each host is updated by one client
// at a time, every update a new generation, each one retried with the same
// address until it is answered good or nochg, as routers do.
type fleetLoad struct {
	f        fleet
	mu       sync.Mutex
	attempts []attempt
	acked    [][]ackRec // per host, in order
	lastGen  []int      // newest generation sent per host
}

// loadSpec says how routers update a fleet.
type loadSpec struct {
	urls    []string // targets, used round-robin
	clients int      // goroutines sharing the ordinary hosts [hot, n)
	// hot hosts [0, hot) have a client each that updates again hotPause
	// after each acknowledgement: faster than deliveries finish, so that
	// newer addresses supersede waiting ones.
	hot      int
	hotPause time.Duration
	until    time.Time     // no new update starts after it
	grace    time.Duration // updates begun are retried until until+grace
	pause    time.Duration // between retries of one update
	every    time.Duration // an ordinary client's pause between updates
}

// runFleet updates the fleet as spec says. Each host is updated by one
// client, one update after the other, each a new generation retried with
// the same address until answered good or nochg.
func runFleet(f fleet, spec loadSpec) *fleetLoad {
	l := &fleetLoad{f: f, acked: make([][]ackRec, f.n), lastGen: make([]int, f.n)}
	conns := spec.clients + spec.hot
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 15 * time.Second}
	hard := spec.until.Add(spec.grace)
	var assigned [][]int
	for i := range spec.hot {
		assigned = append(assigned, []int{i})
	}
	for c := range spec.clients {
		var hs []int
		for i := spec.hot + c; i < f.n; i += spec.clients {
			hs = append(hs, i)
		}
		assigned = append(assigned, hs)
	}
	var wg sync.WaitGroup
	for c, hosts := range assigned {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []attempt
			defer func() { l.mu.Lock(); l.attempts = append(l.attempts, mine...); l.mu.Unlock() }()
			next := c // round-robin over the targets, per client
			for time.Now().Before(spec.until) {
				for _, i := range hosts {
					if !time.Now().Before(spec.until) {
						break
					}
					l.mu.Lock()
					l.lastGen[i]++
					g := l.lastGen[i]
					l.mu.Unlock()
					if g >= 1<<14 {
						return
					}
					v4, v6 := fleetAddr(i, g)
					q := "hostname=" + f.host(i) + "&myip=" + v4.String() + "," + v6.String()
					for time.Now().Before(hard) {
						target := next % len(spec.urls)
						next++
						a := attempt{host: i, gen: g, start: time.Now(), target: target}
						code, body, err := routerUpdate(hc, spec.urls[target], f.host(i), f.secret, q)
						a.end, a.status = time.Now(), code
						if err != nil {
							a.code = "error: " + err.Error()
						} else {
							a.code, _, _ = strings.Cut(strings.TrimSpace(body), " ")
						}
						mine = append(mine, a)
						if err == nil && code == 200 && body == a.code+" "+v4.String()+","+v6.String()+"\n" &&
							(a.code == "good" || a.code == "nochg") {
							l.mu.Lock()
							l.acked[i] = append(l.acked[i], ackRec{gen: g, code: a.code, at: a.end})
							l.mu.Unlock()
							break
						}
						time.Sleep(spec.pause)
					}
					time.Sleep(spec.every)
				}
				if c < spec.hot {
					time.Sleep(spec.hotPause)
				}
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(l.attempts, func(a, b attempt) int { return a.start.Compare(b.start) })
	return l
}

// checkStatuses fails the test for every answer to the fleet's routers (who
// all send the right secret) whose status is not in allowed; transport
// errors (status 0) are left to the caller.
func checkStatuses(t *testing.T, l *fleetLoad, allowed ...int) {
	t.Helper()
	bad := map[string]int{}
	for _, a := range l.attempts {
		if a.status != 0 && !slices.Contains(allowed, a.status) {
			bad[fmt.Sprintf("%d %s", a.status, a.code)]++
		}
	}
	if len(bad) > 0 {
		t.Errorf("routers with the right secret were answered %v (allowed: %v)", bad, allowed)
	}
}

// fleetReport is what verifyFleet found.
type fleetReport struct {
	updates, good, nochg int // acknowledged updates
	delivered            int // acknowledged good updates whose three addresses all reached the upstream
	superseded           int // … that a newer acknowledged update of the host replaced before they were sent
	upstream             int // requests the upstream applied
	duplicates           int // applied requests repeating a (record, address) already applied
	dupAtKill            int // … of those, repeating one that was in flight when a server was killed or lost its database
}

// window is a time span in which a fault was in force: a kill (an instant)
// or a database outage.
type window struct{ from, to time.Time }

func instants(ts []time.Time) []window {
	out := make([]window, len(ts))
	for i, t := range ts {
		out[i] = window{t, t}
	}
	return out
}

// verifyFleet checks the end state after a fleet load: every host holds its
// newest acknowledged address, every record's upstream holds the address
// derived from it (last applied, in order), every acknowledged good update
// was delivered or superseded by a newer acknowledged one, no upstream ever
// went back to an older address, and duplicates are counted. A duplicate is
// excused when the first copy was in flight during one of the faults (a
// kill, a database outage): started before the fault ended and ended at
// most slack before it began (the answer arrived, but the server could not
// record it). Any other duplicate is an error.
func verifyFleet(t *testing.T, dbURL string, l *fleetLoad, up *faultUpstream, faults []window, slack time.Duration) fleetReport {
	t.Helper()
	f := l.f
	var rep fleetReport
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	// Hosts hold the newest acknowledged generation (each load's last
	// update was retried until acknowledged).
	dbGen := make([]int, f.n)
	rows, err := conn.Query(ctx, `SELECT fqdn, ipv4, ipv6 FROM hosts WHERE fqdn LIKE $1`, "%."+f.domain)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var fqdn string
		var v4, v6 *netip.Addr
		if err := rows.Scan(&fqdn, &v4, &v6); err != nil {
			t.Fatal(err)
		}
		i := f.hostIndex(fqdn)
		if v4 == nil || v6 == nil {
			dbGen[i] = 0
			continue
		}
		dbGen[i] = genOf(v4.String())
		if w4, w6 := fleetAddr(i, dbGen[i]); *v4 != w4 || *v6 != w6 {
			t.Errorf("%s holds %s, %s: not one generation", fqdn, v4, v6)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for i := range f.n {
		acks := l.acked[i]
		rep.updates += len(acks)
		if len(acks) == 0 {
			if dbGen[i] > l.lastGen[i] {
				t.Errorf("%s holds generation %d, newer than any sent", f.host(i), dbGen[i])
			}
			continue
		}
		last := acks[len(acks)-1].gen
		if dbGen[i] != last && lost < 10 {
			t.Errorf("%s holds generation %d, but generation %d was acknowledged last (%s)", f.host(i), dbGen[i], last, acks[len(acks)-1].code)
			lost++
		}
	}

	// The upstream: per record, what was applied, in order.
	type applied struct {
		gen         int
		start, done time.Time
	}
	perRecord := map[string][]applied{} // "fqdn/family"
	for _, h := range up.requests() {
		if !h.applied {
			continue
		}
		rep.upstream++
		fam := "4"
		if strings.Contains(h.ip, ":") {
			fam = "6"
		}
		k := h.host + "/" + fam
		perRecord[k] = append(perRecord[k], applied{gen: genOf(h.ip), start: h.arrived, done: h.done})
	}
	regressions := 0
	for k, as := range perRecord {
		slices.SortFunc(as, func(a, b applied) int { return a.done.Compare(b.done) })
		seen := map[int]applied{}
		for j, a := range as {
			if j > 0 && a.gen < as[j-1].gen && regressions < 10 {
				t.Errorf("%s: the upstream got generation %d after %d (an older address landed last)", k, a.gen, as[j-1].gen)
				regressions++
			}
			first, dup := seen[a.gen]
			if !dup {
				seen[a.gen] = a
				continue
			}
			rep.duplicates++
			excused := false
			for _, w := range faults {
				if !first.start.After(w.to) && !first.done.Before(w.from.Add(-slack)) {
					excused = true
				}
			}
			if excused {
				rep.dupAtKill++
			} else if rep.duplicates-rep.dupAtKill <= 10 {
				t.Errorf("%s: generation %d applied twice (first %s–%s, again at %s), not around a fault", k, a.gen,
					first.start.Format("15:04:05.000"), first.done.Format("15:04:05.000"), a.start.Format("15:04:05.000"))
			}
		}
		perRecord[k] = as
	}

	// Every record's upstream ends at its host's generation, and the
	// broker agrees that it was delivered.
	wrong := 0
	states := recordStates(t, dbURL)
	for i := range f.n {
		if dbGen[i] == 0 {
			continue
		}
		for k, want := range f.expected(i, dbGen[i]) {
			as := perRecord[k]
			if len(as) == 0 || as[len(as)-1].gen != dbGen[i] {
				if wrong < 10 {
					got := "nothing"
					if len(as) > 0 {
						got = fmt.Sprintf("generation %d", as[len(as)-1].gen)
					}
					t.Errorf("%s: the upstream holds %s, want %s (generation %d)", k, got, want, dbGen[i])
				}
				wrong++
			}
			if s := states[k]; s.State != "delivered" || s.Delivered.String() != want || s.Desired.String() != want {
				if wrong < 10 {
					t.Errorf("%s: state %q desired %s delivered %s, want delivered %s", k, s.State, s.Desired, s.Delivered, want)
				}
				wrong++
			}
		}
	}

	// Every acknowledged good update reached the upstream, unless a newer
	// acknowledged one replaced it first.
	for i := range f.n {
		acks := l.acked[i]
		for j, a := range acks {
			if a.code == "nochg" {
				rep.nochg++
			} else {
				rep.good++
			}
			all := true
			for k := range f.expected(i, a.gen) {
				if !slices.ContainsFunc(perRecord[k], func(x applied) bool { return x.gen == a.gen }) {
					all = false
				}
			}
			switch {
			case all && a.code == "good":
				rep.delivered++
			case all:
			case j < len(acks)-1 && a.code == "good":
				rep.superseded++
			case j < len(acks)-1:
			default:
				t.Errorf("%s: acknowledged generation %d (%s) never reached the upstream", f.host(i), a.gen, a.code)
			}
		}
	}
	if rep.updates == 0 {
		t.Fatal("no update was acknowledged")
	}
	return rep
}

// waitOutboxEmpty waits until no delivery is pending or running.
func waitOutboxEmpty(t *testing.T, dbURL string, d time.Duration) time.Duration {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	start := time.Now()
	var n int
	for {
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE state IN ('pending', 'running')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return time.Since(start)
		}
		if time.Since(start) > d {
			var detail string
			_ = conn.QueryRow(ctx, `SELECT string_agg(state || ' ' || n, ', ') FROM (SELECT state, count(*) n FROM deliveries GROUP BY state) s`).Scan(&detail)
			t.Fatalf("outbox not empty after %s: %s", d, detail)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// deliveryStates counts the outbox rows by state.
func deliveryStates(t *testing.T, dbURL string) map[string]int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	return countBy(t, conn, `SELECT state, count(*) FROM deliveries GROUP BY state`)
}

// slowGood is an upstream that takes lo..hi to apply and answer good.
func slowGood(lo, hi time.Duration) func(string, string, int) upAction {
	return func(string, string, int) upAction {
		return upAction{kind: "good", delay: lo + time.Duration(rand.Int64N(int64(hi-lo)))}
	}
}

// readAll is io.ReadAll bounded to 1 MiB.
func readAll(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 1<<20))
	return string(b)
}

// alive reports whether the current process is still running.
func (p *proc) alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// cpu is the CPU time (user + system) the running process has used.
func (p *proc) cpu() time.Duration {
	p.mu.Lock()
	pid := p.cmd.Process.Pid
	p.mu.Unlock()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		p.t.Fatal(err)
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line, in clock ticks (100 per second).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
