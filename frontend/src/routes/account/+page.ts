// Who is logged in (the app's account, read again for this page).
import { account } from '$lib/account.svelte';
import { pageData } from '$lib/load.svelte';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => ({ me: await pageData(account.load()) });
