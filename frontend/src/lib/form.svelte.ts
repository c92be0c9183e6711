// The state of one form: busy while a request runs, the API's field errors
// next to their fields, everything else in one message above the form.
import { ApiError, messageOf, type FieldErrors } from './api/problem';

export class FormState {
	busy = $state(false);
	errors = $state<FieldErrors>({});
	message = $state('');
	/** The fields this form shows; errors about any other field join the message. */
	readonly #fields: readonly string[];

	constructor(fields: string[] = []) {
		this.#fields = fields;
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
		for (const [field, msg] of Object.entries(err.fields)) {
			const name = field.replace(/^body\./, '');
			if (this.#fields.includes(name)) shown[name] = msg;
			else other.push(name ? `${name}: ${msg}` : msg);
		}
		this.errors = shown;
		const head = Object.keys(err.fields).length > 0 && !err.detail ? 'Please correct the marked fields.' : err.summary;
		this.message = [head, ...other].join(' ');
	}
}
