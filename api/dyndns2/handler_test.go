package dyndns2

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/ratelimit"
)

// TestUpdateAnswers has one row per answer code, credential source, parameter
// rule and address check of the inbound protocol (the package doc).
func TestUpdateAnswers(t *testing.T) {
	one := func(req request, status int, body string, applied ...Update) testCase {
		return testCase{steps: []exchange{{req: req, status: status, body: body}}, applied: applied}
	}
	named := func(name string, tc testCase) testCase { tc.name = name; return tc }
	withSetup := func(tc testCase, setup func(*fakeBackend)) testCase { tc.setup = setup; return tc }
	withSource := func(tc testCase, source string) testCase { tc.source = source; return tc }
	withHeader := func(tc testCase, k, v string) testCase {
		tc.steps[0].header = map[string]string{k: v}
		return tc
	}
	const good = "good 192.0.2.10\n"
	var (
		twentyOne []string
		twenty    []string
	)
	for i := 0; i < 21; i++ {
		twentyOne = append(twentyOne, "a.example.com")
	}
	twenty = twentyOne[:20]

	tests := []testCase{
		// Credentials.
		named("no credentials: challenge", withHeader(one(getNoAuth("/nic/update?myip=192.0.2.10"),
			http.StatusUnauthorized, "badauth\n"), "WWW-Authenticate", `Basic realm="ddnsbroker"`)),
		named("wrong secret", one(request{head: "GET /nic/update?myip=192.0.2.10 HTTP/1.1\nHost: b\nAuthorization: Basic " +
			b64("home.example.net:wrong")}, http.StatusUnauthorized, "badauth\n")),
		named("unknown host", one(request{head: "GET /nic/update?myip=192.0.2.10 HTTP/1.1\nHost: b\nAuthorization: Basic " +
			b64("other.example.net:"+hostSecret)}, http.StatusUnauthorized, "badauth\n")),
		named("username case and trailing dot are the backend's to normalise", one(request{head: "GET /nic/update?myip=192.0.2.10 HTTP/1.1\nHost: b\nAuthorization: Basic " +
			b64("Home.Example.NET.:"+hostSecret)}, http.StatusOK, good, v4("192.0.2.10"))),
		named("Basic wins over correct query credentials", one(request{head: "GET /nic/update?myip=192.0.2.10&username=home.example.net&password=" + hostSecret +
			" HTTP/1.1\nHost: b\nAuthorization: Basic " + b64("home.example.net:wrong")}, http.StatusUnauthorized, "badauth\n")),
		named("Basic with an empty password falls back to the query", one(request{head: "GET /nic/update?myip=192.0.2.10&username=home.example.net&password=" + hostSecret +
			" HTTP/1.1\nHost: b\nAuthorization: Basic " + b64("home.example.net:")}, http.StatusOK, good, v4("192.0.2.10"))),
		named("Bearer is not Basic", one(request{head: "GET /nic/update?myip=192.0.2.10 HTTP/1.1\nHost: b\nAuthorization: Bearer " + hostSecret},
			http.StatusUnauthorized, "badauth\n")),
		named("username/password in the query", one(getNoAuth("/nic/update?myip=192.0.2.10&username=home.example.net&password="+hostSecret),
			http.StatusOK, good, v4("192.0.2.10"))),
		named("user/pass in the query", one(getNoAuth("/nic/update?myip=192.0.2.10&user=home.example.net&pass="+hostSecret),
			http.StatusOK, good, v4("192.0.2.10"))),
		named("username/password win over user/pass", one(getNoAuth("/nic/update?myip=192.0.2.10&user=home.example.net&pass="+hostSecret+
			"&username=home.example.net&password=wrong"), http.StatusUnauthorized, "badauth\n")),
		named("username without password is no credentials", one(getNoAuth("/nic/update?myip=192.0.2.10&username=home.example.net"),
			http.StatusUnauthorized, "badauth\n")),
		named("escaped secret in the query", withSetup(one(getNoAuth("/nic/update?myip=192.0.2.10&username=home.example.net&password=p%26w%2Bd%3D%25"),
			http.StatusOK, good, v4("192.0.2.10")), func(b *fakeBackend) { b.secret = "p&w+d=%" })),
		named("unescaped % in a secret is kept literally", withSetup(one(getNoAuth("/nic/update?myip=192.0.2.10&username=home.example.net&password=100%zz"),
			http.StatusOK, good, v4("192.0.2.10")), func(b *fakeBackend) { b.secret = "100%zz" })),

		// Backend answers.
		named("rate limited", withHeader(withSetup(one(get("/nic/update?myip=192.0.2.10"), http.StatusTooManyRequests, "abuse\n"),
			func(b *fakeBackend) { b.authErr = &ratelimit.Error{RetryAfter: 1500 * time.Millisecond} }), "Retry-After", "2")),
		named("rate limited, wrapped, under a second", withHeader(withSetup(one(get("/nic/update?myip=192.0.2.10"), http.StatusTooManyRequests, "abuse\n"),
			func(b *fakeBackend) {
				b.authErr = fmt.Errorf("auth: %w", &ratelimit.Error{RetryAfter: 10 * time.Millisecond})
			}), "Retry-After", "1")),
		named("wrapped ErrBadAuth", withSetup(one(get("/nic/update?myip=192.0.2.10"), http.StatusUnauthorized, "badauth\n"),
			func(b *fakeBackend) { b.authErr = fmt.Errorf("store: %w", ErrBadAuth) })),
		named("authentication trouble", withSetup(one(get("/nic/update?myip=192.0.2.10"), http.StatusServiceUnavailable, "911\n"),
			func(b *fakeBackend) { b.authErr = errors.New("database down") })),
		named("apply trouble", withSetup(one(get("/nic/update?myip=192.0.2.10"), http.StatusServiceUnavailable, "911\n", v4("192.0.2.10")),
			func(b *fakeBackend) { b.applyErr = errors.New("database down") })),
		named("disabled host", withSetup(one(get("/nic/update?hostname=a.example.com&myip=192.0.2.10"), http.StatusOK, "abuse\n"),
			func(b *fakeBackend) { b.host.Enabled = false })),

		// Hostnames.
		named("no hostname: one line", one(get("/nic/update?myip=192.0.2.10"), http.StatusOK, good, v4("192.0.2.10"))),
		named("empty hostname: one line", one(get("/nic/update?hostname=&myip=192.0.2.10"), http.StatusOK, good, v4("192.0.2.10"))),
		named("host and record names in any order, any case, trailing dot", one(get("/nic/update?hostname=b.example.com,HOME.example.NET.,a.example.com,_acme-challenge.example.com&myip=192.0.2.10"),
			http.StatusOK, strings.Repeat(good, 4), v4("192.0.2.10"))),
		named("repeated hostname parameters, spaces around items", one(get("/nic/update?hostname=a.example.com,%20b.example.com%20&hostname=home.example.net&myip=192.0.2.10"),
			http.StatusOK, strings.Repeat(good, 3), v4("192.0.2.10"))),
		named("notfqdn and nohost lines in request order", one(get("/nic/update?hostname=bad_name!,a.example.com,other.example.org,host,1.2.3.4&myip=192.0.2.10"),
			http.StatusOK, "notfqdn\n"+good+"nohost\nnotfqdn\nnotfqdn\n", v4("192.0.2.10"))),
		named("only foreign and malformed names: nothing applied", one(get("/nic/update?hostname=other.example.org,-bad-.example.com&myip=192.0.2.10"),
			http.StatusOK, "nohost\nnotfqdn\n")),
		named("20 hostnames", one(get("/nic/update?hostname="+strings.Join(twenty, ",")+"&myip=192.0.2.10"),
			http.StatusOK, strings.Repeat(good, 20), v4("192.0.2.10"))),
		named("21 hostnames: numhost", one(get("/nic/update?hostname="+strings.Join(twentyOne, ",")+"&myip=192.0.2.10"),
			http.StatusOK, "numhost\n")),

		// Addresses.
		named("myip v6,v4 order", one(get("/nic/update?myip=2001:db8::10,192.0.2.10"), http.StatusOK, "good 192.0.2.10,2001:db8::10\n", both("192.0.2.10", "2001:db8::10"))),
		named("repeated myip", one(get("/nic/update?myip=2001:db8::10&myip=192.0.2.10"), http.StatusOK, "good 192.0.2.10,2001:db8::10\n", both("192.0.2.10", "2001:db8::10"))),
		named("myip with spaces", one(get("/nic/update?myip=%20192.0.2.10%20,%202001:db8::10"), http.StatusOK, "good 192.0.2.10,2001:db8::10\n", both("192.0.2.10", "2001:db8::10"))),
		named("parameter names in any case", one(get("/nic/update?HostName=a.example.com&MyIP=192.0.2.10"), http.StatusOK, good, v4("192.0.2.10"))),
		named("myipv4 and myipv6", one(get("/nic/update?myipv4=192.0.2.10&myipv6=2001:db8::10"), http.StatusOK, "good 192.0.2.10,2001:db8::10\n", both("192.0.2.10", "2001:db8::10"))),
		named("ipv4 and myip6", one(get("/nic/update?ipv4=192.0.2.10&myip6=2001:db8::10"), http.StatusOK, "good 192.0.2.10,2001:db8::10\n", both("192.0.2.10", "2001:db8::10"))),
		named("ip and ipv6", one(get("/nic/update?ip=192.0.2.10&ipv6=2001:db8::10"), http.StatusOK, "good 192.0.2.10,2001:db8::10\n", both("192.0.2.10", "2001:db8::10"))),
		named("the same address twice is fine", one(get("/nic/update?myip=192.0.2.10&ip=192.0.2.10"), http.StatusOK, good, v4("192.0.2.10"))),
		named("IPv4-mapped IPv6 counts as IPv4", one(get("/nic/update?myip=::ffff:192.0.2.10"), http.StatusOK, good, v4("192.0.2.10"))),
		named("private and CGNAT addresses are accepted", one(get("/nic/update?myip=100.64.0.1,fd00::1"), http.StatusOK, "good 100.64.0.1,fd00::1\n", both("100.64.0.1", "fd00::1"))),
		named("ignored parameters", one(get("/nic/update?system=dyndns&hostname=a.example.com&myip=192.0.2.10&wildcard=ON&mx=mx.example.com&backmx=NO&offline=NO&url=http://x/&foo=bar&=x&noequals"),
			http.StatusOK, good, v4("192.0.2.10"))),
		named("ip6lanprefix alone, no IPv6 stored: prefix echoed", one(get("/nic/update?ip6lanprefix=2001:db8:1:2::/64"),
			http.StatusOK, "good 2001:db8:1:2::/64\n", pfx("2001:db8:1:2::/64"))),
		named("ipv6prefix alone, IPv6 stored: address echoed", withSetup(one(get("/nic/update?ipv6prefix=2001:db8:1:2::/64"),
			http.StatusOK, "good 2001:db8::99\n", pfx("2001:db8:1:2::/64")),
			func(b *fakeBackend) { b.state.IPv6 = netip.MustParseAddr("2001:db8::99") })),
		named("prefix in myip with IPv4", one(get("/nic/update?myip=192.0.2.10,2001:db8:1:2::/64"),
			http.StatusOK, "good 192.0.2.10,2001:db8:1:2::/64\n", plus(v4("192.0.2.10"), pfx("2001:db8:1:2::/64")))),
		named("network/len in myipv6 is a prefix only", one(get("/nic/update?myipv6=2001:db8:1::/56"),
			http.StatusOK, "good 2001:db8:1::/56\n", pfx("2001:db8:1::/56"))),
		// MikroTik RouterOS scripts send the interface's address with its length.
		named("address/len in myip: the address and its prefix", one(get("/nic/update?myip=2001:db8:1:2::5/64"),
			http.StatusOK, "good 2001:db8:1:2::5\n", plus(v6("2001:db8:1:2::5"), pfx("2001:db8:1:2::/64")))),
		named("address/len in myipv6: the address and its prefix, masked", one(get("/nic/update?myipv6=2001:db8:1:2::1/56"),
			http.StatusOK, "good 2001:db8:1:2::1\n", plus(v6("2001:db8:1:2::1"), pfx("2001:db8:1::/56")))),
		named("address/len in ipv6 with IPv4 in myip", one(get("/nic/update?myip=192.0.2.10&ipv6=2001:db8:1:2::5/64"),
			http.StatusOK, "good 192.0.2.10,2001:db8:1:2::5\n", plus(v4("192.0.2.10"), v6("2001:db8:1:2::5"), pfx("2001:db8:1:2::/64")))),
		named("address/len and the same prefix in ip6lanprefix", one(get("/nic/update?myip=2001:db8:1:2::5/64&ip6lanprefix=2001:db8:1:2::/64"),
			http.StatusOK, "good 2001:db8:1:2::5\n", plus(v6("2001:db8:1:2::5"), pfx("2001:db8:1:2::/64")))),
		named("address/len in ip6lanprefix is a prefix only", one(get("/nic/update?ip6lanprefix=2001:db8:1:2::5/64"),
			http.StatusOK, "good 2001:db8:1:2::/64\n", pfx("2001:db8:1:2::/64"))),
		named("unchanged: nochg", withSetup(one(get("/nic/update?myip=192.0.2.10"), http.StatusOK, "nochg 192.0.2.10\n", v4("192.0.2.10")),
			func(b *fakeBackend) { b.state.IPv4 = netip.MustParseAddr("192.0.2.10") })),

		// preserve.
		named("myipv4=preserve keeps IPv4", withSetup(one(get("/nic/update?myipv4=preserve&myipv6=2001:db8::10"), http.StatusOK, "good 2001:db8::10\n", v6("2001:db8::10")),
			func(b *fakeBackend) { b.state.IPv4 = netip.MustParseAddr("192.0.2.99") })),
		named("myipv6=preserve keeps IPv6", one(get("/nic/update?myipv4=192.0.2.10&myipv6=preserve"), http.StatusOK, good, v4("192.0.2.10"))),
		named("myipv4=preserve alone: no source fallback", one(get("/nic/update?myipv4=preserve"), http.StatusOK, "nochg\n", Update{})),
		named("myip=preserve keeps both", one(get("/nic/update?myip=preserve"), http.StatusOK, "nochg\n", Update{})),
		named("preserve and an address for one family", one(get("/nic/update?myipv4=preserve&myip=192.0.2.10"), http.StatusBadRequest, "badrequest more than one IPv4 address\n")),

		// Source address fallback.
		withSource(named("no address: IPv4 source", one(get("/nic/update?hostname=a.example.com"), http.StatusOK, "good 198.51.100.7\n", v4("198.51.100.7"))), "198.51.100.7"),
		withSource(named("empty myip: IPv6 source", one(get("/nic/update?hostname=a.example.com&myip="), http.StatusOK, "good 2001:db8:ff::77\n", v6("2001:db8:ff::77"))), "2001:db8:ff::77"),
		withSource(named("only empty items: source", one(get("/nic/update?myip=,&myipv6=&ip6lanprefix="), http.StatusOK, "good 198.51.100.7\n", v4("198.51.100.7"))), "198.51.100.7"),
		withSource(named("IPv4-mapped source", one(get("/nic/update"), http.StatusOK, "good 198.51.100.7\n", v4("198.51.100.7"))), "::ffff:198.51.100.7"),
		withSource(named("prefix only: no fallback for the address", one(get("/nic/update?ip6lanprefix=2001:db8:1:2::/64"), http.StatusOK, "good 2001:db8:1:2::/64\n", pfx("2001:db8:1:2::/64"))), "198.51.100.7"),
		withSource(named("unusable source", one(get("/nic/update"), http.StatusBadRequest, "badrequest no address given and the client address cannot be used\n")), "none"),
		withSource(named("unspecified source", one(get("/nic/update"), http.StatusBadRequest, "badrequest no address given and the client address cannot be used\n")), "::"),

		// Families disabled on the host.
		named("IPv6 disabled: dropped and not echoed", withSetup(one(get("/nic/update?myip=192.0.2.10,2001:db8::10&ip6lanprefix=2001:db8:1:2::/64"),
			http.StatusOK, good, v4("192.0.2.10")), func(b *fakeBackend) { b.host.IPv6Enabled = false })),
		named("IPv4 disabled: dropped and not echoed", withSetup(one(get("/nic/update?myip=192.0.2.10,2001:db8::10"),
			http.StatusOK, "good 2001:db8::10\n", v6("2001:db8::10")), func(b *fakeBackend) { b.host.IPv4Enabled = false })),
		named("IPv4 disabled, only IPv4 sent", withSetup(one(get("/nic/update?myip=192.0.2.10"),
			http.StatusOK, "nochg\n", Update{}), func(b *fakeBackend) { b.host.IPv4Enabled = false })),
		withSource(named("IPv4 disabled, IPv4 source", withSetup(one(get("/nic/update"),
			http.StatusOK, "nochg\n", Update{}), func(b *fakeBackend) { b.host.IPv4Enabled = false })), "198.51.100.7"),

		// Unusable addresses: 400, nothing stored.
		named("malformed IPv4", one(get("/nic/update?myip=1.2.3"), http.StatusBadRequest, "badrequest invalid IPv4 address \"1.2.3\"\n")),
		named("malformed IPv6", one(get("/nic/update?myip=2001:db8::zz"), http.StatusBadRequest, "badrequest invalid IPv6 address \"2001:db8::zz\"\n")),
		named("malformed in ip", one(get("/nic/update?ip=300.1.1.1"), http.StatusBadRequest, "badrequest invalid IPv4 address \"300.1.1.1\"\n")),
		named("malformed in myipv6", one(get("/nic/update?myipv6=x"), http.StatusBadRequest, "badrequest invalid IPv6 address \"x\"\n")),
		named("malformed prefix", one(get("/nic/update?ip6lanprefix=2001:db8::/129"), http.StatusBadRequest, "badrequest invalid IPv6 prefix \"2001:db8::/129\"\n")),
		named("prefix without length", one(get("/nic/update?ip6lanprefix=2001:db8:1:2::"), http.StatusBadRequest, "badrequest invalid IPv6 prefix \"2001:db8:1:2::\", want address/length\n")),
		named("IPv4 prefix", one(get("/nic/update?myip=192.0.2.0/24"), http.StatusBadRequest, "badrequest prefix \"192.0.2.0/24\" is not IPv6\n")),
		named("zero-length prefix", one(get("/nic/update?ipv6prefix=::/0"), http.StatusBadRequest, "badrequest prefix \"::/0\" has length 0, want 1..128\n")),
		named("unspecified prefix", one(get("/nic/update?ip6lanprefix=::/64"), http.StatusBadRequest, "badrequest prefix \"::/64\" is unspecified\n")),
		named("zone id", one(get("/nic/update?myip=fe80::1%25eth0"), http.StatusBadRequest, "badrequest address \"fe80::1%eth0\" has a zone identifier\n")),
		named("unspecified IPv4", one(get("/nic/update?myip=0.0.0.0"), http.StatusBadRequest, "badrequest address \"0.0.0.0\" is unspecified\n")),
		named("unspecified IPv6", one(get("/nic/update?myipv6=::"), http.StatusBadRequest, "badrequest address \"::\" is unspecified\n")),
		named("multicast IPv4", one(get("/nic/update?myip=224.0.0.1"), http.StatusBadRequest, "badrequest address \"224.0.0.1\" is multicast\n")),
		named("multicast IPv6", one(get("/nic/update?myip=ff02::1"), http.StatusBadRequest, "badrequest address \"ff02::1\" is multicast\n")),
		named("IPv6 in ip", one(get("/nic/update?ip=2001:db8::1"), http.StatusBadRequest, "badrequest ip expects an IPv4 address, got \"2001:db8::1\"\n")),
		named("IPv4 in myipv6", one(get("/nic/update?myipv6=192.0.2.1"), http.StatusBadRequest, "badrequest myipv6 expects an IPv6 address, got \"192.0.2.1\"\n")),
		named("prefix in myipv4", one(get("/nic/update?myipv4=192.0.2.0/24"), http.StatusBadRequest, "badrequest myipv4 expects an IPv4 address, got \"192.0.2.0/24\"\n")),
		named("two IPv4 in myip", one(get("/nic/update?myip=192.0.2.10,192.0.2.11"), http.StatusBadRequest, "badrequest more than one IPv4 address\n")),
		named("two IPv4 across parameters", one(get("/nic/update?myip=192.0.2.10&ipv4=192.0.2.11"), http.StatusBadRequest, "badrequest more than one IPv4 address\n")),
		named("two IPv6 in repeated myip", one(get("/nic/update?myip=2001:db8::1&myip=2001:db8::2"), http.StatusBadRequest, "badrequest more than one IPv6 address\n")),
		named("two prefixes", one(get("/nic/update?myip=2001:db8:1::/48&ip6lanprefix=2001:db8:2::/48"), http.StatusBadRequest, "badrequest more than one IPv6 prefix\n")),
		named("address/len and another address", one(get("/nic/update?myip=2001:db8:1:2::5/64&myipv6=2001:db8:1:2::6"), http.StatusBadRequest, "badrequest more than one IPv6 address\n")),
		named("address/len and another prefix", one(get("/nic/update?myip=2001:db8:1:2::5/64&ip6lanprefix=2001:db8:9::/48"), http.StatusBadRequest, "badrequest more than one IPv6 prefix\n")),
		named("multicast address/len", one(get("/nic/update?myip=ff02::1/64"), http.StatusBadRequest, "badrequest prefix \"ff02::1/64\" is multicast\n")),
		named("one bad value spoils a good one", one(get("/nic/update?hostname=a.example.com&myip=192.0.2.10,bogus"), http.StatusBadRequest, "badrequest invalid IPv4 address \"bogus\"\n")),
		named("control characters are quoted", one(get("/nic/update?myip=1.2%0A3"), http.StatusBadRequest, "badrequest invalid IPv4 address \"1.2\\n3\"\n")),
		named("long values are cut", one(get("/nic/update?myip="+strings.Repeat("9", 100)), http.StatusBadRequest,
			"badrequest invalid IPv4 address \""+strings.Repeat("9", 64)+"...\"\n")),
		named("bad address on a disabled family is still refused", withSetup(one(get("/nic/update?myip=192.0.2.10,2001:db8::zz"),
			http.StatusBadRequest, "badrequest invalid IPv6 address \"2001:db8::zz\"\n"), func(b *fakeBackend) { b.host.IPv6Enabled = false })),

		// Methods and bodies.
		named("POST form with credentials in the body", one(request{
			head: "POST /nic/update HTTP/1.1\nHost: b\nContent-Type: application/x-www-form-urlencoded",
			body: "hostname=a.example.com&myip=192.0.2.10&username=home.example.net&password=" + hostSecret,
		}, http.StatusOK, good, v4("192.0.2.10"))),
		named("POST merges query and body", one(request{
			head: "POST /nic/update?hostname=a.example.com&myip=2001:db8::10 HTTP/1.1\nHost: b\nAuthorization: Basic $AUTH\nContent-Type: application/x-www-form-urlencoded; charset=utf-8",
			body: "myip=192.0.2.10",
		}, http.StatusOK, "good 192.0.2.10,2001:db8::10\n", both("192.0.2.10", "2001:db8::10"))),
		named("POST without a body uses the query", one(request{
			head: "POST /nic/update?myip=192.0.2.10 HTTP/1.1\nHost: b\nAuthorization: Basic $AUTH\nContent-Length: 0",
		}, http.StatusOK, good, v4("192.0.2.10"))),
		named("POST multipart form", one(request{
			head: "POST /nic/update HTTP/1.1\nHost: b\nAuthorization: Basic $AUTH\nContent-Type: multipart/form-data; boundary=XX",
			body: "--XX\r\nContent-Disposition: form-data; name=\"myip\"\r\n\r\n192.0.2.10\r\n--XX\r\nContent-Disposition: form-data; name=\"hostname\"\r\n\r\na.example.com\r\n--XX--\r\n",
		}, http.StatusOK, good, v4("192.0.2.10"))),
		named("POST body too large", one(request{
			head: "POST /nic/update HTTP/1.1\nHost: b\nAuthorization: Basic $AUTH\nContent-Type: application/x-www-form-urlencoded",
			body: "x=" + strings.Repeat("a", maxBody),
		}, http.StatusBadRequest, "badrequest request body too large or unreadable\n")),
		named("HEAD: nothing authenticated or stored", one(request{head: "HEAD /nic/update?myip=192.0.2.10 HTTP/1.1\nHost: b"}, http.StatusOK, "")),
		named("HEAD with credentials: still nothing stored", one(request{head: "HEAD /nic/update?myip=192.0.2.10 HTTP/1.1\nHost: b\nAuthorization: Basic $AUTH"}, http.StatusOK, "")),
	}
	for _, m := range []string{"PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "FOO"} {
		tests = append(tests, named(m+": 405", withHeader(one(request{head: m + " /nic/update?myip=192.0.2.10 HTTP/1.1\nHost: b\nAuthorization: Basic $AUTH"},
			http.StatusMethodNotAllowed, "badrequest method not allowed\n"), "Allow", "GET, HEAD, POST")))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.steps[0].req.head == "" {
				t.Fatal("empty request")
			}
			run(t, tc)
		})
	}
}

