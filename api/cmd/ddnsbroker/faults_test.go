package main

// Fault injection (issue 8). The tests here take seconds and run in `make
// test` as well: hostile requests, an upstream that answers badauth, one that
// answers abuse. The slow ones (kill -9, database outage, flaky upstream, two
// replicas, brute force, slow clients, fuzzing) are in faults_*_test.go files
// with the faults build tag; `make test-faults` runs them all.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// upAction is what a faultUpstream does with one request.
type upAction struct {
	kind   string        // good, answer, hang, reset, truncate
	delay  time.Duration // spent first; a good answer is applied even if the client has left by then
	status int           // answer: HTTP status
	body   string        // answer: body
}

// upHit is one request a faultUpstream received.
type upHit struct {
	host, ip      string
	kind          string
	arrived, done time.Time
	applied       bool // answered good: the provider now publishes ip for host
}

// faultUpstream is a dyndns2 provider whose answer to each request is chosen
// by decide (n counts the earlier requests for the same hostname).
type faultUpstream struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []upHit
	seen   map[string]int
	decide func(host, ip string, n int) upAction
	quit   chan struct{}
}

func newFaultUpstream(t testing.TB, decide func(host, ip string, n int) upAction) *faultUpstream {
	u := &faultUpstream{seen: map[string]int{}, decide: decide, quit: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(func() { close(u.quit); u.Close() })
	return u
}

func (u *faultUpstream) setDecide(decide func(host, ip string, n int) upAction) {
	u.mu.Lock()
	u.decide = decide
	u.mu.Unlock()
}

// serve answers a request for one name or several (hostname=a,b,c, as the
// broker sends records that share a login and an address): decide chooses
// by the first name, and the request counts as one hit per name.
func (u *faultUpstream) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	names := strings.Split(q.Get("hostname"), ",")
	h := upHit{host: names[0], ip: q.Get("myip"), arrived: time.Now()}
	u.mu.Lock()
	n := u.seen[h.host]
	for _, name := range names {
		u.seen[name]++
	}
	a := u.decide(h.host, h.ip, n)
	u.mu.Unlock()
	h.kind = a.kind
	if a.delay > 0 {
		time.Sleep(a.delay) // like a provider, finish the work even if the client went away
	}
	record := func() {
		h.done = time.Now()
		u.mu.Lock()
		for _, name := range names {
			one := h
			one.host = name
			u.hits = append(u.hits, one)
		}
		u.mu.Unlock()
	}
	switch a.kind {
	case "good":
		h.applied = true
		record()
		io.WriteString(w, strings.Repeat("good "+h.ip+"\n", len(names)))
	case "answer":
		record()
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	case "hang": // until the client gives up
		select {
		case <-r.Context().Done():
		case <-u.quit:
		case <-time.After(2 * time.Minute):
		}
		record()
	case "reset", "truncate":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		if a.kind == "truncate" {
			io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\ngo")
		} else if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close with RST
		}
		conn.Close()
		record()
	default:
		panic("unknown upstream action " + a.kind)
	}
}

func (u *faultUpstream) requests() []upHit {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.hits)
}

func (u *faultUpstream) requestsFor(host string) []upHit {
	var out []upHit
	for _, h := range u.requests() {
		if h.host == host {
			out = append(out, h)
		}
	}
	return out
}

func answerAlways(status int, body string) func(string, string, int) upAction {
	return func(string, string, int) upAction { return upAction{kind: "answer", status: status, body: body} }
}

func answerGood(string, string, int) upAction { return upAction{kind: "good"} }

