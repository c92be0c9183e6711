package dyndns2

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestCheckIP(t *testing.T) {
	tests := []struct {
		name    string
		source  string
		refuse  time.Duration // > 0: the limiter refuses with this wait
		req     string
		status  int
		body    string
		header  map[string]string
		wantKey string // what the limiter is asked about; "" = not asked
	}{
		{name: "myip", source: "198.51.100.7", req: "GET /myip HTTP/1.1\nHost: b\nUser-Agent: curl/8.5.0",
			status: http.StatusOK, body: "198.51.100.7\n", wantKey: "198.51.100.7"},
		{name: "nic/checkip, HTTP/1.0", source: "198.51.100.7", req: "GET /nic/checkip HTTP/1.0\nHost: b",
			status: http.StatusOK, body: "198.51.100.7\n", wantKey: "198.51.100.7"},
		{name: "IPv6", source: "2001:db8::7", req: "GET /myip HTTP/1.1\nHost: b",
			status: http.StatusOK, body: "2001:db8::7\n", wantKey: "2001:db8::7"},
		{name: "IPv4-mapped is shown as IPv4", source: "::ffff:198.51.100.7", req: "GET /myip HTTP/1.1\nHost: b",
			status: http.StatusOK, body: "198.51.100.7\n", wantKey: "198.51.100.7"},
		{name: "query ignored, credentials not needed", source: "198.51.100.7", req: "GET /nic/checkip?x=1 HTTP/1.1\nHost: b\nAuthorization: Basic bad",
			status: http.StatusOK, body: "198.51.100.7\n", wantKey: "198.51.100.7"},
		{name: "HEAD", source: "198.51.100.7", req: "HEAD /myip HTTP/1.1\nHost: b",
			status: http.StatusOK, body: "", wantKey: "198.51.100.7"},
		{name: "limited", source: "198.51.100.7", refuse: 2500 * time.Millisecond, req: "GET /myip HTTP/1.1\nHost: b",
			status: http.StatusTooManyRequests, body: "abuse\n", header: map[string]string{"Retry-After": "3"}, wantKey: "198.51.100.7"},
		{name: "limited, no wait given", source: "198.51.100.7", refuse: -1, req: "GET /nic/checkip HTTP/1.1\nHost: b",
			status: http.StatusTooManyRequests, body: "abuse\n", header: map[string]string{"Retry-After": "1"}, wantKey: "198.51.100.7"},
		{name: "POST: 405", source: "198.51.100.7", req: "POST /myip HTTP/1.1\nHost: b\nContent-Length: 0",
			status: http.StatusMethodNotAllowed, body: "badrequest method not allowed\n", header: map[string]string{"Allow": "GET, HEAD"}},
		{name: "DELETE: 405", source: "198.51.100.7", req: "DELETE /nic/checkip HTTP/1.1\nHost: b",
			status: http.StatusMethodNotAllowed, body: "badrequest method not allowed\n", header: map[string]string{"Allow": "GET, HEAD"}},
		{name: "no client address", source: "", req: "GET /myip HTTP/1.1\nHost: b",
			status: http.StatusServiceUnavailable, body: "911\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked []string
			limit := func(key string) (bool, time.Duration) {
				asked = append(asked, key)
				if tt.refuse != 0 {
					return false, tt.refuse
				}
				return true, 0
			}
			var src netip.Addr
			if tt.source != "" {
				src = netip.MustParseAddr(tt.source)
			}
			b := newFakeBackend(t)
			srv := newServer(t, b, func() netip.Addr { return src }, limit, &syncBuffer{})
			resp, body := send(t, strings.TrimPrefix(srv.URL, "http://"), request{head: tt.req})
			if resp.StatusCode != tt.status || body != tt.body {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			checkPlainHeaders(t, resp)
			checkNoSuccessWord(t, resp.StatusCode, body)
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			switch {
			case tt.wantKey == "" && len(asked) != 0:
				t.Errorf("limiter asked about %v", asked)
			case tt.wantKey != "" && (len(asked) != 1 || asked[0] != tt.wantKey):
				t.Errorf("limiter asked about %v, want %q", asked, tt.wantKey)
			}
			if len(b.auths) != 0 {
				t.Errorf("check-IP authenticated")
			}
		})
	}
}

// TestCheckIPWithoutLimit checks that a nil limiter means no limit.
func TestCheckIPWithoutLimit(t *testing.T) {
	srv := newServer(t, newFakeBackend(t), func() netip.Addr { return netip.MustParseAddr("198.51.100.7") }, nil, &syncBuffer{})
	for i := 0; i < 3; i++ {
		resp, body := send(t, strings.TrimPrefix(srv.URL, "http://"), request{head: "GET /myip HTTP/1.1\nHost: b"})
		if resp.StatusCode != http.StatusOK || body != "198.51.100.7\n" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	}
}
