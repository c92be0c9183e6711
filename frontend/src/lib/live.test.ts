import { describe, expect, it } from 'vitest';
import { parseMessages } from './live.svelte';

describe('the live stream parser', () => {
	it('splits messages, skips comments and keeps a partial one', () => {
		const text = 'retry: 2000\n: connected\n\nid: 7-1\ndata: {"id":1}\n\n: keep-alive\n\nid: 7-2\ndata: {"id"';
		const { messages, rest } = parseMessages(text);
		expect(messages).toEqual([{ id: '7-1', data: '{"id":1}' }]);
		expect(rest).toBe('id: 7-2\ndata: {"id"');
		const more = parseMessages(rest + ':2}\n\n');
		expect(more.messages).toEqual([{ id: '7-2', data: '{"id":2}' }]);
		expect(more.rest).toBe('');
	});

	it('joins data lines and reads CRLF', () => {
		expect(parseMessages('id: 1-1\r\ndata: a\r\ndata: b\r\n\r\n').messages).toEqual([{ id: '1-1', data: 'a\nb' }]);
	});
});
