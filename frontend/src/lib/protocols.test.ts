import { describe, expect, it } from 'vitest';
import { PROTOCOLS } from './protocols.fixture';
import {
	credentialOf,
	describe as describeProtocol,
	destinationChanged,
	destinationsOf,
	endpointOf,
	fieldsOf,
	fromSettings,
	mapServiceError,
	parseHeaders,
	presetNeeds,
	sameSettings,
	serviceFormFields,
	toSettings,
	type Preset,
	type ProtocolDescription
} from './protocols';

/** The server's description of a protocol, by name. */
const d = (name: string) => describeProtocol(PROTOCOLS, name);
const keys = (name: string) => fieldsOf(d(name)).map((f) => f.key);

/**
 * A protocol this frontend has never heard of, described as a native API
 * provider would be: every field type the form renders generically.
 */
const NOVEL: ProtocolDescription = {
	protocol: 'exampledns' as ProtocolDescription['protocol'],
	title: 'ExampleDNS (REST API)',
	summary: 'Creates or updates the record through the ExampleDNS API.',
	settings: [
		{ key: 'zone', type: 'string', label: 'Zone', help: 'The zone the record is in.', default: null, required: true, destination: false },
		{ key: 'ttl', type: 'integer', label: 'TTL', help: 'Seconds.', default: 300, required: false, min: 60, max: 86400, destination: false },
		{ key: 'mode', type: 'choice', label: 'Mode', help: 'What happens to other addresses.', default: 'replace', choices: ['keep_others', 'replace'], required: false, destination: false },
		{ key: 'comment', type: 'boolean', label: 'Mark as managed', help: 'Adds a comment to records it creates.', default: true, required: false, destination: false },
		{ key: 'proxy', type: 'boolean', label: 'Proxy', help: 'Absent: the record keeps its flag.', default: null, required: false, destination: false },
		{ key: 'api_url', type: 'url', label: 'API URL', help: 'For tests.', default: 'https://api.example.net/v1', required: false, destination: true },
		{ key: 'drift_resolver', type: 'host_port', label: 'Drift check resolver', help: '', default: null, required: false, destination: false }
	],
	credential: { label: 'API key', help: 'From the account page.' },
	families: [4, 6],
	together: 'never',
	rrsets: true,
	docs_url: 'https://docs.example.net/api'
};

describe('a protocol the web app was not written for', () => {
	it('renders every described setting with its label, help, default, bounds and kind', () => {
		const fields = fieldsOf(NOVEL);
		expect(fields.map((f) => [f.key, f.kind, f.label])).toEqual([
			['zone', 'text', 'Zone'],
			['ttl', 'number', 'TTL'],
			['mode', 'select', 'Mode'],
			['comment', 'check', 'Mark as managed'],
			['proxy', 'tristate', 'Proxy'],
			['api_url', 'url', 'API URL'],
			['drift_resolver', 'text', 'Drift check resolver']
		]);
		const [zone, ttl, mode, comment] = fields;
		expect(zone).toMatchObject({ required: true, hint: 'The zone the record is in.' });
		expect(ttl).toMatchObject({ min: 60, max: 86400, placeholder: '300', required: false });
		expect(mode).toMatchObject({ options: ['keep_others', 'replace'], fallback: 'replace' });
		expect(comment?.fallback).toBe(true);
		expect(credentialOf(NOVEL)).toEqual({ label: 'API key', help: 'From the account page.' });
		expect(serviceFormFields(NOVEL, true)).toEqual([
			'name',
			'protocol',
			'settings.zone',
			'settings.ttl',
			'settings.mode',
			'settings.comment',
			'settings.proxy',
			'settings.api_url',
			'settings.drift_resolver',
			'credential'
		]);
	});

	it('goes description → form → settings → form and back unchanged', () => {
		const empty = fromSettings(NOVEL, {});
		expect(empty).toEqual({ zone: '', ttl: '', mode: 'replace', comment: true, proxy: '', api_url: '', drift_resolver: '' });
		// Only what was typed: the defaults the form shows are no settings.
		const typed = toSettings(NOVEL, { ...empty, zone: ' example.com ' });
		expect(typed).toEqual({ zone: 'example.com' });

		const stored = { zone: 'example.com', ttl: 600, mode: 'keep_others', comment: false, proxy: true, api_url: 'http://127.0.0.1:8080/v1' };
		const values = fromSettings(NOVEL, stored);
		expect(values).toEqual({ zone: 'example.com', ttl: '600', mode: 'keep_others', comment: false, proxy: 'true', api_url: 'http://127.0.0.1:8080/v1', drift_resolver: '' });
		expect(toSettings(NOVEL, values, stored)).toEqual(stored);
		expect(fromSettings(NOVEL, toSettings(NOVEL, values))).toEqual(values);

		// Every edit lands in the setting of its type.
		const edited = toSettings(NOVEL, { ...values, ttl: '120', mode: 'replace', comment: true, proxy: '', api_url: '' }, stored);
		expect(edited).toEqual({ zone: 'example.com', ttl: 120, mode: 'replace', comment: true });
	});

	it('shows settings.<key> errors next to their inputs, and knows where its secrets go', () => {
		expect(mapServiceError(NOVEL, 'settings.zone', 'is required')).toEqual({ field: 'settings.zone', message: 'is required' });
		expect(mapServiceError(NOVEL, 'settings.nope', 'is not a setting').field).toBe('settings.nope');
		expect(destinationsOf(NOVEL, {})).toEqual(['https://api.example.net:443']);
		expect(destinationChanged(NOVEL, {}, { zone: 'other.example' })).toBe(false);
		expect(destinationChanged(NOVEL, {}, { api_url: 'http://127.0.0.1:8080/v1' })).toBe(true);
		expect(endpointOf(NOVEL, { api_url: 'http://127.0.0.1:8080/v1' })).toBe('http://127.0.0.1:8080/v1');
	});

	it('is shown by its name with no settings when the list lacks it', () => {
		const unknown = describeProtocol(PROTOCOLS, 'gone');
		expect(unknown.title).toBe('gone');
		expect(fieldsOf(unknown)).toEqual([]);
	});
});

