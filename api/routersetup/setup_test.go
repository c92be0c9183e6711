package routersetup

import (
	"strings"
	"testing"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
)

func TestParseBroker(t *testing.T) {
	tests := []struct {
		raw, want, err string
	}{
		{raw: "https://ddns.example.net", want: "https://ddns.example.net"},
		{raw: " HTTPS://DDNS.Example.NET:443/ ", want: "https://ddns.example.net"},
		{raw: "http://ddns.example.net:80", want: "http://ddns.example.net"},
		{raw: "http://ddns.example.net:8080/dyn/", want: "http://ddns.example.net:8080/dyn"},
		{raw: "http://ddns:8080", want: "http://ddns:8080"},
		{raw: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{raw: "http://[2001:DB8::1]:8080", want: "http://[2001:db8::1]:8080"},
		{raw: "http://[::ffff:192.0.2.1]", want: "http://192.0.2.1"},
		{raw: "ftp://ddns.example.net", err: "http:// or https://"},
		{raw: "ddns.example.net", err: "http:// or https://"},
		{raw: "https://user:pw@ddns.example.net", err: "no user, query or fragment"},
		{raw: "https://ddns.example.net/?a=b", err: "no user, query or fragment"},
		{raw: "https://ddns.example.net/#x", err: "no user, query or fragment"},
		{raw: "https:///nic", err: "no host"},
		{raw: "https://bad_host!.example", err: "neither a DNS name nor an IP address"},
		{raw: "https://[fe80::1%25eth0]", err: "zone"},
		{raw: "https://ddns.example.net:0", err: "invalid port"},
		{raw: "https://ddns.example.net:70000", err: "invalid port"},
		{raw: "https://ddns.example.net/a'b", err: "the path may hold only"},
		{raw: "https://ddns.example.net/a%20b", err: "the path may hold only"},
	}
	for _, tc := range tests {
		b, err := ParseBroker(tc.raw)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseBroker(%q) error %v, want one saying %q", tc.raw, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("ParseBroker(%q): %v", tc.raw, err)
		case tc.err == "" && b.String() != tc.want:
			t.Errorf("ParseBroker(%q) = %s, want %s", tc.raw, b, tc.want)
		}
	}
}

