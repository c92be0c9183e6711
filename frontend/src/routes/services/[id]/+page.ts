// A service: its settings and how many records use it, and the protocols' descriptions its form is built from.
import { must } from '$lib/api/client';
import { api } from '$lib/app';
import { pageData } from '$lib/load.svelte';
import { protocolList } from '$lib/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params }) => {
	const [service, protocols] = await Promise.all([
		pageData(must(api.GET('/services/{id}', { params: { path: { id: Number(params.id) } } }))),
		pageData(protocolList())
	]);
	return { service, protocols };
};