describe('protocol fields', () => {
	it('shows each protocol its own settings', () => {
		const drift = ['drift_resolver', 'drift_interval'];
		expect(keys('dyndns2')).toEqual(['url', 'username_is_fqdn', 'combined', 'use_myipv6', 'max_hostnames', ...drift]);
		expect(keys('rfc2136')).toEqual(['server', 'zone', 'key_name', 'algorithm', 'ttl', 'tcp', ...drift]);
		expect(keys('http')).toEqual(['method', 'url', 'url_ipv6', 'headers', 'body', 'basic_auth', 'success_status', 'success_regexp', ...drift]);
		expect(keys('cloudflare')).toEqual(['zone', 'zone_id', 'ttl', 'proxied', 'api_url', ...drift]);
	});

	it('asks for a credential only where the service has one', () => {
		expect(credentialOf(d('dyndns2'))).toBeNull();
		expect(credentialOf(d('http'))).toBeNull();
		expect(credentialOf(d('rfc2136'))?.label).toBe('TSIG secret (base64)');
		expect(credentialOf(d('cloudflare'))?.label).toBe('API token');
	});

	it('knows every field an error can be shown next to', () => {
		expect(serviceFormFields(d('rfc2136'), true)).toEqual([
			'name',
			'protocol',
			'settings.server',
			'settings.zone',
			'settings.key_name',
			'settings.algorithm',
			'settings.ttl',
			'settings.tcp',
			'settings.drift_resolver',
			'settings.drift_interval',
			'credential'
		]);
		expect(serviceFormFields(d('http'), false)).not.toContain('credential');
	});
});

