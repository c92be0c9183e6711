// The webhooks: their first page.
import { pageData } from '$lib/load.svelte';
import { webhooksPage } from '$lib/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => ({ first: await pageData(webhooksPage(undefined)) });
