package provider

import (
	"bytes"
	"encoding/json"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// Preset fills the "new service" form for one provider: the protocol and
// settings that work with it, and what the user still has to supply.
type Preset struct {
	// ID is stable and URL-safe; Name is shown and suggested as the
	// service's name.
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Protocol string          `json:"protocol"`
	Settings json.RawMessage `json:"settings"`
	// Edit lists settings the user must complete before saving, e.g. the
	// domain in Namecheap's URL; empty when the settings are complete.
	Edit []PresetSetting `json:"edit"`
	// RecordUsername and RecordPassword say what goes in each record's
	// username and password; nil when the provider does not use it.
	RecordUsername *Prompt `json:"record_username"`
	RecordPassword *Prompt `json:"record_password"`
	// Credential says what the service's own secret is (TSIG key, API
	// token); nil when the service has none.
	Credential *Prompt `json:"credential"`
	// Families are the address families the provider publishes.
	Families []netcalc.Family `json:"families"`
	Notes    string           `json:"notes"`
	DocsURL  string           `json:"docs_url"`
}

// PresetSetting is a setting the user must change, by its settings key.
type PresetSetting struct {
	Key  string `json:"key"`
	Help string `json:"help"`
}

// Presets returns the built-in catalogue, in the order a form offers it.
// Each call returns fresh values, so callers may modify them.
func Presets() []Preset {
	both := netcalc.Families
	return []Preset{
		{
			ID: "he.net", Name: "Hurricane Electric (dns.he.net)", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://dyn.dns.he.net/nic/update", "username_is_fqdn": true, "combined": false}`),
			RecordPassword: &Prompt{Label: "DDNS key", Help: "The key generated for this record in dns.he.net (enable dynamic DNS on the A/AAAA record first)."},
			Families:       both(),
			Notes: "The username is the record's name, sent automatically. One address family per request, as he.net requires " +
				"(its documentation and clients send the A and the AAAA in two requests); the second waits for the first's answer. " +
				"he.net answers HTTP 200 even to errors; the answer's first word is what counts.",
			DocsURL: "https://dns.he.net/docs.html",
		},
		{
			ID: "desec", Name: "deSEC (dedyn.io)", Protocol: ProtocolHTTP,
			Settings: raw(`{"method": "GET",
				"url": "https://update.dedyn.io/nic/update?hostname={fqdn}&myipv4={ip}&myipv6=preserve",
				"url_ipv6": "https://update.dedyn.io/nic/update?hostname={fqdn}&myipv4=preserve&myipv6={ip}",
				"headers": {"Authorization": "Token {password}"},
				"success_status": "200", "success_regexp": "^(good|nochg)"}`),
			RecordPassword: &Prompt{Label: "Token", Help: "A deSEC token allowed to update this name."},
			Families:       both(),
			Notes: "deSEC deletes the other family's record (or sets it to the caller's own address) when an update names one family only, " +
				"so each update marks the other family `preserve`. deSEC allows about 2 updates per 2 minutes per domain: " +
				"answers 429 are retried after their Retry-After. A wrong token is HTTP 401.",
			DocsURL: "https://desec.readthedocs.io/en/latest/dyndns/update-api.html",
		},
		{
			ID: "dynv6", Name: "dynv6", Protocol: ProtocolHTTP,
			Settings: raw(`{"method": "GET",
				"url": "https://dynv6.com/api/update?hostname={fqdn}&token={password}&ipv4={ip}",
				"url_ipv6": "https://dynv6.com/api/update?hostname={fqdn}&token={password}&ipv6={ip}",
				"success_status": "200-299"}`),
			RecordPassword: &Prompt{Label: "HTTP token", Help: "The zone's HTTP token from dynv6's Instructions page."},
			Families:       both(),
			Notes: "dynv6's dyndns2 endpoint (/nic/update) is IPv4-only, so this preset uses its REST update API. " +
				"The record's name is the dynv6 zone (e.g. myhome.dynv6.net). To move the whole zone's IPv6 prefix instead, " +
				"add &ipv6prefix={prefix} to the IPv6 URL.",
			DocsURL: "https://dynv6.com/docs/apis",
		},
		{
			ID: "noip", Name: "No-IP", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://dynupdate.no-ip.com/nic/update", "combined": true}`),
			RecordUsername: &Prompt{Label: "Username", Help: "Your No-IP username or e-mail, or the username of a DDNS key."},
			RecordPassword: &Prompt{Label: "Password", Help: "Your No-IP password, or the password of a DDNS key."},
			Families:       both(),
			Notes: "No-IP updates A and AAAA together (\"dual-stacked\" in its protocol: myip=IPv4,IPv6), so both families go in one request. " +
				"No-IP asks clients to wait at least 30 minutes after a 911 answer and is strict about the User-Agent " +
				"(DDnsBroker sends ddnsbroker/<version>). Free hostnames must be confirmed every 30 days on the website.",
			DocsURL: "https://www.noip.com/integrate/request",
		},
		{
			ID: "inwx", Name: "INWX", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://dyndns.inwx.com/nic/update", "use_myipv6": true, "combined": true}`),
			RecordUsername: &Prompt{Label: "DynDNS username", Help: "The username of the DynDNS account created in INWX's DNS settings (not your INWX login)."},
			RecordPassword: &Prompt{Label: "DynDNS password", Help: "The password of that DynDNS account."},
			Families:       both(),
			Notes: "IPv6 goes in myipv6, and both families are sent together: INWX sets the A record to 127.0.0.1 when myip is " +
				"missing, so keep IPv4 enabled on records that have IPv6.",
			DocsURL: "https://www.inwx.com/en/offer/dyndns",
		},
		{
			ID: "ovh", Name: "OVHcloud DynHost", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://www.ovh.com/nic/update?system=dyndns", "combined": false}`),
			RecordUsername: &Prompt{Label: "DynHost login", Help: "The DynHost login created for the zone (e.g. example.com-home)."},
			RecordPassword: &Prompt{Label: "DynHost password", Help: "The password of that DynHost login."},
			Families:       both(),
			Notes: "Create the DynHost record and a DynHost login in the OVHcloud control panel first. DynHost took IPv4 only " +
				"for years and accepts IPv6 since about 2025, one address per request (myip=<address>), so the two families go one after the other; " +
				"turn IPv6 off on these records if OVH refuses it. " +
				"OVH adds text after the answer code; only the code counts.",
			DocsURL: "https://help.ovhcloud.com/csm/en-dns-dynhost?id=kb_article_view&sysparm_article=KB0051640",
		},
		{
			ID: "strato", Name: "STRATO", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://dyndns.strato.com/nic/update", "combined": true}`),
			RecordUsername: &Prompt{Label: "Domain", Help: "The domain (or subdomain) DynDNS is enabled for, e.g. example.de."},
			RecordPassword: &Prompt{Label: "DynDNS password", Help: "The DynDNS password set for the domain in STRATO's customer area."},
			Families:       both(),
			Notes: "Enable DynDNS for the domain or subdomain in STRATO's customer area first; its password is not your login password. " +
				"STRATO takes both families in one request (myip=IPv4,IPv6, as its FRITZ!Box instructions show).",
			DocsURL: "https://www.strato.de/faq/domains/so-einfach-richten-sie-dyndns-fuer-ihre-domains-ein/",
		},
		{
			ID: "dyn", Name: "Dyn (Oracle)", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://members.dyndns.org/v3/update", "combined": true}`),
			RecordUsername: &Prompt{Label: "Username", Help: "Your Dyn account's username."},
			RecordPassword: &Prompt{Label: "Updater client key", Help: "The updater client key from Dyn's account settings (not your password)."},
			Families:       both(),
			Notes: "Dyn blocks clients that resend unchanged addresses; the broker only sends changes (and resyncs you ask for). " +
				"Dyn's v3 update takes IPv4 and IPv6 together, separated by a comma in myip, so both families go in one request.",
			DocsURL: "https://help.dyn.com/remote-access-api/perform-update/",
		},
		{
			ID: "duckdns", Name: "Duck DNS", Protocol: ProtocolHTTP,
			Settings: raw(`{"method": "GET",
				"url": "https://www.duckdns.org/update?domains={fqdn}&token={password}&ip={ip}",
				"url_ipv6": "https://www.duckdns.org/update?domains={fqdn}&token={password}&ipv6={ip}",
				"success_status": "200", "success_regexp": "^OK"}`),
			RecordPassword: &Prompt{Label: "Token", Help: "Your Duck DNS account token (top of duckdns.org once logged in)."},
			Families:       both(),
			Notes: "The record's name is <name>.duckdns.org. Duck DNS answers HTTP 200 with KO to every failure (wrong token, " +
				"unknown domain) without saying which. IPv6 goes in ipv6=, which also stops Duck DNS from guessing the IPv4 " +
				"from the broker's own address.",
			DocsURL: "https://www.duckdns.org/spec.jsp",
		},
		{
			ID: "cloudflare", Name: "Cloudflare", Protocol: ProtocolCloudflare,
			Settings:   raw(`{"ttl": 1}`),
			Credential: &Prompt{Label: "API token", Help: "A scoped API token with Zone → DNS → Edit, and Zone → Zone → Read to find zones by name, for the zones this service updates."},
			Families:   both(),
			Notes: "The zone is found from each record's name (set zone or zone_id to skip the lookup); the record is created when " +
				"missing. TTL 1 means automatic. Leave proxied unset to keep each record's proxy flag. Rate limits (429) are " +
				"retried after their Retry-After.",
			DocsURL: "https://developers.cloudflare.com/api/resources/dns/subresources/records/",
		},
		{
			ID: "namecheap", Name: "Namecheap", Protocol: ProtocolHTTP,
			Settings: raw(`{"method": "GET",
				"url": "https://dynamicdns.park-your-domain.com/update?host={username}&domain=example.com&password={password}&ip={ip}",
				"success_status": "200", "success_regexp": "<ErrCount>0</ErrCount>"}`),
			Edit:           []PresetSetting{{Key: "url", Help: "Replace example.com by your domain: one service per Namecheap domain."}},
			RecordUsername: &Prompt{Label: "Host", Help: "The host part of the record: @ for the domain itself, www, or * for the wildcard."},
			RecordPassword: &Prompt{Label: "Dynamic DNS password", Help: "From the domain's Advanced DNS page, once Dynamic DNS is switched on."},
			Families:       []netcalc.Family{netcalc.V4},
			Notes: "Namecheap's dynamic DNS publishes IPv4 only, and answers HTTP 200 with an XML body; success is <ErrCount>0</ErrCount>. " +
				"The host record (A + Dynamic DNS) must exist in Advanced DNS first.",
			DocsURL: "https://www.namecheap.com/support/knowledgebase/article.aspx/29/11/how-to-dynamically-update-the-hosts-ip-with-an-http-request/",
		},
		// Provider group pe: netcup, IONOS, NameSilo and extras.
		{
			ID: "netcup", Name: "netcup", Protocol: ProtocolNetcup,
			Settings: raw(`{"customer_number": "12345", "api_key": "YOURAPIKEY"}`),
			Edit: []PresetSetting{
				{Key: "customer_number", Help: "Your netcup customer number (next to your name in the CCP)."},
				{Key: "api_key", Help: "An API key from the CCP: Master Data → API → Create API key."},
			},
			Credential: &Prompt{Label: "API password", Help: "The API password from the CCP: Master Data → API (netcup shows it once)."},
			Families:   both(),
			Notes: "Uses the CCP DNS API (login, infoDnsRecords, updateDnsRecords, logout). The record is created when missing; " +
				"the TTL is the zone's (set it in the CCP). Domains moved to netcup's newer CloudDNS are not reachable through this API " +
				"(\"zone could not be found\"). netcup allows 180 requests a minute and locks API access for a while after many failed calls.",
			DocsURL: "https://helpcenter.netcup.com/en/wiki/general/our-api",
		},
		{
			ID: "ionos-api", Name: "IONOS (DNS API)", Protocol: ProtocolIONOS,
			Settings:   raw(`{"ttl": 60}`),
			Credential: &Prompt{Label: "API key", Help: "From developer.hosting.ionos.com/keys: the public prefix, a dot and the secret (prefix.secret)."},
			Families:   both(),
			Notes: "For domains at IONOS (the Hosting DNS API, not IONOS Cloud). The zone is found from each record's name and the record " +
				"is created when missing. IONOS deactivates its own service records (web hosting, mail) that conflict with a changed record.",
			DocsURL: "https://developer.hosting.ionos.com/docs/dns",
		},
		{
			ID: "namesilo", Name: "NameSilo", Protocol: ProtocolNameSilo,
			Settings:   raw(`{"ttl": 3600}`),
			Credential: &Prompt{Label: "API key", Help: "From namesilo.com/account/api-manager: not read-only, and without an IP list unless it names the broker's address."},
			Families:   both(),
			Notes: "The domain is found from each record's name and the record is created when missing. NameSilo takes TTLs of 3600 s " +
				"and more, and its name servers can take several minutes to publish a change.",
			DocsURL: "https://www.namesilo.com/api-reference",
		},
		{
			ID: "bunny", Name: "bunny.net DNS", Protocol: ProtocolBunny,
			Settings:   raw(`{"ttl": 60}`),
			Credential: &Prompt{Label: "API key", Help: "The account's API key from bunny.net's dashboard: Account settings → API."},
			Families:   both(),
			Notes: "The zone is found from each record's name and the record is created when missing, with the comment " +
				"\"managed by ddnsbroker\"; the broker never deletes a record without that comment.",
			DocsURL: "https://docs.bunny.net/api-reference/core/dns-zone/update-dns-record",
		},
	}
}

// raw compacts a settings literal so the catalogue serves tidy JSON.
func raw(s string) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		panic("provider: preset settings: " + err.Error())
	}
	return b.Bytes()
}
