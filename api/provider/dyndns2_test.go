package provider

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

const (
	testFQDN     = "home.example.org"
	testPassword = "s3cr3t-pw"
	testVersion  = "1.2.3"
)

var (
	testV4 = netip.MustParseAddr("198.51.100.7")
	testV6 = netip.MustParseAddr("2001:db8::7")
)

// seenRequest is what the fake provider saw of one request.
type seenRequest struct {
	method, path, rawQuery, userAgent, authorization string
}

func TestDyndns2Request(t *testing.T) {
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	tests := []struct {
		name     string
		path     string // appended to the server URL
		settings dyndns2Settings
		job      dyndns2Job
		wantPath string
		wantQ    string
		wantAuth string
	}{
		{
			name:     "single IPv4",
			path:     "/nic/update",
			job:      dyndns2Job{FQDN: testFQDN, Username: "alice", Password: testPassword, IPv4: testV4},
			wantPath: "/nic/update",
			wantQ:    "hostname=home.example.org&myip=198.51.100.7",
			wantAuth: basic("alice", testPassword),
		},
		{
			name:     "single IPv6",
			path:     "/nic/update",
			job:      dyndns2Job{FQDN: testFQDN, Username: "alice", Password: testPassword, IPv6: testV6},
			wantPath: "/nic/update",
			wantQ:    "hostname=home.example.org&myip=2001%3Adb8%3A%3A7",
			wantAuth: basic("alice", testPassword),
		},
		{
			name:     "both families in myip",
			path:     "/nic/update",
			job:      dyndns2Job{FQDN: testFQDN, Username: "alice", Password: testPassword, IPv4: testV4, IPv6: testV6},
			wantPath: "/nic/update",
			wantQ:    "hostname=home.example.org&myip=198.51.100.7%2C2001%3Adb8%3A%3A7",
			wantAuth: basic("alice", testPassword),
		},
		{
			name:     "UseMyIPv6 with both families",
			path:     "/nic/update",
			settings: dyndns2Settings{UseMyIPv6: true},
			job:      dyndns2Job{FQDN: testFQDN, Username: "alice", Password: testPassword, IPv4: testV4, IPv6: testV6},
			wantPath: "/nic/update",
			wantQ:    "hostname=home.example.org&myip=198.51.100.7&myipv6=2001%3Adb8%3A%3A7",
			wantAuth: basic("alice", testPassword),
		},
		{
			name:     "UseMyIPv6 with IPv6 only sends no myip",
			path:     "/nic/update",
			settings: dyndns2Settings{UseMyIPv6: true},
			job:      dyndns2Job{FQDN: testFQDN, Username: "alice", Password: testPassword, IPv6: testV6},
			wantPath: "/nic/update",
			wantQ:    "hostname=home.example.org&myipv6=2001%3Adb8%3A%3A7",
			wantAuth: basic("alice", testPassword),
		},
		{
			name:     "UseMyIPv6 with IPv4 only",
			path:     "/nic/update",
			settings: dyndns2Settings{UseMyIPv6: true},
			job:      dyndns2Job{FQDN: testFQDN, Username: "alice", Password: testPassword, IPv4: testV4},
			wantPath: "/nic/update",
			wantQ:    "hostname=home.example.org&myip=198.51.100.7",
			wantAuth: basic("alice", testPassword),
		},
		{
			name:     "URL with a query keeps it",
			path:     "/nic/update?system=dyndns",
			job:      dyndns2Job{FQDN: testFQDN, Username: "alice", Password: testPassword, IPv4: testV4},
			wantPath: "/nic/update",
			wantQ:    "system=dyndns&hostname=home.example.org&myip=198.51.100.7",
			wantAuth: basic("alice", testPassword),
		},
		{
			name:     "UsernameIsFQDN",
			path:     "/nic/update",
			settings: dyndns2Settings{UsernameIsFQDN: true},
			job:      dyndns2Job{FQDN: testFQDN, Password: testPassword, IPv4: testV4},
			wantPath: "/nic/update",
			wantQ:    "hostname=home.example.org&myip=198.51.100.7",
			wantAuth: basic(testFQDN, testPassword),
		},
		{
			name:     "explicit username wins over UsernameIsFQDN",
			path:     "/nic/update",
			settings: dyndns2Settings{UsernameIsFQDN: true},
			job:      dyndns2Job{FQDN: testFQDN, Username: "alice", Password: testPassword, IPv4: testV4},
			wantPath: "/nic/update",
			wantQ:    "hostname=home.example.org&myip=198.51.100.7",
			wantAuth: basic("alice", testPassword),
		},
		{
			name:     "no username means no auth",
			path:     "/v3/update",
			job:      dyndns2Job{FQDN: testFQDN, Password: testPassword, IPv4: testV4},
			wantPath: "/v3/update",
			wantQ:    "hostname=home.example.org&myip=198.51.100.7",
			wantAuth: "",
		},
		{
			name:     "IPv4-mapped IPv6 in IPv4 is sent as IPv4",
			path:     "/nic/update",
			job:      dyndns2Job{FQDN: testFQDN, Username: "alice", Password: testPassword, IPv4: netip.MustParseAddr("::ffff:198.51.100.7")},
			wantPath: "/nic/update",
			wantQ:    "hostname=home.example.org&myip=198.51.100.7",
			wantAuth: basic("alice", testPassword),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seen := make(chan seenRequest, 2)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen <- seenRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.UserAgent(), r.Header.Get("Authorization")}
				_, _ = w.Write([]byte("good 198.51.100.7\n"))
			}))
			t.Cleanup(srv.Close)

			s := tt.settings
			s.URL = srv.URL + tt.path
			out := newDyndns2Client(nil, UserAgent(testVersion)).Send(context.Background(), s, tt.job)
			if out.Result != Delivered {
				t.Fatalf("Result = %v (%q), want delivered", out.Result, out.Message)
			}
			if len(seen) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(seen))
			}
			got := <-seen
			want := seenRequest{http.MethodGet, tt.wantPath, tt.wantQ, "ddnsbroker/" + testVersion, tt.wantAuth}
			if got != want {
				t.Errorf("request\n got  %+v\n want %+v", got, want)
			}
		})
	}
}

