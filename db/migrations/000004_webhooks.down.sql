DROP TABLE host_stale_notices;
DROP TABLE notifier_cursor;
DROP INDEX events_notify;
ALTER TABLE events DROP COLUMN xid;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
