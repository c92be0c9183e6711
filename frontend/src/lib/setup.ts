// Ready-to-paste router configuration for one host, for the clients that
// PROTOCOL.md describes. Each tells the client to speak dyndns2 to this
// broker with the host's FQDN as user name and its update secret as password.

export interface SetupField {
	label: string;
	value: string;
	secret?: boolean;
}

export interface RouterSetup {
	id: string;
	name: string;
	/** Where the settings go, one step per item. */
	steps: string[];
	/** Form fields to fill in (for routers configured in a web UI). */
	fields?: SetupField[];
	/** A configuration file or command to paste. */
	code?: string;
	/** What the code is: a file path or "shell". */
	codeLabel?: string;
	notes?: string[];
}

export interface SetupInput {
	/** The broker's URL as routers reach it, e.g. https://ddns.example.net */
	broker: string;
	fqdn: string;
	/** The update secret when it was just shown; otherwise a placeholder is used. */
	secret?: string | null;
}

export const SECRET_PLACEHOLDER = 'YOUR-UPDATE-SECRET';

interface Broker {
	https: boolean;
	/** host[:port], the port only when it is not the scheme's default */
	hostPort: string;
	/** a path prefix without the trailing slash ('' at the root) */
	prefix: string;
	/** scheme://host[:port]prefix */
	base: string;
}

export function parseBroker(raw: string): Broker {
	const u = new URL(raw.trim() || 'http://localhost');
	const https = u.protocol === 'https:';
	const prefix = u.pathname.replace(/\/+$/, '');
	return { https, hostPort: u.host, prefix, base: `${u.protocol}//${u.host}${prefix}` };
}