func TestDyndns2Classification(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		want       Result
		wantMsg    string // exact, unless wantPrefix is set
		wantPrefix string
		wantRetry  time.Duration
	}{
		{name: "good", status: 200, body: "good 198.51.100.7", want: Delivered, wantMsg: "HTTP 200: good 198.51.100.7"},
		{name: "nochg", status: 200, body: "nochg 198.51.100.7\n", want: Delivered, wantMsg: "HTTP 200: nochg 198.51.100.7"},
		{name: "code with extra text (OVH)", status: 200, body: "good 198.51.100.7 extra text\n", want: Delivered, wantMsg: "HTTP 200: good 198.51.100.7 extra text"},
		{name: "multi-line good", status: 200, body: "good 198.51.100.7\r\n\r\nnochg 2001:db8::7\r\n", want: Delivered, wantMsg: "HTTP 200: good 198.51.100.7; nochg"},
		{name: "uppercase code", status: 200, body: "GOOD 198.51.100.7", want: Delivered, wantMsg: "HTTP 200: GOOD 198.51.100.7"},
		{name: "badauth", status: 200, body: "badauth", want: Failed, wantMsg: "HTTP 200: badauth"},
		{name: "!donator", status: 200, body: "!donator", want: Failed, wantMsg: "HTTP 200: !donator"},
		{name: "notfqdn", status: 200, body: "notfqdn", want: Failed, wantMsg: "HTTP 200: notfqdn"},
		{name: "nohost", status: 200, body: "nohost", want: Failed, wantMsg: "HTTP 200: nohost"},
		{name: "numhost", status: 200, body: "numhost", want: Failed, wantMsg: "HTTP 200: numhost"},
		{name: "badagent", status: 200, body: "badagent", want: Failed, wantMsg: "HTTP 200: badagent"},
		{name: "!yours", status: 200, body: "!yours", want: Failed, wantMsg: "HTTP 200: !yours"},
		{name: "abuse", status: 200, body: "abuse", want: Blocked, wantMsg: "HTTP 200: abuse"},
		{name: "911", status: 200, body: "911", want: Retry, wantMsg: "HTTP 200: 911"},
		{name: "dnserr", status: 200, body: "dnserr", want: Retry, wantMsg: "HTTP 200: dnserr"},
		{name: "nochg and abuse", status: 200, body: "nochg 198.51.100.7\nabuse\n", want: Blocked, wantMsg: "HTTP 200: nochg 198.51.100.7; abuse"},
		{name: "911 and abuse", status: 200, body: "911\nabuse\n", want: Blocked, wantMsg: "HTTP 200: 911; abuse"},
		{name: "badauth and abuse", status: 200, body: "badauth\nabuse\n", want: Blocked, wantMsg: "HTTP 200: badauth; abuse"},
		{name: "good and 911", status: 200, body: "good 198.51.100.7\n911\n", want: Retry, wantMsg: "HTTP 200: good 198.51.100.7; 911"},
		{name: "911 and nohost", status: 200, body: "911\nnohost\n", want: Failed, wantMsg: "HTTP 200: 911; nohost"},
		{name: "empty 200", status: 200, body: "", want: Failed, wantMsg: "HTTP 200: empty answer"},
		{name: "blank 200", status: 200, body: " \r\n\t\n", want: Failed, wantMsg: "HTTP 200: empty answer"},
		{name: "empty 204", status: 204, want: Failed, wantMsg: "HTTP 204: empty answer"},
		{name: "garbage", status: 200, body: "<html><body>Welcome to nginx!</body></html>", want: Failed, wantMsg: "HTTP 200: <html><body>Welcome to nginx!</body></html>"},
		{name: "control characters", status: 200, body: "ok\x1b[31m\x00done", want: Failed, wantMsg: "HTTP 200: ok [31m done"},
		{name: "500", status: 500, want: Retry, wantMsg: "HTTP 500: Internal Server Error"},
		{name: "502 with body", status: 502, body: "<h1>Bad Gateway</h1>", want: Retry, wantMsg: "HTTP 502: <h1>Bad Gateway</h1>"},
		{name: "503 911 with Retry-After", status: 503, header: map[string]string{"Retry-After": "30"}, body: "911", want: Retry, wantMsg: "HTTP 503: 911", wantRetry: 30 * time.Second},
		{name: "429 with Retry-After", status: 429, header: map[string]string{"Retry-After": "120"}, body: "abuse", want: Retry, wantMsg: "HTTP 429: abuse", wantRetry: 120 * time.Second},
		{name: "401", status: 401, header: map[string]string{"WWW-Authenticate": `Basic realm="x"`}, body: "badauth", want: Failed, wantMsg: "HTTP 401: badauth"},
		{name: "403", status: 403, want: Failed, wantMsg: "HTTP 403: Forbidden"},
		{name: "400 good body is still an error", status: 400, body: "good", want: Failed, wantMsg: "HTTP 400: good"},
		{name: "404", status: 404, body: "not found", want: Failed, wantMsg: "HTTP 404: not found"},
		{name: "password echoed in body", status: 200, body: "badauth user=home.example.org pass=" + testPassword + " (" + testPassword + ")", want: Failed, wantMsg: "HTTP 200: badauth user=home.example.org pass=*** (***)"},
		{name: "password echoed in 5xx", status: 500, body: "panic: wrong secret " + testPassword, want: Retry, wantMsg: "HTTP 500: panic: wrong secret ***"},
		{name: "huge body", status: 200, body: strings.Repeat("x", 1<<20), want: Failed, wantPrefix: "HTTP 200: xxxx"},
		{name: "huge multibyte body", status: 200, body: "good " + strings.Repeat("é", 100000), want: Delivered, wantPrefix: "HTTP 200: good éé"},
		{name: "huge body starting with good", status: 200, body: "good 198.51.100.7\n" + strings.Repeat("y", 1<<20), want: Failed, wantMsg: "HTTP 200: good 198.51.100.7; …"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)

			out := newDyndns2Client(nil, UserAgent(testVersion)).Send(context.Background(),
				dyndns2Settings{URL: srv.URL + "/nic/update", UsernameIsFQDN: true},
				dyndns2Job{FQDN: testFQDN, Password: testPassword, IPv4: testV4})

			if out.Result != tt.want {
				t.Errorf("Result = %v, want %v (message %q)", out.Result, tt.want, out.Message)
			}
			if tt.wantPrefix != "" {
				if !strings.HasPrefix(out.Message, tt.wantPrefix) || !strings.HasSuffix(out.Message, "…") {
					t.Errorf("Message = %q, want prefix %q and a trailing ellipsis", out.Message, tt.wantPrefix)
				}
			} else if out.Message != tt.wantMsg {
				t.Errorf("Message = %q, want %q", out.Message, tt.wantMsg)
			}
			if out.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", out.RetryAfter, tt.wantRetry)
			}
			checkMessage(t, out.Message)
		})
	}
}

