// The admin accounts and the API tokens: the first page of each.
import { pageData } from '$lib/load.svelte';
import { tokensPage, usersPage } from '$lib/queries';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => {
	const [users, tokens] = await pageData(Promise.all([usersPage(undefined), tokensPage(undefined)]));
	return { users, tokens };
};
