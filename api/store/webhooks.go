package store

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// Webhook is a notification channel: an admin's HTTP endpoint in the
// webhook form (URL, optional HMAC secret), or a Shoutrrr destination
// (Destination: telegram://, ntfy://, smtp://, generic://, …) told about
// the events it chose.
type Webhook struct {
	ID   int64
	Name string
	URL  string // the webhook form's URL; "" for a Shoutrrr channel
	// Destination is the Shoutrrr URL sealed by secretbox (nil for the
	// webhook form); DestinationShown is its scheme and server, for display.
	Destination      []byte
	DestinationKey   string
	DestinationShown string
	Secret           []byte // the HMAC key, sealed by secretbox; nil: unsigned
	SecretKey        string
	Events           []string // kinds subscribed to: delivery.failed, delivery.blocked, delivery.recovered, host.stale
	Enabled          bool
	// The last attempt to reach the receiver.
	LastAttemptAt  *time.Time
	LastSuccessAt  *time.Time
	LastStatusCode *int
	LastError      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// SinceXID is the first transaction whose events the webhook is told
	// about: those that began after it was created.
	SinceXID uint64
	// OwnerID is the account the webhook belongs to; it is told about the
	// events of that account's objects only, unless OwnerAdmin (nil: the
	// admins').
	OwnerID    *int64
	OwnerAdmin bool
}

const webhookColumns = `w.id, w.name, coalesce(w.url, ''), w.destination, coalesce(w.destination_key, ''),
	coalesce(w.destination_shown, ''), w.secret, coalesce(w.secret_key, ''), w.events, w.enabled,
	w.last_attempt_at, w.last_success_at, w.last_status_code, w.last_error, w.created_at, w.updated_at,
	w.since_xid::text::bigint, w.owner_id, coalesce((SELECT role = 'admin' FROM users WHERE id = w.owner_id), true)`

func scanWebhook(row rowScanner) (Webhook, error) {
	var w Webhook
	err := row.Scan(&w.ID, &w.Name, &w.URL, &w.Destination, &w.DestinationKey, &w.DestinationShown, &w.Secret, &w.SecretKey, &w.Events, &w.Enabled,
		&w.LastAttemptAt, &w.LastSuccessAt, &w.LastStatusCode, &w.LastError, &w.CreatedAt, &w.UpdatedAt, &w.SinceXID, &w.OwnerID, &w.OwnerAdmin)
	return w, err
}

// NewWebhook is what creating a webhook takes.
type NewWebhook struct {
	Name             string
	URL              string // the webhook form, or:
	Destination      []byte // a sealed Shoutrrr URL
	DestinationKey   string
	DestinationShown string
	Secret           []byte
	SecretKey        string
	Events           []string
	Enabled          bool
	OwnerID          int64
}

// CreateWebhook adds a webhook; a name taken in any case is ErrConflict.
func (q *Queries) CreateWebhook(ctx context.Context, n NewWebhook) (Webhook, error) {
	w, err := scanWebhook(q.db.QueryRow(ctx, `
		INSERT INTO webhooks AS w (name, url, secret, secret_key, events, enabled, destination, destination_key, destination_shown, owner_id)
		VALUES ($1, nullif($2, ''), $3, nullif($4, ''), $5, $6, $7, nullif($8, ''), nullif($9, ''), nullif($10, 0)) RETURNING `+webhookColumns,
		n.Name, n.URL, n.Secret, n.SecretKey, n.Events, n.Enabled, n.Destination, n.DestinationKey, n.DestinationShown, n.OwnerID))
	return w, mapErr("create webhook", err)
}

// Webhook finds a webhook by id.
func (q *Queries) Webhook(ctx context.Context, id int64) (Webhook, error) {
	c := one("w.id", id, func(c *cond) { q.ownRows(c, "w.owner_id") })
	w, err := scanWebhook(q.db.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks w WHERE `+c.sql(), c.args...))
	return w, mapErr("webhook", err)
}

// WebhooksPage lists channels by name (case-insensitive), then id, after
// (afterName, afterID) when afterID is not 0; those of the webhook form
// only when webhooksOnly.
func (q *Queries) WebhooksPage(ctx context.Context, afterName string, afterID int64, limit int, webhooksOnly bool) ([]Webhook, error) {
	var c cond
	if webhooksOnly {
		c.add("w.url IS NOT NULL")
	}
	q.ownRows(&c, "w.owner_id")
	if afterID != 0 {
		c.add("(lower(w.name), w.id) > (lower($?), $?)", afterName, afterID)
	}
	rows, err := q.db.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks w WHERE `+c.sql()+
		` ORDER BY lower(w.name), w.id LIMIT `+c.limit(limit), c.args...)
	return collect("list webhooks", rows, err, scanWebhook)
}

