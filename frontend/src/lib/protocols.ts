// The service form's view of each protocol: which settings it has (keys
// from the spec's Dyndns2Settings, Rfc2136Settings, HttpSettings and
// CloudflareSettings), how a form value becomes a settings value and back,
// and which input shows an API error such as `settings.headers.X-Foo`.
import type { components } from './api/schema';

type Schemas = components['schemas'];
export type Protocol = Schemas['Protocol'];
export type Settings = Schemas['ServiceSettings'];
export type Preset = Schemas['Preset'];

interface SettingsOf {
	dyndns2: Schemas['Dyndns2Settings'];
	rfc2136: Schemas['Rfc2136Settings'];
	http: Schemas['HttpSettings'];
	cloudflare: Schemas['CloudflareSettings'];
}

/**
 * How a setting is edited: text/url/number/textarea inputs, a checkbox, a
 * select of fixed values, a select of yes/no/unset, or header lines.
 */
export type FieldKind = 'text' | 'url' | 'number' | 'textarea' | 'check' | 'select' | 'tristate' | 'headers';

export interface SettingField<K extends string = string> {
	key: K;
	label: string;
	kind: FieldKind;
	hint?: string;
	placeholder?: string;
	/** The values of a select; the first is the default. */
	options?: readonly string[];
	/** The labels of a tristate select: unset, true, false. */
	choices?: readonly [string, string, string];
	required?: boolean;
}

/** A form value: checkboxes are booleans, everything else the input's text. */
export type FormValue = string | boolean;
export type FormValues = Record<string, FormValue>;

type Fields = { [P in Protocol]: SettingField<Extract<keyof SettingsOf[P], string>>[] };

const PLACEHOLDERS = '{fqdn}, {ip}, {ipv4}, {ipv6}, {username}, {password}, {prefix}';

/** The drift check's settings, which every protocol takes; off while the resolver is empty. */
const DRIFT: SettingField<'drift_resolver' | 'drift_interval'>[] = [
	{
		key: 'drift_resolver',
		label: 'Drift check resolver (optional)',
		kind: 'text',
		placeholder: '9.9.9.9:53',
		hint: "host:port of a DNS resolver or the zone's server. When set, each delivered record's name is looked up there, and delivered again if DNS publishes another address."
	},
	{ key: 'drift_interval', label: 'Drift check interval', kind: 'text', placeholder: '1h', hint: 'A duration such as 15m or 1h, from 1m to 24h; 1h when empty.' }
];

