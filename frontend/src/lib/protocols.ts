// The service form's view of a protocol, built from its description in
// GET /api/v1/protocols (key, type, label, help, default, required,
// choices, bounds, credential prompt): which inputs it shows, how a form
// value becomes a settings value and back, and which input shows an API
// error such as `settings.headers.X-Foo`. Nothing here lists the
// protocols: one the web app was never written for gets a working form.
// OVERRIDES adds what a description cannot say (a textarea for a body
// template, a placeholder, a tristate's words); it is partial, so a new
// protocol needs no change here.
import type { components } from './api/schema';

type Schemas = components['schemas'];
/** A protocol's name as the API spells it; any name GET /protocols lists. */
export type Protocol = string;
export type Settings = Schemas['ServiceSettings'];
export type Preset = Schemas['Preset'];
export type ProtocolDescription = Schemas['ProtocolDescription'];
export type ProtocolField = Schemas['ProtocolField'];
export type Prompt = Schemas['PresetField'];

/**
 * How a setting is edited: text/url/number/textarea inputs, a checkbox, a
 * select of fixed values, a select of yes/no/unset, or header lines.
 */
export type FieldKind = 'text' | 'url' | 'number' | 'textarea' | 'check' | 'select' | 'tristate' | 'headers';

/** One input of the service form. */
export interface SettingField {
	key: string;
	label: string;
	kind: FieldKind;
	hint: string;
	placeholder?: string;
	/** The values of a select. */
	options?: readonly string[];
	/** The labels of a tristate select: unset, true, false. */
	choices?: readonly [string, string, string];
	required: boolean;
	min?: number;
	max?: number;
	/** What the input shows when the setting is absent. */
	fallback: FormValue;
	/** Changing it sends the service's secrets elsewhere. */
	destination: boolean;
	/** The description's type and default, for destinations. */
	type: ProtocolField['type'];
	default: unknown;
}

/** A form value: checkboxes are booleans, everything else the input's text. */
export type FormValue = string | boolean;
export type FormValues = Record<string, FormValue>;

/** What a protocol's description cannot say; every part optional. */
interface Override {
	/** Changes to the inputs of some settings, by key. */
	fields?: Record<string, Partial<Pick<SettingField, 'kind' | 'placeholder' | 'choices' | 'hint'>>>;
	/** Settings a saved service always states, as the API stores them. */
	stated?: readonly string[];
	/** Error names the API uses for settings without `settings.` in front. */
	shorthands?: readonly string[];
	/** Where a service sends to, in one line for lists. */
	endpoint?: (s: (key: string) => string) => string;
}

const DYNDNS2_SWITCHES = ['username_is_fqdn', 'combined', 'use_myipv6'] as const;

/** Only for what descriptions cannot express; a protocol missing here is shown from its description alone. */
const OVERRIDES: Partial<Record<Protocol, Override>> = {
	dyndns2: { stated: DYNDNS2_SWITCHES, shorthands: ['url', ...DYNDNS2_SWITCHES] },
	rfc2136: {
		fields: { server: { placeholder: 'ns1.example.net:53' } },
		endpoint: (s) => [s('server'), s('zone') && `zone ${s('zone')}`].filter(Boolean).join(', ')
	},
	http: {
		fields: {
			url: { placeholder: 'https://dyn.example.net/update?host={fqdn}&ip={ip}' },
			headers: { placeholder: 'Authorization: Token {password}', hint: 'One per line, as Name: value; values may use placeholders.' },
			body: { kind: 'textarea' }
		}
	},
	cloudflare: {
		fields: { proxied: { choices: ["Keep each record's setting (new ones: DNS only)", 'Proxied through Cloudflare', 'DNS only'] } },
		endpoint: (s) => (s('zone') ? `zone ${s('zone')}` : s('zone_id') ? `zone id ${s('zone_id')}` : "zone from each record's name")
	}
};

/** The words of a yes/no setting whose absence means something of its own. */
const TRISTATE: readonly [string, string, string] = ['Not set', 'Yes', 'No'];

/** The description of a protocol, or an empty one (no settings) for a name the list lacks. */
export function describe(protocols: readonly ProtocolDescription[], protocol: Protocol): ProtocolDescription {
	return (
		protocols.find((p) => p.protocol === protocol) ?? {
			protocol: protocol as ProtocolDescription['protocol'],
			title: protocol,
			summary: '',
			settings: [],
			families: [],
			together: 'never',
			rrsets: false,
			docs_url: ''
		}
	);
}

/** The service's own secret, or null when the protocol has none. */
export function credentialOf(d: ProtocolDescription): Prompt | null {
	return d.credential ?? null;
}

function kindOf(f: ProtocolField): FieldKind {
	switch (f.type) {
		case 'boolean':
			// No default: absent says something of its own (keep what the provider has).
			return f.default === null || f.default === undefined ? 'tristate' : 'check';
		case 'integer':
			return 'number';
		case 'url':
			return 'url';
		case 'choice':
			return 'select';
		case 'headers':
			return 'headers';
		default:
			return 'text';
	}
}

function fallbackOf(f: ProtocolField, kind: FieldKind): FormValue {
	if (kind === 'check') return f.default === true;
	if (kind === 'select') return typeof f.default === 'string' ? f.default : (f.choices?.[0] ?? '');
	return '';
}