// An answer that names an address of a family that was sent, but not the
// address sent, means the provider did not take it: failed, with the reason.
func TestDyndns2AnswerNamingAnotherAddress(t *testing.T) {
	v4, v6 := netip.MustParseAddr("198.51.100.2"), netip.MustParseAddr("2001:db8::2")
	tests := []struct {
		name    string
		ipv4    netip.Addr
		ipv6    netip.Addr
		body    string
		want    Result
		wantMsg string
	}{
		{"nochg with the address sent", v4, netip.Addr{}, "nochg 198.51.100.2", Delivered, "HTTP 200: nochg 198.51.100.2"},
		{"good with the address sent", v4, netip.Addr{}, "good 198.51.100.2\n", Delivered, "HTTP 200: good 198.51.100.2"},
		{"nochg with another address", v4, netip.Addr{}, "nochg 198.51.100.1", Failed,
			"the provider kept 198.51.100.1, we sent 198.51.100.2 (HTTP 200: nochg 198.51.100.1)"},
		{"good with another address", v4, netip.Addr{}, "good 198.51.100.1", Failed,
			"the provider set 198.51.100.1, we sent 198.51.100.2 (HTTP 200: good 198.51.100.1)"},
		{"IPv6 written another way", netip.Addr{}, v6, "nochg 2001:0db8:0:0::2", Delivered, "HTTP 200: nochg 2001:0db8:0:0::2"},
		{"IPv6 kept another", netip.Addr{}, v6, "nochg 2001:db8::1", Failed,
			"the provider kept 2001:db8::1, we sent 2001:db8::2 (HTTP 200: nochg 2001:db8::1)"},
		{"both sent, both answered", v4, v6, "good 198.51.100.2,2001:db8::2", Delivered, "HTTP 200: good 198.51.100.2,2001:db8::2"},
		{"both sent, one answered", v4, v6, "good 198.51.100.2", Delivered, "HTTP 200: good 198.51.100.2"},
		{"both sent, IPv6 kept", v4, v6, "nochg 198.51.100.2,2001:db8::1", Failed,
			"the provider kept 2001:db8::1, we sent 2001:db8::2 (HTTP 200: nochg 198.51.100.2,2001:db8::1)"},
		{"both sent, provider took only the first (one address per request)", v4, v6, "nochg 198.51.100.1", Failed,
			"the provider kept 198.51.100.1, we sent 198.51.100.2 (HTTP 200: nochg 198.51.100.1)"},
		{"one line per address (later lines shown as their code)", v4, v6, "good 198.51.100.2\ngood 2001:db8::2", Delivered, "HTTP 200: good 198.51.100.2; good"},
		{"the other family is not judged", netip.Addr{}, v6, "good 203.0.113.9", Delivered, "HTTP 200: good 203.0.113.9"},
		{"no address in the answer", v4, netip.Addr{}, "nochg", Delivered, "HTTP 200: nochg"},
		{"words that are not addresses", v4, netip.Addr{}, "good update done 1.2.3", Delivered, "HTTP 200: good update done 1.2.3"},
		{"badauth naming an address stays badauth", v4, netip.Addr{}, "badauth 198.51.100.1", Failed, "HTTP 200: badauth 198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			out := newDyndns2Client(nil, UserAgent(testVersion)).Send(context.Background(), dyndns2Settings{URL: srv.URL + "/nic/update"},
				dyndns2Job{FQDN: testFQDN, IPv4: tt.ipv4, IPv6: tt.ipv6})
			if out.Result != tt.want || out.Message != tt.wantMsg {
				t.Errorf("got %v %q, want %v %q", out.Result, out.Message, tt.want, tt.wantMsg)
			}
		})
	}
}