export const FIELDS: Fields = {
	dyndns2: [
		{
			key: 'url',
			label: 'Update URL',
			kind: 'url',
			required: true,
			placeholder: 'https://dyn.example.net/nic/update',
			hint: "The provider's dyndns2 endpoint; hostname and myip are added to it."
		},
		{ key: 'username_is_fqdn', label: "Log in with the record's FQDN as user name (he.net)", kind: 'check' },
		{ key: 'combined', label: 'Send IPv4 and IPv6 in one request (myip=v4,v6)', kind: 'check' },
		{ key: 'use_myipv6', label: 'Send IPv6 in the myipv6 parameter (INWX)', kind: 'check' },
		...DRIFT
	],
	rfc2136: [
		{
			key: 'server',
			label: 'Primary server',
			kind: 'text',
			required: true,
			placeholder: 'ns1.example.net:53',
			hint: 'host:port; an IPv6 address in brackets.'
		},
		{ key: 'zone', label: 'Zone (optional)', kind: 'text', placeholder: 'example.net', hint: "Found with an SOA query for each record's name when empty." },
		{ key: 'key_name', label: 'TSIG key name', kind: 'text', required: true, placeholder: 'ddns-key', hint: "The key's name as the server knows it." },
		{ key: 'algorithm', label: 'TSIG algorithm', kind: 'select', options: ['hmac-sha256', 'hmac-sha512', 'hmac-md5'] },
		{ key: 'ttl', label: 'TTL (seconds)', kind: 'number', placeholder: '60', hint: 'Of the published record: 1 to 86400; 60 when empty.' },
		{ key: 'tcp', label: 'Send over TCP instead of UDP', kind: 'check' },
		...DRIFT
	],
	http: [
		{ key: 'method', label: 'Method', kind: 'select', options: ['GET', 'POST', 'PUT', 'PATCH'] },
		{
			key: 'url',
			label: 'URL template',
			kind: 'text',
			required: true,
			placeholder: 'https://dyn.example.net/update?host={fqdn}&ip={ip}',
			hint: `Placeholders: ${PLACEHOLDERS}; values are percent-encoded.`
		},
		{ key: 'url_ipv6', label: 'IPv6 URL template (optional)', kind: 'text', hint: 'Used instead of the URL template for IPv6 deliveries.' },
		{ key: 'headers', label: 'Extra headers (optional)', kind: 'headers', placeholder: 'Authorization: Token {password}', hint: 'One per line, as Name: value; values may use placeholders.' },
		{ key: 'body', label: 'Body template (optional)', kind: 'textarea', hint: 'Sent with POST, PUT or PATCH only.' },
		{ key: 'basic_auth', label: "Send the record's username and password as HTTP Basic", kind: 'check' },
		{ key: 'success_status', label: 'Success statuses', kind: 'text', placeholder: '200-299', hint: 'A range such as 200-299, or one status such as 200.' },
		{ key: 'success_regexp', label: 'Answer must match (optional)', kind: 'text', placeholder: '^(good|nochg)', hint: 'A regular expression (RE2) the body must also match.' },
		...DRIFT
	],
	cloudflare: [
		{ key: 'zone', label: 'Zone (optional)', kind: 'text', placeholder: 'example.com', hint: "Found from each record's name when empty." },
		{ key: 'zone_id', label: 'Zone id (optional)', kind: 'text', hint: "32 hexadecimal digits from the zone's overview page; skips the zone lookup." },
		{ key: 'ttl', label: 'TTL (seconds)', kind: 'number', placeholder: '1', hint: '1 (automatic) or 60 to 86400.' },
		{
			key: 'proxied',
			label: 'Proxy',
			kind: 'tristate',
			choices: ["Keep each record's setting (new ones: DNS only)", 'Proxied through Cloudflare', 'DNS only']
		},
		{ key: 'api_url', label: 'API URL (optional)', kind: 'url', placeholder: 'https://api.cloudflare.com/client/v4', hint: 'For tests and API proxies.' },
		...DRIFT
	]
};

export const PROTOCOLS: { [P in Protocol]: { label: string; description: string } } = {
	dyndns2: { label: 'dyndns2', description: 'The /nic/update protocol most DynDNS providers speak.' },
	rfc2136: { label: 'RFC 2136 (DNS UPDATE)', description: 'Your own name server (BIND, Knot, PowerDNS), signed with TSIG.' },
	http: { label: 'HTTP request', description: 'A request built from templates, for providers with their own update URL.' },
	cloudflare: { label: 'Cloudflare', description: "Cloudflare's API v4 with a scoped API token." }
};

/** The service's own secret, for the protocols that have one. */
export const CREDENTIALS: { [P in Protocol]: Schemas['PresetField'] | null } = {
	dyndns2: null,
	http: null,
	rfc2136: { label: 'TSIG secret', help: 'Base64, as tsig-keygen prints it.' },
	cloudflare: { label: 'API token', help: 'A scoped token with Zone → DNS → Edit (and Zone → Zone → Read to find zones by name).' }
};

export const protocolNames = Object.keys(FIELDS) as Protocol[];

export function isProtocol(p: string): p is Protocol {
	return p in FIELDS;
}

/** The settings fields of a protocol, in form order. */
export function fieldsOf(protocol: Protocol): SettingField[] {
	return FIELDS[protocol];
}

/** The form field name of a setting, as FormState knows it. */
export const settingField = (key: string) => `settings.${key}`;

