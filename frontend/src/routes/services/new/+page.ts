// The new-service form: the protocols it offers and the provider presets.
import { must } from '$lib/api/client';
import { api } from '$lib/app';
import { pageData } from '$lib/load.svelte';
import { protocolList } from '$lib/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => {
	const [protocols, presets] = await Promise.all([pageData(protocolList()), pageData(must(api.GET('/presets')))]);
	return { protocols, presets: presets.items };
};
