DROP INDEX IF EXISTS hosts_own_stale_after;
