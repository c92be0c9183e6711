-- Webhooks: HTTP POSTs to the admin's endpoints when a delivery fails, is
-- blocked or recovers, and when a host goes stale. The notifier reads these
-- events from the history (the events table) and queues one job per
-- subscribed webhook in webhook_deliveries, sent apart from the DNS
-- deliveries so that a slow or failing receiver never holds them up.

CREATE TABLE webhooks (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    url              text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2048),
    -- the HMAC key of the signature header, AES-256-GCM; secret_key names the key
    secret           bytea,
    secret_key       text,
    events           text[] NOT NULL CHECK (cardinality(events) > 0 AND
        events <@ ARRAY['delivery.failed', 'delivery.blocked', 'delivery.recovered', 'host.stale']),
    enabled          boolean NOT NULL DEFAULT true,
    -- the last attempt to reach the receiver
    last_attempt_at  timestamptz,
    last_success_at  timestamptz,
    last_status_code integer,
    last_error       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((secret IS NULL) = (secret_key IS NULL))
);
CREATE UNIQUE INDEX webhooks_name_key ON webhooks (lower(name));

-- The outbox of notifications: one row per (webhook, event), with the body
-- fixed when it was queued so that every retry sends the same bytes.
CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event           text NOT NULL,
    event_id        bigint, -- the events row; no foreign key, history is pruned
    payload         jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'running', 'delivered', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    CHECK ((state = 'running') = (lease_until IS NOT NULL))
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_lease ON webhook_deliveries (lease_until) WHERE state = 'running';
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id);

-- Each event remembers the transaction that wrote it. Event ids are taken
-- before their transaction commits, so a reader that follows ids could
-- pass over one still being written; the notifier instead takes the events
-- of transactions older than every one still running (the snapshot's
-- xmin), which can no longer change. Older events have no xid and are
-- never notified. No table rewrite: the default applies to new rows.
ALTER TABLE events ADD COLUMN xid xid8;
ALTER TABLE events ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
CREATE INDEX events_notify ON events (xid, id)
    WHERE kind IN ('delivery.failed', 'delivery.blocked', 'delivery.delivered', 'host.stale');

-- How far the notifier has read: every event before (xid, event_id) is
-- handled. One row; a replica reads on only while it holds the row's lock.
CREATE TABLE notifier_cursor (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    xid      xid8 NOT NULL,
    event_id bigint NOT NULL DEFAULT 0
);
INSERT INTO notifier_cursor (xid) VALUES (pg_snapshot_xmin(pg_current_snapshot()));

-- host.stale is emitted once per staleness episode: seen_at is the host's
-- last sighting (or its creation) when it was, and a sighting since then
-- starts a new episode.
CREATE TABLE host_stale_notices (
    host_id bigint PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
    seen_at timestamptz NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