// EnabledWebhooks lists the webhooks that get notifications.
func (q *Queries) EnabledWebhooks(ctx context.Context) ([]Webhook, error) {
	rows, err := q.db.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks w WHERE w.enabled ORDER BY w.id`)
	return collect("enabled webhooks", rows, err, scanWebhook)
}

// WebhookPatch changes a webhook; nil fields stay. ClearSecret removes the secret.
type WebhookPatch struct {
	Name        *string
	URL         *string
	Secret      []byte
	SecretKey   string
	ClearSecret bool
	Events      []string
	Enabled     *bool
	// Destination replaces a Shoutrrr channel's sealed URL (nil: keep).
	Destination      []byte
	DestinationKey   string
	DestinationShown string
}

// UpdateWebhook applies a patch. Disabling a webhook cancels what it still
// had to send: a receiver switched off is not flooded when it comes back.
func (q *Queries) UpdateWebhook(ctx context.Context, id int64, p WebhookPatch) (Webhook, error) {
	w, err := scanWebhook(q.db.QueryRow(ctx, `
		UPDATE webhooks w SET name = coalesce($2, name), url = coalesce($3, url),
			secret = CASE WHEN $6 THEN NULL WHEN $4::bytea IS NOT NULL THEN $4 ELSE secret END,
			secret_key = CASE WHEN $6 THEN NULL WHEN $4::bytea IS NOT NULL THEN $5 ELSE secret_key END,
			events = coalesce($7, events), enabled = coalesce($8, enabled), updated_at = now(),
			destination = coalesce($9, destination), destination_key = coalesce(nullif($10, ''), destination_key),
			destination_shown = coalesce(nullif($11, ''), destination_shown)
		WHERE id = $1 RETURNING `+webhookColumns, id, p.Name, p.URL, p.Secret, p.SecretKey, p.ClearSecret, p.Events, p.Enabled,
		p.Destination, p.DestinationKey, p.DestinationShown))
	if err != nil {
		return w, mapErr("update webhook", err)
	}
	if !w.Enabled {
		_, err = q.db.Exec(ctx, `UPDATE webhook_deliveries SET state = 'cancelled', finished_at = now(), updated_at = now(),
			last_error = 'the webhook was disabled' WHERE webhook_id = $1 AND state = 'pending'`, id)
	}
	return w, mapErr("update webhook", err)
}

// DeleteWebhook removes a webhook with its queued notifications.
func (q *Queries) DeleteWebhook(ctx context.Context, id int64) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM webhooks WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	return mapErr("delete webhook", err)
}

// RecordWebhookAttempt notes the outcome of an attempt to reach a webhook's
// receiver; status is the HTTP status, nil when none came back.
func (q *Queries) RecordWebhookAttempt(ctx context.Context, id int64, ok bool, status *int, message string) error {
	_, err := q.db.Exec(ctx, `UPDATE webhooks SET last_attempt_at = now(), last_status_code = $3, last_error = $4,
		last_success_at = CASE WHEN $2 THEN now() ELSE last_success_at END WHERE id = $1`, id, ok, status, message)
	return mapErr("record webhook attempt", err)
}

// Notifier feed: the events a webhook can be told about, read in the order
// of the transactions that wrote them (see migration 000004).

// NotifierCursor is how far the notifier has read: every notifiable event
// before (XID, EventID) is handled. XID is an xid8 in its text form.
type NotifierCursor struct {
	XID     string
	EventID int64
}

// NotifierHorizon is the oldest transaction still running: the events of
// every older one are final. Ask before any write of the transaction, so
// that its own id does not hold the horizon back.
func (q *Queries) NotifierHorizon(ctx context.Context) (string, error) {
	var x string
	err := q.db.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&x)
	return x, mapErr("notifier horizon", err)
}

// StreamStart is where a new live stream begins: at the horizon
// (NotifierHorizon), passing over the events of every transaction already
// committed then (seen, a pg_snapshot as text; StreamWindow.Seen).
func (q *Queries) StreamStart(ctx context.Context) (horizon, seen string, err error) {
	err = q.db.QueryRow(ctx, `SELECT pg_snapshot_xmin(s)::text, s::text FROM pg_current_snapshot() s`).Scan(&horizon, &seen)
	return horizon, seen, mapErr("stream start", err)
}

// LockNotifierCursor reads the cursor and locks it for the transaction;
// ok is false when another replica holds it.
func (q *Queries) LockNotifierCursor(ctx context.Context) (c NotifierCursor, ok bool, err error) {
	err = q.db.QueryRow(ctx, `SELECT xid::text, event_id FROM notifier_cursor FOR UPDATE SKIP LOCKED`).Scan(&c.XID, &c.EventID)
	if errors.Is(err, errNoRows) {
		return c, false, nil
	}
	return c, err == nil, mapErr("lock notifier cursor", err)
}

// SetNotifierCursor moves the cursor; it never moves back.
func (q *Queries) SetNotifierCursor(ctx context.Context, c NotifierCursor) error {
	_, err := q.db.Exec(ctx, `UPDATE notifier_cursor SET xid = $1::text::xid8, event_id = $2
		WHERE (xid, event_id) < ($1::text::xid8, $2)`, c.XID, c.EventID)
	return mapErr("set notifier cursor", err)
}

// FeedEvent is a notifiable event with the names of what it is about (nil
// when that was deleted since).
type FeedEvent struct {
	Event
	XID         string
	HostFQDN    *string
	RecordFQDN  *string
	ServiceName *string
}

// NotifiableEvents returns up to limit events of the kinds webhooks are
// told about, after the cursor and before the horizon, in cursor order.
func (q *Queries) NotifiableEvents(ctx context.Context, after NotifierCursor, horizon string, limit int) ([]FeedEvent, error) {
	rows, err := q.db.Query(ctx, `
		SELECT `+eventColumns+`, e.xid::text, h.fqdn, r.fqdn, s.name
		FROM events e
		LEFT JOIN hosts h ON h.id = e.host_id
		LEFT JOIN records r ON r.id = e.record_id
		LEFT JOIN services s ON s.id = e.service_id
		WHERE e.kind = ANY($5::text[])
			AND (e.xid, e.id) > ($1::text::xid8, $2) AND e.xid < $3::text::xid8
		ORDER BY e.xid, e.id LIMIT $4`, after.XID, after.EventID, horizon, limit,
		[]string{string(EventDeliveryFailed), string(EventDeliveryBlocked), string(EventDeliveryDelivered), string(EventHostStale),
			string(EventHostBack), string(EventAddressChanged), string(EventDriftDetected), string(EventAuthLoginFailed)})
	return collect("notifiable events", rows, err, func(row rowScanner) (FeedEvent, error) {
		var e FeedEvent
		var source *netip.Addr
		err := row.Scan(&e.ID, &e.At, &e.Kind, &e.HostID, &e.RecordID, &e.ServiceID, &e.Actor, &e.Message, &e.Data,
			&e.OwnerID, &e.ActorUserID, &e.ActorTokenID, &source, &e.XID, &e.HostFQDN, &e.RecordFQDN, &e.ServiceName)
		if source != nil {
			e.Source = *source
		}
		return e, err
	})
}

// PreviousDeliveryEvent is the kind of the delivery event of a (record,
// family) just before event id before, or "" when there is none.
func (q *Queries) PreviousDeliveryEvent(ctx context.Context, recordID int64, family netcalc.Family, before int64) (EventKind, error) {
	var kind EventKind
	err := q.db.QueryRow(ctx, `SELECT kind FROM events
		WHERE record_id = $1 AND kind LIKE 'delivery.%' AND data->>'family' = $2 AND id < $3
		ORDER BY id DESC LIMIT 1`, recordID, itoa(int(family)), before).Scan(&kind)
	if errors.Is(err, errNoRows) {
		return "", nil
	}
	return kind, mapErr("previous delivery event", err)
}

// QueueWebhookDelivery adds a notification to a webhook's outbox.
func (q *Queries) QueueWebhookDelivery(ctx context.Context, webhookID int64, event string, eventID *int64, payload json.RawMessage) error {
	_, err := q.db.Exec(ctx, `INSERT INTO webhook_deliveries (webhook_id, event, event_id, payload) VALUES ($1, $2, $3, $4)`,
		webhookID, event, eventID, payload)
	return mapErr("queue webhook delivery", err)
}

// WaitingDigest is a notification of a digest group that no attempt was
// made to send yet, locked for the transaction so its payload can grow.
type WaitingDigest struct {
	ID      int64
	Payload json.RawMessage
}

// LockWaitingDigest finds the channel's notification of group key that
// waits for its first attempt; ok is false when there is none.
func (q *Queries) LockWaitingDigest(ctx context.Context, webhookID int64, key string) (d WaitingDigest, ok bool, err error) {
	err = q.db.QueryRow(ctx, `SELECT id, payload FROM webhook_deliveries
		WHERE webhook_id = $1 AND digest_key = $2 AND state = 'pending' AND attempts = 0
		ORDER BY id LIMIT 1 FOR UPDATE`, webhookID, key).Scan(&d.ID, &d.Payload)
	if errors.Is(err, errNoRows) {
		return d, false, nil
	}
	return d, err == nil, mapErr("waiting digest", err)
}

// QueueDigestDelivery adds a notification of group key, first sent at
// due: what joins the group until then is merged into it (SetDigestPayload).
func (q *Queries) QueueDigestDelivery(ctx context.Context, webhookID int64, event string, eventID *int64, payload json.RawMessage,
	key string, due time.Time) error {
	_, err := q.db.Exec(ctx, `INSERT INTO webhook_deliveries (webhook_id, event, event_id, payload, digest_key, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, webhookID, event, eventID, payload, key, due)
	return mapErr("queue digest delivery", err)
}

