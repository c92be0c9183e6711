import { afterEach, describe, expect, it, vi } from 'vitest';
import { poll } from './poll';

describe('poll', () => {
	afterEach(() => vi.useRealTimers());

	it("lets a refresh's error through (never swallowed) and goes on polling", async () => {
		vi.useFakeTimers();
		let calls = 0;
		const failures: unknown[] = [];
		const onRejection = (e: PromiseRejectionEvent | unknown) => failures.push(e);
		process.on('unhandledRejection', onRejection);
		const stop = poll(async () => {
			calls++;
			if (calls === 1) throw new Error('boom');
		}, 1000);
		await vi.advanceTimersByTimeAsync(1000);
		await vi.advanceTimersByTimeAsync(1000);
		await vi.advanceTimersByTimeAsync(1000);
		stop();
		await vi.advanceTimersByTimeAsync(5000);
		process.off('unhandledRejection', onRejection);
		expect(calls).toBe(3);
		expect(failures).toHaveLength(1);
	});
});
