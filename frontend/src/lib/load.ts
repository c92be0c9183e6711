// The pages' one pattern for their first data: a +page.ts load function
// awaits the generated client through pageData, so a page renders with its
// data or not at all; a failed call becomes SvelteKit's error page
// (routes/+error.svelte), with the API's own words and status.
import { error } from '@sveltejs/kit';
import { ApiError, messageOf } from './api/problem';

/** The result of an API call a page cannot do without; any failure is the page's error. */
export async function pageData<T>(call: Promise<T>): Promise<T> {
	try {
		return await call;
	} catch (err) {
		const status = err instanceof ApiError && err.status >= 400 && err.status <= 599 ? err.status : 503;
		error(status, messageOf(err));
	}
}