// checkMessage asserts the rules every Outcome.Message obeys.
func checkMessage(t *testing.T, msg string) {
	t.Helper()
	if msg == "" {
		t.Error("Message is empty")
	}
	if len(msg) > maxMessageBytes {
		t.Errorf("Message is %d bytes, want at most %d", len(msg), maxMessageBytes)
	}
	if !utf8.ValidString(msg) {
		t.Errorf("Message %q is not valid UTF-8", msg)
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("Message %q spans lines", msg)
	}
	for _, secret := range []string{testPassword, "urlsecret", "topsecret"} {
		if strings.Contains(msg, secret) {
			t.Errorf("Message %q contains the secret %q", msg, secret)
		}
	}
}

func TestDyndns2RedirectNotFollowed(t *testing.T) {
	for _, status := range []int{301, 302, 307, 308} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			var targetHits atomic.Int32
			target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				targetHits.Add(1)
				_, _ = w.Write([]byte("good 198.51.100.7"))
			}))
			t.Cleanup(target.Close)
			host := strings.TrimPrefix(target.URL, "http://")
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://admin:topsecret@"+host+"/moved?token=topsecret&x=1", status)
			}))
			t.Cleanup(srv.Close)

			out := newDyndns2Client(nil, UserAgent(testVersion)).Send(context.Background(),
				dyndns2Settings{URL: srv.URL + "/nic/update"},
				dyndns2Job{FQDN: testFQDN, Username: "alice", Password: testPassword, IPv4: testV4})

			if out.Result != Failed {
				t.Errorf("Result = %v, want failed", out.Result)
			}
			want := "HTTP " + strconv.Itoa(status) + ": redirect to http://" + host + "/moved?token=***&x=1 not followed"
			if out.Message != want {
				t.Errorf("Message = %q, want %q", out.Message, want)
			}
			if n := targetHits.Load(); n != 0 {
				t.Errorf("redirect target got %d requests, want 0", n)
			}
			checkMessage(t, out.Message)
		})
	}
}