// TestItems has one row per way a snippet must differ: the broker's scheme,
// port, path and kind of address, the host's families, and secrets that
// need escaping or cannot be written at all.
func TestItems(t *testing.T) {
	const fqdn = "router.example.com"
	const nasty = `q'u\o"t#e&p%3a:x@y$z`
	dual := Host{FQDN: fqdn, IPv4: true, IPv6: true}
	type want struct {
		has    []string // lines (or parts of lines) the text holds
		hasNot []string
		warn   string // part of the warning; "" = no warning
	}
	tests := []struct {
		name   string
		broker string
		host   Host
		secret string
		want   map[string]want // by client
	}{
		{
			name: "name, https, dual-stack, generated secret", broker: "https://ddns.example.net", host: dual, secret: "abcdefghijklmnopqrstuvwxyz",
			want: map[string]want{
				"ddclient": {has: []string{"ssl=yes", "curl=yes", "login=" + fqdn, "password='abcdefghijklmnopqrstuvwxyz'",
					"use=web, web=https://ipv4.ddns.example.net/myip, server=ipv4.ddns.example.net " + fqdn + "\n",
					"use=web, web=https://ipv6.ddns.example.net/myip, server=ipv6.ddns.example.net " + fqdn + ".\n"}},
				"inadyn": {has: []string{"allow-ipv6 = true", "custom ddnsbroker-ipv4 {", "custom ddnsbroker-ipv6 {", `ssl            = true`,
					`checkip-server = "ipv4.ddns.example.net"`, `checkip-server = "ipv6.ddns.example.net"`,
					`password       = "abcdefghijklmnopqrstuvwxyz"`, `hostname       = "` + fqdn + `"`, `hostname       = "` + fqdn + `."`,
					`ddns-path      = "/nic/update?hostname=%h&myip=%i"`}},
				"openwrt": {has: []string{"config service 'ddnsbroker_ipv4'", "config service 'ddnsbroker_ipv6'", "option use_https '1'",
					"option password 'abcdefghijklmnopqrstuvwxyz'",
					"option update_url 'http://[USERNAME]:[PASSWORD]@ddns.example.net/nic/update?hostname=[DOMAIN]&myip=[IP]'"}},
				"fritzbox": {has: []string{"Update URL: https://ddns.example.net/nic/update?hostname=<domain>&myip=<ipaddr>,<ip6addr>&ip6lanprefix=<ip6lanprefix>",
					"Password: abcdefghijklmnopqrstuvwxyz"}},
				"pfsense":  {has: []string{"Service Type: Custom\n", "Service Type: Custom (v6)", "Update URL: https://ddns.example.net/nic/update?hostname=" + fqdn + "&myip=%IP%"}},
				"opnsense": {has: []string{"Server: ddns.example.net\n", "Force SSL: ticked"}},
				"mikrotik": {has: []string{`:local secret "abcdefghijklmnopqrstuvwxyz"`,
					`/tool fetch url="https://ipv4.ddns.example.net/nic/update\?hostname=` + fqdn + `" user=$user password=$secret output=none`,
					`&myip=" . $lan6)`}},
				"unifi": {has: []string{"Server: ddns.example.net/nic/update?hostname=%h&myip=%i"}},
				"curl": {has: []string{"curl -fsS -g -4 -u 'router.example.com:abcdefghijklmnopqrstuvwxyz' 'https://ddns.example.net/nic/update?hostname=router.example.com'",
					"curl -fsS -g -6 -u"}},
			},
		},
		{
			name: "name, http, port and path, IPv4 only", broker: "http://ddns.example.net:8080/dyn", host: Host{FQDN: fqdn, IPv4: true}, secret: "",
			want: map[string]want{
				"ddclient": {has: []string{"ssl=no", "script=/dyn/nic/update", "password='" + SecretPlaceholder + "'",
					"use=web, web=http://ipv4.ddns.example.net:8080/dyn/myip, server=ipv4.ddns.example.net:8080 " + fqdn + "\n"},
					hasNot: []string{"curl=yes", "ipv6"}},
				"inadyn": {has: []string{`checkip-server = "ipv4.ddns.example.net:8080"`, `checkip-path   = "/dyn/myip"`, `ddns-path      = "/dyn/nic/update?hostname=%h&myip=%i"`, "checkip-ssl    = false"},
					hasNot: []string{"allow-ipv6", "ipv6"}},
				"openwrt":  {has: []string{"@ddns.example.net:8080/dyn/nic/update?"}, hasNot: []string{"ddnsbroker_ipv6"}},
				"fritzbox": {has: []string{"Update URL: http://ddns.example.net:8080/dyn/nic/update?hostname=<domain>&myip=<ipaddr>\n"}},
				"pfsense":  {hasNot: []string{"(v6)"}},
				"opnsense": {warn: "cannot reach a broker served below /dyn"},
				"curl":     {has: []string{"-4 -u"}, hasNot: []string{"-6 -u"}},
			},
		},
		{
			name: "IPv4 address: IPv6 cannot be reached", broker: "http://127.0.0.1:8080", host: dual, secret: "plain-secret-1",
			want: map[string]want{
				"ddclient": {has: []string{"use=web, web=http://127.0.0.1:8080/myip, server=127.0.0.1:8080 " + fqdn + "\n",
					"# IPv6 is not configured: the broker's URL is an IPv4 address"}, hasNot: []string{"curl=yes"}, warn: "IPv6 is not configured"},
				"inadyn":   {has: []string{`checkip-server = "127.0.0.1:8080"`}, hasNot: []string{"ddnsbroker-ipv6"}, warn: "IPv6 is not configured"},
				"mikrotik": {has: []string{`url="http://127.0.0.1:8080/nic/update\?`}, warn: "IPv6 is not configured"},
				"curl":     {has: []string{"-4 -u"}, hasNot: []string{"-6 -u"}, warn: "IPv6 is not configured"},
			},
		},
		{
			name: "IPv6 address: dotted server for ddclient, inadyn cannot", broker: "http://[2001:db8::1]:8080", host: dual, secret: "plain-secret-1",
			want: map[string]want{
				"ddclient": {has: []string{"use=web, web=http://[2001:db8::1]:8080/myip, server=[2001:db8:0:0:0:0:0.0.0.1]:8080 " + fqdn + "\n", "curl=yes"},
					warn: "IPv4 is not configured"},
				"inadyn":  {has: []string{"# Cannot be configured for inadyn 2.x:", "# inadyn splits a server setting at its first colon"}, hasNot: []string{"custom "}, warn: "cannot reach a broker addressed by an IPv6 address"},
				"unifi":   {hasNot: []string{"Server:"}, warn: "cannot reach a broker addressed by an IPv6 address"},
				"openwrt": {has: []string{"@[2001:db8::1]:8080/nic/update?"}, hasNot: []string{"ddnsbroker_ipv4"}, warn: "IPv4 is not configured"},
				"curl": {has: []string{"-6 -u 'router.example.com:plain-secret-1' 'http://[2001:db8::1]:8080/nic/update?hostname=router.example.com'"},
					warn: "IPv4 is not configured"},
			},
		},
		{
			name: "IPv6-only host and an IPv4 address: nothing can be configured", broker: "http://192.0.2.1", host: Host{FQDN: fqdn, IPv6: true}, secret: "plain-secret-1",
			want: map[string]want{
				"ddclient": {has: []string{"# Cannot be configured for ddclient 3.10 / 4.x:"}, hasNot: []string{"use=web"}, warn: "No address family of this host can reach"},
				"curl":     {hasNot: []string{"curl -fsS -g -"}, warn: "No address family"},
			},
		},
		{
			name: "a secret that needs escaping", broker: "http://ddns.example.net", host: dual, secret: nasty,
			want: map[string]want{
				// ddclient takes a single-quoted password literally.
				"ddclient": {has: []string{"password='" + nasty + "'\n"}},
				"inadyn":   {has: []string{`password       = "q'u\\o\"t#e&p%3a:x@y\$z"`}},
				// UCI quotes like a shell; ddns-scripts' awk halves backslashes.
				"openwrt":  {has: []string{`option password 'q'\''u\\o"t#e&p%3a:x@y$z'`}},
				"mikrotik": {has: []string{`:local secret "q'u\\o\"t#e&p%3a:x@y\$z"`}},
				"curl":     {has: []string{`-u 'router.example.com:q'\''u\o"t#e&p%3a:x@y$z'`}},
				"fritzbox": {has: []string{"Password: " + nasty + "\n"}},
			},
		},
		{
			name: "a secret with a line break cannot be written anywhere", broker: "https://ddns.example.net", host: dual, secret: "two\nlines-secret",
			want: map[string]want{
				"ddclient": {has: []string{"# Cannot be configured for ddclient 3.10 / 4.x:", "control character"}, hasNot: []string{"lines-secret"}, warn: "control character"},
				"inadyn":   {hasNot: []string{"lines-secret"}, warn: "control character"},
				"openwrt":  {hasNot: []string{"lines-secret"}, warn: "control character"},
				"fritzbox": {has: []string{"Cannot be configured for FRITZ!Box:"}, hasNot: []string{"lines-secret"}, warn: "control character"},
				"pfsense":  {hasNot: []string{"lines-secret"}, warn: "control character"},
				"opnsense": {hasNot: []string{"lines-secret"}, warn: "control character"},
				"mikrotik": {hasNot: []string{"lines-secret"}, warn: "control character"},
				"unifi":    {hasNot: []string{"lines-secret"}, warn: "control character"},
				"curl":     {hasNot: []string{"lines-secret"}, warn: "control character"},
			},
		},
		{
			name: "a secret outside ASCII: only OpenWrt cannot", broker: "https://ddns.example.net", host: dual, secret: "grüße-und-mehr",
			want: map[string]want{
				"openwrt":  {hasNot: []string{"grüße"}, warn: "outside printable ASCII"},
				"ddclient": {has: []string{"password='grüße-und-mehr'"}},
				"inadyn":   {has: []string{`"grüße-und-mehr"`}},
			},
		},
	}
	clients := []string{"ddclient", "inadyn", "openwrt", "fritzbox", "pfsense", "opnsense", "mikrotik", "unifi", "curl"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ParseBroker(tc.broker)
			if err != nil {
				t.Fatal(err)
			}
			items := Items(b, tc.host, tc.secret)
			if len(items) != len(clients) {
				t.Fatalf("%d items, want %d", len(items), len(clients))
			}
			for i, it := range items {
				if it.Client != clients[i] {
					t.Errorf("item %d is %s, want %s", i, it.Client, clients[i])
				}
				if it.Title == "" || it.Format == "" || it.Text == "" || !strings.HasSuffix(it.Text, "\n") {
					t.Errorf("%s: incomplete item %+v", it.Client, it)
				}
				w, ok := tc.want[it.Client]
				if !ok {
					continue
				}
				for _, s := range w.has {
					if !strings.Contains(it.Text, s) {
						t.Errorf("%s: text lacks %q:\n%s", it.Client, s, it.Text)
					}
				}
				for _, s := range w.hasNot {
					if strings.Contains(it.Text, s) {
						t.Errorf("%s: text holds %q:\n%s", it.Client, s, it.Text)
					}
				}
				switch {
				case w.warn == "" && it.Warning != "":
					t.Errorf("%s: unexpected warning %q", it.Client, it.Warning)
				case w.warn != "" && !strings.Contains(it.Warning, w.warn):
					t.Errorf("%s: warning %q, want one saying %q", it.Client, it.Warning, w.warn)
				}
			}
		})
	}
}

// TestGeneratedSecretsNeedNoEscaping: a secret the broker generates appears
// in every client's snippet as it is, and no client warns about it.
func TestGeneratedSecretsNeedNoEscaping(t *testing.T) {
	b, err := ParseBroker("https://ddns.example.net")
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		secret, err := auth.NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range Items(b, Host{FQDN: "router.example.com", IPv4: true, IPv6: true}, secret) {
			if it.Warning != "" || !strings.Contains(it.Text, secret) {
				t.Fatalf("%s: secret %q not verbatim or warned about (%q):\n%s", it.Client, secret, it.Warning, it.Text)
			}
		}
	}
}
