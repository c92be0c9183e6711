// The notification channels (webhooks included): their first page.
import { pageData } from '$lib/load.svelte';
import { notifiersPage } from '$lib/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => ({ first: await pageData(notifiersPage(undefined)) });
