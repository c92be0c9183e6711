// A list page's filters live in the address bar: its load function reads
// them from there, and the page writes them back as they change, so a
// filtered list can be reloaded, bookmarked and linked to.

/** The value of a filter: absent when null or ''. */
export type FilterValue = string | number | null;
export type Filter = Record<string, FilterValue>;

/** An id parameter: a positive whole number, else null. */
export function idParam(v: string | null): number | null {
	return v && /^\d+$/.test(v) && Number(v) > 0 ? Number(v) : null;
}

/** A parameter that must be one of `allowed`, else ''. */
export function choiceParam<C extends string>(v: string | null, allowed: readonly C[]): C | '' {
	return allowed.find((c) => c === v) ?? '';
}

/** The query string of a filter (without '?'): its set values in order. It also tells two filters apart. */
export function searchOf(filter: Filter): string {
	const params = new URLSearchParams();
	for (const [k, v] of Object.entries(filter)) if (v !== null && v !== '') params.set(k, String(v));
	return params.toString();
}

/** The page's address showing `filter`, and nothing else in its query. */
export function urlOf(url: URL, filter: Filter): URL {
	const out = new URL(url.origin + url.pathname);
	out.search = searchOf(filter);
	return out;
}
