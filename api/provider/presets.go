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
//
// A dyndns2 preset sets max_hostnames 1 where no source shows the provider
// taking hostname=a,b,c and ddclient (3.10) sends its hosts one per request
// (OVH, ChangeIP, Key-Systems, easyDNS, whose ddclient code says "each host
// is in a group by itself"); the others take the default, 20, as ddclient's
// dyndns2 and noip protocols group hosts.
func Presets() []Preset {
	both := netcalc.Families
	return append([]Preset{
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
			Settings:       raw(`{"url": "https://www.ovh.com/nic/update?system=dyndns", "combined": false, "max_hostnames": 1}`),
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
		// dyndns2 and HTTP update services (issue 16). Each entry follows the
		// provider's update page (DocsURL); where a fact could not be
		// confirmed there, the comment above the entry says which.
	}, dyndnsServices()...)
}

// dyndnsServices are the dyndns2 and HTTP-update presets beyond the first
// eleven, sorted by ID so that entries merge easily.
func dyndnsServices() []Preset {
	both, v4 := netcalc.Families(), []netcalc.Family{netcalc.V4}
	user := func(label, help string) *Prompt { return &Prompt{Label: label, Help: help} }
	return []Preset{
		{
			ID: "all-inkl", Name: "ALL-INKL.COM (KAS DynDNS)", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://dyndns.kasserver.com/", "combined": true}`),
			RecordUsername: user("DynDNS login", "The login of the DynDNS entry created in the KAS (Tools → DDNS-Einstellungen), e.g. dyn0123456."),
			RecordPassword: user("DynDNS password", "The password of that DynDNS entry."),
			Families:       both,
			Notes: "Each DynDNS login in the KAS belongs to one host name, so the hostname sent is only informative. " +
				"Both families go in one request (myip=IPv4,IPv6).",
			// unconfirmed: whether KAS reads an IPv6 address after the comma (FRITZ!Box guides send <ipaddr> only).
			DocsURL: "https://all-inkl.com/wichtig/anleitungen/kas/tools/ddns-einstellungen/ddns-zugang-anlegen_588.html",
		},
		{
			ID: "changeip", Name: "ChangeIP", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://nic.changeip.com/nic/update", "combined": false, "max_hostnames": 1}`),
			RecordUsername: user("Username", "Your ChangeIP username."),
			RecordPassword: user("Password", "Your ChangeIP password."),
			Families:       v4,
			Notes:          "ChangeIP's dyndns2 update publishes IPv4 (A records).",
			// unconfirmed: IPv6 through the same endpoint.
			DocsURL: "https://www.changeip.com/accounts/knowledgebase.php?action=displayarticle&id=34",
		},
		{
			ID: "ddnsbroker", Name: "DDnsBroker (another broker)", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://ddns.example.com/nic/update", "combined": true}`),
			Edit:           []PresetSetting{{Key: "url", Help: "Replace ddns.example.com by the other broker's address (its DDNSBROKER_PUBLIC_URL)."}},
			RecordUsername: user("Host name", "The FQDN of the host at the other broker (its dyndns2 login)."),
			RecordPassword: user("Update secret", "That host's update secret at the other broker."),
			Families:       both,
			Notes: "A DDnsBroker takes updates the way routers send them (dyndns2, myip=IPv4,IPv6 in one request), so one broker can feed another, " +
				"e.g. a site broker feeding a central one.",
			DocsURL: "https://github.com/ddnsbroker/ddnsbroker#readme",
		},
		{
			ID: "ddnss", Name: "ddnss.de", Protocol: ProtocolHTTP,
			Settings: raw(`{"method": "GET",
				"url": "https://ddnss.de/upd.php?key={password}&host={fqdn}&ip={ipv4}&ip6={ipv6}",
				"success_status": "200", "success_regexp": "Updated \\d+ hostname"}`),
			RecordPassword: user("Update key", "Your ddnss.de update key (Keyauth), from the account's overview."),
			Families:       both,
			Notes: "Both addresses go in one request (ip and ip6); turn dual stack on for the host at ddnss.de. ddnss.de answers HTTP 200 " +
				"with an HTML page; success is \"Updated 1 hostname\".",
			DocsURL: "https://ddnss.de/info.php",
		},
		{
			ID: "dnsexit", Name: "DNSExit", Protocol: ProtocolHTTP,
			Settings: raw(`{"method": "GET",
				"url": "https://api.dnsexit.com/dns/ud/?apikey={password}&host={fqdn}&ip={ip}",
				"success_status": "200", "success_regexp": "\"code\": *[01]\\b"}`),
			RecordPassword: user("API key", "The DNSExit API key (Settings → Dynamic DNS → API key)."),
			Families:       both,
			Notes: "One address per request; code 0 is success, 1 means the address did not change. " +
				"Other codes (2 bad key, 3 missing parameters, 4 host not found, …) are failures.",
			DocsURL: "https://dnsexit.com/dns/dns-api/",
		},
		{
			ID: "dnshome", Name: "dnsHome.de", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://www.dnshome.de/dyndns.php", "username_is_fqdn": true, "combined": false}`),
			RecordPassword: user("Password", "The password set for this (sub)domain at dnsHome.de."),
			Families:       both,
			Notes:          "The login is the full (sub)domain name, sent automatically. One family per request (ip= carries IPv4 or IPv6).",
			// unconfirmed: dnsHome documents ip= and ip6=; the broker sends hostname= and myip=, which it accepts as dyndns2 aliases.
			DocsURL: "https://www.dnshome.de/dyndns-ueberblick.php",
		},
		{
			ID: "dnsomatic", Name: "DNS-O-Matic", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://updates.dnsomatic.com/nic/update", "combined": false}`),
			RecordUsername: user("Username", "Your DNS-O-Matic (OpenDNS) username."),
			RecordPassword: user("Password", "Your DNS-O-Matic password."),
			Families:       v4,
			Notes: "DNS-O-Matic passes the update on to the services set up in its account; the record's name picks one of them " +
				"(all.dnsomatic.com updates every service). IPv4 only.",
			DocsURL: "https://www.dnsomatic.com/docs/api",
		},
		{
			ID: "domaindiscount24", Name: "domaindiscount24", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://dyndns.key-systems.net/update.php", "combined": false, "max_hostnames": 1}`),
			RecordUsername: user("Domain", "The domain the DynDNS password was set for."),
			RecordPassword: user("DynDNS password", "The DynDNS password set for the domain in the domaindiscount24 account."),
			Families:       v4,
			Notes:          "domaindiscount24 (Key-Systems) updates A records through its DynDNS gateway.",
			// unconfirmed: the path and whether IPv6 is taken; taken from clients (inadyn, ddns-updater), not a provider page.
			DocsURL: "https://www.domaindiscount24.com/faq/en/dynamic-dns",
		},
		{
			ID: "dynu", Name: "Dynu", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://api.dynu.com/nic/update", "use_myipv6": true, "combined": true}`),
			RecordUsername: user("Username", "Your Dynu username."),
			RecordPassword: user("Password", "Your Dynu password, or its MD5/SHA-256 hash, or an IP update password set in the control panel."),
			Families:       both,
			Notes:          "Dynu takes IPv4 in myip and IPv6 in myipv6, both in one request.",
			DocsURL:        "https://www.dynu.com/DynamicDNS/IP-Update-Protocol",
		},
		{
			ID: "easydns", Name: "easyDNS", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://api.cp.easydns.com/dyn/generic.php", "combined": false, "max_hostnames": 1}`),
			RecordUsername: user("Username", "Your easyDNS username."),
			RecordPassword: user("Dynamic DNS token", "The dynamic DNS token from the domain's DNS settings (not your password)."),
			Families:       both,
			Notes:          "easyDNS asks clients to update at most every 10 minutes; one address per request.",
			DocsURL:        "https://kb.easydns.com/knowledge/dynamic-dns/",
		},
		{
			ID: "freedns", Name: "FreeDNS (afraid.org)", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://freedns.afraid.org/nic/update", "combined": false}`),
			RecordUsername: user("Username", "Your FreeDNS username."),
			RecordPassword: user("Password", "Your FreeDNS password."),
			Families:       both,
			Notes: "FreeDNS takes dyndns2 updates at /nic/update; an IPv6 address updates the name's AAAA record. " +
				"One family per request.",
			DocsURL: "https://freedns.afraid.org/dynamic/",
		},
		{
			ID: "infomaniak", Name: "Infomaniak", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://infomaniak.com/nic/update", "combined": false}`),
			RecordUsername: user("DynDNS username", "The username of the dynamic DNS access created in the Infomaniak Manager."),
			RecordPassword: user("DynDNS password", "The password of that access."),
			Families:       both,
			Notes:          "Create the dynamic DNS access for the name in the Manager (Domain → DNS zone → Dynamic DNS) first.",
			DocsURL:        "https://www.infomaniak.com/en/support/faq/2376/dyndns-updating-a-dynamic-dns-via-the-api",
		},
		// No IONOS (Dynamic DNS) entry: its update URL takes no address and
		// publishes the caller's, which cannot be a record's derived
		// address. The native ionos protocol's preset serves IONOS.
		{
			ID: "ipv64", Name: "IPv64.net", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://ipv64.net/nic/update", "combined": true}`),
			RecordUsername: user("Any name", "Anything, e.g. none: IPv64 reads the token from the password."),
			RecordPassword: user("Domain update token", "The domain update token from ipv64.net's DynDNS page."),
			Families:       both,
			Notes: "IPv64 takes dyndns2 with Basic authentication where one of username and password is the update token. " +
				"At most 3 updates in 10 seconds, and 48 a day on the free plan.",
			DocsURL: "https://ipv64.net/dyndns_updater_api",
		},
		{
			ID: "loopia", Name: "Loopia", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://dyndns.loopia.se/", "combined": false}`),
			RecordUsername: user("Username", "Your Loopia customer number or the username of a LoopiaDNS access."),
			RecordPassword: user("Password", "Its password."),
			Families:       both,
			Notes:          "One address per request; Loopia answers the dyndns2 codes.",
			DocsURL:        "https://support.loopia.com/wiki/about-dynamic-dns-ddns/",
		},
		{
			ID: "now-dns", Name: "Now-DNS", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://now-dns.com/update", "combined": false}`),
			RecordUsername: user("E-mail", "The e-mail address of your Now-DNS account."),
			RecordPassword: user("Password", "Your Now-DNS password."),
			Families:       both,
			Notes:          "One address per request (myip carries IPv4 or IPv6).",
			DocsURL:        "https://now-dns.com/?p=clients",
		},
		{
			ID: "nsupdate.info", Name: "nsupdate.info", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://ipv4.nsupdate.info/nic/update", "username_is_fqdn": true, "combined": false}`),
			RecordPassword: user("Update secret", "The secret nsupdate.info generated for the host."),
			Families:       both,
			Notes: "The login is the host's FQDN, sent automatically. nsupdate.info accepts IPv4 and IPv6 in myip, one per request " +
				"(its ipv4./ipv6. names only choose the connection).",
			DocsURL: "https://nsupdateinfo.readthedocs.io/en/latest/user.html",
		},
		{
			ID: "regfish", Name: "regfish", Protocol: ProtocolHTTP,
			Settings: raw(`{"method": "GET",
				"url": "https://dyndns.regfish.de/?fqdn={fqdn}&thisipv4=0&ipv4={ip}&forcehost=1&authtype=secure&token={password}",
				"url_ipv6": "https://dyndns.regfish.de/?fqdn={fqdn}&thisipv6=0&ipv6={ip}&forcehost=1&authtype=secure&token={password}",
				"success_status": "200", "success_regexp": "^success"}`),
			RecordPassword: user("Token", "The DynDNS token of the record, from regfish's DNS settings."),
			Families:       both,
			Notes:          "regfish answers HTTP 200 with success|100 … on success and an error code otherwise.",
			// unconfirmed: the parameter names follow regfish's legacy DynDNS page and clients (inadyn); regfish now also has a REST API.
			DocsURL: "https://www.regfish.de/domains/dyndns/dokumentation",
		},
		{
			ID: "selfhost", Name: "selfHOST", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://carol.selfhost.de/nic/update", "combined": false}`),
			RecordUsername: user("DynDNS username", "The username of the DynDNS account in selfHOST's customer area (DynDNS accounts)."),
			RecordPassword: user("DynDNS password", "The password of that DynDNS account."),
			Families:       both,
			Notes:          "Each DynDNS account belongs to one record at selfHOST; one address per request.",
			DocsURL:        "https://www.selfhost.de/cgi-bin/selfhost?p=document&name=api",
		},
		{
			ID: "servercow", Name: "Servercow", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://www.servercow.de/dyndns/api.php", "combined": false}`),
			RecordUsername: user("DynDNS user", "The DynDNS user created in the Servercow customer panel."),
			RecordPassword: user("DynDNS password", "Its password."),
			Families:       both,
			Notes:          "One address per request.",
			// unconfirmed: the path and the answer codes; taken from clients (ddclient), Servercow's DynDNS page is behind its login.
			DocsURL: "https://wiki.servercow.de/de/domains/dynamic_dns/",
		},
		{
			ID: "spdyn", Name: "Securepoint DynDNS (spdyn)", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://update.spdyn.de/nic/update", "combined": false}`),
			RecordUsername: user("Username or host", "Your spdyn username, or the host name when you use an update token."),
			RecordPassword: user("Password or update token", "Your spdyn password, or the host's update token."),
			Families:       both,
			Notes:          "One address per request; an update token limits the login to one host.",
			DocsURL:        "https://wiki.securepoint.de/SPDyn",
		},
		{
			ID: "variomedia", Name: "Variomedia", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://dyndns.variomedia.de/nic/update", "combined": false}`),
			RecordUsername: user("Username", "Your Variomedia customer login (or the DynDNS user of the domain)."),
			RecordPassword: user("DynDNS password", "The DynDNS password set for the domain."),
			Families:       both,
			Notes:          "One address per request.",
			// unconfirmed: IPv6 support; ddclient sends both families this way.
			DocsURL: "https://www.variomedia.de/faq/Wie-richte-ich-einen-DynDNS-Eintrag-ein/article/175",
		},
		{
			ID: "ydns", Name: "YDNS", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://ydns.io/api/v1/update/", "combined": false}`),
			RecordUsername: user("API username", "The API username from YDNS's preferences (not your e-mail)."),
			RecordPassword: user("API secret", "The API secret shown with it."),
			Families:       both,
			Notes:          "YDNS takes host= and ip= as well as dyndns2's hostname= and myip=; one address per request.",
			DocsURL:        "https://ydns.io/api/",
		},
		{
			ID: "zoneedit", Name: "Zoneedit", Protocol: ProtocolDyndns2,
			Settings:       raw(`{"url": "https://dynamic.zoneedit.com/auth/dynamic.html", "combined": false}`),
			RecordUsername: user("Username", "Your Zoneedit username."),
			RecordPassword: user("Dynamic token", "The dynamic authentication token from the domain's DNS settings."),
			Families:       both,
			Notes: "Zoneedit answers with an XML line (SUCCESS CODE=\"200\" or ERROR CODE=…); wait at least 10 minutes between updates. " +
				"One address per request.",
			// unconfirmed: Zoneedit's answers are not dyndns2 codes; the broker reads anything unknown as failed, so check the first delivery.
			DocsURL: "https://support.zoneedit.com/en/knowledgebase/article/dynamic-dns",
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
