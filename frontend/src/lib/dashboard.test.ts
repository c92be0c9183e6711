import { describe, expect, it } from 'vitest';
import { failingCount, hourlyBars, recentAttempts } from './dashboard';

describe('dashboard figures', () => {
	it('sums the last minutes of the day, the current one included', () => {
		const delivered = Array.from({ length: 1440 }, (_, i) => (i >= 1380 ? 2 : 1));
		const failed = Array.from({ length: 1440 }, (_, i) => (i === 1439 ? 5 : 0));
		const day = { start: '2025-01-01T00:00:00Z', delivered, failed };
		expect(recentAttempts(day, 60)).toEqual({ delivered: 120, failed: 5 });
		expect(recentAttempts(day, 1440)).toEqual({ delivered: 1380 + 120, failed: 5 });
	});

	it('counts the addresses not getting through', () => {
		expect(failingCount({ idle: 7, pending: 3, delivered: 9, retrying: 1, failed: 2, blocked: 4 })).toBe(7);
	});

	it('groups the day into 24 hourly bars ending with the current minute', () => {
		const delivered = Array.from({ length: 1440 }, (_, i) => (i >= 1380 ? 2 : 1));
		const failed = Array.from({ length: 1440 }, (_, i) => (i === 0 || i === 1439 ? 5 : 0));
		const bars = hourlyBars({ start: '2025-01-01T00:00:00Z', delivered, failed });
		expect(bars).toHaveLength(24);
		expect(bars[0]).toEqual({ start: new Date('2025-01-01T00:00:00Z'), delivered: 60, failed: 5 });
		expect(bars[23]).toEqual({ start: new Date('2025-01-01T23:00:00Z'), delivered: 120, failed: 5 });
	});
});
