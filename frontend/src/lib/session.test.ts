import { describe, expect, it, vi } from 'vitest';
import { ApiError } from './api/problem';
import { Session } from './session.svelte';

const json = (status: number, body: unknown) =>
	new Response(body === undefined ? null : JSON.stringify(body), {
		status,
		headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' }
	});
const token = (t: string, expires_in = 900) => json(200, { access_token: t, token_type: 'Bearer', expires_in });

function setup(handler: (req: Request) => Response | Promise<Response>) {
	let now = 1_000_000;
	const calls: Request[] = [];
	const fetch = vi.fn(async (req: Request) => {
		calls.push(req);
		return handler(req);
	});
	const session = new Session({ baseUrl: 'http://broker.test/api/v1', fetch, now: () => now });
	return { session, calls, fetch, advance: (ms: number) => (now += ms) };
}

describe('Session', () => {
	it('logs in and keeps the access token in memory', async () => {
		const { session, calls } = setup(() => token('t1'));
		await session.login('admin', 'pw');
		expect(session.status).toBe('authenticated');
		expect(session.token).toBe('t1');
		expect(calls[0]!.url).toBe('http://broker.test/api/v1/auth/login');
		expect(await calls[0]!.json()).toEqual({ username: 'admin', password: 'pw' });
	});

	it('throws the field errors of a refused login', async () => {
		const { session } = setup(() =>
			json(422, { type: 'about:blank', title: 'Invalid input', status: 422, errors: [{ field: 'password', message: 'must not be empty' }] })
		);
		const err = await session.login('admin', '').catch((e: unknown) => e);
		expect(err).toBeInstanceOf(ApiError);
		expect((err as ApiError).fields).toEqual({ password: 'must not be empty' });
		expect(session.status).toBe('unknown');
	});

	it('tells an account that needs its second factor, and sends the code with the password', async () => {
		const { session, calls } = setup(async (req) => {
			const body = (await req.json()) as { otp?: string };
			return body.otp === '123456'
				? token('t2')
				: json(401, { type: 'about:blank', title: 'Unauthorized', status: 401, code: 'otp_required', detail: 'send otp' });
		});
		const err = await session.login('admin', 'pw').catch((e: unknown) => e);
		expect((err as ApiError).code).toBe('otp_required');
		expect(session.status).toBe('unknown');
		await session.login('admin', 'pw', '123456');
		expect(session.token).toBe('t2');
		expect(calls).toHaveLength(2);
	});

	it('restores a session from the refresh cookie after a reload', async () => {
		const { session, calls } = setup(() => token('restored'));
		expect(await session.restore()).toBe('authenticated');
		expect(calls[0]!.url).toBe('http://broker.test/api/v1/auth/refresh');
		expect(session.token).toBe('restored');
	});

	it('is anonymous without a cookie, and says nothing about an expiry', async () => {
		const { session } = setup(() => json(401, { title: 'Unauthorized', status: 401 }));
		expect(await session.restore()).toBe('anonymous');
		expect(session.endedBecause).toBe('');
	});

	it('shares one refresh between concurrent callers (the refresh token rotates)', async () => {
		let release: () => void = () => {};
		const gate = new Promise<void>((r) => (release = r));
		const { session, fetch } = setup(async () => {
			await gate;
			return token('t2');
		});
		const a = session.refresh();
		const b = session.refresh();
		release();
		expect(await Promise.all([a, b])).toEqual([true, true]);
		expect(fetch).toHaveBeenCalledTimes(1);
		// a later refresh is a new request
		await session.refresh();
		expect(fetch).toHaveBeenCalledTimes(2);
	});

	it('renews the token shortly before it expires', async () => {
		let n = 0;
		const { session, fetch, advance } = setup(() => token(`t${++n}`, 60));
		await session.login('admin', 'pw');
		expect(await session.validToken()).toBe('t1');
		advance(20_000);
		expect(await session.validToken()).toBe('t1');
		expect(fetch).toHaveBeenCalledTimes(1);
		advance(15_000); // 25 s left: inside the margin
		expect(await session.validToken()).toBe('t2');
		expect(fetch).toHaveBeenCalledTimes(2);
	});

	it('ends with a message when the refresh is refused mid-session', async () => {
		let refused = false;
		const { session } = setup(() => (refused ? json(401, { title: 'Unauthorized', status: 401 }) : token('t1')));
		await session.login('admin', 'pw');
		refused = true;
		expect(await session.refresh()).toBe(false);
		expect(session.status).toBe('anonymous');
		expect(session.token).toBeNull();
		expect(session.endedBecause).toMatch(/expired/);
	});

	it('keeps the session when the server cannot be reached', async () => {
		let offline = false;
		const { session } = setup(() => {
			if (offline) throw new TypeError('fetch failed');
			return token('t1');
		});
		await session.login('admin', 'pw');
		offline = true;
		expect(await session.refresh()).toBe(false);
		expect(session.status).toBe('authenticated');
	});

	it('logs out with the bearer token and forgets it', async () => {
		const { session, calls } = setup((req) => (req.url.endsWith('/logout') ? new Response(null, { status: 204 }) : token('t1')));
		await session.login('admin', 'pw');
		await session.logout();
		const logout = calls.find((c) => c.url.endsWith('/auth/logout'))!;
		expect(logout.method).toBe('POST');
		expect(logout.headers.get('Authorization')).toBe('Bearer t1');
		expect(session.status).toBe('anonymous');
		expect(session.token).toBeNull();
		expect(session.endedBecause).toBe('You have logged out.');
	});
});
