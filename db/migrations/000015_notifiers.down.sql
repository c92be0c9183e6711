DROP TABLE heartbeats;
DROP INDEX webhook_deliveries_digest;
ALTER TABLE webhook_deliveries DROP COLUMN digest_key;
DROP INDEX events_notify;
CREATE INDEX events_notify ON events (xid, id)
    WHERE kind IN ('delivery.failed', 'delivery.blocked', 'delivery.delivered', 'host.stale');
-- Channels other than webhooks have no place in the old table.
DELETE FROM webhooks WHERE url IS NULL;
UPDATE webhooks SET events = coalesce(nullif(array(SELECT e FROM unnest(events) e
    WHERE e IN ('delivery.failed', 'delivery.blocked', 'delivery.recovered', 'host.stale')), '{}'), ARRAY['delivery.failed']);
ALTER TABLE webhooks DROP CONSTRAINT webhooks_events_check;
ALTER TABLE webhooks ADD CONSTRAINT webhooks_events_check CHECK (cardinality(events) > 0 AND
    events <@ ARRAY['delivery.failed', 'delivery.blocked', 'delivery.recovered', 'host.stale']);
ALTER TABLE webhooks DROP CONSTRAINT webhooks_one_destination;
ALTER TABLE webhooks DROP COLUMN destination, DROP COLUMN destination_key, DROP COLUMN destination_shown;
ALTER TABLE webhooks ALTER COLUMN url SET NOT NULL;
