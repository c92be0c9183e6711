ALTER TABLE hosts DROP COLUMN stale_after;