// SetDigestPayload replaces a waiting digest's payload and moves its
// first attempt to due, but never past its creation plus maxWait: a
// cascade of failures is one message once it stops, and a cascade that
// never stops is still told about.
func (q *Queries) SetDigestPayload(ctx context.Context, id int64, payload json.RawMessage, due time.Time, maxWait time.Duration) error {
	_, err := q.db.Exec(ctx, `UPDATE webhook_deliveries SET payload = $2, updated_at = now(),
			next_attempt_at = greatest(next_attempt_at, least($3, created_at + $4::interval))
		WHERE id = $1`, id, payload, due, maxWait)
	return mapErr("set digest payload", err)
}

// WebhookJob is a claimed notification with what sending it takes.
type WebhookJob struct {
	ID        int64
	WebhookID int64
	Event     string
	Payload   json.RawMessage
	Attempts  int // including this one
	URL       string
	Secret    []byte
	SecretKey string
	// Destination is a Shoutrrr channel's sealed URL (nil: webhook form).
	Destination    []byte
	DestinationKey string
}

// ClaimWebhookDeliveries leases up to limit due notifications of enabled
// webhooks, and those whose lease ran out (their sender stopped).
func (q *Queries) ClaimWebhookDeliveries(ctx context.Context, limit int, lease time.Duration) ([]WebhookJob, error) {
	rows, err := q.db.Query(ctx, `
		UPDATE webhook_deliveries d SET state = 'running', lease_until = now() + $2::interval, attempts = d.attempts + 1,
			updated_at = now()
		FROM webhooks w
		WHERE w.id = d.webhook_id AND d.id IN (
			SELECT x.id FROM webhook_deliveries x JOIN webhooks y ON y.id = x.webhook_id AND y.enabled
			WHERE (x.state = 'pending' AND x.next_attempt_at <= now()) OR (x.state = 'running' AND x.lease_until < now())
			ORDER BY x.next_attempt_at, x.id LIMIT $1 FOR UPDATE OF x SKIP LOCKED)
		RETURNING d.id, d.webhook_id, d.event, d.payload, d.attempts, coalesce(w.url, ''), w.secret, coalesce(w.secret_key, ''),
			w.destination, coalesce(w.destination_key, '')`,
		planEachCall, limit, lease)
	return collect("claim webhook deliveries", rows, err, func(row rowScanner) (WebhookJob, error) {
		var j WebhookJob
		err := row.Scan(&j.ID, &j.WebhookID, &j.Event, &j.Payload, &j.Attempts, &j.URL, &j.Secret, &j.SecretKey,
			&j.Destination, &j.DestinationKey)
		return j, err
	})
}

