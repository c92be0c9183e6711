// How times and addresses read in the app.

const units: [Intl.RelativeTimeFormatUnit, number][] = [
	['year', 365 * 86400],
	['month', 30 * 86400],
	['day', 86400],
	['hour', 3600],
	['minute', 60],
	['second', 1]
];
const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/**
 * Whether a timestamp names a moment: not absent, not unreadable, and not Go's
 * zero time (year 1), which means "none" wherever it slips through.
 */
export function isTime(iso: string | null | undefined): iso is string {
	if (!iso) return false;
	const t = Date.parse(iso);
	return Number.isFinite(t) && t > 0;
}

/** "3 minutes ago", "in 25 seconds"; "never" for null. */
export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
	if (!isTime(iso)) return 'never';
	const seconds = Math.round((Date.parse(iso) - now) / 1000);
	// the page's clock ticks every few seconds: closer than that is "now"
	if (Math.abs(seconds) < 10) return 'just now';
	for (const [unit, size] of units) {
		if (Math.abs(seconds) >= size || unit === 'second') return rtf.format(Math.trunc(seconds / size), unit);
	}
	return '';
}

const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const tf = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

export function absoluteTime(iso: string | null | undefined): string {
	return isTime(iso) ? dtf.format(new Date(iso)) : 'never';
}

export function clockTime(iso: string | null | undefined): string {
	return isTime(iso) ? tf.format(new Date(iso)) : '';
}

/** The notice after a resync: the deliveries queued, or, when none were, why there was nothing to send. */
export function resyncNotice(queued: number, nothingBecause: string): string {
	if (queued === 0) return `Nothing to send: ${nothingBecause}`;
	return `Queued ${queued} ${queued === 1 ? 'delivery' : 'deliveries'}.`;
}

/** The later of two timestamps. */
export function latest(...isos: (string | null | undefined)[]): string | null {
	let best: string | null = null;
	for (const t of isos) if (t && (!best || Date.parse(t) > Date.parse(best))) best = t;
	return best;
}

export function nowISO(): string {
	return new Date().toISOString();
}
