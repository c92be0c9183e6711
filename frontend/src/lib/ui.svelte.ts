// App-wide UI state: the status line read out by screen readers and the
// confirmation dialog.

export type NoticeKind = 'ok' | 'error' | 'info';

class Notices {
	text = $state('');
	kind = $state<NoticeKind>('info');
	#timer: ReturnType<typeof setTimeout> | undefined;

	show(text: string, kind: NoticeKind = 'ok'): void {
		this.text = text;
		this.kind = kind;
		clearTimeout(this.#timer);
		this.#timer = setTimeout(() => (this.text = ''), kind === 'error' ? 10_000 : 5000);
	}

	clear(): void {
		this.text = '';
	}
}
export const notices = new Notices();

export interface ConfirmRequest {
	title: string;
	message: string;
	confirmLabel?: string;
	danger?: boolean;
}

class Confirmation {
	request = $state<ConfirmRequest | null>(null);
	#resolve: ((ok: boolean) => void) | null = null;

	/** Asks the question in a modal dialog; resolves true when confirmed. */
	ask(request: ConfirmRequest): Promise<boolean> {
		this.#resolve?.(false);
		this.request = request;
		return new Promise((resolve) => (this.#resolve = resolve));
	}

	answer(ok: boolean): void {
		this.#resolve?.(ok);
		this.#resolve = null;
		this.request = null;
	}
}
export const confirmation = new Confirmation();
