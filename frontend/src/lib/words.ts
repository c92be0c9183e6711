// What the app says instead of the API's codes: event kinds and delivery
// states as words people use. The tables are typed by the enums generated
// from openapi.yaml, so a kind added to the spec does not compile until it
// has its sentence here.
import type { components } from './api/schema';

type EventKind = components['schemas']['EventKind'];
type DeliveryState = components['schemas']['ChangeDelivery']['state'];

/** Each event kind as a short sentence. */
export const eventKindText: Record<EventKind, string> = {
	'address.changed': 'Address changed',
	'address.set_by_hand': 'Address set by hand',
	'address.private': 'Private address reported',
	'delivery.delivered': 'Delivered',
	'delivery.retry': 'Delivery failed, will retry',
	'delivery.failed': 'Delivery failed',
	'delivery.blocked': 'Delivery blocked',
	'delivery.recovered': 'Delivering again',
	'drift.detected': 'DNS differs from what was sent',
	'drift.error': 'Could not check the DNS',
	'host.created': 'Host added',
	'host.updated': 'Host changed',
	'host.deleted': 'Host deleted',
	'host.resync': 'Host re-sent',
	'host.secret_rotated': 'Update secret replaced',
	'host.stale': 'Router not seen lately',
	'host.back': 'Router reports again',
	'record.created': 'Record added',
	'record.updated': 'Record changed',
	'record.deleted': 'Record deleted',
	'record.resync': 'Record re-sent',
	'service.created': 'Service added',
	'service.updated': 'Service changed',
	'service.deleted': 'Service deleted',
	'webhook.created': 'Webhook added',
	'webhook.updated': 'Webhook changed',
	'webhook.deleted': 'Webhook deleted',
	'webhook.test': 'Webhook tested',
	'user.created': 'User added',
	'user.updated': 'User changed',
	'user.deleted': 'User deleted',
	'user.password_changed': 'Password changed',
	'token.created': 'API token created',
	'token.deleted': 'API token revoked',
	'auth.login': 'Logged in',
	'auth.logout': 'Logged out',
	'auth.refresh_reused': 'A used session token came back: session ended',
	'auth.failed': 'Router update refused',
	'auth.login_failed': 'Login failed',
	'import.created': 'Imported'
};

/** A kind the app does not know yet (a newer server) reads as its code. */
export function eventText(kind: string): string {
	return (eventKindText as Record<string, string>)[kind] ?? kind;
}

/** The colour of an event's badge, by what it means. */
export function eventTone(kind: string): string {
	if (kind.endsWith('.delivered') || kind.endsWith('.recovered')) return 'delivered';
	if (kind.endsWith('.failed') || kind === 'auth.refresh_reused') return 'failed';
	if (kind.endsWith('.retry') || kind.endsWith('.stale') || kind.startsWith('drift.')) return 'retrying';
	if (kind.endsWith('.blocked')) return 'blocked';
	if (kind.startsWith('address.')) return 'pending';
	return '';
}

/** A delivery's state in a sentence's words. */
export const deliveryStateText: Record<DeliveryState, string> = {
	pending: 'waiting to be sent',
	running: 'sending',
	delivered: 'delivered',
	failed: 'failed',
	blocked: 'blocked',
	superseded: 'replaced by a newer address',
	cancelled: 'cancelled'
};

/** "850 ms", "1.5 s", "2 min 5 s". */
export function durationText(ms: number): string {
	if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
	if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))} s`;
	const s = Math.round(ms / 1000);
	return `${Math.floor(s / 60)} min ${s % 60} s`;
}
