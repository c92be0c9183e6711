// A filtered list page (hosts, records, history): its load function reads
// the first page for the filters in the address; then, as the user changes a
// filter, the list reloads in place (a failure shows above the list, the
// last items stay) and the address follows without running the load
// function again.
import { replaceState } from '$app/navigation';
import { page } from '$app/state';
import { searchOf, urlOf, type Filter } from './filters';
import type { PageFetcher, PagedList } from './paged.svelte';

/** Call while a component initializes. */
export function followFilter<T, F extends Filter>(
	list: () => PagedList<T>,
	filter: () => F,
	fetcher: (f: F) => PageFetcher<T>,
	delay = 250
): void {
	$effect(() => {
		const f = filter();
		const target = list();
		const key = searchOf(f);
		if (key === target.key) return;
		const timer = setTimeout(() => {
			void target.reset(fetcher(f), key);
			const url = urlOf(page.url, f);
			if (url.href !== page.url.href) replaceState(url, {});
		}, delay);
		return () => clearTimeout(timer);
	});
}
