// What is shown only once (a new host's update secret and the router setup
// with it filled in), handed from the page that received it to the page that
// shows it, then forgotten.
const values = new Map<string, unknown>();

export const oneTime = {
	put<T>(key: string, value: T): void {
		values.set(key, value);
	},
	take<T>(key: string): T | null {
		const v = (values.get(key) as T | undefined) ?? null;
		values.delete(key);
		return v;
	}
};
