// A service: its settings and how many records use it.
import { must } from '$lib/api/client';
import { api } from '$lib/app';
import { pageData } from '$lib/load.svelte';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params }) => ({
	service: await pageData(must(api.GET('/services/{id}', { params: { path: { id: Number(params.id) } } })))
});
