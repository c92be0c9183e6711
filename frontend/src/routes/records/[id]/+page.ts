// A record: its state per family, its delivery history's first page, and
// the hosts and services its form offers.
import { pageData } from '$lib/load.svelte';
import { allHosts, allServices, deliveriesPage, fetchRecord } from '$lib/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params }) => {
	const id = Number(params.id);
	const [record, deliveries, hosts, services] = await pageData(
		Promise.all([fetchRecord(id), deliveriesPage(id)(undefined), allHosts(), allServices()])
	);
	return { record, deliveries, hosts, services };
};
