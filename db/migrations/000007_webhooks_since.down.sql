ALTER TABLE webhooks DROP COLUMN since_xid;