describe('settings ↔ form values', () => {
	it('reads dyndns2 settings into inputs and back', () => {
		const settings = { url: 'https://dyn.dns.he.net/nic/update', username_is_fqdn: true, combined: false, use_myipv6: false };
		const values = fromSettings(d('dyndns2'), settings);
		expect(values).toEqual({
			url: 'https://dyn.dns.he.net/nic/update',
			username_is_fqdn: true,
			combined: false,
			use_myipv6: false,
			max_hostnames: '',
			drift_resolver: '',
			drift_interval: ''
		});
		expect(toSettings(d('dyndns2'), values, settings)).toEqual(settings);
	});

	it('always states the dyndns2 switches', () => {
		expect(toSettings(d('dyndns2'), { url: ' https://x.example/nic/update ', combined: true })).toEqual({
			url: 'https://x.example/nic/update',
			username_is_fqdn: false,
			combined: true,
			use_myipv6: false
		});
	});

	it('turns http headers into lines and back', () => {
		const settings = { method: 'GET', url: 'https://u.example/?h={fqdn}&ip={ip}', headers: { Authorization: 'Token {password}', 'X-A': 'b: c' } };
		const values = fromSettings(d('http'), settings);
		expect(values.headers).toBe('Authorization: Token {password}\nX-A: b: c');
		expect(values.method).toBe('GET');
		expect(values.basic_auth).toBe(false);
		expect(sameSettings(toSettings(d('http'), values, settings), settings)).toBe(true);
		expect(parseHeaders('  \nAccept: text/plain\r\nX-Empty\n')).toEqual({ Accept: 'text/plain', 'X-Empty': '' });
	});

	it('leaves out what the form only shows as a default', () => {
		const values = fromSettings(d('rfc2136'), {});
		expect(values.algorithm).toBe('hmac-sha256');
		expect(values.tcp).toBe(false);
		expect(toSettings(d('rfc2136'), { ...values, server: 'ns1.example.net:53', key_name: 'ddns' })).toEqual({
			server: 'ns1.example.net:53',
			key_name: 'ddns'
		});
	});

	it('sends numbers as numbers, and anything else as typed for the API to judge', () => {
		const values = fromSettings(d('rfc2136'), { server: 'ns:53', key_name: 'k', ttl: 300 });
		expect(values.ttl).toBe('300');
		expect(toSettings(d('rfc2136'), values).ttl).toBe(300);
		expect(toSettings(d('rfc2136'), { ...values, ttl: 'soon' }).ttl).toBe('soon');
		expect(toSettings(d('rfc2136'), { ...values, ttl: '' })).not.toHaveProperty('ttl');
	});

	it('keeps cloudflare proxied unset, true or false', () => {
		expect(fromSettings(d('cloudflare'), {}).proxied).toBe('');
		expect(fromSettings(d('cloudflare'), { proxied: false }).proxied).toBe('false');
		expect(toSettings(d('cloudflare'), { proxied: 'true' })).toEqual({ proxied: true });
		const stored = { proxied: false, ttl: 1 };
		expect(toSettings(d('cloudflare'), { ...fromSettings(d('cloudflare'), stored), proxied: '' }, stored)).toEqual({ ttl: 1 });
	});

	it('removes a cleared setting and keeps keys the form does not know', () => {
		const stored = { zone: 'example.com', ttl: 1, future: 'x' };
		const values = { ...fromSettings(d('cloudflare'), stored), zone: '' };
		expect(toSettings(d('cloudflare'), values, stored)).toEqual({ ttl: 1, future: 'x' });
	});
});

describe('drift check', () => {
	it('is off until a resolver is typed, for every protocol', () => {
		for (const p of ['dyndns2', 'rfc2136', 'http', 'cloudflare'] as const) {
			const base = p === 'dyndns2' ? { url: 'https://x.example/', username_is_fqdn: false, combined: false, use_myipv6: false } : {};
			const values = fromSettings(d(p), base);
			expect(values.drift_resolver).toBe('');
			expect(toSettings(d(p), values, base)).toEqual(base);
			const on = toSettings(d(p), { ...values, drift_resolver: ' 9.9.9.9:53 ', drift_interval: '15m' }, base);
			expect(on.drift_resolver).toBe('9.9.9.9:53');
			expect(on.drift_interval).toBe('15m');
		}
	});

	it('reads the stored drift settings and clears them', () => {
		const stored = { server: 'ns1.example.net:53', key_name: 'k', drift_resolver: '127.0.0.1:53', drift_interval: '30m' };
		const values = fromSettings(d('rfc2136'), stored);
		expect(values.drift_resolver).toBe('127.0.0.1:53');
		expect(values.drift_interval).toBe('30m');
		expect(toSettings(d('rfc2136'), values, stored)).toEqual(stored);
		expect(toSettings(d('rfc2136'), { ...values, drift_resolver: '', drift_interval: '' }, stored)).toEqual({ server: 'ns1.example.net:53', key_name: 'k' });
	});

	it("shows the API's drift errors next to their inputs", () => {
		expect(mapServiceError(d('cloudflare'), 'settings.drift_resolver', 'must be host:port')).toEqual({
			field: 'settings.drift_resolver',
			message: 'must be host:port'
		});
		expect(mapServiceError(d('dyndns2'), 'settings.drift_interval', 'must be between 1m and 24h').field).toBe('settings.drift_interval');
	});
});

