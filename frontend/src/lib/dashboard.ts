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

/** Addresses (record × family) not getting through. */
export function failingCount(s: StateCounts): number {
	return s.failed + s.retrying + s.blocked;
}

/** Attempts that ended in the last `minutes` minutes (the current one included). */
export function recentAttempts(m: DeliveryMinutes, minutes: number): { delivered: number; failed: number } {
	const sum = (xs: number[]) => xs.slice(-minutes).reduce((a, b) => a + b, 0);
	return { delivered: sum(m.delivered), failed: sum(m.failed) };
}
