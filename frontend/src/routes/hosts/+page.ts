// The hosts: the first page for the filters in the address.
import { pageData } from '$lib/load.svelte';
import { hostFilter, hostsPage } from '$lib/queries';
import { searchOf } from '$lib/filters';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url }) => {
	const filter = hostFilter(url.searchParams);
	return { filter, key: searchOf(filter), first: await pageData(hostsPage(filter)(undefined)) };
};
