// GET /api/v1/protocols as the server answers it (the Describe methods in
// api/provider, through api/rest/presets.go), for the tests of the forms
// built from it.
import type { ProtocolDescription } from './protocols';

export const PROTOCOLS: ProtocolDescription[] = [
	{
		"protocol": "dyndns2",
		"title": "dyndns2 (/nic/update)",
		"summary": "GET <url>?hostname=<record>&myip=<address> with the record's username and password as Basic authentication.",
		"settings": [
			{
				"key": "url",
				"type": "url",
				"label": "Update URL",
				"help": "The http(s) update URL, e.g. https://dyn.dns.he.net/nic/update; no credentials in it.",
				"default": null,
				"required": true,
				"destination": true
			},
			{
				"key": "username_is_fqdn",
				"type": "boolean",
				"label": "Username is the record's name",
				"help": "Log in upstream with the record's FQDN instead of its username (he.net).",
				"default": false,
				"required": false,
				"destination": false
			},
			{
				"key": "combined",
				"type": "boolean",
				"label": "Both families in one request",
				"help": "Send IPv4 and IPv6 together (myip=v4,v6), for providers that replace the other family otherwise.",
				"default": false,
				"required": false,
				"destination": false
			},
			{
				"key": "use_myipv6",
				"type": "boolean",
				"label": "IPv6 in myipv6",
				"help": "Send IPv6 in the myipv6 parameter (INWX); both families then go together.",
				"default": false,
				"required": false,
				"destination": false
			},
			{
				"key": "max_hostnames",
				"type": "integer",
				"label": "Names per request",
				"help": "Records with the same username, password and address go in one request (hostname=a,b,c), at most this many; 1 sends one name per request, for providers that do not take lists.",
				"default": 20,
				"required": false,
				"min": 1,
				"max": 20,
				"destination": false
			},
			{
				"key": "drift_resolver",
				"type": "host_port",
				"label": "Drift check resolver",
				"help": "host:port of a DNS resolver or of the zone's authoritative server, asked for each delivered record's A/AAAA; when it publishes another address, the delivery is queued again. Empty: no drift check.",
				"default": null,
				"required": false,
				"destination": false
			},
			{
				"key": "drift_interval",
				"type": "duration",
				"label": "Drift check interval",
				"help": "How often the drift check runs, a duration such as 15m or 1h, 1m..24h.",
				"default": "1h",
				"required": false,
				"destination": false
			}
		],
		"record_username": {
			"label": "Username",
			"help": "The upstream username (empty with username_is_fqdn)."
		},
		"record_password": {
			"label": "Password",
			"help": "The upstream password or update key."
		},
		"families": [
			4,
			6
		],
		"together": "by_settings",
		"rrsets": false,
		"docs_url": ""
	},
	{
		"protocol": "rfc2136",
		"title": "DNS UPDATE (RFC 2136) with TSIG",
		"summary": "One DNS UPDATE signed with TSIG that replaces the record's A or AAAA RRset at the zone's primary server (with keep_other_addresses, only the addresses the broker delivered before).",
		"settings": [
			{
				"key": "server",
				"type": "host_port",
				"label": "Server",
				"help": "The primary server as host:port, e.g. ns1.example.net:53; an IPv6 address in brackets.",
				"default": null,
				"required": true,
				"destination": true
			},
			{
				"key": "zone",
				"type": "string",
				"label": "Zone",
				"help": "The zone to update; when empty, found with an SOA query for each record's name.",
				"default": null,
				"required": false,
				"destination": false
			},
			{
				"key": "key_name",
				"type": "string",
				"label": "Key name",
				"help": "The TSIG key's name as the server knows it.",
				"default": null,
				"required": true,
				"destination": false
			},
			{
				"key": "algorithm",
				"type": "choice",
				"label": "Algorithm",
				"help": "The TSIG key's algorithm.",
				"default": "hmac-sha256",
				"required": false,
				"choices": [
					"hmac-sha256",
					"hmac-sha512",
					"hmac-md5"
				],
				"destination": false
			},
			{
				"key": "ttl",
				"type": "integer",
				"label": "TTL",
				"help": "TTL of the published record in seconds.",
				"default": 60,
				"required": false,
				"min": 1,
				"max": 86400,
				"destination": false
			},
			{
				"key": "tcp",
				"type": "boolean",
				"label": "TCP",
				"help": "Send over TCP instead of UDP.",
				"default": false,
				"required": false,
				"destination": false
			},
			{
				"key": "drift_resolver",
				"type": "host_port",
				"label": "Drift check resolver",
				"help": "host:port of a DNS resolver or of the zone's authoritative server, asked for each delivered record's A/AAAA; when it publishes another address, the delivery is queued again. Empty: no drift check.",
				"default": null,
				"required": false,
				"destination": false
			},
			{
				"key": "drift_interval",
				"type": "duration",
				"label": "Drift check interval",
				"help": "How often the drift check runs, a duration such as 15m or 1h, 1m..24h.",
				"default": "1h",
				"required": false,
				"destination": false
			}
		],
		"credential": {
			"label": "TSIG secret (base64)",
			"help": "The key's secret as tsig-keygen prints it (the secret \"…\" line)."
		},
		"families": [
			4,
			6
		],
		"together": "never",
		"rrsets": true,
		"docs_url": ""
	},
	{
		"protocol": "http",
		"title": "HTTP request from templates",
		"summary": "One request per delivery built from templates with {fqdn}, {ip}, {ipv4}, {ipv6}, {username}, {password} and {prefix}; success is a status range and an optional pattern over the answer.",
		"settings": [
			{
				"key": "method",
				"type": "choice",
				"label": "Method",
				"help": "",
				"default": "GET",
				"required": false,
				"choices": [
					"GET",
					"POST",
					"PUT",
					"PATCH"
				],
				"destination": false
			},
			{
				"key": "url",
				"type": "template",
				"label": "URL",
				"help": "The request URL template, e.g. https://www.duckdns.org/update?domains={fqdn}&token={password}&ip={ip}.",
				"default": null,
				"required": true,
				"destination": true
			},
			{
				"key": "url_ipv6",
				"type": "template",
				"label": "URL for IPv6",
				"help": "Replaces the URL for IPv6 deliveries, for providers that take each family in its own parameter.",
				"default": null,
				"required": false,
				"destination": true
			},
			{
				"key": "headers",
				"type": "headers",
				"label": "Headers",
				"help": "Extra request headers; values are templates.",
				"default": null,
				"required": false,
				"destination": false
			},
			{
				"key": "body",
				"type": "template",
				"label": "Body",
				"help": "Request body template (not with GET).",
				"default": null,
				"required": false,
				"destination": false
			},
			{
				"key": "basic_auth",
				"type": "boolean",
				"label": "Basic authentication",
				"help": "Send the record's username and password as HTTP Basic.",
				"default": false,
				"required": false,
				"destination": false
			},
			{
				"key": "success_status",
				"type": "string",
				"label": "Success status",
				"help": "The statuses that can mean success: a range such as 200-299 or one status such as 200.",
				"default": "200-299",
				"required": false,
				"destination": false
			},
			{
				"key": "success_regexp",
				"type": "string",
				"label": "Success pattern",
				"help": "A regular expression (RE2) the answer's body (its first 4 KiB) must also match, e.g. ^OK.",
				"default": null,
				"required": false,
				"destination": false
			},
			{
				"key": "drift_resolver",
				"type": "host_port",
				"label": "Drift check resolver",
				"help": "host:port of a DNS resolver or of the zone's authoritative server, asked for each delivered record's A/AAAA; when it publishes another address, the delivery is queued again. Empty: no drift check.",
				"default": null,
				"required": false,
				"destination": false
			},
			{
				"key": "drift_interval",
				"type": "duration",
				"label": "Drift check interval",
				"help": "How often the drift check runs, a duration such as 15m or 1h, 1m..24h.",
				"default": "1h",
				"required": false,
				"destination": false
			}
		],
		"record_username": {
			"label": "Username",
			"help": "Filled in for {username}, and sent as Basic authentication with basic_auth."
		},
		"record_password": {
			"label": "Password",
			"help": "Filled in for {password}, and sent as Basic authentication with basic_auth."
		},
		"families": [
			4,
			6
		],
		"together": "by_settings",
		"rrsets": false,
		"docs_url": ""
	},
	{
		"protocol": "cloudflare",
		"title": "Cloudflare (API v4)",
		"summary": "Finds the zone by name (ids cached) and makes the name's A or AAAA records hold the addresses, one record each.",
		"settings": [
			{
				"key": "zone",
				"type": "string",
				"label": "Zone",
				"help": "The zone's name; when empty, found from each record's name.",
				"default": null,
				"required": false,
				"destination": false
			},
			{
				"key": "zone_id",
				"type": "string",
				"label": "Zone id",
				"help": "The zone id (32 hexadecimal digits); skips the zone lookup.",
				"default": null,
				"required": false,
				"destination": false
			},
			{
				"key": "ttl",
				"type": "integer",
				"label": "TTL",
				"help": "1 (automatic) or 60..86400 seconds.",
				"default": 1,
				"required": false,
				"destination": false
			},
			{
				"key": "proxied",
				"type": "boolean",
				"label": "Proxied",
				"help": "Proxy through Cloudflare; when absent, new records are not proxied and existing ones keep their flag.",
				"default": null,
				"required": false,
				"destination": false
			},
			{
				"key": "api_url",
				"type": "url",
				"label": "API URL",
				"help": "Replaces Cloudflare's API (for tests and API proxies); leave it empty otherwise.",
				"default": "https://api.cloudflare.com/client/v4",
				"required": false,
				"destination": true
			},
			{
				"key": "drift_resolver",
				"type": "host_port",
				"label": "Drift check resolver",
				"help": "host:port of a DNS resolver or of the zone's authoritative server, asked for each delivered record's A/AAAA; when it publishes another address, the delivery is queued again. Empty: no drift check.",
				"default": null,
				"required": false,
				"destination": false
			},
			{
				"key": "drift_interval",
				"type": "duration",
				"label": "Drift check interval",
				"help": "How often the drift check runs, a duration such as 15m or 1h, 1m..24h.",
				"default": "1h",
				"required": false,
				"destination": false
			}
		],
		"credential": {
			"label": "API token",
			"help": "A scoped API token with Zone → DNS → Edit, and Zone → Zone → Read to find zones by name."
		},
		"families": [
			4,
			6
		],
		"together": "never",
		"rrsets": true,
		"docs_url": "https://developers.cloudflare.com/api/resources/dns/subresources/records/"
	}
];
