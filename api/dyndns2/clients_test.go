package dyndns2

import (
	"net/http"
	"testing"
)

// TestClients plays, for every client of README.md's table of what each
// client sends, the requests it really makes, byte for byte apart from the host
// name, and checks the answer and what reached the backend.
func TestClients(t *testing.T) {
	const (
		goodV4     = "good 192.0.2.10\n"
		badauth    = "badauth\n"
		challenged = `Basic realm="ddnsbroker"`
	)
	tests := []testCase{
		{
			name: "ddclient 3.10 with two hostnames, then again unchanged",
			steps: []exchange{
				{
					req: request{head: "GET /nic/update?system=dyndns&hostname=a.example.com,b.example.com&myip=192.0.2.10 HTTP/1.1\n" +
						"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: ddclient/3.10.0\nConnection: close"},
					status: http.StatusOK, body: "good 192.0.2.10\ngood 192.0.2.10\n",
				},
				{
					req: request{head: "GET /nic/update?system=dyndns&hostname=a.example.com,b.example.com&myip=192.0.2.10 HTTP/1.1\n" +
						"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: ddclient/3.10.0\nConnection: close"},
					status: http.StatusOK, body: "nochg 192.0.2.10\nnochg 192.0.2.10\n",
				},
			},
			applied: []Update{v4("192.0.2.10"), v4("192.0.2.10")},
		},
		{
			name:   "ddclient 3.10 usev6 sends an empty myip and records the echo",
			source: "2001:db8:ff::77",
			steps: []exchange{{
				req: request{head: "GET /nic/update?system=dyndns&hostname=a.example.com&myip= HTTP/1.1\n" +
					"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: ddclient/3.10.0\nConnection: close"},
				status: http.StatusOK, body: "good 2001:db8:ff::77\n",
			}},
			applied: []Update{v6("2001:db8:ff::77")},
		},
		{
			name: "ddclient 4.0 with both families in myip",
			steps: []exchange{{
				req: request{head: "GET /nic/update?hostname=a.example.com,b.example.com&myip=192.0.2.10,2001:db8::10 HTTP/1.1\n" +
					"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: ddclient/4.0.0\nConnection: close"},
				status: http.StatusOK, body: "good 192.0.2.10,2001:db8::10\ngood 192.0.2.10,2001:db8::10\n",
			}},
			applied: []Update{both("192.0.2.10", "2001:db8::10")},
		},
		{
			name: "inadyn 2.10 custom, HTTP/1.0, Host without port, one request per family, encoded IPv6",
			steps: []exchange{
				{
					req: request{head: "GET /nic/update?hostname=a.example.com&myip=192.0.2.10 HTTP/1.0\n" +
						"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: inadyn/2.10.0 https://github.com/troglobit/inadyn/issues"},
					status: http.StatusOK, body: goodV4,
				},
				{
					req: request{head: "GET /nic/update?hostname=a.example.com&myip=2001%3adb8%3a%3a10 HTTP/1.0\n" +
						"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: inadyn/2.10.0 https://github.com/troglobit/inadyn/issues"},
					status: http.StatusOK, body: "good 2001:db8::10\n",
				},
			},
			applied: []Update{v4("192.0.2.10"), v6("2001:db8::10")},
		},
		{
			name: "inadyn 2.10 with wrong credentials gets 401 and must not read success",
			steps: []exchange{{
				req: request{head: "GET /nic/update?hostname=a.example.com&myip=192.0.2.10 HTTP/1.0\n" +
					"Host: broker.example.net\nAuthorization: Basic aG9tZS5leGFtcGxlLm5ldDp3cm9uZw==\nUser-Agent: inadyn/2.10.0 https://github.com/troglobit/inadyn/issues"},
				status: http.StatusUnauthorized, body: badauth, header: map[string]string{"WWW-Authenticate": challenged},
			}},
		},
		{
			name: "UniFi inadyn with a doubled leading slash",
			steps: []exchange{{
				req: request{head: "GET //nic/update?hostname=a.example.com&myip=192.0.2.10 HTTP/1.0\n" +
					"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: inadyn/2.10.0 https://github.com/troglobit/inadyn/issues"},
				status: http.StatusOK, body: goodV4,
			}},
			applied: []Update{v4("192.0.2.10")},
		},
		{
			name: "FRITZ!Box template with both addresses and ip6lanprefix, unescaped",
			steps: []exchange{{
				req: request{head: "GET /nic/update?hostname=home.example.net&myip=192.0.2.10,2001:db8::10&ip6lanprefix=2001:db8:1:2::/64 HTTP/1.1\n" +
					"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: Fritz!Box DDNS/1.0.1\nConnection: close"},
				status: http.StatusOK, body: "good 192.0.2.10,2001:db8::10\n",
			}},
			applied: []Update{plus(both("192.0.2.10", "2001:db8::10"), pfx("2001:db8:1:2::/64"))},
		},
		{
			name: "FRITZ!Box without IPv6 leaves placeholders empty",
			steps: []exchange{{
				req: request{head: "GET /nic/update?hostname=home.example.net&myip=192.0.2.10,&ip6lanprefix= HTTP/1.1\n" +
					"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: Fritz!Box DDNS/1.0.1\nConnection: close"},
				status: http.StatusOK, body: goodV4,
			}},
			applied: []Update{v4("192.0.2.10")},
		},
		{
			name: "FRITZ!Box on DS-Lite has no public IPv4",
			steps: []exchange{{
				req: request{head: "GET /nic/update?hostname=home.example.net&myip=,2001:db8::10&ip6lanprefix=2001:db8:1:2::/64 HTTP/1.1\n" +
					"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: Fritz!Box DDNS/1.0.1\nConnection: close"},
				status: http.StatusOK, body: "good 2001:db8::10\n",
			}},
			applied: []Update{plus(v6("2001:db8::10"), pfx("2001:db8:1:2::/64"))},
		},
		{
			name: "FRITZ!Box two space-separated URLs with credentials in the query",
			steps: []exchange{
				{
					req: request{head: "GET /nic/update?username=home.example.net&password=s3cret-Secret&hostname=a.example.com&myip=192.0.2.10 HTTP/1.1\n" +
						"Host: broker.example.net\nUser-Agent: Fritz!Box DDNS/1.0.1\nConnection: close"},
					status: http.StatusOK, body: goodV4,
				},
				{
					req: request{head: "GET /nic/update?username=home.example.net&password=s3cret-Secret&hostname=a.example.com&myipv6=2001:db8::10&ip6lanprefix=2001:db8:1:2::/64 HTTP/1.1\n" +
						"Host: broker.example.net\nUser-Agent: Fritz!Box DDNS/1.0.1\nConnection: close"},
					status: http.StatusOK, body: "good 2001:db8::10\n",
				},
			},
			applied: []Update{v4("192.0.2.10"), plus(v6("2001:db8::10"), pfx("2001:db8:1:2::/64"))},
		},
		{
			name: "OpenWrt ddns-scripts with wget: challenge, then credentials",
			steps: []exchange{
				{
					req: request{head: "GET /nic/update?hostname=a.example.com&myip=192.0.2.10 HTTP/1.1\n" +
						"User-Agent: Wget/1.21.3\nAccept: */*\nAccept-Encoding: identity\nHost: broker.example.net\nConnection: Keep-Alive"},
					status: http.StatusUnauthorized, body: badauth, header: map[string]string{"WWW-Authenticate": challenged},
				},
				{
					req: request{head: "GET /nic/update?hostname=a.example.com&myip=192.0.2.10 HTTP/1.1\n" +
						"User-Agent: Wget/1.21.3\nAccept: */*\nAccept-Encoding: identity\nAuthorization: Basic $AUTH\nHost: broker.example.net\nConnection: Keep-Alive"},
					status: http.StatusOK, body: goodV4,
				},
			},
			applied: []Update{v4("192.0.2.10")},
		},
		{
			name: "pfSense custom with a username: Basic",
			steps: []exchange{{
				req: request{head: "GET /nic/update?hostname=a.example.com&myip=192.0.2.10 HTTP/1.1\n" +
					"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: phpDynDNS/0.7\nAccept: */*"},
				status: http.StatusOK, body: goodV4,
			}},
			applied: []Update{v4("192.0.2.10")},
		},
		{
			name: "pfSense custom without a username: credentials in the URL",
			steps: []exchange{{
				req: request{head: "GET /nic/update?hostname=a.example.com&myip=192.0.2.10&username=home.example.net&password=s3cret-Secret HTTP/1.1\n" +
					"Host: broker.example.net\nUser-Agent: phpDynDNS/0.7\nAccept: */*"},
				status: http.StatusOK, body: goodV4,
			}},
			applied: []Update{v4("192.0.2.10")},
		},
		{
			name: "OPNsense with wildcard",
			steps: []exchange{{
				req: request{head: "GET /nic/update?hostname=a.example.com&myip=192.0.2.10&wildcard=NOCHG HTTP/1.1\n" +
					"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: OPNsense-dyndns\nAccept: */*"},
				status: http.StatusOK, body: goodV4,
			}},
			applied: []Update{v4("192.0.2.10")},
		},
		{
			name: "MikroTik /tool fetch with user and password, answering the challenge",
			steps: []exchange{
				{
					req: request{head: "GET /nic/update?hostname=home.example.net&myip=192.0.2.10 HTTP/1.1\n" +
						"Host: broker.example.net\nUser-Agent: Mikrotik/7.x Fetch\nConnection: close"},
					status: http.StatusUnauthorized, body: badauth, header: map[string]string{"WWW-Authenticate": challenged},
				},
				{
					req: request{head: "GET /nic/update?hostname=home.example.net&myip=192.0.2.10 HTTP/1.1\n" +
						"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: Mikrotik/7.x Fetch\nConnection: close"},
					status: http.StatusOK, body: goodV4,
				},
			},
			applied: []Update{v4("192.0.2.10")},
		},
		{
			name: "curl -u with myip and no hostname",
			steps: []exchange{{
				req: request{head: "GET /nic/update?myip=192.0.2.10 HTTP/1.1\n" +
					"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: curl/8.5.0\nAccept: */*"},
				status: http.StatusOK, body: goodV4,
			}},
			applied: []Update{v4("192.0.2.10")},
		},
		{
			name:   "curl -u without any parameter uses the source address",
			source: "198.51.100.7",
			steps: []exchange{{
				req: request{head: "GET /nic/update HTTP/1.1\n" +
					"Host: broker.example.net\nAuthorization: Basic $AUTH\nUser-Agent: curl/8.5.0\nAccept: */*"},
				status: http.StatusOK, body: "good 198.51.100.7\n",
			}},
			applied: []Update{v4("198.51.100.7")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}
