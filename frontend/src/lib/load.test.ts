import { isHttpError } from '@sveltejs/kit';
import { describe, expect, it } from 'vitest';
import { ApiError } from './api/problem';
import { Live, pageData } from './load.svelte';

async function failure(call: Promise<unknown>): Promise<unknown> {
	try {
		await pageData(call);
	} catch (err) {
		return err;
	}
	throw new Error('pageData did not fail');
}

describe('pageData', () => {
	it('gives the data of a call that succeeds', async () => {
		expect(await pageData(Promise.resolve({ id: 1 }))).toEqual({ id: 1 });
	});

	it("turns the API's refusal into the page's error, with its status and words", async () => {
		const err = await failure(Promise.reject(new ApiError(404, 'Not Found', 'host 999999 does not exist')));
		expect(isHttpError(err)).toBe(true);
		expect(err).toMatchObject({ status: 404, body: { message: 'host 999999 does not exist' } });
	});

	it('says the server cannot be reached when the request never got an answer (503)', async () => {
		const err = await failure(Promise.reject(new TypeError('Failed to fetch')));
		expect(err).toMatchObject({ status: 503, body: { message: expect.stringMatching(/cannot be reached/) } });
	});

	it('never passes on a status that is not an error', async () => {
		expect(await failure(Promise.reject(new ApiError(0, 'The server cannot be reached')))).toMatchObject({ status: 503 });
	});
});

describe('Live', () => {
	it('replaces its data on a good refresh, keeps it and says why on a failed one', async () => {
		const answers: (() => Promise<number>)[] = [
			() => Promise.reject(new ApiError(500, 'Internal Server Error', 'database down')),
			() => Promise.resolve(2)
		];
		const live = new Live(1, () => answers.shift()!());
		await live.refresh();
		expect(live.value).toBe(1);
		expect(live.error).toBe('database down');
		await live.refresh();
		expect(live.value).toBe(2);
		expect(live.error).toBe('');
	});
});
