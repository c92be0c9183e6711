// The admin's web session: a short-lived access token held in memory only,
// renewed from the httpOnly refresh cookie that the API sets at /api/v1/auth.
// A reload or an expired token costs one refresh call, never the page.
import createClient, { type Client } from 'openapi-fetch';
import { ApiError, toApiError } from './api/problem';
import type { components, paths } from './api/schema';

export type SessionStatus = 'unknown' | 'anonymous' | 'authenticated';

export interface SessionOptions {
	/** The API root, '/api/v1' in the app. */
	baseUrl?: string;
	fetch?: (request: Request) => Promise<Response>;
	now?: () => number;
}

/** Renew this long before the access token expires. */
const REFRESH_MARGIN_MS = 30_000;

export class Session {
	status = $state<SessionStatus>('unknown');
	/** Why the last session ended, shown on the login page. */
	endedBecause = $state('');
	#token = $state<string | null>(null);
	#expiresAt = 0;
	#refreshing: Promise<boolean> | null = null;
	#auth: Client<paths>;
	#now: () => number;

	constructor(opts: SessionOptions = {}) {
		const send = opts.fetch ?? ((request: Request) => fetch(request));
		this.#auth = createClient<paths>({ baseUrl: opts.baseUrl ?? '/api/v1', fetch: send, credentials: 'same-origin' });
		this.#now = opts.now ?? Date.now;
	}

	get authenticated(): boolean {
		return this.status === 'authenticated';
	}

	/** The access token, for tests and the API wrapper. */
	get token(): string | null {
		return this.#token;
	}

	/**
	 * Logs in; throws ApiError with field errors when the API refuses (code
	 * otp_required: the account needs otp, a code of its authenticator app).
	 */
	async login(username: string, password: string, otp = ''): Promise<void> {
		const body = otp ? { username, password, otp } : { username, password };
		const { data, error, response } = await this.#auth.POST('/auth/login', { body });
		if (!data) throw toApiError(response.status, error, response.statusText);
		this.#accept(data);
		this.endedBecause = '';
	}

	/**
	 * Trades the refresh cookie for a new access token. Concurrent callers share
	 * one request: the refresh token rotates, so a second parallel call would
	 * present a token that is already spent.
	 */
	refresh(): Promise<boolean> {
		this.#refreshing ??= this.#doRefresh().finally(() => {
			this.#refreshing = null;
		});
		return this.#refreshing;
	}

	async #doRefresh(): Promise<boolean> {
		let result;
		try {
			result = await this.#auth.POST('/auth/refresh');
		} catch {
			return false; // offline: keep the state, the next call tries again
		}
		if (result.data) {
			this.#accept(result.data);
			return true;
		}
		const status = result.response.status;
		if (status === 400 || status === 401 || status === 403 || status === 422) {
			this.#end(this.status === 'authenticated' ? 'Your session has expired. Please log in again.' : '');
		}
		return false;
	}

	/** Restores the session after a page load; resolves once the status is known. */
	async restore(): Promise<SessionStatus> {
		if (this.status === 'unknown') {
			const ok = await this.refresh();
			if (!ok && this.status === 'unknown') this.status = 'anonymous';
		}
		return this.status;
	}

	/** A token that is valid for a while yet, renewing it first when it is about to expire. */
	async validToken(): Promise<string | null> {
		if (this.#token && this.#now() < this.#expiresAt - REFRESH_MARGIN_MS) return this.#token;
		if (this.#token || this.status === 'unknown') await this.refresh();
		return this.#token;
	}

	/** The API refused the token even after a refresh. */
	expired(): void {
		this.#end(this.status === 'authenticated' ? 'Your session has expired. Please log in again.' : '');
	}

	async logout(reason = 'You have logged out.'): Promise<void> {
		try {
			const headers = this.#token ? { Authorization: `Bearer ${this.#token}` } : undefined;
			await this.#auth.POST('/auth/logout', { headers });
		} catch {
			// the local session ends regardless
		}
		this.#end(reason);
	}

	#accept(body: components['schemas']['AccessToken']): void {
		if (!body.access_token) throw new ApiError(502, 'The server sent no access token.');
		const seconds = body.expires_in > 0 ? body.expires_in : 300;
		this.#token = body.access_token;
		this.#expiresAt = this.#now() + seconds * 1000;
		this.status = 'authenticated';
	}

	#end(reason: string): void {
		this.#token = null;
		this.#expiresAt = 0;
		if (reason || this.status !== 'anonymous') this.endedBecause = reason;
		this.status = 'anonymous';
	}
}
