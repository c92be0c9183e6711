import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Service } from '$lib/api/client';
import { ApiError } from '$lib/api/problem';
import type { Preset, ProtocolDescription } from '$lib/protocols';
import { PROTOCOLS } from '$lib/protocols.fixture';
import ServiceForm from './ServiceForm.svelte';

const presets = [
	{
		id: 'he.net',
		name: 'Hurricane Electric (dns.he.net)',
		protocol: 'dyndns2',
		settings: { url: 'https://dyn.dns.he.net/nic/update', username_is_fqdn: true },
		edit: [],
		record_password: { label: 'DDNS key', help: 'The key generated for this record.' },
		families: [4, 6],
		notes: 'One address family per request.',
		docs_url: 'https://dns.he.net/docs.html'
	},
	{
		id: 'cloudflare',
		name: 'Cloudflare',
		protocol: 'cloudflare',
		settings: { ttl: 1 },
		edit: [],
		credential: { label: 'API token', help: 'A scoped API token.' },
		families: [4, 6],
		notes: '',
		docs_url: ''
	}
] as Preset[];

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
	if (component) unmount(component);
	component = null;
	document.body.innerHTML = '';
});

function render(props: Partial<Parameters<typeof ServiceForm>[1]> = {}) {
	component = mount(ServiceForm, { target: document.body, props: { protocols: PROTOCOLS, presets, ...props } });
	flushSync();
}

