import { describe, expect, it } from 'vitest';
import { choiceParam, idParam, searchOf, urlOf } from './filters';

describe('filters in the address', () => {
	it('reads ids as positive whole numbers only', () => {
		expect(idParam('42')).toBe(42);
		for (const bad of [null, '', '0', '-1', '1.5', '7x', ' 7']) expect(idParam(bad)).toBeNull();
	});

	it('reads a choice only among the allowed ones', () => {
		const allowed = ['true', 'false'] as const;
		expect(choiceParam('true', allowed)).toBe('true');
		expect(choiceParam('yes', allowed)).toBe('');
		expect(choiceParam(null, allowed)).toBe('');
	});

	it('writes the set values only, in order, and tells two filters apart by them', () => {
		expect(searchOf({ q: 'nas x', host_id: 3, service_id: null, status: '' })).toBe('q=nas+x&host_id=3');
		expect(searchOf({ q: '', host_id: null })).toBe('');
		expect(searchOf({ q: 'a', stale: 'true' })).not.toBe(searchOf({ q: 'a', stale: 'false' }));
	});

	it('keeps the page and replaces its whole query', () => {
		const url = new URL('http://broker.test/records?q=old&host_id=1&junk=2#x');
		expect(urlOf(url, { q: 'new', host_id: null }).href).toBe('http://broker.test/records?q=new');
		expect(urlOf(url, { q: '' }).href).toBe('http://broker.test/records');
	});
});
