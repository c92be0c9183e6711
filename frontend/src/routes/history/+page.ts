// The history: the first page of events for the filters in the address, and
// the hosts the filter offers.
import { searchOf } from '$lib/filters';
import { pageData } from '$lib/load.svelte';
import { allHosts, allUsers, eventFilter, eventsPage } from '$lib/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url }) => {
	const filter = eventFilter(url.searchParams);
	const [first, hosts, users] = await pageData(Promise.all([eventsPage(filter)(undefined), allHosts(), allUsers()]));
	return { filter, key: searchOf(filter), first, hosts, users };
};
