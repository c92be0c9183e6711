// Secrets shown only once (a new host's update secret), handed from the page
// that received them to the page that shows them, then forgotten.
const secrets = new Map<string, string>();

export const oneTime = {
	put(key: string, secret: string): void {
		secrets.set(key, secret);
	},
	take(key: string): string | null {
		const s = secrets.get(key) ?? null;
		secrets.delete(key);
		return s;
	}
};
