// The dashboard's data: the summary of GET /status, loaded by the page's
// load function (routes/+page.ts), then refreshed in place every few
// seconds (a Live of $lib/load.svelte).
import { must, type DeliveryMinutes, type StateCounts, type Status } from './api/client';
import { api } from './app';

/** Records of each state in trouble, and stale hosts, the dashboard lists. */
export const PROBLEM_LIMIT = 10;

export function fetchStatus(): Promise<Status> {
	return must(api.GET('/status', { params: { query: { limit: PROBLEM_LIMIT } } }));
}

/** Addresses not getting through (a record's IPv4 and IPv6 count apart). */
export function failingCount(s: StateCounts): number {
	return s.failed + s.retrying + s.blocked;
}

/** Attempts that ended in the last `minutes` minutes (the current one included). */
export function recentAttempts(m: DeliveryMinutes, minutes: number): { delivered: number; failed: number } {
	const sum = (xs: number[]) => xs.slice(-minutes).reduce((a, b) => a + b, 0);
	return { delivered: sum(m.delivered), failed: sum(m.failed) };
}

/** One bar of the dashboard's chart: the attempts that ended in an hour. */
export type HourBar = { start: Date; delivered: number; failed: number };

/**
 * The last 24 h of attempts in hours, oldest first, from the per-minute
 * buckets (the last hour is the current, partial one).
 */
export function hourlyBars(m: DeliveryMinutes): HourBar[] {
	const start = Date.parse(m.start);
	const n = m.delivered.length;
	const bars: HourBar[] = [];
	// Hours end at the current minute: the newest bar holds the last 60 buckets.
	for (let end = n; end > 0; end -= 60) {
		const from = Math.max(0, end - 60);
		let delivered = 0;
		let failed = 0;
		for (let i = from; i < end; i++) {
			delivered += m.delivered[i] ?? 0;
			failed += m.failed[i] ?? 0;
		}
		bars.unshift({ start: new Date(start + from * 60_000), delivered, failed });
	}
	return bars;
}