// TestHeadDoesNotAuthenticate makes sure a HEAD costs no password hash.
func TestHeadDoesNotAuthenticate(t *testing.T) {
	b := newFakeBackend(t)
	srv := newServer(t, b, func() netip.Addr { return netip.MustParseAddr(defaultSource) }, nil, &syncBuffer{})
	resp, _ := send(t, strings.TrimPrefix(srv.URL, "http://"), request{head: "HEAD /nic/update HTTP/1.1\nHost: b\nAuthorization: Basic $AUTH"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if len(b.auths) != 0 || len(b.applied) != 0 {
		t.Errorf("HEAD reached the backend: %v %v", b.auths, b.applied)
	}
}

// TestAuthenticateArguments checks what the backend is asked: the username as
// sent and the unmapped source address.
func TestAuthenticateArguments(t *testing.T) {
	b := newFakeBackend(t)
	srv := newServer(t, b, func() netip.Addr { return netip.MustParseAddr("::ffff:198.51.100.7") }, nil, &syncBuffer{})
	send(t, strings.TrimPrefix(srv.URL, "http://"), getNoAuth("/nic/update?myip=192.0.2.10&username=Home.Example.Net.&password="+hostSecret))
	want := []authCall{{"Home.Example.Net.", hostSecret, netip.MustParseAddr("198.51.100.7")}}
	if len(b.auths) != 1 || b.auths[0] != want[0] {
		t.Errorf("Authenticate got %v, want %v", b.auths, want)
	}
}

// TestPaths checks that every path form reaches the handler directly, with no
// redirect, and that neighbouring paths do not.
func TestPaths(t *testing.T) {
	var paths []string
	for _, p := range []string{"/nic/update", "/v3/update", "/update"} {
		paths = append(paths, p, p+"/", "/"+p, "/"+p+"/")
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			run(t, testCase{
				steps: []exchange{
					{req: get(p + "?myip=192.0.2.10"), status: http.StatusOK, body: "good 192.0.2.10\n"},
					{req: request{head: "POST " + p + " HTTP/1.1\nHost: b\nAuthorization: Basic $AUTH\nContent-Type: application/x-www-form-urlencoded", body: "myip=192.0.2.10"},
						status: http.StatusOK, body: "nochg 192.0.2.10\n"},
					{req: request{head: "HEAD " + p + " HTTP/1.1\nHost: b"}, status: http.StatusOK},
					{req: request{head: "PUT " + p + " HTTP/1.1\nHost: b"}, status: http.StatusMethodNotAllowed, body: "badrequest method not allowed\n",
						header: map[string]string{"Allow": "GET, HEAD, POST"}},
				},
				applied: []Update{v4("192.0.2.10"), v4("192.0.2.10")},
			})
		})
	}
	b := newFakeBackend(t)
	srv := newServer(t, b, func() netip.Addr { return netip.MustParseAddr(defaultSource) }, nil, &syncBuffer{})
	for _, p := range []string{"/nic/updatex", "/nic/update/x", "/nic", "/nic/", "/updates", "/v3", "/v3/update/x", "/myipx", "/nic/checkip/x"} {
		for _, m := range []string{"GET", "PUT"} {
			resp, _ := send(t, strings.TrimPrefix(srv.URL, "http://"), request{head: m + " " + p + " HTTP/1.1\nHost: b\nAuthorization: Basic $AUTH"})
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: status %d, want 404", m, p, resp.StatusCode)
			}
		}
	}
	if len(b.auths) != 0 {
		t.Errorf("a neighbouring path reached the handler")
	}
}

