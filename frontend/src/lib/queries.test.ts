import { describe, expect, it } from 'vitest';
import { eventFilter, hostFilter, isoOf, recordFilter } from './queries';

const params = (s: string) => new URLSearchParams(s);

describe('list filters read from the address', () => {
	it('hosts: a trimmed search, and stale only as true or false', () => {
		expect(hostFilter(params('q=%20nas%20&stale=true'))).toEqual({ q: 'nas', stale: 'true', owner_id: null });
		expect(hostFilter(params('stale=maybe'))).toEqual({ q: '', stale: '', owner_id: null });
	});

	it('hosts: an admin\'s owner filter is an id', () => {
		expect(hostFilter(params('owner_id=7')).owner_id).toBe(7);
		expect(hostFilter(params('owner_id=me')).owner_id).toBeNull();
	});

	it('records: ids and a known state, anything else dropped', () => {
		expect(recordFilter(params('host_id=3&service_id=x&status=failed'))).toEqual({
			q: '',
			host_id: 3,
			service_id: null,
			status: 'failed'
		});
		expect(recordFilter(params('status=broken')).status).toBe('');
	});

	it('history: its kind as given, times only when they read as times', () => {
		expect(eventFilter(params('kind=delivery.&record_id=9&since=2025-01-02T03:04&until=soon'))).toEqual({
			kind: 'delivery.',
			host_id: null,
			record_id: 9,
			service_id: null,
			since: '2025-01-02T03:04',
			until: '',
			actor_user_id: null,
			source: ''
		});
	});

	it('history: who caused the events and from where (audit)', () => {
		const f = eventFilter(params('actor_user_id=4&source=%20192.0.2.4%20'));
		expect(f.actor_user_id).toBe(4);
		expect(f.source).toBe('192.0.2.4');
	});

	it('sends local times to the API as RFC 3339', () => {
		expect(isoOf('')).toBeUndefined();
		expect(isoOf('2025-01-02T03:04')).toBe(new Date(2025, 0, 2, 3, 4).toISOString());
	});
});
