// Errors from the API arrive as application/problem+json with per-field
// errors; ApiError carries them to the form that sent the request.

/** Field name → message, as the API names the fields (e.g. "fqdn", "ipv6_netmask"). */
export type FieldErrors = Record<string, string>;

export class ApiError extends Error {
	readonly status: number;
	readonly fields: FieldErrors;
	readonly detail: string;
	/** The problem's code, for answers a client acts on (otp_required, …); '' when none. */
	readonly code: string;

	constructor(status: number, title: string, detail = '', fields: FieldErrors = {}, code = '') {
		super(detail ? `${title}: ${detail}` : title);
		this.name = 'ApiError';
		this.status = status;
		this.detail = detail;
		this.fields = fields;
		this.code = code;
	}

	/** The sentence to show above a form: the detail, or the title when there is none. */
	get summary(): string {
		if (this.detail) return this.detail;
		return this.message;
	}
}

interface ProblemBody {
	title?: unknown;
	detail?: unknown;
	errors?: unknown;
	code?: unknown;
}

/** Turns a problem+json body (already parsed, or unknown) into an ApiError. */
export function toApiError(status: number, body: unknown, statusText = ''): ApiError {
	const p = (body && typeof body === 'object' ? body : {}) as ProblemBody;
	const fields: FieldErrors = {};
	if (Array.isArray(p.errors)) {
		for (const e of p.errors) {
			if (e && typeof e === 'object' && typeof e.message === 'string') {
				const field = typeof e.field === 'string' ? e.field : '';
				fields[field] = fields[field] ? `${fields[field]} ${e.message}` : e.message;
			}
		}
	}
	const title =
		typeof p.title === 'string' && p.title
			? p.title
			: statusText || (status === 0 ? 'The server cannot be reached' : `Request failed (${status})`);
	return new ApiError(status, title, typeof p.detail === 'string' ? p.detail : '', fields, typeof p.code === 'string' ? p.code : '');
}

/** Reads an error response. */
export async function problemOf(res: Response): Promise<ApiError> {
	let body: unknown;
	try {
		body = await res.json();
	} catch {
		body = undefined;
	}
	return toApiError(res.status, body, res.statusText);
}

/** The message for anything a request threw: an ApiError's summary, or a network failure. */
export function messageOf(err: unknown): string {
	if (err instanceof ApiError) return err.summary;
	if (err instanceof TypeError) return 'The server cannot be reached. Check your connection and try again.';
	return err instanceof Error ? err.message : String(err);
}