// routerUpdate sends one dyndns2 update as a router would.
func routerUpdate(hc *http.Client, base, user, secret, query string) (int, string, error) {
	req, err := http.NewRequest("GET", base+"/nic/update?"+query, nil)
	if err != nil {
		return 0, "", err
	}
	req.SetBasicAuth(user, secret)
	req.Header.Set("User-Agent", "ddnsbroker-faults/1.0")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

func mustUpdate(t *testing.T, base, user, secret, myip, want string) {
	t.Helper()
	code, body, err := routerUpdate(http.DefaultClient, base, user, secret, "myip="+myip)
	if err != nil || code != 200 || body != want+" "+myip+"\n" {
		t.Fatalf("update to %s: %d %q %v, want %s", myip, code, body, err, want)
	}
}

// recordStates reads every (record, family) state by record FQDN and family.
func recordStates(t testing.TB, dbURL string) map[string]store.RecordState {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT r.fqdn, s.family, s.desired, s.delivered, s.state, s.attempts, s.next_attempt_at, s.message
		FROM records r JOIN record_states s ON s.record_id = r.id`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.RecordState{}
	for rows.Next() {
		var fqdn string
		var s store.RecordState
		if err := rows.Scan(&fqdn, &s.Family, &s.Desired, &s.Delivered, &s.State, &s.Attempts, &s.NextAttemptAt, &s.Message); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%s/%d", fqdn, s.Family)] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// changeRecord changes a record's upstream username the way the API does: the
// patch and a forced reconcile in one transaction.
func changeRecord(t *testing.T, dbURL, fqdn, username string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	brk := broker.New(st, slog.New(slog.DiscardHandler))
	err = st.InTx(ctx, func(q *store.Queries) error {
		recs, err := q.RecordsPage(ctx, store.RecordPage{Search: fqdn, Limit: 1000})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.FQDN != fqdn {
				continue
			}
			if _, err := q.UpdateRecord(ctx, r.ID, store.RecordPatch{Username: &username}); err != nil {
				return err
			}
			_, err := brk.RecordEdited(ctx, q, r.HostID, r.ID, true)
			return err
		}
		return fmt.Errorf("no record %s", fqdn)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFaultUpstreamBadauth: an upstream that answers badauth gets exactly one
// request per (record, family), through retries and new router addresses,
// until the record is changed; then exactly one more.
func TestFaultUpstreamBadauth(t *testing.T) {
	dbURL := storetest.NewURL(t)
	up := newFaultUpstream(t, answerAlways(200, "badauth\n"))
	seed(t, dbURL, up.URL, "router.example.com", "router-secret-f1",
		recordSpec{"a.example.com", 32, "0.0.0.0", -1, "::", ""},
		recordSpec{"b.example.com", 24, "0.0.0.42", -1, "::", ""},
		recordSpec{"c.example.com", -1, "0.0.0.0", 64, "::cafe", ""})
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_LOG_LEVEL": "warn",
		"DDNSBROKER_RETRY_BASE": "100ms", "DDNSBROKER_RETRY_MAX": "400ms"})
	const user, secret = "router.example.com", "router-secret-f1"

	mustUpdate(t, srv.URL, user, secret, "198.51.100.1,2001:db8:1:1::1", "good")
	waitUntil(t, "one request per record", 10*time.Second, func() bool { return len(up.requests()) >= 3 })
	// Several retry periods and two new router addresses later…
	time.Sleep(700 * time.Millisecond)
	mustUpdate(t, srv.URL, user, secret, "198.51.101.2,2001:db8:1:2::1", "good")
	time.Sleep(300 * time.Millisecond)
	mustUpdate(t, srv.URL, user, secret, "198.51.102.3,2001:db8:1:3::1", "good")
	time.Sleep(time.Second)
	counts := func() string {
		return fmt.Sprintf("a=%d b=%d c=%d", len(up.requestsFor("a.example.com")), len(up.requestsFor("b.example.com")),
			len(up.requestsFor("c.example.com")))
	}
	if got := counts(); got != "a=1 b=1 c=1" {
		t.Fatalf("requests per record: %s, want one each: %+v", got, up.requests())
	}
	states := recordStates(t, dbURL)
	for _, k := range []string{"a.example.com/4", "b.example.com/4", "c.example.com/6"} {
		if s := states[k]; s.State != "failed" || !strings.Contains(s.Message, "badauth") {
			t.Errorf("%s: state %q message %q, want failed with badauth", k, s.State, s.Message)
		}
	}

	// A change of record a sends its newest address once more, and only a's.
	changeRecord(t, dbURL, "a.example.com", "new-user")
	waitUntil(t, "a request after the change", 10*time.Second, func() bool { return len(up.requestsFor("a.example.com")) == 2 })
	time.Sleep(time.Second)
	if got := counts(); got != "a=2 b=1 c=1" {
		t.Fatalf("after changing record a: %s, want a=2 b=1 c=1", got)
	}
	if h := up.requestsFor("a.example.com")[1]; h.ip != "198.51.102.3" {
		t.Fatalf("after the change a got %s, want the newest address 198.51.102.3", h.ip)
	}
	// A changed record that now works is delivered; the others stay failed.
	up.setDecide(answerGood)
	changeRecord(t, dbURL, "b.example.com", "new-user")
	waitUntil(t, "b delivered", 10*time.Second, func() bool { return recordStates(t, dbURL)["b.example.com/4"].State == "delivered" })
	time.Sleep(500 * time.Millisecond)
	if got := counts(); got != "a=2 b=2 c=1" {
		t.Fatalf("after changing record b: %s, want a=2 b=2 c=1", got)
	}
	t.Logf("badauth upstream: %s requests (one per record, one more per change)", counts())
}

// TestFaultUpstreamAbuse: an upstream that answers abuse is left alone for
// the block period, also when the router reports new addresses meanwhile;
// after the block only the newest address is sent.
func TestFaultUpstreamAbuse(t *testing.T) {
	const block = 2 * time.Second
	dbURL := storetest.NewURL(t)
	up := newFaultUpstream(t, answerAlways(200, "abuse\n"))
	seed(t, dbURL, up.URL, "router.example.com", "router-secret-f2", recordSpec{"a.example.com", 32, "0.0.0.0", -1, "::", ""})
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_LOG_LEVEL": "warn",
		"DDNSBROKER_RETRY_BASE": "100ms", "DDNSBROKER_RETRY_MAX": "400ms", "DDNSBROKER_BLOCK_FOR": block.String()})
	const user, secret = "router.example.com", "router-secret-f2"

	mustUpdate(t, srv.URL, user, secret, "198.51.100.1", "good")
	waitUntil(t, "the first request", 10*time.Second, func() bool { return len(up.requests()) == 1 })
	waitUntil(t, "blocked state", 5*time.Second, func() bool { return recordStates(t, dbURL)["a.example.com/4"].State == "blocked" })
	mustUpdate(t, srv.URL, user, secret, "198.51.100.2", "good")
	time.Sleep(200 * time.Millisecond)
	mustUpdate(t, srv.URL, user, secret, "198.51.100.3", "good")
	waitUntil(t, "the request after the block", block+5*time.Second, func() bool { return len(up.requests()) == 2 })
	up.setDecide(answerGood)
	waitUntil(t, "the request after the second block", block+5*time.Second, func() bool { return len(up.requests()) == 3 })
	time.Sleep(300 * time.Millisecond)
	hits := up.requests()
	if len(hits) != 3 {
		t.Fatalf("%d requests, want 3: %+v", len(hits), hits)
	}
	for i := 1; i < 3; i++ {
		if gap := hits[i].arrived.Sub(hits[i-1].done); gap < block-50*time.Millisecond {
			t.Errorf("request %d came %s after abuse, within the %s block", i+1, gap.Round(time.Millisecond), block)
		}
		if hits[i].ip != "198.51.100.3" {
			t.Errorf("request %d sent %s, want only the newest address 198.51.100.3", i+1, hits[i].ip)
		}
	}
	if s := recordStates(t, dbURL)["a.example.com/4"]; s.State != "delivered" || s.Delivered != netip.MustParseAddr("198.51.100.3") {
		t.Fatalf("final state %+v", s)
	}
	t.Logf("abuse upstream: gaps after abuse %s and %s (block %s); addresses sent %s, %s, %s",
		hits[1].arrived.Sub(hits[0].done).Round(time.Millisecond), hits[2].arrived.Sub(hits[1].done).Round(time.Millisecond),
		block, hits[0].ip, hits[1].ip, hits[2].ip)
}

// dbSnapshot fingerprints every table a hostile request must not change
// (hosts without last_seen_at, which a nochg answer may touch) and counts
// events by kind.
func dbSnapshot(t testing.TB, dbURL string) (string, map[string]int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var parts []string
	for _, q := range []string{
		`SELECT id, fqdn, secret_hash, enabled, ipv4_enabled, ipv6_enabled, ipv4, ipv6, ipv6_prefix, ipv4_updated_at,
			ipv4_changed_at, ipv6_updated_at, ipv6_changed_at, notes, created_at, updated_at FROM hosts`,
		`SELECT * FROM records`, `SELECT * FROM record_states`, `SELECT * FROM deliveries`, `SELECT * FROM services`,
		`SELECT * FROM users`, `SELECT * FROM api_tokens`,
	} {
		var s string
		if err := conn.QueryRow(ctx, `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM (`+q+`) t`).Scan(&s); err != nil {
			t.Fatalf("snapshot %s: %v", q, err)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " "), countBy(t, conn, `SELECT kind, count(*) FROM events GROUP BY kind`)
}

// countBy runs a "SELECT key, count(*) … GROUP BY key" query into a map.
func countBy(t testing.TB, conn *pgx.Conn, sql string) map[string]int {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		out[k] = n
	}
	return out
}

// hostileValues go into every field: SQL and template metacharacters,
// NUL bytes, invalid UTF-8, zone ids, unusable addresses, huge values.
var hostileValues = []string{
	"' OR '1'='1", "'; DROP TABLE hosts; --", `" OR ""="`, "1; SELECT pg_sleep(10)", "$$; COPY hosts TO PROGRAM 'id'; $$",
	"{{.}}", "{{template \"x\" .}}", "${jndi:ldap://127.0.0.1/x}", "#{7*7}", "<%= 7*7 %>", "<script>alert(1)</script>",
	"%s%s%s%n", "\x00", "a\x00b.example.com", "\xff\xfe\xfd", "\xc3\x28", "\xed\xa0\x80", "\u202eexample.com", "🙂.example.com",
	"fe80::1%eth0", "fe80::1%25eth0", "::1%lo", "1.2.3.4%eth0", "fe80::1%", "192.0.2.1/33", "2001:db8::/129", "::/0",
	"0.0.0.0", "::", "224.0.0.1", "ff02::1", "999.1.1.1", "1.2.3", "01.02.03.04", "0x7f.1", "1e309", "-1",
	"preserve,preserve,preserve", ",,,,,,", "%", "%%", "%zz", "..%2f..%2fetc%2fpasswd", "\\\\", "$(id)", "`id`",
	"\r\nX-Injected: 1", "null", "[]", "{}", strings.Repeat("A", 4000), strings.Repeat("a.", 200) + "example.com",
	strings.Repeat("%00", 300),
}

var hostileFields = []string{"hostname", "myip", "myipv4", "ipv4", "ip", "myipv6", "myip6", "ipv6", "ip6lanprefix",
	"ipv6prefix", "system", "wildcard", "mx", "backmx", "offline", "url", "username", "password", "user", "pass",
	"<x>", "' OR 1=1 --"}

var addressFields = map[string]bool{"myip": true, "myipv4": true, "ipv4": true, "ip": true, "myipv6": true, "myip6": true,
	"ipv6": true, "ip6lanprefix": true, "ipv6prefix": true}

// hostileRequest is one entry of the corpus sent through net/http.
type hostileRequest struct {
	method, path, rawQuery string
	header                 http.Header
	body                   []byte
	want                   int        // the status a limit must answer with, if checked
	basic                  *[2]string // Basic credentials, if any
}

// hostileCorpus builds the dyndns2 corpus: every hostile value in every
// field, with the right credentials (and the host's own address, so that a
// request wrongly accepted answers nochg instead of changing state) and
// without; plus broken Authorization headers, huge headers and query strings,
// 10,000 hostnames, hostile methods, paths and bodies.
func hostileCorpus(user, secret, ownIP string) []hostileRequest {
	var c []hostileRequest
	valid := &[2]string{user, secret}
	for _, f := range hostileFields {
		for _, v := range hostileValues {
			q := url.QueryEscape(f) + "=" + url.QueryEscape(v)
			if !addressFields[f] {
				q += "&myip=" + ownIP
			}
			c = append(c, hostileRequest{method: "GET", path: "/nic/update", rawQuery: q, basic: valid})
			// Unescaped as FRITZ!Box sends values, where net/http lets it.
			raw := f + "=" + v + "&password=" + v
			if !strings.ContainsAny(raw, " \x00\r\n#") {
				c = append(c, hostileRequest{method: "GET", path: "/nic/update", rawQuery: raw + "&username=" + url.QueryEscape(v)})
			} else {
				c = append(c, hostileRequest{method: "GET", path: "/v3/update", rawQuery: q + "&username=" + url.QueryEscape(v) +
					"&password=" + url.QueryEscape(v)})
			}
		}
	}
	b64 := base64.StdEncoding.EncodeToString
	for _, a := range []string{
		"Basic", "Basic ", "Basic !!!!", "Basic ====", "Basic " + b64([]byte("no-colon")), "Basic " + b64([]byte(":")),
		"Basic " + b64([]byte("router.example.com:")), "Basic " + b64([]byte(":"+secret)), "Basic " + b64([]byte("a\x00b:c\x00d")),
		"Basic " + b64([]byte("\xff\xfe:\xff")), "Basic " + b64([]byte(strings.Repeat("x", 20000)+":y")), "Basic " + strings.Repeat("A", 30000),
		"Bearer " + b64([]byte(user+":"+secret)), "basic " + b64([]byte(user+":"+secret+"x")), "Digest username=\"x\"",
		"Basic " + b64([]byte("' OR 1=1 --:' OR 1=1 --")), "Basic " + b64([]byte("{{.}}:${jndi:x}")), "Basic " + b64([]byte(user + ":" + secret))[:10],
		"Basic " + b64([]byte("router.example.com.:"+secret+"\x00")), "Basic\t" + b64([]byte(user+":wrong")),
	} {
		c = append(c, hostileRequest{method: "GET", path: "/nic/update", rawQuery: "myip=" + ownIP, header: http.Header{"Authorization": {a}}})
	}
	names := strings.Repeat("a.example.com,", 9999) + "a.example.com" // 10,000 hostnames, 140 KB
	short := strings.Repeat("x.y,", 9999) + "x.y"                     // 10,000 hostnames, 40 KB
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	c = append(c,
		hostileRequest{method: "GET", path: "/nic/update", rawQuery: "myip=" + ownIP + "&hostname=" + short, basic: valid, want: 200}, // numhost
		hostileRequest{method: "GET", path: "/nic/update", rawQuery: "myip=" + ownIP + "&hostname=" + names, basic: valid, want: 431},
		hostileRequest{method: "POST", path: "/nic/update", header: form, body: []byte("myip=" + ownIP + "&hostname=" + short), basic: valid},
		hostileRequest{method: "POST", path: "/nic/update", header: form, body: []byte("myip=" + ownIP + "&hostname=" + names), basic: valid},
		// Body limit of the dyndns2 endpoint: 64 KiB.
		hostileRequest{method: "POST", path: "/nic/update", header: form, body: bytes.Repeat([]byte("myip=1.2.3.4&"), 100_000), basic: valid, want: 400},
		hostileRequest{method: "POST", path: "/nic/update", header: http.Header{"Content-Type": {"multipart/form-data; boundary=x"}},
			body: []byte("--x\r\nContent-Disposition: form-data; name=\"myip\"\r\n\r\n" + strings.Repeat("1", 200_000) + "\r\n--x--\r\n"), basic: valid},
		hostileRequest{method: "POST", path: "/nic/update", header: http.Header{"Content-Type": {"multipart/form-data; boundary="}},
			body: []byte("garbage"), basic: valid},
		hostileRequest{method: "POST", path: "/nic/update", header: http.Header{"Content-Type": {"multipart/form-data"}},
			body: bytes.Repeat([]byte("--\r\n"), 10000), basic: valid},
		hostileRequest{method: "POST", path: "/nic/update", header: http.Header{"Content-Type": {"application/json"}},
			body: []byte(`{"myip": "1.2.3.4"}`), basic: valid},
		hostileRequest{method: "GET", path: "/nic/update", rawQuery: "myip=" + ownIP + "&" + strings.Repeat("x=1&", 20000), basic: valid},
		hostileRequest{method: "GET", path: "/nic/update", rawQuery: "myip=" + ownIP, basic: valid,
			header: http.Header{"X-Big": {strings.Repeat("b", 70<<10)}}}, // about the limit: 64 KiB, plus what net/http buffers
		hostileRequest{method: "GET", path: "/nic/update", rawQuery: "myip=" + ownIP, basic: valid,
			header: http.Header{"X-Big": {strings.Repeat("b", 100<<10)}}, want: 431},
		hostileRequest{method: "GET", path: "/nic/update", rawQuery: "myip=" + ownIP, basic: valid,
			header: func() http.Header {
				h := http.Header{}
				for i := range 2000 {
					h.Set(fmt.Sprintf("X-H%d", i), strings.Repeat("v", 40))
				}
				return h
			}()},
		hostileRequest{method: "GET", path: "/nic/update", rawQuery: "myip=" + ownIP, basic: valid,
			header: http.Header{"X-Forwarded-For": {"' OR 1=1 --, 127.0.0.1, ::1%lo, " + strings.Repeat("1.", 1000)},
				"X-Real-Ip": {"{{.}}"}, "User-Agent": {"\xff\xfe' OR 1=1"}, "Host": {"{{.}}"}}},
	)
	for _, m := range []string{"PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "X'OR1=1"} {
		c = append(c, hostileRequest{method: m, path: "/nic/update", rawQuery: "myip=" + ownIP, basic: valid})
	}
	for _, p := range []string{"//nic/update", "/nic/update/", "/nic/update/../update", "/nic/%2e%2e/nic/update", "/nic/update;x=1",
		"/NIC/UPDATE", "/nic/update%00", "/nic/update%ff", "/nic//update", "/nic/checkip", "/myip", "/myip?x=%00"} {
		c = append(c, hostileRequest{method: "GET", path: p, rawQuery: "myip=' OR 1=1", basic: valid})
	}
	return c
}

// rawHostile are requests net/http would not send: raw NUL bytes, bare
// CR/LF, smuggling headers, broken chunking, invalid UTF-8 on the wire.
func rawHostile(hostport, auth, ownIP string) []string {
	var c []string
	defer func() {
		for i := range c {
			c[i] = strings.ReplaceAll(c[i], "1.2.3.4", ownIP)
		}
	}()
	for _, line := range []string{
		"GET /nic/update?myip=1.2.3.4\x00 HTTP/1.1", "GET /nic/update?myip=\xff\xfe HTTP/1.1", "GET /nic/\x00update HTTP/1.1",
		"GET /nic/update?myip=1.2.3.4 HTTP/9.9", "GET /nic/update", "GET /nic/update HTTP/1.1 extra", "\x00\x00\x00\x00",
		"GET  /nic/update  HTTP/1.1", "G\x00T /nic/update HTTP/1.1", "GET http://evil/nic/update HTTP/1.1", "GET * HTTP/1.1",
		"CONNECT 127.0.0.1:1 HTTP/1.1", "GET /nic/update?" + strings.Repeat("a", 100_000) + " HTTP/1.1",
	} {
		c = append(c, line+"\r\nHost: "+hostport+"\r\nAuthorization: "+auth+"\r\n\r\n")
	}
	for _, hdr := range []string{
		"X-A: a\x00b", "X-A: \xff\xfe", "X A: b", ": novalue", "X-A:\r\n b", "Authorization: Basic \x00\x00",
		"Content-Length: 5\r\nContent-Length: 6", "Content-Length: -1", "Content-Length: 99999999999999999999",
		"Transfer-Encoding: chunked\r\nContent-Length: 3", "Transfer-Encoding: gzip, chunked", "Transfer-Encoding: \x00chunked",
		"Host: a\r\nHost: b", "Expect: 100-continue", "Content-Type: text/plain; charset=\x7f", "Authorization: Bearer x\x00", "Connection: Upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: AAAA",
	} {
		c = append(c, "POST /nic/update?myip=1.2.3.4 HTTP/1.1\r\nHost: "+hostport+"\r\nAuthorization: "+auth+"\r\n"+hdr+"\r\n\r\nmyip=")
	}
	c = append(c,
		"POST /nic/update HTTP/1.1\r\nHost: "+hostport+"\r\nAuthorization: "+auth+"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nmyip\r\n0\r\n\r\n",
		"POST /nic/update HTTP/1.1\r\nHost: "+hostport+"\r\nAuthorization: "+auth+"\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nmyip\r\n",
		"POST /nic/update HTTP/1.1\r\nHost: "+hostport+"\r\nAuthorization: "+auth+"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 16\r\n\r\nmyip=1.2.3.4\x00\xff\xfe\x00",
		"GET /nic/update?myip=1.2.3.4 HTTP/1.1\r\nHost: "+hostport+"\r\n"+strings.Repeat("X: y\r\n", 20000)+"\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", // a TLS hello on the plain port
	)
	return c
}

// sendRaw writes a raw request and returns the answer's status: 0 when the
// server closed the connection without answering, -1 when it is still
// waiting for the rest of an incomplete request after a while (the read
// timeouts of the slow-client test end that).
func sendRaw(addr, req string) (int, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		return 0, nil // the server hung up while we were still sending: no answer
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if line == "" {
		if isTimeout(err) {
			return -1, nil
		}
		return 0, nil
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return 0, fmt.Errorf("not an HTTP answer: %q", line)
	}
	return strconv.Atoi(f[1])
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// memPeak samples the heap in use until stop is called and returns its
// highest value.
func memPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak.Load() }
}

// TestFaultHostileInput sends well over 1,000 malformed and hostile requests
// to the dyndns2 endpoint and the JSON API: no 5xx, no panic, no state
// change, no error answer that reads as success, and a bounded heap.
func TestFaultHostileInput(t *testing.T) {
	dbURL := storetest.NewURL(t)
	up := newFakeUpstream(t)
	// The router's own address is the loopback address the test connects
	// from, so that a request that rightly falls back to the source address
	// (an empty myip) changes nothing either.
	const user, secret, ownIP = "router.example.com", "router-secret-h1", "127.0.0.1"
	seed(t, dbURL, up.URL, user, secret, recordSpec{"a.example.com", 32, "0.0.0.0", -1, "::", ""},
		recordSpec{"b.example.com", 24, "0.0.0.42", 64, "::42", ""})
	srv := startServe(t, map[string]string{"DDNSBROKER_DATABASE_URL": dbURL, "DDNSBROKER_LOG_LEVEL": "info"})
	// The router's first update verifies its secret (then it is cached) and
	// queues two deliveries; the corpus starts once they are done.
	mustUpdate(t, srv.URL, user, secret, ownIP, "good")
	waitUntil(t, "the first deliveries", 10*time.Second, func() bool { return len(up.requests()) == 2 })
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	waitUntil(t, "an empty outbox", 10*time.Second, func() bool {
		q, err := st.Queue(context.Background())
		return err == nil && q.Pending+q.Running == 0
	})
	token := apiLogin(t, srv.URL, "admin", "admin-password-for-tests")
	before, eventsBefore := dbSnapshot(t, dbURL)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseline := ms.HeapInuse
	stopMem := memPeak()

	corpus := hostileCorpus(user, secret, ownIP)
	var apiCorpus []hostileRequest
	if token != "" {
		apiCorpus = hostileAPICorpus(token)
	}
	raw := rawHostile(strings.TrimPrefix(srv.URL, "http://"), "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+secret)), ownIP)

	tr := &http.Transport{MaxConnsPerHost: 8, MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	type result struct {
		req    hostileRequest
		status int
		body   string
		ctype  string
		err    error
		took   time.Duration
	}
	// Failed logins are rate limited per address after 10: the ones most
	// likely to upset the database go first, one after the other, so that
	// they always reach it.
	var all []hostileRequest
	if token != "" {
		for _, u := range []string{`\u0000`, `admin\u0000`, `a\u0000b.example.com`, `%00`, `' OR 1=1 --`} {
			all = append(all, hostileRequest{method: "POST", path: "/api/v1/auth/login", header: http.Header{"Content-Type": {"application/json"}},
				body: []byte(`{"username": "` + u + `", "password": "x\u0000"}`)})
		}
	}
	prelude := len(all)
	all = append(append(all, corpus...), apiCorpus...)
	results := make([]result, len(all))
	send := func(i int) {
		r := all[i]
		req, err := http.NewRequest(r.method, srv.URL+r.path, bytes.NewReader(r.body))
		if err != nil {
			results[i] = result{req: r, err: err}
			return
		}
		req.URL.RawQuery = r.rawQuery
		for k, vs := range r.header {
			if k == "Host" {
				req.Host = vs[0]
				continue
			}
			req.Header[k] = vs
		}
		if r.basic != nil {
			req.SetBasicAuth(r.basic[0], r.basic[1])
		}
		t0 := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			results[i] = result{req: r, err: err, took: time.Since(t0)}
			return
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		results[i] = result{req: r, status: resp.StatusCode, body: string(b), ctype: resp.Header.Get("Content-Type"), took: time.Since(t0)}
	}
	start := time.Now()
	for i := range prelude {
		send(i)
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	next.Store(int64(prelude))
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(all); i = int(next.Add(1) - 1) {
				send(i)
			}
		}()
	}
	wg.Wait()
	rawStatus := map[int]int{}
	var rawMu sync.Mutex
	for i, r := range raw {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%8) * 50 * time.Millisecond)
			code, err := sendRaw(strings.TrimPrefix(srv.URL, "http://"), r)
			if err != nil {
				t.Errorf("raw request %q: %v", trunc(r, 80), err)
			}
			// 501 and 505 are net/http's own answers to a transfer coding
			// or protocol version it does not implement, before any
			// handler runs.
			if code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported {
				t.Errorf("raw request %q: status %d", trunc(r, 80), code)
			}
			rawMu.Lock()
			rawStatus[code]++
			rawMu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	peak := stopMem()

	statuses := map[int]int{}
	var slowest time.Duration
	for _, r := range results {
		desc := fmt.Sprintf("%s %s?%s", r.req.method, r.req.path, trunc(r.req.rawQuery, 100))
		slowest = max(slowest, r.took)
		if r.err != nil {
			// net/http refuses a few values on our side (e.g. a bad method);
			// the raw corpus sends such bytes instead.
			if strings.Contains(r.err.Error(), "invalid method") {
				continue
			}
			t.Errorf("%s: %v", desc, r.err)
			continue
		}
		statuses[r.status]++
		if r.req.want != 0 && r.status != r.req.want {
			hdr := 0
			for k, vs := range r.req.header {
				for _, v := range vs {
					hdr += len(k) + len(v) + 4
				}
			}
			t.Errorf("%s (%d bytes of extra headers, %d of body): %d %q, want %d", desc, hdr, len(r.req.body), r.status,
				trunc(r.body, 100), r.req.want)
		}
		if r.status >= 500 {
			t.Errorf("%s (body %q): %d %q", desc, trunc(string(r.req.body), 100), r.status, trunc(r.body, 200))
		}
		if !strings.HasPrefix(r.req.path, "/api/") && r.ctype == "text/plain; charset=utf-8" {
			if r.status == 200 {
				for _, l := range strings.Split(strings.TrimSuffix(r.body, "\n"), "\n") {
					code, _, _ := strings.Cut(l, " ")
					switch code {
					case "nochg", "notfqdn", "nohost", "numhost":
					default:
						if !(strings.HasSuffix(r.req.path, "checkip") || strings.HasPrefix(r.req.path, "/myip")) {
							t.Errorf("%s: 200 line %q", desc, l)
						}
					}
				}
			} else if lower := strings.ToLower(r.body); strings.Contains(lower, "good") || strings.Contains(lower, "nochg") ||
				strings.Contains(lower, "ok") || strings.Contains(lower, "true") || strings.Contains(lower, "updated") {
				t.Errorf("%s: error answer %d %q reads as success", desc, r.status, r.body)
			}
		}
	}
	// "1; SELECT pg_sleep(10)" and friends: nothing may make a request hang.
	if slowest > 5*time.Second {
		t.Errorf("the slowest hostile request took %s", slowest)
	}
	total := len(results) + len(raw)
	if total < 1000 {
		t.Fatalf("corpus has %d requests, want at least 1,000", total)
	}
	if logs := srv.Log.String(); containsPanic(logs) {
		t.Errorf("the server panicked:\n%s", grepLines(logs, "panic", 20))
	}
	after, eventsAfter := dbSnapshot(t, dbURL)
	if after != before {
		t.Errorf("hostile requests changed the database:\nbefore %s\nafter  %s", before, after)
	}
	for k, n := range eventsAfter {
		if n != eventsBefore[k] && k != "auth.failed" && k != "auth.login_failed" {
			t.Errorf("hostile requests added %d %s events", n-eventsBefore[k], k)
		}
	}
	if got := len(up.requests()); got != 2 {
		t.Errorf("the upstream got %d requests, want only the 2 from before the corpus", got)
	}
	// The server still works.
	mustUpdate(t, srv.URL, user, secret, ownIP, "nochg")
	growth := int64(peak) - int64(baseline)
	t.Logf("hostile input: %d requests (%d dyndns2, %d API, %d raw) in %s, slowest %s; statuses %v, raw %v; heap in use peak +%d MiB over %d MiB",
		total, len(corpus), len(apiCorpus), len(raw), elapsed.Round(time.Millisecond), slowest.Round(time.Millisecond), statuses, rawStatus,
		growth>>20, baseline>>20)
	if growth > 256<<20 {
		t.Errorf("heap in use grew by %d MiB during the corpus", growth>>20)
	}
}

