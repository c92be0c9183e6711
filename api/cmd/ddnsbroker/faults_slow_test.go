//go:build faults

package main

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// slowConn is one misbehaving client and when the server hung up on it.
type slowConn struct {
	kind   string
	opened time.Time
	closed time.Time // zero: still open when the test gave up
	answer string    // status line the server sent before closing, if any
}

// slowClient opens a connection and feeds it with `feed` (called once per
// second until it returns "" or the server hangs up); it records when the
// server closed the connection.
func slowClient(addr, kind string, first string, feed func(i int) string, limit time.Duration) slowConn {
	sc := slowConn{kind: kind, opened: time.Now()}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return sc
	}
	defer conn.Close()
	closed := make(chan string, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(limit))
		r := bufio.NewReader(conn)
		var status string
		for {
			line, err := r.ReadString('\n')
			if status == "" && strings.HasPrefix(line, "HTTP/") {
				status = strings.TrimSpace(line)
			}
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					closed <- "timeout"
					return
				}
				closed <- status
				return
			}
		}
	}()
	if _, err := io.WriteString(conn, first); err != nil {
		sc.closed = time.Now()
		return sc
	}
	for i := 0; ; i++ {
		select {
		case st := <-closed:
			if st != "timeout" {
				sc.closed, sc.answer = time.Now(), st
			}
			return sc
		case <-time.After(time.Second):
		}
		if s := feed(i); s != "" {
			_, _ = io.WriteString(conn, s)
		}
	}
}

// TestFaultSlowClients: slowloris. Hundreds of clients send their headers or
// bodies one byte a second, others open a keep-alive connection and stay
// idle. The server keeps answering routers promptly, hangs up on slow
// headers after its read-header timeout (10 s), on slow bodies after its
// read timeout (30 s) and on idle connections after its idle timeout
// (120 s), and its memory stays bounded.
func TestFaultSlowClients(t *testing.T) {
	const (
		slowHeaders = 200
		slowBodies  = 50
		idle        = 20
	)
	dbURL := storetest.NewURL(t)
	up := newFakeUpstream(t)
	seed(t, dbURL, up.URL, "router.example.com", "router-secret-s1", recordSpec{"a.example.com", 32, "0.0.0.0", -1, "::", ""})
	srv := newProc(t, buildServer(t), "server", map[string]string{"DDNSBROKER_DATABASE_URL": dbURL})
	srv.start()
	addr := strings.TrimPrefix(srv.URL(), "http://")
	mustUpdate(t, srv.URL(), "router.example.com", "router-secret-s1", "192.0.2.1", "good")
	rss0, _ := srv.memory()

	var mu sync.Mutex
	var conns []slowConn
	var wg sync.WaitGroup
	launch := func(n int, kind, first string, feed func(int) string, limit time.Duration) {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := slowClient(addr, kind, first, feed, limit)
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}()
			time.Sleep(5 * time.Millisecond)
		}
	}
	header := "GET /nic/update?myip=192.0.2.1 HTTP/1.1\r\nHost: " + addr + "\r\n"
	launch(slowHeaders, "slow headers", header, func(i int) string { return "X" }, 40*time.Second)
	launch(slowBodies, "slow body", "POST /nic/update HTTP/1.1\r\nHost: "+addr+
		"\r\nAuthorization: Basic "+base64.StdEncoding.EncodeToString([]byte("router.example.com:router-secret-s1"))+"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\nmyip=",
		func(i int) string { return "1" }, 60*time.Second)
	launch(idle, "idle keep-alive", "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n\r\n", func(int) string { return "" }, 150*time.Second)

	// Routers meanwhile: one update every 200 ms for 40 s.
	var lat []time.Duration
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		t0 := time.Now()
		code, body, err := routerUpdate(http.DefaultClient, srv.URL(), "router.example.com", "router-secret-s1", "myip=192.0.2.1")
		lat = append(lat, time.Since(t0))
		if err != nil || code != 200 || body != "nochg 192.0.2.1\n" {
			t.Errorf("router update during the slow clients: %d %q %v", code, body, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, peakDuring := srv.memory()
	wg.Wait()
	rss1, peak := srv.memory()

	limits := map[string][2]time.Duration{
		"slow headers":    {9 * time.Second, 13 * time.Second},
		"slow body":       {29 * time.Second, 33 * time.Second},
		"idle keep-alive": {119 * time.Second, 125 * time.Second},
	}
	took := map[string][]time.Duration{}
	answers := map[string]map[string]int{}
	for _, c := range conns {
		if c.closed.IsZero() {
			t.Errorf("%s: the server never hung up", c.kind)
			continue
		}
		d := c.closed.Sub(c.opened)
		took[c.kind] = append(took[c.kind], d)
		if answers[c.kind] == nil {
			answers[c.kind] = map[string]int{}
		}
		answers[c.kind][c.answer]++
		if lim := limits[c.kind]; d < lim[0] || d > lim[1] {
			t.Errorf("%s: the server hung up after %s, want %s–%s", c.kind, d.Round(100*time.Millisecond), lim[0], lim[1])
		}
	}
	if p99 := percentile(lat, 0.99); p99 > time.Second {
		t.Errorf("router updates p99 %s during the slow clients", p99)
	}
	if peak-rss0 > 200<<20 {
		t.Errorf("resident memory grew by %d MiB", (peak-rss0)>>20)
	}
	if logs := srv.log.String(); containsPanic(logs) {
		t.Errorf("panic in the server log:\n%s", grepLines(logs, "panic", 20))
	}
	t.Logf("slow clients: %d slow headers, %d slow bodies (1 byte/s), %d idle keep-alive connections", slowHeaders, slowBodies, idle)
	for _, k := range []string{"slow headers", "slow body", "idle keep-alive"} {
		ds := took[k]
		t.Logf("  %-16s hung up after %s–%s (answers %v)", k, percentile(ds, 0).Round(100*time.Millisecond),
			percentile(ds, 1).Round(100*time.Millisecond), answers[k])
	}
	t.Logf("  router updates meanwhile: %d, p50 %s, p99 %s", len(lat), percentile(lat, 0.5).Round(100*time.Microsecond),
		percentile(lat, 0.99).Round(100*time.Microsecond))
	t.Logf("  server RSS %d MiB before, peak %d MiB during (%d MiB at 40 s), %d MiB after", rss0>>20, peak>>20, peakDuring>>20, rss1>>20)
}
