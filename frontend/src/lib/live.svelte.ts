// The live event stream (GET /api/v1/events/stream, Server-Sent Events) that
// lets the pages update in place. It is read with fetch rather than
// EventSource, which cannot send the bearer token: the API client adds it
// and renews it. After a dropped connection (or the server ending the
// stream when an access token would expire) it reconnects with the last
// message's id as Last-Event-ID, so no event is lost in between.
import type { ApiEvent } from './api/client';
import { api } from './app';

export interface StreamMessage {
	id: string;
	data: string;
}

/**
 * Splits Server-Sent Events text into complete messages; `rest` is the
 * start of a message still arriving. Comments and fields other than id and
 * data are skipped.
 */
export function parseMessages(text: string): { messages: StreamMessage[]; rest: string } {
	const messages: StreamMessage[] = [];
	const normalized = text.replace(/\r\n?/g, '\n');
	const blocks = normalized.split('\n\n');
	const rest = blocks.pop() ?? '';
	for (const block of blocks) {
		let id = '';
		const data: string[] = [];
		for (const line of block.split('\n')) {
			if (line.startsWith('id:')) id = line.slice(3).trim();
			else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
		}
		if (data.length > 0) messages.push({ id, data: data.join('\n') });
	}
	return { messages, rest };
}

type Listener = { onEvent: (e: ApiEvent) => void; onConnect?: () => void };

/** Waits after a failed connection, growing to 15 s. */
const RETRY_MS = [500, 1000, 2000, 5000, 15_000];

/** One stream for the whole app, open while some page listens. */
export class EventFeed {
	/** Whether the stream is open: the pages say "live" or fall back to polling. */
	connected = $state(false);
	// Not reactive state: nothing renders the listeners.
	// eslint-disable-next-line svelte/prefer-svelte-reactivity
	#listeners = new Set<Listener>();
	#lastId = '';
	#abort: AbortController | null = null;

	/**
	 * Calls onEvent for each event from now on and onConnect each time the
	 * stream (re)opens, when the page should read its data again once.
	 * Returns the function that stops listening.
	 */
	listen(onEvent: (e: ApiEvent) => void, onConnect?: () => void): () => void {
		const l: Listener = { onEvent, onConnect };
		this.#listeners.add(l);
		if (!this.#abort) void this.#run();
		return () => {
			this.#listeners.delete(l);
			if (this.#listeners.size === 0) {
				this.#abort?.abort();
				this.#abort = null;
				this.connected = false;
			}
		};
	}

	async #run(): Promise<void> {
		const abort = new AbortController();
		this.#abort = abort;
		let failures = 0;
		while (!abort.signal.aborted) {
			try {
				await this.#read(abort.signal, () => {
					failures = 0;
				});
			} catch {
				// dropped, refused or offline: try again below
			}
			this.connected = false;
			if (abort.signal.aborted) return;
			await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]));
		}
	}

	async #read(signal: AbortSignal, opened: () => void): Promise<void> {
		const headers: Record<string, string> = { Accept: 'text/event-stream' };
		if (this.#lastId) headers['Last-Event-ID'] = this.#lastId;
		const { response } = await api.GET('/events/stream', { parseAs: 'stream', headers, signal });
		if (!response.ok || !response.body) throw new Error(`stream: ${response.status}`);
		this.connected = true;
		opened();
		for (const l of this.#listeners) l.onConnect?.();
		const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
		let buffer = '';
		for (;;) {
			const { value, done } = await reader.read();
			if (done) return;
			const { messages, rest } = parseMessages(buffer + value);
			buffer = rest;
			for (const m of messages) {
				if (m.id) this.#lastId = m.id;
				let event: ApiEvent;
				try {
					event = JSON.parse(m.data) as ApiEvent;
				} catch {
					continue;
				}
				for (const l of this.#listeners) l.onEvent(event);
			}
		}
	}
}

export const feed = new EventFeed();

/**
 * Runs refresh once shortly after a burst of matching events (a router's
 * update writes several at once) and after each (re)connection. Returns
 * the stop function, for an $effect.
 */
export function refreshOnEvents(match: (e: ApiEvent) => boolean, refresh: () => Promise<void>, delayMs = 150): () => void {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const soon = () => {
		clearTimeout(timer);
		timer = setTimeout(() => void refresh(), delayMs);
	};
	const stop = feed.listen((e) => {
		if (match(e)) soon();
	}, soon);
	return () => {
		clearTimeout(timer);
		stop();
	};
}