// TestNoSuccessWordInErrors feeds values built from the words inadyn and
// OpenWrt read as success into every place an error answer may quote them.
func TestNoSuccessWordInErrors(t *testing.T) {
	b := newFakeBackend(t)
	srv := newServer(t, b, func() netip.Addr { return netip.MustParseAddr(defaultSource) }, nil, &syncBuffer{})
	addr := strings.TrimPrefix(srv.URL, "http://")
	var queries []string
	for _, w := range []string{"good", "ok", "true", "updated", "nochg", "GOOD", "NoChg", "Ok"} {
		for _, p := range []string{"myip", "myipv4", "ip", "myipv6", "ipv6", "ip6lanprefix", "ipv6prefix"} {
			queries = append(queries,
				p+"="+w,
				p+"=1.2."+w,
				p+"=fe80::1%25"+w,
				p+"="+w+"/64",
				p+"=2001:db8::/"+w,
				p+"=::ffff:"+w,
			)
		}
		queries = append(queries, "hostname="+w, "hostname="+w+".example.org", "hostname="+strings.Repeat(w+",", 21))
	}
	// Refusals whose detailed reason is fine must still quote the value.
	resp, body := send(t, addr, get("/nic/update?myip=1.2.3"))
	if resp.StatusCode != http.StatusBadRequest || body != "badrequest invalid IPv4 address \"1.2.3\"\n" {
		t.Errorf("plain refusal: %d %q", resp.StatusCode, body)
	}
	for _, q := range queries {
		resp, body := send(t, addr, get("/nic/update?"+q))
		checkNoSuccessWord(t, resp.StatusCode, body)
		if resp.StatusCode == http.StatusOK && strings.HasPrefix(body, "good") {
			t.Errorf("%s: unexpected success %q", q, body)
		}
	}
	// Every fixed answer of the package, including the reasons used when a
	// value is not echoed.
	fixed := []string{codeBadauth, codeNotfqdn, codeNohost, codeNumhost, codeBadrequest, codeAbuse, code911,
		"method not allowed", "request body too large or unreadable", "malformed multipart form",
		"no address given and the client address cannot be used", "invalid request",
		"unusable IPv6 prefix", "unusable address", "invalid IPv6 prefix, want address/length"}
	for _, s := range slotNames {
		fixed = append(fixed, "invalid "+s, "more than one "+s)
	}
	for _, group := range addressParams {
		for _, n := range group.names {
			fixed = append(fixed, n+" expects an IPv4 address", n+" expects an IPv6 address")
		}
	}
	for _, s := range fixed {
		if hasSuccessWord(s) {
			t.Errorf("fixed answer text %q contains a success word", s)
		}
	}
}

