// The new-service form and the provider presets it offers.
import { must } from '$lib/api/client';
import { api } from '$lib/app';
import { pageData } from '$lib/load.svelte';
import type { PageLoad } from './$types';

export const load: PageLoad = async () => ({ presets: (await pageData(must(api.GET('/presets')))).items });