/** The form fields a service form of this protocol shows an error next to. */
export function serviceFormFields(protocol: Protocol, withCredential: boolean): string[] {
	return ['name', 'protocol', ...FIELDS[protocol].map((f) => settingField(f.key)), ...(withCredential ? ['credential'] : [])];
}

/** The value a field shows when the setting is absent. */
function emptyValue(f: SettingField): FormValue {
	if (f.kind === 'check') return false;
	if (f.kind === 'select') return f.options?.[0] ?? '';
	return '';
}

function headerLines(v: unknown): string {
	if (!v || typeof v !== 'object') return '';
	return Object.entries(v as Record<string, unknown>)
		.map(([name, value]) => `${name}: ${String(value)}`)
		.join('\n');
}

/** Parses "Name: value" lines; a line without a colon is a name with an empty value. */
export function parseHeaders(text: string): Record<string, string> {
	const out: Record<string, string> = {};
	for (const line of text.split(/\r?\n/)) {
		if (!line.trim()) continue;
		const colon = line.indexOf(':');
		const name = (colon < 0 ? line : line.slice(0, colon)).trim();
		out[name] = colon < 0 ? '' : line.slice(colon + 1).trim();
	}
	return out;
}

/** The form values of stored (or preset) settings. */
export function fromSettings(protocol: Protocol, settings: Settings | null | undefined): FormValues {
	const s = settings ?? {};
	const out: FormValues = {};
	for (const f of FIELDS[protocol]) {
		const v = s[f.key];
		switch (f.kind) {
			case 'check':
				out[f.key] = v === true;
				break;
			case 'tristate':
				out[f.key] = v === true ? 'true' : v === false ? 'false' : '';
				break;
			case 'headers':
				out[f.key] = headerLines(v);
				break;
			default:
				out[f.key] = v === undefined || v === null ? emptyValue(f) : String(v);
		}
	}
	return out;
}

function toValue(f: SettingField, v: FormValue | undefined): unknown {
	switch (f.kind) {
		case 'check':
			return v === true;
		case 'tristate':
			return v === 'true' ? true : v === 'false' ? false : undefined;
		case 'headers': {
			const h = parseHeaders(String(v ?? ''));
			return Object.keys(h).length ? h : undefined;
		}
		case 'number': {
			const t = String(v ?? '').trim();
			if (!t) return undefined;
			// Not a number: sent as typed, so the API names the field.
			return /^-?\d+$/.test(t) ? Number(t) : t;
		}
		case 'textarea':
			return String(v ?? '') || undefined;
		default: {
			const t = String(v ?? '').trim();
			return t || undefined;
		}
	}
}

/**
 * The settings object of the form values. Keys of `base` (the stored or
 * preset settings) stay as they were unless the form changed them, so an
 * untouched form gives back equal settings: no key appears just because
 * its field shows a default.
 */
export function toSettings(protocol: Protocol, values: FormValues, base: Settings = {}): Settings {
	const out: Settings = { ...base };
	for (const f of FIELDS[protocol]) {
		const v = toValue(f, values[f.key]);
		const isDefault = v === undefined || (f.kind === 'check' && v === false) || (f.kind === 'select' && v === emptyValue(f));
		if (isDefault && !(f.key in base)) continue;
		if (v === undefined) delete out[f.key];
		else if (!sameJSON(base[f.key], v)) out[f.key] = v;
	}
	// A dyndns2 service always states its three switches, as the API stores them.
	if (protocol === 'dyndns2') for (const k of ['username_is_fqdn', 'combined', 'use_myipv6']) out[k] ??= false;
	return out;
}

function sameJSON(a: unknown, b: unknown): boolean {
	return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
	if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
	return Object.fromEntries(
		Object.entries(v as Record<string, unknown>)
			.sort(([a], [b]) => a.localeCompare(b))
			.map(([k, x]) => [k, sortKeys(x)])
	);
}

