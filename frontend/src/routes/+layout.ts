// A single-page app (pocket-id's pattern): no server rendering, no
// prerendering; adapter-static writes index.html as the fallback for every
// route. The guard: every page but /login needs a session, restored from the
// refresh cookie after a reload.
import { redirect } from '@sveltejs/kit';
import { loginUrl } from '$lib/account.svelte';
import { session } from '$lib/app';
import type { LayoutLoad } from './$types';

export const ssr = false;
export const prerender = false;
export const trailingSlash = 'never';

export const load: LayoutLoad = async ({ url }) => {
	const status = await session.restore();
	if (status !== 'authenticated' && url.pathname !== '/login') redirect(307, loginUrl(url));
	return {};
};
