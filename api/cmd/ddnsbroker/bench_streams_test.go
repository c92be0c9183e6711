package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store/storetest"
)

// BenchmarkEventStreams opens 200 live event streams (GET
// /api/v1/events/stream) on the real binary in its own process, then writes
// events through the API and measures how long each takes to reach every
// stream, and what the open streams cost in server memory (target: < 50 MB
// RSS for the 200).
func BenchmarkEventStreams(b *testing.B) {
	if !firstRun(b) {
		return
	}
	const streams, events = 200, 20
	p := serveProc(b, "streams", map[string]string{"DDNSBROKER_DATABASE_URL": storetest.NewURL(b)})
	defer p.kill()
	token := benchLogin(b, p.URL())
	api := func(method, path string, body any) *http.Response {
		raw, _ := json.Marshal(body)
		r, _ := http.NewRequest(method, p.URL()+path, bytes.NewReader(raw))
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// Settle, then the server's memory before any stream.
	api("GET", "/api/v1/status", nil)
	time.Sleep(2 * time.Second)
	before, _ := p.memory()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One connection per stream, as 200 browsers would have.
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: streams, DisableCompression: true}}
	received := make(chan string, streams*events)
	var open sync.WaitGroup
	open.Add(streams)
	for i := range streams {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", p.URL()+"/api/v1/events/stream", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Errorf("stream %d: %v %v", i, err, resp)
				open.Done()
				return
			}
			defer resp.Body.Close()
			r := bufio.NewReader(resp.Body)
			opened := false
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if !opened && strings.HasPrefix(line, ": connected") {
					opened = true
					open.Done()
				}
				if strings.HasPrefix(line, "data: ") {
					var e struct{ Message string }
					_ = json.Unmarshal([]byte(line[6:]), &e)
					received <- e.Message
				}
			}
		}()
	}
	open.Wait()
	time.Sleep(time.Second)
	opened, _ := p.memory()

	// Each event reaches all 200 streams: time to the last of them.
	var fanOut []time.Duration
	for i := range events {
		fqdn := fmt.Sprintf("stream%02d.bench.example", i)
		t0 := time.Now()
		if resp := api("POST", "/api/v1/hosts", map[string]any{"fqdn": fqdn}); resp.StatusCode != http.StatusCreated {
			b.Fatalf("create host: %s", resp.Status)
		}
		for n := 0; n < streams; {
			select {
			case m := <-received:
				if strings.Contains(m, fqdn) {
					n++
				}
			case <-time.After(30 * time.Second):
				b.Fatalf("event %d reached %d of %d streams", i, n, streams)
			}
		}
		fanOut = append(fanOut, time.Since(t0))
	}
	after, peak := p.memory()
	cancel()

	slices.Sort(fanOut)
	mb := func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
	fmt.Printf("\nevent streams: %d open streams, %d events each to all of them; %s\n", streams, events, machine())
	fmt.Printf("%-52s %12s\n", "server RSS before any stream", mb(before))
	fmt.Printf("%-52s %12s\n", fmt.Sprintf("server RSS with %d streams open", streams), mb(opened))
	fmt.Printf("%-52s %12s   (peak %s)\n", fmt.Sprintf("server RSS after %d events to every stream", events), mb(after), mb(peak))
	fmt.Printf("%-52s %12s   target < 50 MB\n", fmt.Sprintf("cost of the %d streams (RSS after − before)", streams), mb(after-before))
	fmt.Printf("%-52s %12s\n", "an event to all streams: median", fanOut[len(fanOut)/2].Round(time.Millisecond))
	fmt.Printf("%-52s %12s\n\n", "an event to all streams: slowest", fanOut[len(fanOut)-1].Round(time.Millisecond))
}

// benchLogin logs in as the admin the test processes create.
func benchLogin(b *testing.B, base string) string {
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": "admin-password-for-tests"})
	resp, err := http.Post(base+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var login struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&login)
	if login.AccessToken == "" {
		b.Fatalf("login failed: %s", resp.Status)
	}
	return login.AccessToken
}
