// A list read page by page through next_cursor: the first page from the
// page's load function (or on reset), the next one on more(), answers to an
// older query dropped.
import { messageOf } from './api/problem';

export interface Page<T> {
	items: T[];
	next_cursor: string | null;
}
export type PageFetcher<T> = (cursor: string | undefined) => Promise<Page<T>>;

export class PagedList<T> {
	items = $state<T[]>([]);
	cursor = $state<string | null>(null);
	loading = $state(false);
	loaded = $state(false);
	error = $state('');
	#fetch: PageFetcher<T> | null = null;
	#generation = 0;
	#key = '';

	/**
	 * A list whose first page was read already (by a load function), or an
	 * empty one that reset() fills. key names the query the list shows
	 * (see $lib/filters searchOf).
	 */
	constructor(fetch?: PageFetcher<T>, first?: Page<T>, key = '') {
		this.#fetch = fetch ?? null;
		this.#key = key;
		if (first) {
			this.items = first.items;
			this.cursor = first.next_cursor;
			this.loaded = true;
		}
	}

	/** The query the list shows or is loading. */
	get key(): string {
		return this.#key;
	}

	get hasMore(): boolean {
		return this.cursor !== null;
	}

	/** Starts over with a new query. */
	async reset(fetch: PageFetcher<T>, key = ''): Promise<void> {
		this.#fetch = fetch;
		this.#key = key;
		this.#generation++;
		this.cursor = null;
		await this.#load(undefined, true);
	}

	/** Loads the next page, if any. */
	async more(): Promise<void> {
		if (this.loading || this.cursor === null) return;
		await this.#load(this.cursor, false);
	}

	/** Reloads the first page in place (after a change). */
	async reload(): Promise<void> {
		if (this.#fetch) await this.reset(this.#fetch, this.#key);
	}

	async #load(cursor: string | undefined, replace: boolean): Promise<void> {
		const generation = this.#generation;
		const fetch = this.#fetch;
		if (!fetch) return;
		this.loading = true;
		try {
			const page = await fetch(cursor);
			if (generation !== this.#generation) return;
			this.items = replace ? page.items : [...this.items, ...page.items];
			this.cursor = page.next_cursor;
			this.error = '';
		} catch (err) {
			if (generation === this.#generation) this.error = messageOf(err);
		} finally {
			if (generation === this.#generation) {
				this.loading = false;
				this.loaded = true;
			}
		}
	}
}
