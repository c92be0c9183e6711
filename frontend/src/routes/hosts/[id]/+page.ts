// A host: its settings and addresses, its records, the services they use,
// and the secret handed over by the page that just created it (shown once).
import type { RouterSetup } from '$lib/api/client';
import { oneTime } from '$lib/handoff';
import { pageData } from '$lib/load.svelte';
import { allServices, hostHistory, hostView } from '$lib/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params }) => {
	const id = Number(params.id);
	const [view, services, history] = await pageData(Promise.all([hostView(id), allServices(), hostHistory(id)]));
	const revealed = oneTime.take<{ secret: string; setup: RouterSetup }>(`host-secret-${id}`);
	return { ...view, services, history, revealed };
};
