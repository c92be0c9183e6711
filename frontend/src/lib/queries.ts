// The API reads of the list pages: the filters each page takes from its
// address, and the call that reads one page of the list. A page's load
// function reads the first page; the page reads the next ones, and the first
// again when a filter changes.
import {
	all,
	must,
	type ApiEvent,
	type ApiRecord,
	type ApiToken,
	type Delivery,
	type Host,
	type Service,
	type SyncState,
	type Notifier,
	type User,
	type Webhook
} from './api/client';
import { api } from './app';
import { choiceParam, idParam } from './filters';
import type { PageFetcher } from './paged.svelte';
import type { ProtocolDescription } from './protocols';

/** owner_id: an admin's filter by owner (null: every owner). */
export type HostFilter = { q: string; stale: '' | 'true' | 'false'; owner_id: number | null };

export function hostFilter(p: URLSearchParams): HostFilter {
	return {
		q: (p.get('q') ?? '').trim(),
		stale: choiceParam(p.get('stale'), ['true', 'false'] as const),
		owner_id: idParam(p.get('owner_id'))
	};
}

export function hostsPage(f: HostFilter): PageFetcher<Host> {
	const query = { q: f.q || undefined, stale: f.stale === '' ? undefined : f.stale === 'true', owner_id: f.owner_id ?? undefined };
	return (cursor) => must(api.GET('/hosts', { params: { query: { ...query, cursor, limit: 100 } } }));
}

export const SYNC_STATES: readonly SyncState[] = ['delivered', 'pending', 'retrying', 'failed', 'blocked', 'idle'];

export type RecordFilter = { q: string; host_id: number | null; service_id: number | null; status: SyncState | '' };

export function recordFilter(p: URLSearchParams): RecordFilter {
	return {
		q: (p.get('q') ?? '').trim(),
		host_id: idParam(p.get('host_id')),
		service_id: idParam(p.get('service_id')),
		status: choiceParam(p.get('status'), SYNC_STATES)
	};
}

export function recordsPage(f: RecordFilter): PageFetcher<ApiRecord> {
	const query = {
		q: f.q || undefined,
		host_id: f.host_id ?? undefined,
		service_id: f.service_id ?? undefined,
		status: f.status || undefined
	};
	return (cursor) => must(api.GET('/records', { params: { query: { ...query, cursor, limit: 100 } } }));
}

/** since and until as a datetime-local input holds them: local time, no zone. */
export type EventFilter = {
	kind: string;
	host_id: number | null;
	record_id: number | null;
	service_id: number | null;
	since: string;
	until: string;
	/** Audit: the account whose request caused the event, and its client address. */
	actor_user_id: number | null;
	source: string;
};

export function eventFilter(p: URLSearchParams): EventFilter {
	const local = (v: string | null) => (v && Number.isFinite(Date.parse(v)) ? v : '');
	return {
		kind: p.get('kind') ?? '',
		host_id: idParam(p.get('host_id')),
		record_id: idParam(p.get('record_id')),
		service_id: idParam(p.get('service_id')),
		since: local(p.get('since')),
		until: local(p.get('until')),
		actor_user_id: idParam(p.get('actor_user_id')),
		source: (p.get('source') ?? '').trim()
	};
}

/** datetime-local (local time, no zone) → RFC 3339 */
export function isoOf(local: string): string | undefined {
	return local ? new Date(local).toISOString() : undefined;
}

export function eventsPage(f: EventFilter): PageFetcher<ApiEvent> {
	const query = {
		kind: f.kind || undefined,
		host_id: f.host_id ?? undefined,
		record_id: f.record_id ?? undefined,
		service_id: f.service_id ?? undefined,
		since: isoOf(f.since),
		until: isoOf(f.until),
		actor_user_id: f.actor_user_id ?? undefined,
		source: f.source || undefined
	};
	return (cursor) => must(api.GET('/events', { params: { query: { ...query, cursor, limit: 50 } } }));
}

/** Every host, for a choice of host (a form's, a filter's). */
export function allHosts(): Promise<Host[]> {
	return all((cursor) => must(api.GET('/hosts', { params: { query: { cursor, limit: 500 } } })));
}

/** Every service, for a choice of service. */
export function allServices(): Promise<Service[]> {
	return all((cursor) => must(api.GET('/services', { params: { query: { cursor, limit: 500 } } })));
}

/** A host and its records, as its page shows them. */
export async function hostView(id: number): Promise<{ host: Host; records: ApiRecord[] }> {
	const [host, records] = await Promise.all([
		must(api.GET('/hosts/{id}', { params: { path: { id } } })),
		all((cursor) => must(api.GET('/records', { params: { query: { host_id: id, cursor, limit: 500 } } })))
	]);
	return { host, records };
}

export function fetchRecord(id: number): Promise<ApiRecord> {
	return must(api.GET('/records/{id}', { params: { path: { id } } }));
}

/** A record's delivery history, newest first. */
export function deliveriesPage(id: number): PageFetcher<Delivery> {
	return (cursor) => must(api.GET('/records/{id}/deliveries', { params: { path: { id }, query: { cursor, limit: 25 } } }));
}

/** Every account the caller may see (an admin: all; a user: their own). */
export function allUsers(): Promise<User[]> {
	return all((cursor) => must(api.GET('/users', { params: { query: { cursor, limit: 500 } } })));
}

export const usersPage: PageFetcher<User> = (cursor) => must(api.GET('/users', { params: { query: { cursor, limit: 100 } } }));

export const tokensPage: PageFetcher<ApiToken> = (cursor) =>
	must(api.GET('/tokens', { params: { query: { cursor, limit: 100 } } }));

export const servicesPage: PageFetcher<Service> = (cursor) =>
	must(api.GET('/services', { params: { query: { cursor, limit: 100 } } }));

export const webhooksPage: PageFetcher<Webhook> = (cursor) =>
	must(api.GET('/webhooks', { params: { query: { cursor, limit: 100 } } }));

export const notifiersPage: PageFetcher<Notifier> = (cursor) =>
	must(api.GET('/notifiers', { params: { query: { cursor, limit: 100 } } }));

/** Every protocol's description, which the service pages render forms and titles from. */
export function protocolList(): Promise<ProtocolDescription[]> {
	return must(api.GET('/protocols')).then((r) => r.items);
}

/** The newest address changes of a host, for its timeline. */
export function hostHistory(id: number, limit = 20) {
	return must(api.GET('/hosts/{id}/history', { params: { path: { id }, query: { limit } } }));
}
