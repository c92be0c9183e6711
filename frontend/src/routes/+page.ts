// The dashboard reads one summary (GET /status): counts the database keeps
// as they change, and the first page of each list it links to, so it costs
// the same with 100,000 hosts as with 3.
import { fetchStatus } from '$lib/dashboard';
import { pageData } from '$lib/load.svelte';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => ({ status: await pageData(fetchStatus()) });
