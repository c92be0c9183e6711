// The pages' one pattern for their data. A +page.ts load function awaits
// the generated client through pageData, so a page renders with its data or
// not at all: a failed call becomes SvelteKit's error page
// (routes/+error.svelte), with the API's own words and status. A page that
// keeps its data fresh afterwards (polling, a reload after a change) holds
// it in a Live: a failed refresh keeps the last data and says why.
import { error } from '@sveltejs/kit';
import { ApiError, messageOf } from './api/problem';
import { nowISO } from './format';

/** The result of an API call a page cannot do without; any failure is the page's error. */
export async function pageData<T>(call: Promise<T>): Promise<T> {
	try {
		return await call;
	} catch (err) {
		error(statusOf(err), messageOf(err));
	}
}

/** The status the error page shows: the API's own, or 503 when it could not be asked. */
export function statusOf(err: unknown): number {
	return err instanceof ApiError && err.status >= 400 && err.status <= 599 ? err.status : 503;
}

/** Data a load function read, refreshed in place by the page. */
export class Live<T> {
	value = $state() as T;
	/** Why the last refresh failed; '' after a good one. */
	error = $state('');
	updatedAt = $state(nowISO());
	readonly #fetch: () => Promise<T>;

	constructor(initial: T, fetch: () => Promise<T>) {
		this.value = initial;
		this.#fetch = fetch;
	}

	/** Reads the data again; on failure the last data stays and `error` says why. Never throws. */
	async refresh(): Promise<void> {
		try {
			this.value = await this.#fetch();
			this.error = '';
			this.updatedAt = nowISO();
		} catch (err) {
			this.error = messageOf(err);
		}
	}
}
