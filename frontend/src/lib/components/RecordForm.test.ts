import { flushSync, mount, unmount } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ApiRecord, Host, RecordPreview, RecordPreviewRequest, Service } from '$lib/api/client';
import { ApiError } from '$lib/api/problem';
import RecordForm from './RecordForm.svelte';

const host = {
	id: 1,
	fqdn: 'home.example.org',
	ipv4: '203.0.113.77',
	ipv6: '2001:db8:1234:5678:abcd::1',
	ipv6_prefix: null
} as Host;
const service = { id: 5, name: 'he.net', username_is_fqdn: true } as Service;

/** A stand-in for the API's arithmetic, enough for /64, /56 and /32. */
function fakePreview(body: RecordPreviewRequest): RecordPreview {
	const v6: Record<number, string> = {
		128: host.ipv6!,
		64: `2001:db8:1234:5678${body.ipv6_host_identifier ?? '::'}`,
		56: '2001:db8:1234:5642::cafe'
	};
	const warnings: RecordPreview['warnings'] =
		body.ipv6_netmask === 100
			? [{ code: 'ipv6_mixed_base', field: 'ipv6_netmask', message: 'Bits 64 to 100 come from the WAN address.' }]
			: [];
	const effective_ipv4 = body.ipv4_enabled === false ? null : body.ipv4_netmask === 24 ? '203.0.113.42' : host.ipv4;
	const effective_ipv6 = body.ipv6_enabled === false ? null : (v6[body.ipv6_netmask ?? 128] ?? null);
	return { effective_ipv4, effective_ipv6, derivation: derivation(effective_ipv4, effective_ipv6), warnings };
}

/** A derivation with just its results, for previews the tests make up. */
function derivation(v4: string | null, v6: string | null): RecordPreview['derivation'] {
	const family = (result: string | null) => ({
		mode: 'derived' as const,
		base: null,
		base_source: '',
		netmask: 0,
		subnet_id: null,
		subnet: null,
		host_identifier: '',
		host_mac: null,
		result,
		reason: result ? '' : 'none'
	});
	return { ipv4: family(v4), ipv6: family(v6) };
}

let component: ReturnType<typeof mount> | null = null;
afterEach(() => {
	if (component) unmount(component);
	component = null;
	document.body.innerHTML = '';
});

function render(props: Partial<Parameters<typeof RecordForm>[1]> = {}) {
	const preview = vi.fn(async (body: RecordPreviewRequest) => fakePreview(body));
	component = mount(RecordForm, {
		target: document.body,
		props: { hosts: [host], services: [service], hostId: 1, preview, previewDelay: 0, ...props }
	});
	flushSync();
	return { preview };
}

const $ = <T extends Element = HTMLInputElement>(sel: string) => document.querySelector<T>(sel)!;
function type(sel: string, value: string) {
	const input = $(sel);
	input.value = value;
	input.dispatchEvent(new Event('input', { bubbles: true }));
	flushSync();
}
const text = (sel: string) => $(sel).textContent?.trim();

