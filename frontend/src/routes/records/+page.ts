// The records: the first page for the filters in the address, and the hosts
// and services the filters offer and the rows name.
import { searchOf } from '$lib/filters';
import { pageData } from '$lib/load.svelte';
import { allHosts, allServices, recordFilter, recordsPage } from '$lib/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url }) => {
	const filter = recordFilter(url.searchParams);
	const [first, hosts, services] = await pageData(Promise.all([recordsPage(filter)(undefined), allHosts(), allServices()]));
	return { filter, key: searchOf(filter), first, hosts, services };
};
