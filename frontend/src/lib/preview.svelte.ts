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
	/** A MAC address: the IPv6 identifier is its EUI-64 form (the identifier field is then not sent). */
	ipv6_host_mac?: string;
	/** A subnet id of the host's delegated prefix: the netmask is then 64. */
	ipv6_subnet_id?: string;
	ipv4_mode?: AddressMode;
	ipv4_static_address?: string;
	ipv6_mode?: AddressMode;
	ipv6_static_address?: string;
}

export type AddressMode = 'derived' | 'static';

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
	const mac = input.ipv6_host_mac?.trim() ?? '';
	if (mac) body.ipv6_host_mac = mac;
	else if (input.ipv6_host_identifier.trim()) body.ipv6_host_identifier = input.ipv6_host_identifier.trim();
	const subnet = input.ipv6_subnet_id?.trim() ?? '';
	if (subnet) {
		body.ipv6_subnet_id = subnet;
		body.ipv6_netmask = 64;
	}
	if (input.ipv4_mode === 'static') {
		body.ipv4_mode = 'static';
		body.ipv4_static_address = input.ipv4_static_address?.trim() ?? '';
	}
	if (input.ipv6_mode === 'static') {
		body.ipv6_mode = 'static';
		body.ipv6_static_address = input.ipv6_static_address?.trim() ?? '';
	}
	return body;
}