describe('RecordForm preview', () => {
	it('shows the effective addresses of the chosen host', async () => {
		render();
		await vi.waitFor(() => expect(text('[data-testid=preview-ipv4]')).toBe('203.0.113.77'));
		expect(text('[data-testid=preview-ipv6]')).toBe('2001:db8:1234:5678:abcd::1');
	});

	it('follows the netmask and host identifier as they change', async () => {
		const { preview } = render();
		type('#rf-ipv6-netmask', '64');
		type('#rf-ipv6-ident', '::cafe');
		await vi.waitFor(() => expect(text('[data-testid=preview-ipv6]')).toBe('2001:db8:1234:5678::cafe'));
		expect(preview).toHaveBeenLastCalledWith(
			expect.objectContaining({ host_id: 1, ipv6_netmask: 64, ipv6_host_identifier: '::cafe', ipv4_netmask: 32 })
		);
		type('#rf-ipv4-netmask', '24');
		await vi.waitFor(() => expect(text('[data-testid=preview-ipv4]')).toBe('203.0.113.42'));
	});

	it('shows the warnings next to the field they are about', async () => {
		render();
		type('#rf-ipv6-netmask', '100');
		await vi.waitFor(() => expect($('[data-warning=ipv6_mixed_base]')).not.toBeNull());
		expect(text('[data-warning=ipv6_mixed_base]')).toBe('Bits 64 to 100 come from the WAN address.');
		// the warning sits in the IPv6 fieldset, next to the netmask
		expect($('[data-warning=ipv6_mixed_base]').closest('fieldset')?.querySelector('legend')?.textContent).toBe('IPv6');
	});

	it('shows the API refusing an identifier next to that field', async () => {
		render({
			preview: vi.fn(async (body: RecordPreviewRequest) => {
				if (body.ipv6_host_identifier === 'nope') {
					throw new ApiError(422, 'Invalid input', '', { ipv6_host_identifier: 'is not an IPv6 address' });
				}
				return fakePreview(body);
			})
		});
		type('#rf-ipv6-ident', 'nope');
		await vi.waitFor(() => expect(text('#rf-ipv6-ident-error')).toBe('is not an IPv6 address'));
		expect($('#rf-ipv6-ident').getAttribute('aria-invalid')).toBe('true');
		expect($('#rf-ipv6-ident').getAttribute('aria-describedby')).toContain('rf-ipv6-ident-error');
		type('#rf-ipv6-ident', '::1');
		await vi.waitFor(() => expect(document.querySelector('#rf-ipv6-ident-error')).toBeNull());
	});

	it('keeps the newest answer when an older one arrives late', async () => {
		const resolvers: ((p: RecordPreview) => void)[] = [];
		render({ preview: vi.fn(() => new Promise<RecordPreview>((r) => resolvers.push(r))) });
		await vi.waitFor(() => expect(resolvers.length).toBe(1));
		type('#rf-ipv6-netmask', '56');
		await vi.waitFor(() => expect(resolvers.length).toBe(2));
		resolvers[1]!({
			effective_ipv4: '203.0.113.77',
			effective_ipv6: '2001:db8:1234:5642::cafe',
			derivation: derivation('203.0.113.77', '2001:db8:1234:5642::cafe'),
			warnings: []
		});
		await vi.waitFor(() => expect(text('[data-testid=preview-ipv6]')).toBe('2001:db8:1234:5642::cafe'));
		resolvers[0]!({ effective_ipv4: '203.0.113.77', effective_ipv6: 'stale', derivation: derivation('203.0.113.77', 'stale'), warnings: [] });
		await new Promise((r) => setTimeout(r, 10));
		flushSync();
		expect(text('[data-testid=preview-ipv6]')).toBe('2001:db8:1234:5642::cafe');
	});

	it('puts the save errors next to their fields', async () => {
		const create = vi.fn(async (): Promise<ApiRecord> => {
			throw new ApiError(422, 'Invalid record', '', { fqdn: 'is not a valid name', extra: 'something else' });
		});
		render({ create });
		type('#rf-fqdn', 'bad..name');
		$<HTMLFormElement>('form').requestSubmit();
		await vi.waitFor(() => expect(text('#rf-fqdn-error')).toBe('is not a valid name'));
		expect(create).toHaveBeenCalledWith(expect.objectContaining({ host_id: 1, service_id: 5, fqdn: 'bad..name' }));
		// an error about a field the form does not show goes into the message on top
		expect(text('#rf-message')).toContain('extra: something else');
	});

	it('says when a record needs its password again', async () => {
		const record = {
			id: 9,
			host_id: 1,
			service_id: 5,
			fqdn: 'home.example.org',
			ipv4_enabled: true,
			ipv4_netmask: 32,
			ipv4_host_identifier: '0.0.0.0',
			ipv6_enabled: true,
			ipv6_netmask: 128,
			ipv6_host_identifier: '::',
			username: 'u',
			password_set: false,
			needs_credentials: true
		} as ApiRecord;
		const update = vi.fn(async (): Promise<ApiRecord> => {
			throw new ApiError(422, 'Invalid record', '', { password: 'must be given again to move the record to another service' });
		});
		render({ record, update });
		expect(text('#rf-password-hint')).toContain('Needs credentials');
		$<HTMLFormElement>('form').requestSubmit();
		await vi.waitFor(() => expect(text('#rf-password-error')).toContain('must be given again'));
	});
});

describe('RecordForm families', () => {
	it('keeps the fields of a family the host does not track inactive', async () => {
		render({ hosts: [{ ...host, ipv6_enabled: false, ipv4_enabled: true }] });
		expect($('#rf-ipv6-netmask').disabled).toBe(true);
		expect($('#rf-ipv6-ident').disabled).toBe(true);
		expect($('#rf-ipv4-netmask').disabled).toBe(false);
		expect($('#rf-ipv4-ident').disabled).toBe(false);
	});

	it('keeps the fields and warnings of a family the record does not publish out of the way', async () => {
		const preview = vi.fn(async (body: RecordPreviewRequest) => ({
			...fakePreview(body),
			warnings: [{ code: 'identifier_masked' as const, field: 'ipv4_host_identifier', message: 'the first 24 bits are ignored' }]
		}));
		render({ hosts: [{ ...host, ipv4_enabled: true, ipv6_enabled: true }], preview });
		await vi.waitFor(() => expect($('[data-warning=identifier_masked]')).not.toBeNull());
		const publish = $('#rf-ipv4-enabled');
		publish.checked = false;
		publish.dispatchEvent(new Event('change', { bubbles: true }));
		flushSync();
		expect($('#rf-ipv4-netmask').disabled).toBe(true);
		expect($('#rf-ipv4-ident').disabled).toBe(true);
		expect(document.querySelector('[data-warning=identifier_masked]')).toBeNull();
	});
});