// FinishWebhookDelivery records an attempt: delivered, retried at next,
// or failed for good when next is nil. The webhook notes the attempt too.
func (q *Queries) FinishWebhookDelivery(ctx context.Context, j WebhookJob, delivered bool, status *int, message string, next *time.Time) error {
	// webhook_deliveries.state takes the words of deliveries.state.
	state := DeliveryFailed
	switch {
	case delivered:
		state = DeliveryDelivered
	case next != nil:
		state = DeliveryPending
	}
	_, err := q.db.Exec(ctx, `UPDATE webhook_deliveries SET state = $2, lease_until = NULL, last_error = $3,
			next_attempt_at = coalesce($4, next_attempt_at), updated_at = now(),
			finished_at = CASE WHEN $2 IN ('delivered', 'failed') THEN now() END
		WHERE id = $1 AND state = 'running'`, j.ID, state, message, next)
	if err != nil {
		return mapErr("finish webhook delivery", err)
	}
	return q.RecordWebhookAttempt(ctx, j.WebhookID, delivered, status, message)
}

// NextWebhookDue is when the earliest waiting notification is due (zero: none).
func (q *Queries) NextWebhookDue(ctx context.Context) (time.Time, error) {
	var t *time.Time
	err := q.db.QueryRow(ctx, `SELECT min(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending'`).Scan(&t)
	if err != nil || t == nil {
		return time.Time{}, mapErr("next webhook due", err)
	}
	return *t, nil
}

