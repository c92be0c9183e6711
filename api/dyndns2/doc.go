// Package dyndns2 answers the dyndns2 update protocol that routers and update
// clients speak to /nic/update, and the check-IP endpoints they use to learn
// their public address.
//
// The package owns everything that is specific to the wire: where credentials
// may come from, which parameter names the various clients use, how addresses
// are validated and how the plain-text answer codes are written. Storing the
// update and queueing deliveries is the Backend's job (the broker).
//
// # Inbound
//
// Paths: /nic/update, /v3/update and /update, with or without a trailing
// slash, and with a doubled leading slash (//nic/update, which UniFi's
// inadyn sends). They are answered directly: a redirect is fatal for inadyn.
// Methods: GET (what every client sends) and POST (form or query); HEAD is
// answered without changing anything; anything else is 405.
//
// Credentials, first match wins: Authorization: Basic (username = the host's
// FQDN, password = its secret), then the query parameters username/password
// or user/pass. A request with none gets 401 with WWW-Authenticate: Basic
// realm="ddnsbroker" and the body badauth: GNU wget (OpenWrt's preferred
// transport) sends the credentials of a user:pass@ URL only after such a
// challenge. The port in Host is never relied on (inadyn omits it), and
// credentials never reach a log.
//
// Parameters: hostname (optional, comma-separated, each the host's FQDN or
// one of its records' FQDNs, case-insensitive, trailing dot allowed; one
// answer line per name, in order; at most 20, Dyn's cap); myip (optional,
// comma-separated, one IPv4 and one IPv6 in any order, a value with /len
// being an IPv6 prefix; empty or missing means the client's source address;
// repeated myip= parameters are accepted); myipv4, ipv4, ip (IPv4); myipv6,
// myip6, ipv6 (IPv6, /len is a prefix); ip6lanprefix, ipv6prefix (the
// delegated prefix, as FRITZ!Box sends it); the value preserve keeps a family
// as it is; system, wildcard, mx, backmx, offline and url are accepted and
// ignored. Values are URL-decoded before they are split on commas (inadyn
// sends 2001%3adb8%3a%3a10). The source address is the TCP peer, or
// X-Forwarded-For/X-Real-IP only when the peer is a trusted proxy. A family
// disabled on the host is ignored and not echoed back.
//
// Answers are plain text/plain; charset=utf-8 with lowercase codes: good
// <ips> (something changed) and nochg <ips> (nothing did), one line per
// hostname, addresses in v4,v6 order; 401 badauth (no or wrong credentials,
// unknown host); notfqdn and nohost (that hostname's line); numhost (more than
// 20); 400 badrequest <reason> for an address that cannot be used
// (malformed, zone id, unspecified, multicast, wrong family for its
// parameter), storing nothing; abuse (a host disabled by an admin: 200; rate
// limited: 429 with Retry-After); 503 911 (database or internal trouble). An
// error's body never contains good, ok, true, updated or nochg: inadyn's
// custom provider and OpenWrt's scripts take any body holding one of them for
// success.
package dyndns2
