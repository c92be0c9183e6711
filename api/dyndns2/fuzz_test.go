package dyndns2

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// FuzzUpdate sends arbitrary query strings to /nic/update and checks that the
// handler never panics, answers only with protocol codes, never lets an error
// look like success, and stores nothing from a refused request.
func FuzzUpdate(f *testing.F) {
	for _, seed := range []string{
		"",
		"myip=",
		"system=dyndns&hostname=a.example.com,b.example.com&myip=192.0.2.10",
		"hostname=a.example.com,b.example.com&myip=192.0.2.10,2001:db8::10",
		"hostname=a.example.com&myip=2001%3adb8%3a%3a10",
		"hostname=home.example.net&myip=192.0.2.10,&ip6lanprefix=",
		"hostname=home.example.net&myip=192.0.2.10,2001:db8::10&ip6lanprefix=2001:db8:1:2::/64",
		"hostname=a.example.com&myip=192.0.2.10&wildcard=NOCHG",
		"username=home.example.net&password=s3cret-Secret&myip=192.0.2.10",
		"user=home.example.net&pass=wrong",
		"myipv4=preserve&myipv6=2001:db8::1",
		"myip=preserve",
		"myip=fe80::1%25eth0",
		"myip=fe80::1%good",
		"myip=1.2.3",
		"ip=2001:db8::1&myipv6=1.2.3.4",
		"ipv6prefix=::/0&ip6lanprefix=2001:db8::/129",
		"hostname=" + strings.Repeat("a.example.com,", 25),
		"hostname=%zz&myip=%&&&=&;;",
		"myip=::ffff:0.0.0.0",
		"myip=1.2.3.4/33,ff00::/8",
		"MYIP=192.0.2.1&HostName=HOME.EXAMPLE.NET.",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		b := newFakeBackend(t)
		e := echo.New()
		mount(e, NewHandler(b, func(*http.Request) netip.Addr { return netip.MustParseAddr("203.0.113.5") }, nil, nil))
		for _, auth := range []bool{true, false} {
			r := httptest.NewRequest(http.MethodGet, "/nic/update", nil)
			r.URL.RawQuery = rawQuery
			if auth {
				r.SetBasicAuth(hostFQDN, hostSecret)
			}
			before := len(b.applied)
			w := httptest.NewRecorder()
			e.ServeHTTP(w, r)
			body, _ := io.ReadAll(w.Result().Body)
			checkNoSuccessWord(t, w.Code, string(body))
			if !strings.HasSuffix(string(body), "\n") {
				t.Fatalf("%q: body %q without trailing newline", rawQuery, body)
			}
			lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
			switch w.Code {
			case http.StatusOK:
				if len(lines) > maxHostnames {
					t.Fatalf("%q: %d lines", rawQuery, len(lines))
				}
				for _, l := range lines {
					code, _, _ := strings.Cut(l, " ")
					switch code {
					case codeGood, codeNochg, codeNotfqdn, codeNohost, codeNumhost:
					default:
						t.Fatalf("%q: line %q", rawQuery, l)
					}
				}
			case http.StatusBadRequest:
				if len(lines) != 1 || !strings.HasPrefix(lines[0], codeBadrequest+" ") {
					t.Fatalf("%q: 400 with %q", rawQuery, body)
				}
				if len(b.applied) != before {
					t.Fatalf("%q: refused request reached Apply", rawQuery)
				}
			case http.StatusUnauthorized:
				if string(body) != "badauth\n" {
					t.Fatalf("%q: 401 with %q", rawQuery, body)
				}
			default:
				t.Fatalf("%q: status %d %q", rawQuery, w.Code, body)
			}
		}
	})
}
