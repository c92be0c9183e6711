-- A host's own silence limit: the notifier reports it host.stale, and the API
-- flags it stale, once it has not been seen for this long. NULL: the server's
-- DDNSBROKER_STALE_AFTER applies. Every stale test in api/store/stale.go reads
-- coalesce(stale_after, <global>).
ALTER TABLE hosts ADD COLUMN stale_after interval
    CHECK (stale_after IS NULL OR stale_after BETWEEN interval '1 minute' AND interval '365 days');
