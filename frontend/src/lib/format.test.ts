import { describe, expect, it } from 'vitest';
import { absoluteTime, clockTime, isTime, relativeTime, resyncNotice } from './format';

describe('times', () => {
	it('never shows Go’s zero time (year 1) as a moment', () => {
		for (const zero of ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z']) {
			expect(isTime(zero)).toBe(false);
			expect(relativeTime(zero)).toBe('never');
			expect(absoluteTime(zero)).toBe('never');
			expect(clockTime(zero)).toBe('');
		}
		expect(isTime('not a time')).toBe(false);
		expect(isTime(null)).toBe(false);
	});

	it('shows real moments', () => {
		const now = Date.parse('2026-05-01T12:00:00Z');
		expect(isTime('2026-05-01T12:00:30Z')).toBe(true);
		expect(relativeTime('2026-05-01T12:05:00Z', now)).toBe('in 5 minutes');
		expect(absoluteTime('2026-05-01T12:05:00Z')).toContain('2026');
	});
});

describe('resyncNotice', () => {
	it('says plainly when nothing was queued, and why', () => {
		expect(resyncNotice(0, 'the router has not reported an address yet.')).toBe(
			'Nothing to send: the router has not reported an address yet.'
		);
		expect(resyncNotice(0, 'x')).not.toMatch(/\b0\b/);
	});

	it('counts what was queued', () => {
		expect(resyncNotice(1, 'x')).toBe('Queued 1 delivery.');
		expect(resyncNotice(3, 'x')).toBe('Queued 3 deliveries.');
	});
});
