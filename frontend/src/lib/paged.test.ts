import { describe, expect, it } from 'vitest';
import { PagedList, type Page } from './paged.svelte';

describe('PagedList', () => {
	it('starts from the page its load function read, and reads on from its cursor', async () => {
		const asked: (string | undefined)[] = [];
		const fetch = async (cursor: string | undefined): Promise<Page<number>> => {
			asked.push(cursor);
			return { items: [3, 4], next_cursor: null };
		};
		const list = new PagedList(fetch, { items: [1, 2], next_cursor: 'c2' }, 'q=a');
		expect(list.loaded).toBe(true);
		expect(list.key).toBe('q=a');
		expect(list.items).toEqual([1, 2]);
		await list.more();
		expect(asked).toEqual(['c2']);
		expect(list.items).toEqual([1, 2, 3, 4]);
		expect(list.hasMore).toBe(false);
	});

	it('keeps its items and says why when a page fails', async () => {
		const list = new PagedList<number>(() => Promise.reject(new TypeError('Failed to fetch')), {
			items: [1],
			next_cursor: 'c'
		});
		await list.more();
		expect(list.items).toEqual([1]);
		expect(list.error).toMatch(/cannot be reached/);
	});

	it('drops the answer to an older query', async () => {
		let release: (p: Page<string>) => void = () => {};
		const slow = () => new Promise<Page<string>>((resolve) => (release = resolve));
		const list = new PagedList<string>();
		const first = list.reset(slow, 'q=a');
		const second = list.reset(async () => ({ items: ['b'], next_cursor: null }), 'q=b');
		await second;
		release({ items: ['a'], next_cursor: null });
		await first;
		expect(list.items).toEqual(['b']);
		expect(list.key).toBe('q=b');
	});
});
