// Notification channels: the events they choose from, in the words the form
// shows (the keys are the spec's NotifierEvent enum), and the forms of the
// common services, each building the Shoutrrr URL the API stores.
import { must, type Notifier, type NotifierEvent, type NotifierTestResult } from './api/client';
import { api } from './app';

export const NOTIFIER_EVENTS = {
	'delivery.failed': 'A record failed for good (failures at one service come as one digest)',
	'delivery.blocked': 'A provider answered abuse (the record is paused)',
	'delivery.recovered': 'A record got through again after failing',
	'host.stale': 'A router stopped reporting (silent for longer than the stale-after time)',
	'host.back': 'A silent router reports again',
	'address.changed': 'A router reported a new address',
	'drift.detected': 'A provider held another address than was delivered',
	'auth.login_failed': 'Many failed logins in a row'
} satisfies Record<NotifierEvent, string>;

export const notifierEvents = Object.keys(NOTIFIER_EVENTS) as NotifierEvent[];

/** What a new channel is told unless the admin chooses otherwise. */
export const defaultEvents: NotifierEvent[] = ['delivery.failed', 'delivery.blocked', 'delivery.recovered', 'host.stale'];

/** One input of a service's form. */
export type ServiceField = { key: string; label: string; hint?: string; secret?: boolean; placeholder?: string; optional?: boolean };

/** A service whose form builds the destination URL. */
export type ServiceKind = { id: string; title: string; fields: ServiceField[]; build: (v: Record<string, string>) => string };

const enc = encodeURIComponent;

function query(params: Record<string, string | undefined>): string {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
	const s = q.toString();
	return s ? `?${s}` : '';
}

/** server "host:port" or "http://host:port": the host part, and whether TLS is off. */
function server(s: string): { host: string; plain: boolean } {
	const t = s.trim().replace(/\/+$/, '');
	if (t.startsWith('http://')) return { host: t.slice(7), plain: true };
	return { host: t.replace(/^https:\/\//, ''), plain: false };
}

export const SERVICES: ServiceKind[] = [
	{
		id: 'ntfy',
		title: 'ntfy',
		fields: [
			{ key: 'server', label: 'Server', placeholder: 'ntfy.sh', hint: 'Its name (and port); start with http:// for a server without TLS.' },
			{ key: 'topic', label: 'Topic', placeholder: 'my-ddns-alerts' },
			{ key: 'user', label: 'User name', optional: true },
			{ key: 'password', label: 'Password or token', secret: true, optional: true }
		],
		build: (v) => {
			const s = server(v.server || 'ntfy.sh');
			const auth = v.user ? `${enc(v.user)}:${enc(v.password ?? '')}@` : '';
			return `ntfy://${auth}${s.host}/${enc(v.topic ?? '')}${query({ scheme: s.plain ? 'http' : undefined })}`;
		}
	},
	{
		id: 'gotify',
		title: 'Gotify',
		fields: [
			{ key: 'server', label: 'Server', placeholder: 'gotify.example.net', hint: 'Start with http:// for a server without TLS.' },
			{ key: 'token', label: 'Application token', secret: true }
		],
		build: (v) => {
			const s = server(v.server ?? '');
			return `gotify://${s.host}/${enc(v.token ?? '')}${query({ disabletls: s.plain ? 'yes' : undefined })}`;
		}
	},
	{
		id: 'telegram',
		title: 'Telegram',
		fields: [
			{ key: 'token', label: 'Bot token', secret: true, placeholder: '123456:ABC-DEF…' },
			{ key: 'chats', label: 'Chat IDs', hint: 'Comma-separated, e.g. 12345678 or @channel.' }
		],
		build: (v) => `telegram://${v.token ?? ''}@telegram${query({ chats: v.chats?.replace(/\s+/g, '') })}`
	},
	{
		id: 'discord',
		title: 'Discord',
		fields: [{ key: 'webhook', label: 'Discord webhook URL', secret: true, placeholder: 'https://discord.com/api/webhooks/ID/TOKEN' }],
		build: (v) => {
			const m = /webhooks\/(\d+)\/([\w-]+)/.exec(v.webhook ?? '');
			return m ? `discord://${m[2]}@${m[1]}` : 'discord://';
		}
	},
	{
		id: 'smtp',
		title: 'E-mail (SMTP)',
		fields: [
			{ key: 'server', label: 'SMTP server', placeholder: 'mail.example.net:587' },
			{ key: 'user', label: 'User name', optional: true },
			{ key: 'password', label: 'Password', secret: true, optional: true },
			{ key: 'from', label: 'From', placeholder: 'ddns@example.net' },
			{ key: 'to', label: 'To', placeholder: 'me@example.net', hint: 'Comma-separated addresses.' }
		],
		build: (v) => {
			const auth = v.user ? `${enc(v.user)}:${enc(v.password ?? '')}@` : '';
			return `smtp://${auth}${(v.server ?? '').trim()}/${query({ from: v.from, to: v.to?.replace(/\s+/g, '') })}`;
		}
	},
	{
		id: 'generic',
		title: 'Any JSON webhook (generic)',
		fields: [{ key: 'url', label: 'Endpoint URL', secret: true, placeholder: 'https://hooks.example.net/ddns', hint: 'It receives the JSON body webhooks get.' }],
		build: (v) => {
			const u = (v.url ?? '').trim();
			if (u.startsWith('http://')) return `generic://${u.slice(7)}${u.includes('?') ? '&' : '?'}disabletls=yes`;
			return `generic://${u.replace(/^https:\/\//, '')}`;
		}
	},
	{
		id: 'url',
		title: 'Another service: paste a Shoutrrr URL',
		fields: [
			{
				key: 'url',
				label: 'Destination URL',
				secret: true,
				placeholder: 'slack://…, pushover://…, matrix://…',
				hint: 'In Shoutrrr’s format: telegram, discord, slack, pushover, teams, ntfy, gotify, smtp, matrix, mattermost, generic.'
			}
		],
		build: (v) => (v.url ?? '').trim()
	}
];

/** The outcome of a test message in one sentence. */
export function notifierTestOutcome(r: NotifierTestResult): string {
	if (r.delivered) return `Delivered in ${r.duration_ms} ms.`;
	return `Not delivered (after ${r.duration_ms} ms): ${r.error || 'the destination did not accept it'}`;
}

export function fetchNotifier(id: number): Promise<Notifier> {
	return must(api.GET('/notifiers/{id}', { params: { path: { id } } }));
}
