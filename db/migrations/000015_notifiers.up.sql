-- Notification channels. The webhooks table becomes the table of every
-- channel: a row either keeps its webhook form (url in clear, an optional
-- HMAC secret: the rows that existed before stay exactly as they were) or
-- holds a Shoutrrr destination URL (telegram://, ntfy://, smtp://,
-- generic://, …). That URL carries the channel's credentials, so it is
-- sealed like every other credential (destination, destination_key) and
-- only its scheme and server (destination_shown) are kept in clear. Both
-- forms share the outbox (webhook_deliveries), its retries and its lease.
ALTER TABLE webhooks ALTER COLUMN url DROP NOT NULL;
ALTER TABLE webhooks ADD COLUMN destination bytea,
    ADD COLUMN destination_key text,
    ADD COLUMN destination_shown text;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_one_destination CHECK (
    (url IS NULL) = (destination IS NOT NULL)
    AND (destination IS NULL) = (destination_key IS NULL)
    AND (destination IS NULL) = (destination_shown IS NULL));

-- The events a channel can choose from, beyond the four of 000004:
-- host.back (a silent host reports again), address.changed, drift.detected
-- and auth.login_failed (rows whose count reached the threshold).
ALTER TABLE webhooks DROP CONSTRAINT webhooks_events_check;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_events_check CHECK (cardinality(events) > 0 AND
    events <@ ARRAY['delivery.failed', 'delivery.blocked', 'delivery.recovered', 'host.stale', 'host.back',
        'address.changed', 'drift.detected', 'auth.login_failed']);
DROP INDEX events_notify;
CREATE INDEX events_notify ON events (xid, id)
    WHERE kind IN ('delivery.failed', 'delivery.blocked', 'delivery.delivered', 'host.stale', 'host.back',
        'address.changed', 'drift.detected', 'auth.login_failed');

-- digest_key groups the failures a channel has not been sent yet: a
-- failure whose group already waits is merged into that notification, so
-- 200 records failing at one provider make one message, not 200.
ALTER TABLE webhook_deliveries ADD COLUMN digest_key text;
CREATE INDEX webhook_deliveries_digest ON webhook_deliveries (webhook_id, digest_key)
    WHERE state = 'pending' AND attempts = 0 AND digest_key IS NOT NULL;

-- Heartbeats: a URL an uptime monitor watches (healthchecks.io, Uptime
-- Kuma push, …), called while all is well and, at fail_url (default: url
-- + "/fail"), when deliveries fail. One per host, and one for the whole
-- broker (host_id NULL). The URLs hold the monitor's token: sealed.
CREATE TABLE heartbeats (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id       bigint UNIQUE REFERENCES hosts (id) ON DELETE CASCADE,
    url           bytea NOT NULL,
    url_key       text NOT NULL,
    url_shown     text NOT NULL,
    fail_url      bytea,
    fail_url_key  text,
    every_seconds integer NOT NULL DEFAULT 300 CHECK (every_seconds BETWEEN 10 AND 86400),
    -- what the monitor was told last: 'ok' or 'fail'; '' before the first ping
    last_state    text NOT NULL DEFAULT '' CHECK (last_state IN ('', 'ok', 'fail')),
    last_ping_at  timestamptz,
    last_error    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((fail_url IS NULL) = (fail_url_key IS NULL))
);
CREATE UNIQUE INDEX heartbeats_global ON heartbeats ((true)) WHERE host_id IS NULL;
