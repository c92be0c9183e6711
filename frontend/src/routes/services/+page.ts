// The services: their first page, and the protocols' titles.
import { pageData } from '$lib/load.svelte';
import { protocolList, servicesPage } from '$lib/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => {
	const [first, protocols] = await Promise.all([pageData(servicesPage(undefined)), pageData(protocolList())]);
	return { first, protocols };
};