describe('API errors → inputs', () => {
	it('puts settings.<key> next to that setting', () => {
		expect(mapServiceError(d('rfc2136'), 'settings.key_name', 'is required')).toEqual({ field: 'settings.key_name', message: 'is required' });
		expect(mapServiceError(d('http'), 'settings.url', 'must be absolute')).toEqual({ field: 'settings.url', message: 'must be absolute' });
	});

	it('puts an error inside a setting next to it, naming the part', () => {
		expect(mapServiceError(d('http'), 'settings.headers.X-Bad Name', 'is not a valid header name')).toEqual({
			field: 'settings.headers',
			message: 'X-Bad Name: is not a valid header name'
		});
	});

	it('maps the dyndns2 shorthands to their settings', () => {
		expect(mapServiceError(d('dyndns2'), 'url', 'is not a URL')).toEqual({ field: 'settings.url', message: 'is not a URL' });
		expect(mapServiceError(d('http'), 'url', 'is a dyndns2 setting')).toEqual({ field: 'url', message: 'is a dyndns2 setting' });
	});

	it('keeps credential, name and unknown settings as they are', () => {
		expect(mapServiceError(d('cloudflare'), 'credential', 'is required: the API token')).toEqual({ field: 'credential', message: 'is required: the API token' });
		expect(mapServiceError(d('cloudflare'), 'name', 'is taken').field).toBe('name');
		expect(mapServiceError(d('cloudflare'), 'settings.server', 'is not a setting of this protocol').field).toBe('settings.server');
		expect(mapServiceError(d('dyndns2'), 'settings', 'must be a JSON object').field).toBe('settings');
	});
});

describe('summaries', () => {
	it('says where a service sends to', () => {
		expect(endpointOf(d('dyndns2'), { url: 'https://a.example/nic/update' })).toBe('https://a.example/nic/update');
		expect(endpointOf(d('rfc2136'), { server: 'ns1:53', zone: 'example.net' })).toBe('ns1:53, zone example.net');
		expect(endpointOf(d('cloudflare'), {})).toBe("zone from each record's name");
	});

	it("says what a preset's records and service need", () => {
		const p = {
			record_password: { label: 'DDNS key', help: 'The key of this record.' },
			credential: { label: 'API token', help: 'Scoped.' }
		} as Preset;
		expect(presetNeeds(p)).toEqual(["Each record's password: DDNS key. The key of this record.", "This service's credential: API token. Scoped."]);
	});
});

describe('destinations', () => {
	it('are scheme, host and port, as the API compares them', () => {
		expect(destinationsOf(d('dyndns2'), { url: 'https://Dyn.DNS.he.net/nic/update' })).toEqual(['https://dyn.dns.he.net:443']);
		expect(destinationsOf(d('http'), { url: 'https://www.duckdns.org/u?t={password}', url_ipv6: 'http://v6.example:8080/u' })).toEqual([
			'http://v6.example:8080',
			'https://www.duckdns.org:443'
		]);
		expect(destinationsOf(d('cloudflare'), {})).toEqual(['https://api.cloudflare.com:443']);
		expect(destinationsOf(d('rfc2136'), { server: 'NS1.example.net:53' })).toEqual(['dns://ns1.example.net:53']);
	});

	it('change with the host, the port or the scheme, not the path', () => {
		const he = { url: 'https://dyn.dns.he.net/nic/update' };
		expect(destinationChanged(d('dyndns2'), he, { url: 'https://dyn.dns.he.net:443/other?x=1' })).toBe(false);
		expect(destinationChanged(d('dyndns2'), he, { url: 'https://evil.example/nic/update' })).toBe(true);
		expect(destinationChanged(d('dyndns2'), he, { url: 'http://dyn.dns.he.net/nic/update' })).toBe(true);
		expect(destinationChanged(d('dyndns2'), he, { url: 'https://dyn.dns.he.net:8443/nic/update' })).toBe(true);
		expect(destinationChanged(d('cloudflare'), { zone: 'a.example' }, { zone: 'b.example' })).toBe(false);
		expect(destinationChanged(d('cloudflare'), {}, { api_url: 'https://proxy.example/client/v4' })).toBe(true);
		expect(destinationChanged(d('rfc2136'), { server: 'ns1:53' }, { server: 'ns2:53' })).toBe(true);
	});
});
