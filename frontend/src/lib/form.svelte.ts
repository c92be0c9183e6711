// The state of one form: busy while a request runs, the API's field errors
// next to their fields, everything else in one message above the form.
import { ApiError, messageOf, type FieldErrors } from './api/problem';

/** Renames an API field (and may reword its message) to the form field that shows it. */
export type FieldMapper = (field: string, message: string) => { field: string; message: string };

export class FormState {
	busy = $state(false);
	errors = $state<FieldErrors>({});
	message = $state('');
	/** The fields this form shows; errors about any other field join the message. */
	readonly #fields: readonly string[] | (() => readonly string[]);
	readonly #map: FieldMapper | undefined;

	/** fields may be a function when the form shows different fields at different times. */
	constructor(fields: readonly string[] | (() => readonly string[]) = [], map?: FieldMapper) {
		this.#fields = fields;
		this.#map = map;
	}

	/** The error of a field, or ''. */
	error(field: string): string {
		return this.errors[field] ?? '';
	}

	/** Runs a request; returns its result, or undefined after showing its error. */
	async run<T>(request: () => Promise<T>): Promise<T | undefined> {
		this.busy = true;
		this.errors = {};
		this.message = '';
		try {
			return await request();
		} catch (err) {
			this.fail(err);
			return undefined;
		} finally {
			this.busy = false;
		}
	}

	fail(err: unknown): void {
		if (!(err instanceof ApiError)) {
			this.message = messageOf(err);
			return;
		}
		const shown: FieldErrors = {};
		const other: string[] = [];
		const fields = typeof this.#fields === 'function' ? this.#fields() : this.#fields;
		for (const [field, msg] of Object.entries(err.fields)) {
			const bare = field.replace(/^body\./, '');
			const { field: name, message } = this.#map ? this.#map(bare, msg) : { field: bare, message: msg };
			if (fields.includes(name)) shown[name] = shown[name] ? `${shown[name]} ${message}` : message;
			else other.push(name ? `${name}: ${message}` : message);
		}
		this.errors = shown;
		const head = Object.keys(err.fields).length > 0 && !err.detail ? 'Please correct the marked fields.' : err.summary;
		this.message = [head, ...other].join(' ');
	}
}
