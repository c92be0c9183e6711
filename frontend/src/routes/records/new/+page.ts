// The new-record form: the hosts and services it offers, and the host the
// link came from (?host_id=).
import { idParam } from '$lib/filters';
import { pageData } from '$lib/load.svelte';
import { allHosts, allServices } from '$lib/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ url }) => {
	const [hosts, services] = await pageData(Promise.all([allHosts(), allServices()]));
	return { hosts, services, hostId: idParam(url.searchParams.get('host_id')) };
};
