// The dashboard's data, refreshed in place every few seconds: hosts, their
// records with per-family delivery state, and the broker's counts.
import { all, must, type ApiRecord, type Host, type Service, type Status, type SyncState } from './api/client';
import { messageOf } from './api/problem';
import { api } from './app';
import { nowISO } from './format';

export const PROBLEM_STATES: SyncState[] = ['failed', 'retrying', 'blocked'];

/** Whether a record has a family that is not getting through. */
export function failing(r: ApiRecord): boolean {
	return (
		(r.ipv4_enabled && PROBLEM_STATES.includes(r.status.ipv4.state)) ||
		(r.ipv6_enabled && PROBLEM_STATES.includes(r.status.ipv6.state))
	);
}

export class Dashboard {
	hosts = $state<Host[]>([]);
	records = $state<ApiRecord[]>([]);
	services = $state<Service[]>([]);
	status = $state<Status | null>(null);
	loaded = $state(false);
	error = $state('');
	updatedAt = $state<string | null>(null);

	recordsByHost = $derived.by(() => {
		const byHost: Record<number, ApiRecord[]> = {};
		for (const r of this.records) (byHost[r.host_id] ??= []).push(r);
		return byHost;
	});
	serviceNames = $derived(Object.fromEntries(this.services.map((s) => [s.id, s.name])) as Record<number, string>);
	failingCount = $derived(this.records.filter(failing).length);

	async refresh(): Promise<void> {
		try {
			const [hosts, records, services, status] = await Promise.all([
				all((cursor) => must(api.GET('/hosts', { params: { query: { limit: 500, cursor } } }))),
				all((cursor) => must(api.GET('/records', { params: { query: { limit: 500, cursor } } }))),
				all((cursor) => must(api.GET('/services', { params: { query: { limit: 500, cursor } } }))),
				must(api.GET('/status'))
			]);
			this.hosts = hosts;
			this.records = records;
			this.services = services;
			this.status = status;
			this.error = '';
			this.updatedAt = nowISO();
		} catch (err) {
			this.error = messageOf(err);
		} finally {
			this.loaded = true;
		}
	}
}