func TestDyndns2NetworkTrouble(t *testing.T) {
	job := dyndns2Job{FQDN: testFQDN, Username: "alice", Password: testPassword, IPv4: testV4}

	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) }) // runs before srv.Close

		c := newDyndns2Client(&http.Client{Timeout: 200 * time.Millisecond}, UserAgent(testVersion))
		start := time.Now()
		out := c.Send(context.Background(), dyndns2Settings{URL: srv.URL + "/nic/update"}, job)
		if out.Result != Retry {
			t.Errorf("Result = %v (%q), want retry", out.Result, out.Message)
		}
		if !strings.Contains(out.Message, "timeout") && !strings.Contains(out.Message, "Timeout") {
			t.Errorf("Message = %q, want it to mention the timeout", out.Message)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Send took %v, want about 200ms", d)
		}
		checkNoRequestDetails(t, out.Message)
	})

	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		arrived := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })

		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-arrived
			cancel()
		}()
		out := newDyndns2Client(nil, UserAgent(testVersion)).Send(ctx, dyndns2Settings{URL: srv.URL + "/nic/update"}, job)
		if out.Result != Retry || out.Message != "cancelled" {
			t.Errorf("Outcome = %v %q, want retry %q", out.Result, out.Message, "cancelled")
		}
	})

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()

		out := newDyndns2Client(nil, UserAgent(testVersion)).Send(context.Background(),
			dyndns2Settings{URL: "http://bob:urlsecret@" + addr + "/nic/update?token=urlsecret"}, job)
		if out.Result != Retry {
			t.Errorf("Result = %v (%q), want retry", out.Result, out.Message)
		}
		if !strings.Contains(out.Message, "connection refused") {
			t.Errorf("Message = %q, want connection refused", out.Message)
		}
		checkNoRequestDetails(t, out.Message)
	})

	t.Run("connection reset", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close with RST
			}
			_ = conn.Close()
		}))
		t.Cleanup(srv.Close)

		out := newDyndns2Client(nil, UserAgent(testVersion)).Send(context.Background(), dyndns2Settings{URL: srv.URL + "/nic/update"}, job)
		if out.Result != Retry {
			t.Errorf("Result = %v (%q), want retry", out.Result, out.Message)
		}
		checkNoRequestDetails(t, out.Message)
	})

	t.Run("answer cut short", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ngood")
			_ = buf.Flush()
			_ = conn.Close()
		}))
		t.Cleanup(srv.Close)

		out := newDyndns2Client(nil, UserAgent(testVersion)).Send(context.Background(), dyndns2Settings{URL: srv.URL + "/nic/update"}, job)
		if out.Result != Retry || !strings.HasPrefix(out.Message, "reading answer: ") {
			t.Errorf("Outcome = %v %q, want retry with \"reading answer: …\"", out.Result, out.Message)
		}
		checkNoRequestDetails(t, out.Message)
	})
}

// checkNoRequestDetails asserts that a network error message does not
// repeat the request URL, which carries the query and maybe userinfo.
func checkNoRequestDetails(t *testing.T, msg string) {
	t.Helper()
	checkMessage(t, msg)
	for _, s := range []string{"hostname=", "myip=", "bob:", "@"} {
		if strings.Contains(msg, s) {
			t.Errorf("Message %q contains %q", msg, s)
		}
	}
}

