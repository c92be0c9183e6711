// Who is logged in (GET /me), loaded once per session.
import { must, type Me } from './api/client';
import { api } from './app';

class Account {
	me = $state<Me | null>(null);
	/** Admins see every owner's objects and manage accounts. */
	admin = $derived(this.me?.role === 'admin');

	/** Reads who is logged in, for the whole app; returns it too. */
	async load(): Promise<Me> {
		this.me = await must(api.GET('/me'));
		return this.me;
	}

	clear(): void {
		this.me = null;
	}
}

export const account = new Account();

/** Where the login page sends back to: a path of this app, never another site. */
export function safeNext(next: string | null): string {
	return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
}

export function loginUrl(url: URL): string {
	const here = url.pathname + url.search;
	return here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`;
}