/** The settings inputs of a protocol, in form order. */
export function fieldsOf(d: ProtocolDescription): SettingField[] {
	const over = OVERRIDES[d.protocol]?.fields ?? {};
	return d.settings.map((f) => {
		const kind = kindOf(f);
		const shown = f.default === null || f.default === undefined || typeof f.default === 'object' ? undefined : String(f.default);
		const field: SettingField = {
			key: f.key,
			label: f.label || f.key,
			kind,
			hint: f.help,
			placeholder: kind === 'check' || kind === 'select' ? undefined : shown,
			options: f.choices,
			choices: kind === 'tristate' ? TRISTATE : undefined,
			required: f.required,
			min: f.min,
			max: f.max,
			fallback: fallbackOf(f, kind),
			destination: f.destination,
			type: f.type,
			default: f.default
		};
		return { ...field, ...over[f.key] };
	});
}

/** The form field name of a setting, as FormState knows it. */
export const settingField = (key: string) => `settings.${key}`;

/** The form fields a service form of this protocol shows an error next to. */
export function serviceFormFields(d: ProtocolDescription, withCredential: boolean): string[] {
	return ['name', 'protocol', ...d.settings.map((f) => settingField(f.key)), ...(withCredential ? ['credential'] : [])];
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
export function fromSettings(d: ProtocolDescription, settings: Settings | null | undefined): FormValues {
	const s = settings ?? {};
	const out: FormValues = {};
	for (const f of fieldsOf(d)) {
		const v = s[f.key];
		switch (f.kind) {
			case 'check':
				out[f.key] = v === undefined || v === null ? f.fallback : v === true;
				break;
			case 'tristate':
				out[f.key] = v === true ? 'true' : v === false ? 'false' : '';
				break;
			case 'headers':
				out[f.key] = headerLines(v);
				break;
			default:
				out[f.key] = v === undefined || v === null ? f.fallback : typeof v === 'object' ? JSON.stringify(v) : String(v);
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
export function toSettings(d: ProtocolDescription, values: FormValues, base: Settings = {}): Settings {
	const out: Settings = { ...base };
	for (const f of fieldsOf(d)) {
		const v = toValue(f, values[f.key]);
		const isDefault = v === undefined || ((f.kind === 'check' || f.kind === 'select') && v === f.fallback);
		if (isDefault && !(f.key in base)) continue;
		if (v === undefined) delete out[f.key];
		else if (!sameJSON(base[f.key], v)) out[f.key] = v;
	}
	for (const k of OVERRIDES[d.protocol]?.stated ?? []) out[k] ??= false;
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

/**
 * The form field that shows an API error about `field`: `settings.<key>`
 * (and a protocol's shorthands such as dyndns2's `url`) go to that
 * setting's input, an error inside a setting (`settings.headers.X-Foo`) to
 * the setting with the inner name in front of the message. Anything else
 * keeps its name.
 */
export function mapServiceError(d: ProtocolDescription, field: string, message: string): { field: string; message: string } {
	const keys = d.settings.map((f) => f.key);
	if (OVERRIDES[d.protocol]?.shorthands?.includes(field)) return { field: settingField(field), message };
	const m = /^settings\.([^.]+)(?:\.(.+))?$/.exec(field);
	if (!m || !keys.includes(m[1]!)) return { field, message };
	return { field: settingField(m[1]!), message: m[2] ? `${m[2]}: ${message}` : message };
}

const text = (settings: Settings) => (k: string) => (typeof settings[k] === 'string' ? (settings[k] as string).trim() : '');

/** One line that says where a service sends its updates, for lists: its destination settings, or what the protocol says. */
export function endpointOf(d: ProtocolDescription, settings: Settings): string {
	const s = text(settings);
	const own = OVERRIDES[d.protocol]?.endpoint;
	if (own) return own(s);
	return d.settings
		.filter((f) => f.destination)
		.map((f) => s(f.key))
		.filter(Boolean)
		.join(', ');
}

/** What each record of a preset's service needs, as sentences. */
export function presetNeeds(p: Preset): string[] {
	const out: string[] = [];
	if (p.record_username) out.push(`Each record's user name: ${p.record_username.label}. ${p.record_username.help}`);
	if (p.record_password) out.push(`Each record's password: ${p.record_password.label}. ${p.record_password.help}`);
	if (p.credential) out.push(`This service's credential: ${p.credential.label}. ${p.credential.help}`);
	return out;
}

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
 * API decides it (api/provider/destination.go): the settings the
 * description marks `destination`, a URL by its origin, a DNS server as
 * dns://host:port, an empty one by its default. A stored secret only goes
 * where it was entered, so a change of these asks for it again.
 */
export function destinationsOf(d: ProtocolDescription, settings: Settings): string[] {
	const s = text(settings);
	const out: string[] = [];
	for (const f of d.settings) {
		if (!f.destination) continue;
		const raw = s(f.key) || (typeof f.default === 'string' ? f.default : '');
		if (!raw) continue;
		if (f.type === 'host_port') out.push(`dns://${raw.toLowerCase()}`);
		else if (f.type === 'url' || f.type === 'template') out.push(originOf(raw));
		else out.push(raw);
	}
	return [...new Set(out)].sort();
}

/** Whether the settings send secrets somewhere else than before. */
export function destinationChanged(d: ProtocolDescription, before: Settings, after: Settings): boolean {
	return !sameJSON(destinationsOf(d, before), destinationsOf(d, after));
}