func TestDyndns2InvalidInput(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte("good"))
	}))
	t.Cleanup(srv.Close)
	ok := srv.URL + "/nic/update"

	tests := []struct {
		name    string
		url     string
		job     dyndns2Job
		wantMsg string
	}{
		{"no address", ok, dyndns2Job{FQDN: testFQDN}, "no address to send"},
		{"no hostname", ok, dyndns2Job{IPv4: testV4}, "no hostname to update"},
		{"IPv6 in IPv4", ok, dyndns2Job{FQDN: testFQDN, IPv4: testV6}, "invalid IPv4 address 2001:db8::7"},
		{"IPv4 in IPv6", ok, dyndns2Job{FQDN: testFQDN, IPv6: testV4}, "invalid IPv6 address 198.51.100.7"},
		{"unsupported scheme", "ftp://example.org/nic/update", dyndns2Job{FQDN: testFQDN, IPv4: testV4}, "invalid service url: want http(s)://host/path"},
		{"space stored before the rules were strict", "https://example.org/nic/update?x=a b", dyndns2Job{FQDN: testFQDN, IPv4: testV4},
			"invalid service url: it must not contain spaces, line breaks or control characters (percent-encode them)"},
		{"no host", "https:///nic/update", dyndns2Job{FQDN: testFQDN, IPv4: testV4}, "invalid service url: want http(s)://host/path"},
		{"unparsable", "http://example.org/%zz", dyndns2Job{FQDN: testFQDN, IPv4: testV4}, `invalid service url: invalid URL escape "%zz"`},
		{"empty", "", dyndns2Job{FQDN: testFQDN, IPv4: testV4}, "invalid service url: want http(s)://host/path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := newDyndns2Client(nil, UserAgent(testVersion)).Send(context.Background(), dyndns2Settings{URL: tt.url}, tt.job)
			if out.Result != Failed || out.Message != tt.wantMsg {
				t.Errorf("Outcome = %v %q, want failed %q", out.Result, out.Message, tt.wantMsg)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server got %d requests, want 0", n)
	}
}

func TestDyndns2RetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 120 * time.Second},
		{" 5 ", 5 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"99999999999999999", maxRetryAfter},
		{"Sat, 01 Mar 2025 12:30:00 GMT", 30 * time.Minute},
		{"Sat, 01 Mar 2025 11:00:00 GMT", 0},
		{"Sat, 08 Mar 2025 12:00:00 GMT", maxRetryAfter},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestOutcomeResultString(t *testing.T) {
	for r, want := range map[Result]string{
		Delivered: "delivered", Retry: "retry", Failed: "failed", Blocked: "blocked", 0: "Result(0)",
	} {
		if got := r.String(); got != want {
			t.Errorf("Result(%d).String() = %q, want %q", int(r), got, want)
		}
	}
}

func TestOutcomeMessage(t *testing.T) {
	const pw = "p@ss word/ü"
	red := newRedactor("https://svc:urlsecret@example.org/nic/update", "alice", pw)
	tests := []struct {
		name, raw, want string
	}{
		{"plain", "HTTP 200: good 198.51.100.7", "HTTP 200: good 198.51.100.7"},
		{"password", "bad " + pw + " bad", "bad *** bad"},
		{"password with other whitespace", "bad p@ss\tword/ü", "bad ***"},
		{"query-escaped password", "bad p%40ss+word%2F%C3%BC", "bad ***"},
		{"path-escaped password", "bad p@ss%20word%2F%C3%BC", "bad ***"},
		{"basic credentials", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+pw)), "Authorization: Basic ***"},
		{"service url password", "got urlsecret", "got ***"},
		{"userinfo in a url", "see https://bob:other@example.net/x", "see https://example.net/x"},
		{"secret query parameters", "GET /u?hostname=a&password=x1&token=y2&apikey=z3&myip=1", "GET /u?hostname=a&password=***&token=***&apikey=***&myip=1"},
		{"lines and controls", "a\r\n\n\tb\x00c\n", "a; b c"},
		{"invalid utf-8", "a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		if got := red.message(tt.raw); got != tt.want {
			t.Errorf("%s: message(%q) = %q, want %q", tt.name, tt.raw, got, tt.want)
		}
	}
}

func TestOutcomeTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly 10", 10, "exactly 10"},
		{"abcdefghijk", 10, "abcdefg…"},
		{"ééééé", 8, "éé…"},   // 10 bytes; a cut at 5 would split an é
		{"aaéééé", 8, "aaé…"}, // a cut at 5 would split the second é
	}
	for _, tt := range tests {
		got := truncateUTF8(tt.in, tt.max)
		if got != tt.want || len(got) > tt.max || !utf8.ValidString(got) {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
