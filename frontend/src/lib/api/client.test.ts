import { describe, expect, it, vi } from 'vitest';
import { Session } from '../session.svelte';
import { all, createApi, must } from './client';
import { ApiError } from './problem';

const BASE = 'http://broker.test/api/v1';
const json = (status: number, body: unknown, type = 'application/json') =>
	new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });
const token = (t: string) => json(200, { access_token: t, token_type: 'Bearer', expires_in: 900 });
const problem = (status: number, body: object) => json(status, { type: 'about:blank', status, ...body }, 'application/problem+json');

/** A fake broker: auth endpoints hand out t1, t2, …; other requests go to `handler`. */
function broker(handler: (req: Request) => Response | Promise<Response>) {
	let issued = 0;
	let refreshOk = true;
	const requests: Request[] = [];
	const send = vi.fn(async (req: Request) => {
		if (req.url.endsWith('/auth/login')) return token(`t${++issued}`);
		if (req.url.endsWith('/auth/refresh')) return refreshOk ? token(`t${++issued}`) : problem(401, { title: 'Unauthorized' });
		requests.push(req);
		return handler(req);
	});
	const session = new Session({ baseUrl: BASE, fetch: send });
	const api = createApi(session, { baseUrl: BASE, fetch: send });
	return { session, api, requests, refuseRefresh: () => (refreshOk = false) };
}

describe('createApi', () => {
	it('sends the access token', async () => {
		const { session, api, requests } = broker(() => json(200, { items: [], next_cursor: null }));
		await session.login('admin', 'pw');
		await must(api.GET('/hosts', { params: { query: { q: 'home' } } }));
		expect(requests[0]!.url).toBe(`${BASE}/hosts?q=home`);
		expect(requests[0]!.headers.get('Authorization')).toBe('Bearer t1');
	});

	it('refreshes once on 401 and repeats the request with its body', async () => {
		const { session, api, requests } = broker(async (req) => {
			if (req.headers.get('Authorization') === 'Bearer t1') return problem(401, { title: 'Unauthorized' });
			return json(201, { id: 7, ...(await req.json()) });
		});
		await session.login('admin', 'pw');
		const created = await must(api.POST('/services', { body: { name: 'he', protocol: 'dyndns2', url: 'https://dyn.dns.he.net/nic/update' } }));
		expect(created).toMatchObject({ id: 7, name: 'he' });
		expect(requests.map((r) => r.headers.get('Authorization'))).toEqual(['Bearer t1', 'Bearer t2']);
		expect(session.token).toBe('t2');
	});

	it('ends the session when the refresh is refused too', async () => {
		const { session, api, refuseRefresh } = broker(() => problem(401, { title: 'Unauthorized' }));
		await session.login('admin', 'pw');
		refuseRefresh();
		const err = await must(api.GET('/me')).catch((e: unknown) => e);
		expect(err).toBeInstanceOf(ApiError);
		expect((err as ApiError).status).toBe(401);
		expect(session.status).toBe('anonymous');
		expect(session.endedBecause).toMatch(/expired/);
	});

	it('turns problem+json into an ApiError with the field errors', async () => {
		const { session, api } = broker(() =>
			problem(422, {
				title: 'Invalid record',
				errors: [
					{ field: 'ipv6_netmask', message: 'must be at most 128' },
					{ field: 'fqdn', message: 'is not a valid name' }
				]
			})
		);
		await session.login('admin', 'pw');
		const err = (await must(api.POST('/records', { body: { host_id: 1, service_id: 1 } })).catch((e: unknown) => e)) as ApiError;
		expect(err.status).toBe(422);
		expect(err.fields).toEqual({ ipv6_netmask: 'must be at most 128', fqdn: 'is not a valid name' });
		expect(err.summary).toBe('Invalid record');
	});

	it('answers 204 with no data', async () => {
		const { session, api } = broker(() => new Response(null, { status: 204 }));
		await session.login('admin', 'pw');
		await expect(must(api.DELETE('/hosts/{id}', { params: { path: { id: 3 } } }))).resolves.toBeUndefined();
	});
});

describe('all', () => {
	it('follows next_cursor to the end', async () => {
		const pages: Record<string, { items: number[]; next_cursor: string | null }> = {
			start: { items: [1, 2], next_cursor: 'b' },
			b: { items: [3], next_cursor: 'c' },
			c: { items: [4], next_cursor: null }
		};
		const seen: (string | undefined)[] = [];
		const items = await all(async (cursor) => {
			seen.push(cursor);
			return pages[cursor ?? 'start']!;
		});
		expect(items).toEqual([1, 2, 3, 4]);
		expect(seen).toEqual([undefined, 'b', 'c']);
	});
});
