// The live preview of a record's effective addresses while its form is
// edited: debounced POST /records/preview, newest answer wins, the API's
// field errors and warnings kept for the fields they name.
import type { RecordPreview, RecordPreviewRequest, Warning } from './api/client';
import { ApiError, messageOf, type FieldErrors } from './api/problem';

export interface PreviewInput {
	host_id: number | null | undefined;
	ipv4_enabled: boolean;
	ipv4_netmask: number | null | undefined;
	ipv4_host_identifier: string;
	ipv6_enabled: boolean;
	ipv6_netmask: number | null | undefined;
	ipv6_host_identifier: string;
}

export class RecordPreviewer {
	result = $state<RecordPreview | null>(null);
	errors = $state<FieldErrors>({});
	message = $state('');
	loading = $state(false);
	#seq = 0;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#fetch: (body: RecordPreviewRequest) => Promise<RecordPreview>;
	#delay: number;

	constructor(fetchPreview: (body: RecordPreviewRequest) => Promise<RecordPreview>, delayMs = 250) {
		this.#fetch = fetchPreview;
		this.#delay = delayMs;
	}

	/** Asks for a preview of `input` once the user pauses typing. */
	update(input: PreviewInput): void {
		clearTimeout(this.#timer);
		const body = previewBody(input);
		if (!body) {
			this.#seq++;
			this.result = null;
			this.loading = false;
			return;
		}
		this.loading = true;
		this.#timer = setTimeout(() => void this.#run(body), this.#delay);
	}

	async #run(body: RecordPreviewRequest): Promise<void> {
		const seq = ++this.#seq;
		try {
			const result = await this.#fetch(body);
			if (seq !== this.#seq) return;
			this.result = result;
			this.errors = {};
			this.message = '';
		} catch (err) {
			if (seq !== this.#seq) return;
			this.result = null;
			this.errors = err instanceof ApiError ? err.fields : {};
			this.message = err instanceof ApiError && Object.keys(err.fields).length > 0 ? '' : messageOf(err);
		} finally {
			if (seq === this.#seq) this.loading = false;
		}
	}

	/** The warnings about one field ('' for those about the record as a whole). */
	warnings(field: string): Warning[] {
		return (this.result?.warnings ?? []).filter((w) => w.field === field);
	}

	stop(): void {
		clearTimeout(this.#timer);
		this.#seq++;
	}
}

/** The request for an input, or null while it cannot be previewed (no host chosen yet). */
export function previewBody(input: PreviewInput): RecordPreviewRequest | null {
	if (!input.host_id) return null;
	const body: RecordPreviewRequest = {
		host_id: input.host_id,
		ipv4_enabled: input.ipv4_enabled,
		ipv6_enabled: input.ipv6_enabled
	};
	if (typeof input.ipv4_netmask === 'number' && Number.isFinite(input.ipv4_netmask)) body.ipv4_netmask = input.ipv4_netmask;
	if (typeof input.ipv6_netmask === 'number' && Number.isFinite(input.ipv6_netmask)) body.ipv6_netmask = input.ipv6_netmask;
	if (input.ipv4_host_identifier.trim()) body.ipv4_host_identifier = input.ipv4_host_identifier.trim();
	if (input.ipv6_host_identifier.trim()) body.ipv6_host_identifier = input.ipv6_host_identifier.trim();
	return body;
}