/** Single-quotes a value for a POSIX shell or an OpenWrt UCI file. */
export function shellQuote(s: string): string {
	return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Double-quotes a value for inadyn's configuration (libConfuse). */
function confuseQuote(s: string): string {
	return `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** Quotes a value for ddclient.conf, which takes single quotes with backslash escapes. */
function ddclientQuote(s: string): string {
	return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

export function routerSetups(input: SetupInput): RouterSetup[] {
	const b = parseBroker(input.broker);
	const fqdn = input.fqdn;
	const secret = input.secret || SECRET_PLACEHOLDER;
	const update = `${b.base}/nic/update`;
	const myip = `${b.base}/myip`;
	const prefixNote = b.prefix
		? [`The broker is served below ${b.prefix}; clients that only take a server name cannot reach it there.`]
		: [];

	const fritz: RouterSetup = {
		id: 'fritzbox',
		name: 'FRITZ!Box',
		steps: [
			'Internet › Permit Access (Freigaben) › DynDNS',
			'Tick “Use DynDNS” and choose the provider “User-defined” (Benutzerdefiniert)',
			'Fill in the fields below and apply'
		],
		fields: [
			{ label: 'Update URL', value: `${update}?hostname=<domain>&myip=<ipaddr>,<ip6addr>&ip6lanprefix=<ip6lanprefix>` },
			{ label: 'Domain name', value: fqdn },
			{ label: 'User name', value: fqdn },
			{ label: 'Password', value: secret, secret: true }
		],
		notes: [
			'The FRITZ!Box fills in <ipaddr>, <ip6addr> and <ip6lanprefix> itself; keep them as they are. Its delegated IPv6 prefix lets records point at devices in your LAN.'
		]
	};

	const ddclientLines = [
		'# /etc/ddclient.conf (ddclient 3.10 or later)',
		'daemon=300',
		'protocol=dyndns2',
		`use=web, web=${myip}`,
		`ssl=${b.https ? 'yes' : 'no'}`,
		`server=${b.hostPort}`
	];
	if (b.prefix) ddclientLines.push(`script=${b.prefix}/nic/update`);
	ddclientLines.push(
		`login=${fqdn}`,
		`password=${ddclientQuote(secret)}`,
		fqdn,
		'',
		'# ddclient 3.11 and 4.x can report both families; use these two lines instead of use=web:',
		`# usev4=webv4, webv4=${myip}`,
		`# usev6=webv6, webv6=${myip}`
	);
	const ddclient: RouterSetup = {
		id: 'ddclient',
		name: 'ddclient',
		steps: ['Put this into /etc/ddclient.conf', 'Restart ddclient: systemctl restart ddclient'],
		code: ddclientLines.join('\n'),
		codeLabel: '/etc/ddclient.conf'
	};

	const inadyn: RouterSetup = {
		id: 'inadyn',
		name: 'inadyn',
		steps: ['Put this into /etc/inadyn.conf', 'Check it with inadyn --check-config, then restart inadyn'],
		code: [
			'# /etc/inadyn.conf (inadyn 2.x)',
			'period     = 300',
			'allow-ipv6 = true',
			'',
			'custom ddnsbroker {',
			`    ssl            = ${b.https}`,
			`    username       = ${fqdn}`,
			`    password       = ${confuseQuote(secret)}`,
			`    checkip-server = ${b.hostPort}`,
			`    checkip-path   = "${b.prefix}/myip"`,
			`    checkip-ssl    = ${b.https}`,
			`    ddns-server    = ${b.hostPort}`,
			`    ddns-path      = "${b.prefix}/nic/update?hostname=%h&myip=%i"`,
			`    hostname       = ${fqdn}`,
			'}'
		].join('\n'),
		codeLabel: '/etc/inadyn.conf'
	};

	// ddns-scripts turn http:// into https:// when use_https is set, and
	// URL-encode [USERNAME] and [PASSWORD] themselves.
	const owrtUrl = `http://[USERNAME]:[PASSWORD]@${b.hostPort}${b.prefix}/nic/update?hostname=[DOMAIN]&myip=[IP]`;
	const owrtSection = (name: string, ipv6: boolean) =>
		[
			`config service '${name}'`,
			"\toption enabled '1'",
			`\toption lookup_host ${shellQuote(fqdn)}`,
			`\toption domain ${shellQuote(fqdn)}`,
			`\toption username ${shellQuote(fqdn)}`,
			`\toption password ${shellQuote(secret)}`,
			`\toption update_url ${shellQuote(owrtUrl)}`,
			`\toption use_https '${b.https ? 1 : 0}'`,
			...(b.https ? ["\toption cacert '/etc/ssl/certs'"] : []),
			`\toption use_ipv6 '${ipv6 ? 1 : 0}'`,
			"\toption ip_source 'network'",
			`\toption ip_network '${ipv6 ? 'wan6' : 'wan'}'`,
			`\toption interface '${ipv6 ? 'wan6' : 'wan'}'`,
			"\toption check_interval '5'",
			"\toption check_unit 'minutes'"
		].join('\n');
	const openwrt: RouterSetup = {
		id: 'openwrt',
		name: 'OpenWrt',
		steps: [
			'Install the scripts: opkg install ddns-scripts (luci-app-ddns for the web UI)',
			'Add these sections to /etc/config/ddns (the second one only for IPv6)',
			'Restart: /etc/init.d/ddns restart'
		],
		code: `${owrtSection('ddnsbroker_v4', false)}\n\n${owrtSection('ddnsbroker_v6', true)}`,
		codeLabel: '/etc/config/ddns',
		notes: b.https
			? ['HTTPS needs a TLS-capable fetcher on the router: opkg install wget-ssl (or curl) ca-bundle.']
			: []
	};

	const pfsense: RouterSetup = {
		id: 'pfsense',
		name: 'pfSense / OPNsense',
		steps: [
			'pfSense: Services › Dynamic DNS › Dynamic DNS Clients › Add, Service Type “Custom” (and a second client with “Custom (v6)” for IPv6)',
			'OPNsense: Services › Dynamic DNS › Accounts › Add, Service “Custom”, Protocol “DynDNS2”, with the server, user name, password and host name below; tick “Force SSL” for HTTPS'
		],
		fields: [
			{ label: 'Update URL (pfSense)', value: `${update}?hostname=${fqdn}&myip=%IP%` },
			{ label: 'Result Match (pfSense)', value: 'good %IP%|nochg %IP%' },
			{ label: 'Server (OPNsense)', value: b.hostPort },
			{ label: 'Host name', value: fqdn },
			{ label: 'User name', value: fqdn },
			{ label: 'Password', value: secret, secret: true }
		],
		notes: ['Interface to monitor: your WAN interface.', ...prefixNote]
	};

	const q = shellQuote;
	const cred = q(`${fqdn}:${secret}`);
	const curl: RouterSetup = {
		id: 'curl',
		name: 'curl',
		steps: ['Run from any machine in the network, e.g. from cron every 5 minutes'],
		code: [
			'# the address this machine is seen with, per family',
			`curl -4 -u ${cred} ${q(`${update}?hostname=${fqdn}`)}`,
			`curl -6 -u ${cred} ${q(`${update}?hostname=${fqdn}`)}`,
			'',
			'# or name the addresses (and the delegated IPv6 prefix) yourself',
			`curl -u ${cred} ${q(`${update}?hostname=${fqdn}&myip=203.0.113.7,2001:db8::7&ip6lanprefix=2001:db8:77:1::/64`)}`
		].join('\n'),
		codeLabel: 'shell'
	};

	return [fritz, ddclient, inadyn, openwrt, pfsense, curl];
}
