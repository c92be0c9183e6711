// A webhook: its settings and its last attempt.
import { pageData } from '$lib/load.svelte';
import { fetchWebhook } from '$lib/webhooks';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params }) => ({ webhook: await pageData(fetchWebhook(Number(params.id))) });
