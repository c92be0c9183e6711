//go:build faults

package main

import (
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// TestFaultFlakyUpstream: an upstream that answers 30 % of requests with
// 5xx, lets 10 % time out, resets 5 % of connections and sends 5 % garbage
// (a body cut short, or binary junk with 502). Every delivery eventually
// succeeds, and each retry comes after the backoff: RETRY_BASE doubling per
// attempt up to RETRY_MAX, ±20 % jitter. A record whose provider answers 200
// with an unreadable body is failed after one request with the body kept
// for the admin: an answer dyndns2 does not define fails (api/provider).
func TestFaultFlakyUpstream(t *testing.T) {
	const (
		hosts     = 150
		retryBase = 200 * time.Millisecond
		retryMax  = 3 * time.Second
	)
	dbURL := storetest.NewURL(t)
	kinds := map[string]int{}
	up := newFaultUpstream(t, nil)
	up.setDecide(func(host, ip string, n int) upAction {
		if strings.HasSuffix(host, ".garbage.example") {
			return upAction{kind: "answer", status: 200, body: "<html>\x00\xff\xfe garbage page</html>\n"}
		}
		var a upAction
		switch p := mrand.IntN(100); {
		case p < 30:
			a = upAction{kind: "answer", status: []int{500, 502, 503, 504}[mrand.IntN(4)], body: "upstream trouble\n"}
		case p < 40:
			a = upAction{kind: "hang"}
		case p < 45:
			a = upAction{kind: "reset"}
		case p < 48:
			a = upAction{kind: "truncate"}
		case p < 50:
			junk := make([]byte, 200)
			_, _ = rand.Read(junk)
			a = upAction{kind: "answer", status: 502, body: string(junk)}
		default:
			a = upAction{kind: "good"}
		}
		kinds[a.kind+fmt.Sprint(a.status)]++ // under the upstream's lock
		a.delay = time.Duration(mrand.IntN(20)) * time.Millisecond
		return a
	})
	f := seedFleet(t, dbURL, up.URL, hosts, "flaky.example")
	g := seedFleet(t, dbURL, up.URL, 5, "garbage.example")
	srv := newProc(t, buildServer(t), "server", map[string]string{"DDNSBROKER_DATABASE_URL": dbURL,
		"DDNSBROKER_RETRY_BASE": retryBase.String(), "DDNSBROKER_RETRY_MAX": retryMax.String(), "DDNSBROKER_LEASE": "45s",
		// Enough slots that requests hanging for 30 s never hold up a due
		// retry: the gaps measure the backoff, not the concurrency limit.
		"DDNSBROKER_WORKERS": "256", "DDNSBROKER_SERVICE_WORKERS": "256"})
	srv.start()

	start := time.Now()
	hc := &http.Client{Timeout: 15 * time.Second}
	for _, fl := range []fleet{f, g} {
		for i := range fl.n {
			v4, v6 := fleetAddr(i, 1)
			code, body, err := routerUpdate(hc, srv.URL(), fl.host(i), fl.secret, "myip="+v4.String()+","+v6.String())
			if err != nil || code != 200 || !strings.HasPrefix(body, "good ") {
				t.Fatalf("update %s: %d %q %v", fl.host(i), code, body, err)
			}
		}
	}
	sent := time.Since(start)
	want := map[string]string{}
	for i := range f.n {
		for k, v := range f.expected(i, 1) {
			want[k] = v
		}
	}
	var took time.Duration
	waitUntil(t, "every flaky delivery done", 5*time.Minute, func() bool {
		states := recordStates(t, dbURL)
		for k, v := range want {
			if s := states[k]; s.State != "delivered" || s.Delivered.String() != v {
				return false
			}
		}
		took = time.Since(start)
		return true
	})
	time.Sleep(time.Second)

	// Per (record, family): the attempts in order, and the gaps between them.
	byKey := map[string][]upHit{}
	for _, h := range up.requests() {
		fam := "4"
		if strings.Contains(h.ip, ":") {
			fam = "6"
		}
		byKey[h.host+"/"+fam] = append(byKey[h.host+"/"+fam], h)
	}
	var ratios []float64
	var hangs []time.Duration
	maxAttempts, retried := 0, 0
	attempts := map[int]int{}
	transportRetries := 0
	for k := range want {
		raw := byKey[k]
		slices.SortFunc(raw, func(a, b upHit) int { return a.arrived.Compare(b.arrived) })
		// net/http resends an idempotent request at once when a reused
		// keep-alive connection is reset before any answer (it may have been
		// closed idle): that resend is part of the same attempt.
		var hs []upHit
		for j, h := range raw {
			if j > 0 && raw[j-1].kind == "reset" && h.arrived.Sub(raw[j-1].done) < 50*time.Millisecond {
				hs[len(hs)-1] = h
				transportRetries++
				continue
			}
			hs = append(hs, h)
		}
		attempts[len(hs)]++
		maxAttempts = max(maxAttempts, len(hs))
		if len(hs) == 0 || hs[len(hs)-1].kind != "good" {
			t.Errorf("%s: last attempt %+v, want good", k, hs)
			continue
		}
		for j, h := range hs[:len(hs)-1] {
			if h.kind == "good" {
				t.Errorf("%s: attempt %d was delivered, yet retried", k, j+1)
			}
			if h.kind == "hang" {
				hangs = append(hangs, h.done.Sub(h.arrived))
			}
			// Attempt j+1 failed: the next comes after Backoff(j+1).
			backoff := min(float64(retryBase)*float64(int(1)<<j), float64(retryMax))
			gap := hs[j+1].arrived.Sub(h.done)
			ratios = append(ratios, float64(gap)/backoff)
			retried++
			if float64(gap) < 0.8*backoff-float64(50*time.Millisecond) || float64(gap) > 1.2*backoff+float64(1500*time.Millisecond) {
				t.Errorf("%s: retry %d came %s after attempt %d (%s) failed; the backoff is %s ±20 %%", k, j+1,
					gap.Round(time.Millisecond), j+1, h.kind, time.Duration(backoff).Round(time.Millisecond))
			}
		}
	}
	// The garbage answers: one request each, failed, body kept.
	states := recordStates(t, dbURL)
	for i := range g.n {
		for k := range g.expected(i, 1) {
			host, _, _ := strings.Cut(k, "/")
			if n := len(up.requestsFor(host)); n != 1 && !strings.HasPrefix(k, "b.") {
				t.Errorf("%s: %d requests, want 1", k, n)
			}
			if s := states[k]; s.State != "failed" || !strings.Contains(s.Message, "garbage page") {
				t.Errorf("%s: state %q message %q, want failed with the body", k, s.State, s.Message)
			}
		}
		if n := len(up.requestsFor("b." + g.host(i))); n != 2 {
			t.Errorf("b.%s: %d requests, want 2 (one per family)", g.host(i), n)
		}
	}
	if logs := srv.log.String(); containsPanic(logs) {
		t.Errorf("panic in the server log:\n%s", grepLines(logs, "panic", 20))
	}
	slices.Sort(ratios)
	slices.Sort(hangs)
	up.mu.Lock()
	kindsText := fmt.Sprint(kinds)
	up.mu.Unlock()
	t.Logf("flaky upstream: %d deliveries (%d hosts × 3), upstream answers by kind %s", len(want), hosts, kindsText)
	t.Logf("  all delivered %s after the first update (updates sent in %s); attempts per delivery %v, max %d",
		took.Round(100*time.Millisecond), sent.Round(100*time.Millisecond), attempts, maxAttempts)
	t.Logf("  %d resets on a reused connection were resent at once by net/http within the same attempt", transportRetries)
	if len(ratios) > 0 {
		t.Logf("  %d retries; gap ÷ backoff (base %s doubling, cap %s): min %.2f, median %.2f, max %.2f", retried, retryBase, retryMax,
			ratios[0], ratios[len(ratios)/2], ratios[len(ratios)-1])
	}
	if len(hangs) > 0 {
		t.Logf("  %d timed-out attempts, the client gave up after %s–%s", len(hangs), hangs[0].Round(100*time.Millisecond),
			hangs[len(hangs)-1].Round(100*time.Millisecond))
	}
	t.Logf("  200 with an unreadable body: %d records failed after one request each, body kept", g.n*3)
}
