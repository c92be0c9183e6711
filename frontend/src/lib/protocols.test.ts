import { describe, expect, it } from 'vitest';
import {
	CREDENTIALS,
	destinationChanged,
	destinationsOf,
	endpointOf,
	fieldsOf,
	fromSettings,
	mapServiceError,
	parseHeaders,
	presetNeeds,
	protocolNames,
	sameSettings,
	serviceFormFields,
	toSettings,
	type Preset
} from './protocols';

const keys = (p: Parameters<typeof fieldsOf>[0]) => fieldsOf(p).map((f) => f.key);

describe('protocol fields', () => {
	it('offers the four protocols of the API', () => {
		expect(protocolNames).toEqual(['dyndns2', 'rfc2136', 'http', 'cloudflare']);
	});

	it('shows each protocol its own settings', () => {
		const drift = ['drift_resolver', 'drift_interval'];
		expect(keys('dyndns2')).toEqual(['url', 'username_is_fqdn', 'combined', 'use_myipv6', ...drift]);
		expect(keys('rfc2136')).toEqual(['server', 'zone', 'key_name', 'algorithm', 'ttl', 'tcp', ...drift]);
		expect(keys('http')).toEqual(['method', 'url', 'url_ipv6', 'headers', 'body', 'basic_auth', 'success_status', 'success_regexp', ...drift]);
		expect(keys('cloudflare')).toEqual(['zone', 'zone_id', 'ttl', 'proxied', 'api_url', ...drift]);
	});

	it('asks for a credential only where the service has one', () => {
		expect(CREDENTIALS.dyndns2).toBeNull();
		expect(CREDENTIALS.http).toBeNull();
		expect(CREDENTIALS.rfc2136?.label).toBe('TSIG secret');
		expect(CREDENTIALS.cloudflare?.label).toBe('API token');
	});

	it('knows every field an error can be shown next to', () => {
		expect(serviceFormFields('rfc2136', true)).toEqual([
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
		expect(serviceFormFields('http', false)).not.toContain('credential');
	});
});

describe('settings ↔ form values', () => {
	it('reads dyndns2 settings into inputs and back', () => {
		const settings = { url: 'https://dyn.dns.he.net/nic/update', username_is_fqdn: true, combined: false, use_myipv6: false };
		const values = fromSettings('dyndns2', settings);
		expect(values).toEqual({
			url: 'https://dyn.dns.he.net/nic/update',
			username_is_fqdn: true,
			combined: false,
			use_myipv6: false,
			drift_resolver: '',
			drift_interval: ''
		});
		expect(toSettings('dyndns2', values, settings)).toEqual(settings);
	});

	it('always states the dyndns2 switches', () => {
		expect(toSettings('dyndns2', { url: ' https://x.example/nic/update ', combined: true })).toEqual({
			url: 'https://x.example/nic/update',
			username_is_fqdn: false,
			combined: true,
			use_myipv6: false
		});
	});

	it('turns http headers into lines and back', () => {
		const settings = { method: 'GET', url: 'https://u.example/?h={fqdn}&ip={ip}', headers: { Authorization: 'Token {password}', 'X-A': 'b: c' } };
		const values = fromSettings('http', settings);
		expect(values.headers).toBe('Authorization: Token {password}\nX-A: b: c');
		expect(values.method).toBe('GET');
		expect(values.basic_auth).toBe(false);
		expect(sameSettings(toSettings('http', values, settings), settings)).toBe(true);
		expect(parseHeaders('  \nAccept: text/plain\r\nX-Empty\n')).toEqual({ Accept: 'text/plain', 'X-Empty': '' });
	});

	it('leaves out what the form only shows as a default', () => {
		const values = fromSettings('rfc2136', {});
		expect(values.algorithm).toBe('hmac-sha256');
		expect(values.tcp).toBe(false);
		expect(toSettings('rfc2136', { ...values, server: 'ns1.example.net:53', key_name: 'ddns' })).toEqual({
			server: 'ns1.example.net:53',
			key_name: 'ddns'
		});
	});

	it('sends numbers as numbers, and anything else as typed for the API to judge', () => {
		const values = fromSettings('rfc2136', { server: 'ns:53', key_name: 'k', ttl: 300 });
		expect(values.ttl).toBe('300');
		expect(toSettings('rfc2136', values).ttl).toBe(300);
		expect(toSettings('rfc2136', { ...values, ttl: 'soon' }).ttl).toBe('soon');
		expect(toSettings('rfc2136', { ...values, ttl: '' })).not.toHaveProperty('ttl');
	});

	it('keeps cloudflare proxied unset, true or false', () => {
		expect(fromSettings('cloudflare', {}).proxied).toBe('');
		expect(fromSettings('cloudflare', { proxied: false }).proxied).toBe('false');
		expect(toSettings('cloudflare', { proxied: 'true' })).toEqual({ proxied: true });
		const stored = { proxied: false, ttl: 1 };
		expect(toSettings('cloudflare', { ...fromSettings('cloudflare', stored), proxied: '' }, stored)).toEqual({ ttl: 1 });
	});

	it('removes a cleared setting and keeps keys the form does not know', () => {
		const stored = { zone: 'example.com', ttl: 1, future: 'x' };
		const values = { ...fromSettings('cloudflare', stored), zone: '' };
		expect(toSettings('cloudflare', values, stored)).toEqual({ ttl: 1, future: 'x' });
	});
});

describe('drift check', () => {
	it('is off until a resolver is typed, for every protocol', () => {
		for (const p of ['dyndns2', 'rfc2136', 'http', 'cloudflare'] as const) {
			const base = p === 'dyndns2' ? { url: 'https://x.example/', username_is_fqdn: false, combined: false, use_myipv6: false } : {};
			const values = fromSettings(p, base);
			expect(values.drift_resolver).toBe('');
			expect(toSettings(p, values, base)).toEqual(base);
			const on = toSettings(p, { ...values, drift_resolver: ' 9.9.9.9:53 ', drift_interval: '15m' }, base);
			expect(on.drift_resolver).toBe('9.9.9.9:53');
			expect(on.drift_interval).toBe('15m');
		}
	});

	it('reads the stored drift settings and clears them', () => {
		const stored = { server: 'ns1.example.net:53', key_name: 'k', drift_resolver: '127.0.0.1:53', drift_interval: '30m' };
		const values = fromSettings('rfc2136', stored);
		expect(values.drift_resolver).toBe('127.0.0.1:53');
		expect(values.drift_interval).toBe('30m');
		expect(toSettings('rfc2136', values, stored)).toEqual(stored);
		expect(toSettings('rfc2136', { ...values, drift_resolver: '', drift_interval: '' }, stored)).toEqual({ server: 'ns1.example.net:53', key_name: 'k' });
	});

	it("shows the API's drift errors next to their inputs", () => {
		expect(mapServiceError('cloudflare', 'settings.drift_resolver', 'must be host:port')).toEqual({
			field: 'settings.drift_resolver',
			message: 'must be host:port'
		});
		expect(mapServiceError('dyndns2', 'settings.drift_interval', 'must be between 1m and 24h').field).toBe('settings.drift_interval');
	});
});

describe('API errors → inputs', () => {
	it('puts settings.<key> next to that setting', () => {
		expect(mapServiceError('rfc2136', 'settings.key_name', 'is required')).toEqual({ field: 'settings.key_name', message: 'is required' });
		expect(mapServiceError('http', 'settings.url', 'must be absolute')).toEqual({ field: 'settings.url', message: 'must be absolute' });
	});

	it('puts an error inside a setting next to it, naming the part', () => {
		expect(mapServiceError('http', 'settings.headers.X-Bad Name', 'is not a valid header name')).toEqual({
			field: 'settings.headers',
			message: 'X-Bad Name: is not a valid header name'
		});
	});

	it('maps the dyndns2 shorthands to their settings', () => {
		expect(mapServiceError('dyndns2', 'url', 'is not a URL')).toEqual({ field: 'settings.url', message: 'is not a URL' });
		expect(mapServiceError('http', 'url', 'is a dyndns2 setting')).toEqual({ field: 'url', message: 'is a dyndns2 setting' });
	});

	it('keeps credential, name and unknown settings as they are', () => {
		expect(mapServiceError('cloudflare', 'credential', 'is required: the API token')).toEqual({ field: 'credential', message: 'is required: the API token' });
		expect(mapServiceError('cloudflare', 'name', 'is taken').field).toBe('name');
		expect(mapServiceError('cloudflare', 'settings.server', 'is not a setting of this protocol').field).toBe('settings.server');
		expect(mapServiceError('dyndns2', 'settings', 'must be a JSON object').field).toBe('settings');
	});
});

describe('summaries', () => {
	it('says where a service sends to', () => {
		expect(endpointOf('dyndns2', { url: 'https://a.example/nic/update' })).toBe('https://a.example/nic/update');
		expect(endpointOf('rfc2136', { server: 'ns1:53', zone: 'example.net' })).toBe('ns1:53, zone example.net');
		expect(endpointOf('cloudflare', {})).toBe("zone from each record's name");
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
		expect(destinationsOf('dyndns2', { url: 'https://Dyn.DNS.he.net/nic/update' })).toEqual(['https://dyn.dns.he.net:443']);
		expect(destinationsOf('http', { url: 'https://www.duckdns.org/u?t={password}', url_ipv6: 'http://v6.example:8080/u' })).toEqual([
			'http://v6.example:8080',
			'https://www.duckdns.org:443'
		]);
		expect(destinationsOf('cloudflare', {})).toEqual(['https://api.cloudflare.com:443']);
		expect(destinationsOf('rfc2136', { server: 'NS1.example.net:53' })).toEqual(['dns://ns1.example.net:53']);
	});

	it('change with the host, the port or the scheme, not the path', () => {
		const he = { url: 'https://dyn.dns.he.net/nic/update' };
		expect(destinationChanged('dyndns2', he, { url: 'https://dyn.dns.he.net:443/other?x=1' })).toBe(false);
		expect(destinationChanged('dyndns2', he, { url: 'https://evil.example/nic/update' })).toBe(true);
		expect(destinationChanged('dyndns2', he, { url: 'http://dyn.dns.he.net/nic/update' })).toBe(true);
		expect(destinationChanged('dyndns2', he, { url: 'https://dyn.dns.he.net:8443/nic/update' })).toBe(true);
		expect(destinationChanged('cloudflare', { zone: 'a.example' }, { zone: 'b.example' })).toBe(false);
		expect(destinationChanged('cloudflare', {}, { api_url: 'https://proxy.example/client/v4' })).toBe(true);
		expect(destinationChanged('rfc2136', { server: 'ns1:53' }, { server: 'ns2:53' })).toBe(true);
	});
});
