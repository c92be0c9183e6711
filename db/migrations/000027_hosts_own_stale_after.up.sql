-- Hosts with a stale-after of their own, so that counting the stale hosts
-- (the dashboard's every poll) reads these and the stale ones of the others
-- (hosts_seen), not every host.
CREATE INDEX hosts_own_stale_after ON hosts ((coalesce(last_seen_at, created_at))) WHERE stale_after IS NOT NULL;