const $ = <T extends Element = HTMLInputElement>(sel: string) => document.querySelector<T>(sel)!;
const text = (sel: string) => $(sel).textContent?.trim();
function set(sel: string, value: string) {
	const el = $<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(sel);
	el.value = value;
	el.dispatchEvent(new Event(el instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
	flushSync();
}
const shownSettings = () => [...document.querySelectorAll('fieldset.settings :is(input, select, textarea)')].map((e) => e.id.replace('svc-set-', ''));

/** A protocol added to the server after this form was written. */
const hetznerish: ProtocolDescription = {
	protocol: 'exampledns' as ProtocolDescription['protocol'],
	title: 'ExampleDNS (REST API)',
	summary: 'Creates or updates the record through the ExampleDNS API.',
	settings: [
		{ key: 'zone', type: 'string', label: 'Zone name', help: 'The zone the record is in.', default: null, required: true, destination: false },
		{ key: 'ttl', type: 'integer', label: 'Record TTL', help: 'Seconds.', default: 300, required: false, min: 60, max: 86400, destination: false },
		{ key: 'mode', type: 'choice', label: 'Mode', help: '', default: 'replace', choices: ['keep_others', 'replace'], required: false, destination: false },
		{ key: 'comment', type: 'boolean', label: 'Mark as managed', help: 'Adds a comment.', default: true, required: false, destination: false }
	],
	credential: { label: 'API key', help: 'From the account page.' },
	families: [4, 6],
	together: 'never',
	rrsets: true,
	docs_url: ''
};

describe('ServiceForm', () => {
	it('offers every listed protocol by its title and builds the form of one it has never heard of', async () => {
		const create = vi.fn(async (): Promise<Service> => {
			throw new ApiError(422, 'Invalid service', '', { 'settings.zone': 'no such zone', credential: 'was refused' });
		});
		render({ protocols: [...PROTOCOLS, hetznerish], create });
		const options = [...$<HTMLSelectElement>('#svc-protocol').options].map((o) => o.textContent);
		expect(options).toEqual([...PROTOCOLS.map((p) => p.title), 'ExampleDNS (REST API)']);
		set('#svc-protocol', 'exampledns');
		expect(shownSettings()).toEqual(['zone', 'ttl', 'mode', 'comment']);
		expect(text('label[for=svc-set-zone]')).toBe('Zone name');
		expect($('#svc-set-zone').required).toBe(true);
		expect(text('#svc-set-zone-hint')).toBe('The zone the record is in.');
		expect($('#svc-set-ttl').type).toBe('number');
		expect([$('#svc-set-ttl').min, $('#svc-set-ttl').max, $('#svc-set-ttl').placeholder]).toEqual(['60', '86400', '300']);
		expect($<HTMLSelectElement>('#svc-set-mode').value).toBe('replace');
		expect($('#svc-set-comment').type).toBe('checkbox');
		expect($('#svc-set-comment').checked).toBe(true);
		expect(text('label[for=svc-credential]')).toBe('API key');
		expect(text('#svc-protocol-hint')).toBe('Creates or updates the record through the ExampleDNS API.');

		set('#svc-name', 'example');
		set('#svc-set-zone', 'example.com');
		set('#svc-set-ttl', '600');
		set('#svc-set-mode', 'keep_others');
		set('#svc-credential', 'key');
		$<HTMLFormElement>('form').requestSubmit();
		await vi.waitFor(() => expect(text('#svc-set-zone-error')).toBe('no such zone'));
		expect(text('#svc-credential-error')).toBe('was refused');
		expect(create).toHaveBeenCalledWith({
			name: 'example',
			protocol: 'exampledns',
			settings: { zone: 'example.com', ttl: 600, mode: 'keep_others' },
			credential: 'key'
		});
	});

	it("shows the chosen protocol's fields only, and a credential where it has one", () => {
		render();
		expect(shownSettings()).toEqual(['url', 'username_is_fqdn', 'combined', 'use_myipv6', 'max_hostnames', 'drift_resolver', 'drift_interval']);
		expect(document.querySelector('#svc-credential')).toBeNull();
		set('#svc-protocol', 'rfc2136');
		expect(shownSettings()).toEqual(['server', 'zone', 'key_name', 'algorithm', 'ttl', 'tcp', 'drift_resolver', 'drift_interval']);
		expect(document.querySelector('label[for=svc-credential]')?.textContent).toBe('TSIG secret (base64)');
		expect($('#svc-credential').type).toBe('password');
	});

	it('fills protocol, settings and name from a preset, and says what records need', () => {
		render();
		set('#svc-preset', 'he.net');
		expect($<HTMLSelectElement>('#svc-protocol').value).toBe('dyndns2');
		expect($('#svc-set-url').value).toBe('https://dyn.dns.he.net/nic/update');
		expect($('#svc-set-username_is_fqdn').checked).toBe(true);
		expect($('#svc-name').value).toBe('Hurricane Electric (dns.he.net)');
		expect(text('[data-testid=preset-needs]')).toContain('DDNS key');
		expect($<HTMLAnchorElement>('#svc-preset-info a').href).toBe('https://dns.he.net/docs.html');
		set('#svc-preset', 'cloudflare');
		expect($<HTMLSelectElement>('#svc-protocol').value).toBe('cloudflare');
		expect($('#svc-set-ttl').value).toBe('1');
		expect($('#svc-name').value).toBe('Cloudflare'); // the preset's name followed the preset
	});

	it('sends settings and credential, and puts the errors next to their inputs', async () => {
		const create = vi.fn(async (): Promise<Service> => {
			throw new ApiError(422, 'Invalid service', '', {
				'settings.headers.Bad Name': 'is not a valid header name',
				'settings.url': 'is required',
				credential: 'must be base64'
			});
		});
		render({ create });
		set('#svc-name', 'mine');
		set('#svc-protocol', 'http');
		set('#svc-set-headers', 'Bad Name: x');
		$<HTMLFormElement>('form').requestSubmit();
		await vi.waitFor(() => expect(text('#svc-set-headers-error')).toBe('Bad Name: is not a valid header name'));
		expect(create).toHaveBeenCalledWith({ name: 'mine', protocol: 'http', settings: { headers: { 'Bad Name': 'x' } } });
		expect(text('#svc-set-url-error')).toBe('is required');
		expect($('#svc-set-url').getAttribute('aria-invalid')).toBe('true');
		expect($('#svc-set-url').getAttribute('aria-describedby')).toContain('svc-set-url-error');
		// credential is no http field: its error goes to the message on top
		expect(text('#svc-message')).toContain('credential: must be base64');
	});

	it('sends the drift check and shows its errors next to its inputs', async () => {
		const create = vi.fn(async (): Promise<Service> => {
			throw new ApiError(422, 'Invalid service', '', {
				'settings.drift_resolver': 'must be host:port, e.g. ns1.example.net:53 or [2001:db8::53]:53',
				'settings.drift_interval': 'must be between 1m and 24h'
			});
		});
		render({ create });
		set('#svc-name', 'mine');
		set('#svc-protocol', 'cloudflare');
		set('#svc-set-drift_resolver', '9.9.9.9');
		set('#svc-set-drift_interval', '10s');
		set('#svc-credential', 'token');
		$<HTMLFormElement>('form').requestSubmit();
		await vi.waitFor(() => expect(text('#svc-set-drift_interval-error')).toBe('must be between 1m and 24h'));
		expect(create).toHaveBeenCalledWith({
			name: 'mine',
			protocol: 'cloudflare',
			settings: { drift_resolver: '9.9.9.9', drift_interval: '10s' },
			credential: 'token'
		});
		expect(text('#svc-set-drift_resolver-error')).toContain('must be host:port');
	});

	it('keeps an unchanged credential and settings, and removes the credential on request', async () => {
		const service: Service = {
			id: 3,
			name: 'cf',
			protocol: 'cloudflare',
			settings: { ttl: 1, zone: 'example.com' },
			credential_set: true,
			url: '',
			username_is_fqdn: false,
			combined: false,
			use_myipv6: false,
			record_count: 0,
			host_count: 0,
			owner_id: 1,
			owner: 'admin',
			shared: false,
			created_at: '2025-01-01T00:00:00Z',
			updated_at: '2025-01-01T00:00:00Z'
		};
		const update = vi.fn(async (body: object) => ({ ...service, ...body }) as Service);
		render({ service, update, presets: [] });
		expect(document.querySelector('#svc-preset')).toBeNull();
		expect($<HTMLSelectElement>('#svc-protocol').disabled).toBe(true);
		expect(document.querySelector('label[for=svc-credential]')?.textContent).toBe('New API token');
		$<HTMLFormElement>('form').requestSubmit();
		await vi.waitFor(() => expect(update).toHaveBeenCalledTimes(1));
		expect(update).toHaveBeenLastCalledWith({ name: 'cf' });

		set('#svc-credential', 'new-token');
		$<HTMLFormElement>('form').requestSubmit();
		await vi.waitFor(() => expect(update).toHaveBeenCalledTimes(2));
		expect(update).toHaveBeenLastCalledWith({ name: 'cf', credential: 'new-token' });

		[...document.querySelectorAll('button')].find((b) => b.textContent?.includes('Remove API token'))!.click();
		flushSync();
		expect($('#svc-credential').disabled).toBe(true);
		set('#svc-set-zone', '');
		$<HTMLFormElement>('form').requestSubmit();
		await vi.waitFor(() => expect(update).toHaveBeenCalledTimes(3));
		expect(update).toHaveBeenLastCalledWith({ name: 'cf', settings: { ttl: 1 }, credential: '' });
	});

	it('shows a credential error next to the credential', async () => {
		const create = vi.fn(async (): Promise<Service> => {
			throw new ApiError(422, 'Invalid service', '', { credential: 'is required: the API token' });
		});
		render({ create });
		set('#svc-preset', 'cloudflare');
		$<HTMLFormElement>('form').requestSubmit();
		await vi.waitFor(() => expect(text('#svc-credential-error')).toBe('is required: the API token'));
		expect(document.querySelector('label[for=svc-credential]')?.textContent).toBe('API token');
		expect(create).toHaveBeenCalledWith({ name: 'Cloudflare', protocol: 'cloudflare', settings: { ttl: 1 } });
	});

	it('asks for the credential again and offers to keep the records\' passwords when the destination changes', async () => {
		const service: Service = {
			id: 4,
			name: 'ns1',
			protocol: 'rfc2136',
			settings: { server: 'ns1.example.net:53', key_name: 'k', algorithm: 'hmac-sha256' },
			credential_set: true,
			url: '',
			username_is_fqdn: false,
			combined: false,
			use_myipv6: false,
			record_count: 3,
			host_count: 1,
			owner_id: 1,
			owner: 'admin',
			shared: false,
			created_at: '2025-01-01T00:00:00Z',
			updated_at: '2025-01-01T00:00:00Z'
		};
		const update = vi.fn(async (): Promise<Service> => {
			throw new ApiError(422, 'Invalid service', '', {
				'settings.server': "changes where the service's credential is sent: give the credential again in the same request",
				credential: 'is required again: a stored credential is only sent to the destination it was entered for'
			});
		});
		render({ service, update, presets: [] });
		set('#svc-set-zone', 'example.net');
		expect(document.querySelector('[data-testid=destination-change]')).toBeNull(); // the zone is no destination
		set('#svc-set-server', 'ns2.example.net:53');
		expect(text('[data-testid=destination-change]')).toContain('Type the TSIG secret (base64) again');
		expect(text('[data-testid=destination-change]')).toContain('passwords of its records (3) are removed');
		$<HTMLFormElement>('form').requestSubmit();
		await vi.waitFor(() => expect(text('#svc-credential-error')).toContain('is required again'));
		expect(text('#svc-set-server-error')).toContain('give the credential again');
		expect(update).toHaveBeenLastCalledWith({ name: 'ns1', settings: expect.objectContaining({ server: 'ns2.example.net:53' }) });

		set('#svc-credential', 'bmV3LXNlY3JldA==');
		set('#svc-confirm', 'my-password');
		$<HTMLFormElement>('form').requestSubmit();
		await vi.waitFor(() => expect(update).toHaveBeenCalledTimes(2));
		expect(update).toHaveBeenLastCalledWith(
			expect.objectContaining({ credential: 'bmV3LXNlY3JldA==', current_password: 'my-password' })
		);
		// Back to the old server: nothing to confirm.
		set('#svc-set-server', 'ns1.example.net:53');
		expect(document.querySelector('[data-testid=destination-change]')).toBeNull();
	});
});
