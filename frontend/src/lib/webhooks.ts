// What a webhook can be told about, in the words the form shows; the keys
// are the spec's WebhookEvent enum (the type check keeps them in step).
import { must, type Webhook, type WebhookEvent, type WebhookTestResult } from './api/client';
import { api } from './app';

export const WEBHOOK_EVENTS = {
	'delivery.failed': 'A delivery failed for good (the record waits for a change or a resync)',
	'delivery.blocked': 'A provider answered abuse (the record is paused)',
	'delivery.recovered': 'A record got through again after failing, retrying or being blocked',
	'host.stale': 'A host has not been seen for longer than the stale-after time',
	'host.back': 'A silent host reports again',
	'address.changed': 'A host reported a new address',
	'drift.detected': 'A provider held another address than was delivered',
	'auth.login_failed': 'Many failed logins in a row'
} satisfies Record<WebhookEvent, string>;

export const webhookEvents = Object.keys(WEBHOOK_EVENTS) as WebhookEvent[];

/** The outcome of a test notification in one sentence. */
export function testOutcome(r: WebhookTestResult): string {
	const status = r.status_code === null ? 'no HTTP answer' : `HTTP ${r.status_code}`;
	if (r.delivered) return `Delivered: the receiver answered ${status} in ${r.duration_ms} ms.`;
	return `Not delivered (${status}, after ${r.duration_ms} ms): ${r.error || 'the receiver did not answer 2xx'}`;
}

export function fetchWebhook(id: number): Promise<Webhook> {
	return must(api.GET('/webhooks/{id}', { params: { path: { id } } }));
}
