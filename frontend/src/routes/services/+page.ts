// The services: their first page.
import { pageData } from '$lib/load.svelte';
import { servicesPage } from '$lib/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => ({ first: await pageData(servicesPage(undefined)) });
