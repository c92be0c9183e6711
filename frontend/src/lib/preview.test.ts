import { describe, expect, it } from 'vitest';
import { previewBody, type PreviewInput } from './preview.svelte';

const base: PreviewInput = {
	host_id: 7,
	ipv4_enabled: true,
	ipv4_netmask: 32,
	ipv4_host_identifier: '0.0.0.0',
	ipv6_enabled: true,
	ipv6_netmask: 128,
	ipv6_host_identifier: '::'
};

describe('previewBody', () => {
	it('sends a MAC instead of the identifier, and a subnet id with netmask 64', () => {
		const body = previewBody({ ...base, ipv6_host_mac: ' 00-11-22-33-44-55 ', ipv6_subnet_id: '0x1' });
		expect(body).toMatchObject({ ipv6_host_mac: '00-11-22-33-44-55', ipv6_subnet_id: '0x1', ipv6_netmask: 64 });
		expect(body).not.toHaveProperty('ipv6_host_identifier');
	});

	it('sends a static address only with static mode', () => {
		expect(previewBody({ ...base, ipv4_mode: 'static', ipv4_static_address: '198.51.100.80' })).toMatchObject({
			ipv4_mode: 'static',
			ipv4_static_address: '198.51.100.80'
		});
		expect(previewBody({ ...base, ipv4_mode: 'derived', ipv4_static_address: '198.51.100.80' })).not.toHaveProperty('ipv4_static_address');
	});

	it('keeps the plain identifier without a MAC', () => {
		expect(previewBody({ ...base, ipv6_netmask: 64, ipv6_host_identifier: '::cafe', ipv6_host_mac: '' })).toMatchObject({
			ipv6_netmask: 64,
			ipv6_host_identifier: '::cafe'
		});
	});
});