func b64(s string) string {
	return basicFor(s)
}

// TestUpdateSources: each value the backend gets says which parameter
// carried it, a prefix written as address/len says so, and an update that
// names no address takes the connection's, saying so too; a record's
// derivation shows them.
func TestUpdateSources(t *testing.T) {
	for _, tt := range []struct {
		query string
		want  Sources
	}{
		{"myip=192.0.2.10", Sources{IPv4: "myip"}},
		{"myip=192.0.2.10&myipv6=2001:db8::10", Sources{IPv4: "myip", IPv6: "myipv6"}},
		{"myip=2001:db8:1:2::5/64", Sources{IPv6: "myip", Prefix: "myip/len"}},
		{"myip=192.0.2.10&ip6lanprefix=2001:db8:aa00::/56", Sources{IPv4: "myip", Prefix: "ip6lanprefix"}},
		{"ipv6prefix=2001:db8:aa00::/56", Sources{Prefix: "ipv6prefix"}},
		{"hostname=a.example.com", Sources{IPv4: SourceConnection}},
	} {
		b := newFakeBackend(t)
		srv := newServer(t, b, func() netip.Addr { return netip.MustParseAddr("198.51.100.7") }, nil, &syncBuffer{})
		send(t, strings.TrimPrefix(srv.URL, "http://"), get("/nic/update?"+tt.query))
		if len(b.sources) != 1 || b.sources[0] != tt.want {
			t.Errorf("%s: sources %+v, want %+v", tt.query, b.sources, tt.want)
		}
	}
}
