-- Searching records by part of their name (?q=) uses a trigram index where
-- it can: pg_trgm ships with PostgreSQL and is trusted (a database owner
-- may create it). Where it cannot be created, search reads the table, as
-- before; nothing else depends on it.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX records_fqdn_trgm ON records USING gin (fqdn gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'no trigram index for record search (%): it reads the table', SQLERRM;
END
$$;
