package provider

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestDestinations(t *testing.T) {
	for _, c := range []struct {
		protocol, settings string
		want               []string
	}{
		{ProtocolDyndns2, `{"url": "https://dyn.dns.he.net/nic/update"}`, []string{"https://dyn.dns.he.net:443"}},
		{ProtocolDyndns2, `{"url": "HTTPS://Dyn.DNS.he.net.:443/other?x=1"}`, []string{"https://dyn.dns.he.net:443"}},
		{ProtocolDyndns2, `{"url": "http://[2001:DB8::1]/u"}`, []string{"http://[2001:db8::1]:80"}},
		{ProtocolHTTP, `{"url": "https://www.duckdns.org/update?token={password}&ip={ip}", "url_ipv6": "https://v6.duckdns.org:8443/u?ip={ip}"}`,
			[]string{"https://v6.duckdns.org:8443", "https://www.duckdns.org:443"}},
		{ProtocolHTTP, `{"url": "https://{username}:{password}@api.example/u?ip={ip}"}`, []string{"https://api.example:443"}},
		{ProtocolCloudflare, `{"zone": "example.com"}`, []string{"https://api.cloudflare.com:443"}},
		{ProtocolCloudflare, `{"api_url": "http://127.0.0.1:8080/client/v4"}`, []string{"http://127.0.0.1:8080"}},
		{ProtocolRFC2136, `{"server": "NS1.example.net:53", "key_name": "k"}`, []string{"dns://ns1.example.net:53"}},
		{ProtocolRFC2136, `{"server": "[2001:db8::53]:5353"}`, []string{"dns://[2001:db8::53]:5353"}},
	} {
		p, _ := New(Deps{}).Provider(c.protocol)
		if got := p.Destinations(json.RawMessage(c.settings)); !slices.Equal(got, c.want) {
			t.Errorf("%s %s: %v, want %v", c.protocol, c.settings, got, c.want)
		}
	}
}
