ALTER TABLE records DROP COLUMN drop_when_stale;