/** Whether two settings objects say the same, whatever their key order. */
export function sameSettings(a: Settings, b: Settings): boolean {
	return sameJSON(a, b);
}

const SHORTHANDS = ['url', 'username_is_fqdn', 'combined', 'use_myipv6'];

/**
 * The form field that shows an API error about `field`: `settings.<key>`
 * (and the dyndns2 shorthands `url`, … ) go to that setting's input, an
 * error inside a setting (`settings.headers.X-Foo`) to the setting with
 * the inner name in front of the message. Anything else keeps its name.
 */
export function mapServiceError(protocol: Protocol, field: string, message: string): { field: string; message: string } {
	const keys = FIELDS[protocol].map((f) => f.key as string);
	if (protocol === 'dyndns2' && SHORTHANDS.includes(field)) return { field: settingField(field), message };
	const m = /^settings\.([^.]+)(?:\.(.+))?$/.exec(field);
	if (!m || !keys.includes(m[1]!)) return { field, message };
	return { field: settingField(m[1]!), message: m[2] ? `${m[2]}: ${message}` : message };
}

/** One line that says where a service sends its updates, for lists. */
export function endpointOf(protocol: Protocol, settings: Settings): string {
	const s = (k: string) => (typeof settings[k] === 'string' ? (settings[k] as string) : '');
	switch (protocol) {
		case 'dyndns2':
		case 'http':
			return s('url');
		case 'rfc2136':
			return [s('server'), s('zone') && `zone ${s('zone')}`].filter(Boolean).join(', ');
		case 'cloudflare':
			return s('zone') ? `zone ${s('zone')}` : s('zone_id') ? `zone id ${s('zone_id')}` : "zone from each record's name";
	}
}

/** What each record of a preset's service needs, as sentences. */
export function presetNeeds(p: Preset): string[] {
	const out: string[] = [];
	if (p.record_username) out.push(`Each record's user name: ${p.record_username.label}. ${p.record_username.help}`);
	if (p.record_password) out.push(`Each record's password: ${p.record_password.label}. ${p.record_password.help}`);
	if (p.credential) out.push(`This service's credential: ${p.credential.label}. ${p.credential.help}`);
	return out;
}

/** The settings that decide where a protocol sends its secrets. */
export const DESTINATION_KEYS: { [P in Protocol]: string[] } = {
	dyndns2: ['url'],
	http: ['url', 'url_ipv6'],
	rfc2136: ['server'],
	cloudflare: ['api_url']
};

/** scheme://host:port of a URL (a template's placeholders kept), or the text itself. */
function originOf(raw: string): string {
	try {
		const u = new URL(raw);
		const port = u.port || (u.protocol === 'https:' ? '443' : u.protocol === 'http:' ? '80' : '');
		return `${u.protocol}//${u.hostname.replace(/\.$/, '')}:${port}`;
	} catch {
		return raw;
	}
}

/**
 * Where a service sends its credential and its records' passwords, as the
 * API decides it (api/delivery/destination.go): a stored secret only goes
 * where it was entered, so a change of these asks for it again.
 */
export function destinationsOf(protocol: Protocol, settings: Settings): string[] {
	const s = (k: string) => (typeof settings[k] === 'string' ? (settings[k] as string).trim() : '');
	let out: string[];
	switch (protocol) {
		case 'dyndns2':
			out = [originOf(s('url'))];
			break;
		case 'http':
			out = [s('url'), s('url_ipv6')].filter(Boolean).map(originOf);
			break;
		case 'cloudflare':
			out = [originOf(s('api_url') || 'https://api.cloudflare.com/client/v4')];
			break;
		case 'rfc2136':
			out = [`dns://${s('server').toLowerCase()}`];
			break;
	}
	return [...new Set(out)].sort();
}

/** Whether the settings send secrets somewhere else than before. */
export function destinationChanged(protocol: Protocol, before: Settings, after: Settings): boolean {
	return !sameJSON(destinationsOf(protocol, before), destinationsOf(protocol, after));
}