// PruneWebhookDeliveries deletes up to batch finished notifications that
// ended before before.
func (q *Queries) PruneWebhookDeliveries(ctx context.Context, before time.Time, batch int) (int, error) {
	tag, err := q.db.Exec(ctx, `DELETE FROM webhook_deliveries WHERE id IN (
		SELECT id FROM webhook_deliveries WHERE finished_at < $1 LIMIT $2)`, before, batch)
	return int(tag.RowsAffected()), mapErr("prune webhook deliveries", err)
}

// StaleHost is an enabled host that went stale and has not been reported
// for this episode yet.
type StaleHost struct {
	ID     int64
	FQDN   string
	SeenAt time.Time // its last update, or its creation when it never sent one
	Seen   bool      // whether it ever sent an update
	// StaleAfter is the silence it went stale after: its own or the
	// server's.
	StaleAfter time.Duration
}

// BackHost is a host reported stale that sent an update since.
type BackHost struct {
	ID     int64
	FQDN   string
	Silent time.Time // its last sighting before it went silent
	SeenAt time.Time // the update that ended the silence
}

// HostsBack lists up to limit hosts whose staleness was reported and that
// were seen since; ForgetStaleNotice ends each episode.
func (q *Queries) HostsBack(ctx context.Context, limit int) ([]BackHost, error) {
	rows, err := q.db.Query(ctx, `SELECT h.id, h.fqdn, n.seen_at, h.last_seen_at
		FROM host_stale_notices n JOIN hosts h ON h.id = n.host_id
		WHERE h.last_seen_at > n.seen_at ORDER BY h.id LIMIT $1`, limit)
	return collect("hosts back", rows, err, func(row rowScanner) (BackHost, error) {
		var h BackHost
		err := row.Scan(&h.ID, &h.FQDN, &h.Silent, &h.SeenAt)
		return h, err
	})
}

// ForgetStaleNotice ends a host's staleness episode.
func (q *Queries) ForgetStaleNotice(ctx context.Context, hostID int64) error {
	_, err := q.db.Exec(ctx, `DELETE FROM host_stale_notices WHERE host_id = $1`, hostID)
	return mapErr("forget stale notice", err)
}

// UnreportedStaleHosts lists up to limit enabled hosts stale by rule whose
// staleness was not reported yet (see host_stale_notices).
func (q *Queries) UnreportedStaleHosts(ctx context.Context, rule StaleRule, limit int) ([]StaleHost, error) {
	var c cond
	c.add(hostStale, rule.args()...)
	rows, err := q.db.Query(ctx, `SELECT h.id, h.fqdn, coalesce(h.last_seen_at, h.created_at), h.last_seen_at IS NOT NULL,
			(extract(epoch FROM h.stale_after) * 1000000)::bigint
		FROM hosts h LEFT JOIN host_stale_notices n ON n.host_id = h.id
		WHERE h.enabled AND `+c.sql()+` AND (n.seen_at IS NULL OR n.seen_at <> coalesce(h.last_seen_at, h.created_at))
		ORDER BY h.id LIMIT `+c.limit(limit), c.args...)
	return collect("stale hosts", rows, err, func(row rowScanner) (StaleHost, error) {
		h := StaleHost{StaleAfter: rule.After}
		var own *int64 // microseconds
		err := row.Scan(&h.ID, &h.FQDN, &h.SeenAt, &h.Seen, &own)
		if own != nil {
			h.StaleAfter = time.Duration(*own) * time.Microsecond
		}
		return h, err
	})
}

// NoteStaleHostReported marks a host's staleness episode, the one since
// seenAt, as reported.
func (q *Queries) NoteStaleHostReported(ctx context.Context, hostID int64, seenAt time.Time) error {
	_, err := q.db.Exec(ctx, `INSERT INTO host_stale_notices (host_id, seen_at) VALUES ($1, $2)
		ON CONFLICT (host_id) DO UPDATE SET seen_at = excluded.seen_at, at = now()`, hostID, seenAt)
	return mapErr("note stale host", err)
}
