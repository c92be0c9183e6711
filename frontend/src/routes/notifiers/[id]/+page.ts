// A notification channel: its settings and its last attempt.
import { pageData } from '$lib/load.svelte';
import { fetchNotifier } from '$lib/notifiers';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ params }) => ({ notifier: await pageData(fetchNotifier(Number(params.id))) });
