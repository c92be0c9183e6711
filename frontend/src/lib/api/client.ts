// The typed API client (openapi-fetch over the types generated from
// openapi.yaml) with the session's bearer token: a 401 triggers one refresh
// and one retry, so an expired access token never costs the page.
import createClient, { type Client } from 'openapi-fetch';
import { untrack } from 'svelte';
import type { Session } from '../session.svelte';
import { toApiError } from './problem';
import type { components, paths } from './schema';

export type Api = Client<paths>;
type Schemas = components['schemas'];
export type Host = Schemas['Host'];
export type HostCreated = Schemas['HostCreated'];
export type RouterSetup = Schemas['RouterSetup'];
export type Service = Schemas['Service'];
export type ApiRecord = Schemas['Record'];
export type RecordPreview = Schemas['RecordPreview'];
export type RecordPreviewRequest = Schemas['RecordPreviewRequest'];
export type Warning = Schemas['Warning'];
export type FamilyStatus = Schemas['FamilyStatus'];
export type SyncState = Schemas['SyncState'];
export type Delivery = Schemas['Delivery'];
export type ApiEvent = Schemas['Event'];
export type HostHistory = Schemas['HostHistory'];
export type AddressChange = Schemas['AddressChange'];
export type User = Schemas['User'];
export type Me = Schemas['Me'];
export type ApiToken = Schemas['ApiToken'];
export type ApiTokenCreated = Schemas['ApiTokenCreated'];
export type Status = Schemas['Status'];
export type StateCounts = Schemas['StateCounts'];
export type DeliveryMinutes = Schemas['DeliveryMinutes'];
export type ServiceTrouble = Schemas['ServiceTrouble'];
export type Webhook = Schemas['Webhook'];
export type WebhookEvent = Schemas['WebhookEvent'];
export type WebhookTestResult = Schemas['WebhookTestResult'];
export type Notifier = Schemas['Notifier'];
export type NotifierEvent = Schemas['NotifierEvent'];
export type NotifierTestResult = Schemas['NotifierTestResult'];
export type Heartbeat = Schemas['Heartbeat'];
export type ServiceTestResult = Schemas['ServiceTestResult'];

export interface ApiOptions {
	baseUrl?: string;
	fetch?: (request: Request) => Promise<Response>;
}

export function createApi(session: Session, opts: ApiOptions = {}): Api {
	const send = opts.fetch ?? ((request: Request) => fetch(request));

	async function authorized(request: Request): Promise<Response> {
		const retry = request.clone(); // a body can be read only once
		// Untracked: an effect that loads data must not re-run because the token changed.
		const token = await untrack(() => session.validToken());
		if (token) request.headers.set('Authorization', `Bearer ${token}`);
		const res = await send(request);
		if (res.status !== 401) return res;
		if (token && (await session.refresh()) && session.token) {
			retry.headers.set('Authorization', `Bearer ${session.token}`);
			const again = await send(retry);
			if (again.status !== 401) return again;
		}
		session.expired();
		return res;
	}

	return createClient<paths>({ baseUrl: opts.baseUrl ?? '/api/v1', fetch: authorized });
}

/** The data of a successful call; anything else is thrown as an ApiError. */
export async function must<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
	const { data, error, response } = await call;
	if (!response.ok || error !== undefined) throw toApiError(response.status, error, response.statusText);
	return data as T;
}

/** Every item of a paged list, following next_cursor (at most `max` items). */
export async function all<T>(
	page: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>,
	max = 5000
): Promise<T[]> {
	const items: T[] = [];
	let cursor: string | undefined;
	do {
		const p = await page(cursor);
		items.push(...p.items);
		cursor = p.next_cursor ?? undefined;
	} while (cursor && items.length < max);
	return items;
}
