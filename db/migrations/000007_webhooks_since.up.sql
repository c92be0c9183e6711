-- A webhook is told about the events of transactions that began after it
-- was created, not about older ones the notifier had yet to read when it
-- was added: since_xid is the first transaction id its creation could not
-- see (every smaller one had ended or was running then).
ALTER TABLE webhooks ADD COLUMN since_xid xid8 NOT NULL DEFAULT pg_snapshot_xmax(pg_current_snapshot());