// apiLogin returns an access token for the JSON API, or "" when the API
// does not log in (it is being built; the API corpus is then skipped).
func apiLogin(t *testing.T, base, user, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Logf("API login answered %d (%v): skipping the authenticated API corpus", resp.StatusCode, err)
		return ""
	}
	return tok.AccessToken
}

// hostileAPICorpus: hostile paths, queries, tokens and bodies for /api/v1.
// With the valid token only reads and writes that must be refused are sent,
// so that nothing may change.
func hostileAPICorpus(token string) []hostileRequest {
	var c []hostileRequest
	bearer := func(tok string) http.Header {
		return http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}}
	}
	jsonHdr := http.Header{"Content-Type": {"application/json"}}
	none := base64.RawURLEncoding.EncodeToString
	badTokens := []string{"", "x", "a.b.c", strings.Repeat("A", 10000), none([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		none([]byte(`{"sub":"1","exp":9999999999}`)) + ".", token[:len(token)-2] + "xx", "' OR 1=1 --", "{{.}}"}
	paths := []string{"/api/v1/hosts", "/api/v1/hosts/1", "/api/v1/records", "/api/v1/records/1", "/api/v1/services",
		"/api/v1/users", "/api/v1/tokens", "/api/v1/events", "/api/v1/status", "/api/v1/me", "/api/v1/hosts/1/secret",
		"/api/v1/hosts/1/resync", "/api/v1/records/1/deliveries", "/api/v1/nonexistent", "/api/v1/hosts/%00",
		"/api/v1/hosts/99999999999999999999999", "/api/v1/hosts/-1", "/api/v1/hosts/1;DROP", "/api/v1/hosts/..%2f..%2fstatus"}
	for _, p := range paths {
		for _, m := range []string{"GET", "POST", "PATCH", "PUT", "DELETE"} {
			tok := badTokens[len(c)%len(badTokens)]
			c = append(c, hostileRequest{method: m, path: p, header: bearer(tok), body: []byte(`{"fqdn": "' OR 1=1 --"}`)})
		}
	}
	for _, tok := range badTokens {
		c = append(c, hostileRequest{method: "GET", path: "/api/v1/status", header: bearer(tok)})
	}
	for _, v := range hostileValues {
		q := url.QueryEscape(v)
		for _, p := range []string{"/api/v1/hosts?search=" + q, "/api/v1/hosts?limit=" + q, "/api/v1/hosts?offset=" + q,
			"/api/v1/events?kind=" + q, "/api/v1/events?host_id=" + q, "/api/v1/records?host_id=" + q + "&status=" + q,
			"/api/v1/hosts/" + url.PathEscape(v)} {
			path, query, _ := strings.Cut(p, "?")
			c = append(c, hostileRequest{method: "GET", path: path, rawQuery: query, header: bearer(token)})
		}
		fq, _ := json.Marshal(v)
		c = append(c,
			hostileRequest{method: "POST", path: "/api/v1/hosts", header: bearer(token), body: []byte(`{"fqdn": ` + string(fq) + `}`)},
			hostileRequest{method: "POST", path: "/api/v1/auth/login", header: jsonHdr,
				body: []byte(`{"username": ` + string(fq) + `, "password": ` + string(fq) + `}`)},
			hostileRequest{method: "POST", path: "/api/v1/auth/login", header: jsonHdr, body: []byte(v)},
		)
	}
	// Body limit of the API: 1 MiB.
	c = append(c, hostileRequest{method: "POST", path: "/api/v1/auth/login", header: jsonHdr, want: http.StatusRequestEntityTooLarge,
		body: []byte(`{"username": "admin", "password": "` + strings.Repeat("x", 2<<20) + `"}`)})
	for _, b := range []string{"", "null", "[]", "{", `{"username": "admin", "password": 1}`, `{"username": "admin"}`,
		`{"username": "admin", "password": "x", "extra": {"$gt": ""}}`, strings.Repeat("[", 100_000), `{"username": "\u0000", "password": "\ud800"}`,
		"{\"username\": \"\xff\xfe\", \"password\": \"x\"}", `{"username": "admin", "password": "` + strings.Repeat("x", 2000) + `"}`,
		`{"username": "admin", "password": "` + strings.Repeat("x", 2<<20) + `"}`} {
		c = append(c, hostileRequest{method: "POST", path: "/api/v1/auth/login", header: jsonHdr, body: []byte(b)})
		c = append(c, hostileRequest{method: "POST", path: "/api/v1/hosts", header: bearer(token), body: []byte(b)})
	}
	c = append(c,
		hostileRequest{method: "POST", path: "/api/v1/hosts", header: http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"text/xml"}},
			body: []byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>`)},
		hostileRequest{method: "POST", path: "/api/v1/auth/refresh", header: http.Header{"Cookie": {"ddnsbroker_refresh=' OR 1=1 --; x=" + strings.Repeat("y", 4000)}}},
		hostileRequest{method: "POST", path: "/api/v1/auth/refresh", header: http.Header{"Cookie": {strings.Repeat("a=b; ", 2000)}}},
	)
	return c
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// grepLines returns up to n lines of s that contain sub.
func grepLines(s, sub string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && len(out) < n {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// containsPanic reports whether a server log shows a panic: a handler's
// (recovered and logged) or the runtime's.
func containsPanic(logs string) bool {
	return strings.Contains(logs, "panic")
}
