-- The dashboard's numbers (GET /api/v1/status), kept as they change rather
-- than counted on every poll. With 300,000 records, counting their states
-- read 600,000 rows (120 ms), counting the records 300,000 (50 ms), and the
-- deliveries by state, or per minute over a day, read a table that grows
-- by every attempt (millions of rows before housekeeping prunes them).
--
-- Each tally table holds delta rows: statement triggers append one row per
-- key a statement changed, readers sum the rows. No row is ever updated in
-- place, so writers never wait for one another on a hot counter row nor
-- deadlock over two of them. tallies_compact() folds the rows of each key
-- into one, every 64th statement that writes a delta (a sequence counts
-- them), one transaction at a time; the tables stay at a few rows per key.
--
-- Deliveries per minute: a rollup (delivery_minutes) rather than an index
-- on deliveries.finished_at. A day of attempts can be hundreds of thousands
-- of rows, and counting them through an index still reads each one (and
-- the heap for rows not yet all-visible) on every poll; the rollup has at
-- most 1,440 rows for the day, written once per finished attempt, and it
-- keeps counting attempts that housekeeping has pruned since.

-- Each (record, family) state row carries its record's service, as it
-- carries its name: the tally needs it when a cascade from a deleted record
-- removes the row, and the record is no longer there to ask.
ALTER TABLE record_states ADD COLUMN service_id bigint;
UPDATE record_states s SET service_id = r.service_id FROM records r WHERE r.id = s.record_id;
ALTER TABLE record_states ALTER COLUMN service_id SET NOT NULL;

CREATE OR REPLACE FUNCTION record_states_name_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT lower(fqdn), service_id INTO NEW.name_key, NEW.service_id FROM records WHERE id = NEW.record_id;
    RETURN NEW;
END $$;

CREATE FUNCTION records_move_states() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE record_states SET service_id = NEW.service_id WHERE record_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER records_move_states AFTER UPDATE OF service_id ON records
    FOR EACH ROW WHEN (OLD.service_id IS DISTINCT FROM NEW.service_id) EXECUTE FUNCTION records_move_states();

-- Hosts, enabled or not.
CREATE TABLE host_tallies (enabled boolean NOT NULL, n bigint NOT NULL);
-- Records (all services).
CREATE TABLE record_tallies (n bigint NOT NULL);
-- (record, family) pairs by state, per service.
CREATE TABLE record_state_tallies (service_id bigint NOT NULL, state text NOT NULL, n bigint NOT NULL);
-- Delivery jobs by state.
CREATE TABLE delivery_tallies (state text NOT NULL, n bigint NOT NULL);
-- Attempts that ended in each minute: delivered, or not (retried later,
-- paused, or failed for good).
CREATE TABLE delivery_minutes (minute timestamptz NOT NULL, delivered bigint NOT NULL, failed bigint NOT NULL);

CREATE SEQUENCE tally_writes;

-- tallies_compact folds each key's delta rows into one and drops the
-- minutes older than a day. The advisory lock lets one transaction at a
-- time do it: two would wait on each other's rows.
CREATE FUNCTION tallies_compact() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(7521402830151004530) THEN -- "tallies!"
        RETURN;
    END IF;
    WITH gone AS (DELETE FROM host_tallies RETURNING enabled, n)
    INSERT INTO host_tallies (enabled, n) SELECT enabled, sum(n) FROM gone GROUP BY 1 HAVING sum(n) <> 0;

    WITH gone AS (DELETE FROM record_tallies RETURNING n)
    INSERT INTO record_tallies (n) SELECT sum(n) FROM gone HAVING sum(n) <> 0;

    WITH k AS (SELECT service_id, state FROM record_state_tallies GROUP BY 1, 2 HAVING count(*) > 1 OR sum(n) = 0),
    gone AS (DELETE FROM record_state_tallies t USING k WHERE t.service_id = k.service_id AND t.state = k.state
        RETURNING t.service_id, t.state, t.n)
    INSERT INTO record_state_tallies (service_id, state, n)
    SELECT service_id, state, sum(n) FROM gone GROUP BY 1, 2 HAVING sum(n) <> 0;

    WITH gone AS (DELETE FROM delivery_tallies RETURNING state, n)
    INSERT INTO delivery_tallies (state, n) SELECT state, sum(n) FROM gone GROUP BY 1 HAVING sum(n) <> 0;

    DELETE FROM delivery_minutes WHERE minute < now() - interval '25 hours';
    WITH k AS (SELECT minute FROM delivery_minutes GROUP BY 1 HAVING count(*) > 1),
    gone AS (DELETE FROM delivery_minutes m USING k WHERE m.minute = k.minute RETURNING m.minute, m.delivered, m.failed)
    INSERT INTO delivery_minutes (minute, delivered, failed)
    SELECT minute, sum(delivered), sum(failed) FROM gone GROUP BY 1;
END $$;

-- tally_written counts a statement that wrote deltas and compacts every 64th.
CREATE FUNCTION tally_written() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('tally_writes') % 64 = 0 THEN
        PERFORM tallies_compact();
    END IF;
END $$;

-- One trigger per event: a trigger with transition tables fires on one only.
-- Hosts change often (every router's update stamps last_seen_at) but are
-- enabled or disabled rarely: a row trigger on that column only, so the
-- routers' updates build no transition tables.
CREATE FUNCTION hosts_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO host_tallies (enabled, n) SELECT enabled, count(*) FROM new_rows GROUP BY 1;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO host_tallies (enabled, n) SELECT enabled, -count(*) FROM old_rows GROUP BY 1;
    ELSE
        INSERT INTO host_tallies (enabled, n) VALUES (NEW.enabled, 1), (OLD.enabled, -1);
    END IF;
    IF FOUND THEN
        PERFORM tally_written();
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hosts_tally_insert AFTER INSERT ON hosts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION hosts_tally();
CREATE TRIGGER hosts_tally_delete AFTER DELETE ON hosts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION hosts_tally();
CREATE TRIGGER hosts_tally_enabled AFTER UPDATE OF enabled ON hosts
    FOR EACH ROW WHEN (OLD.enabled IS DISTINCT FROM NEW.enabled) EXECUTE FUNCTION hosts_tally();

CREATE FUNCTION records_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO record_tallies (n) SELECT count(*) FROM new_rows HAVING count(*) > 0;
    ELSE
        INSERT INTO record_tallies (n) SELECT -count(*) FROM old_rows HAVING count(*) > 0;
    END IF;
    IF FOUND THEN
        PERFORM tally_written();
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER records_tally_insert AFTER INSERT ON records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION records_tally();
CREATE TRIGGER records_tally_delete AFTER DELETE ON records
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION records_tally();

CREATE FUNCTION record_states_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO record_state_tallies (service_id, state, n)
        SELECT service_id, state, count(*) FROM new_rows GROUP BY 1, 2;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO record_state_tallies (service_id, state, n)
        SELECT service_id, state, -count(*) FROM old_rows GROUP BY 1, 2;
    ELSE
        INSERT INTO record_state_tallies (service_id, state, n)
        SELECT service_id, state, sum(n) FROM (
            SELECT service_id, state, 1 AS n FROM new_rows
            UNION ALL SELECT service_id, state, -1 FROM old_rows) d
        GROUP BY 1, 2 HAVING sum(n) <> 0;
    END IF;
    IF FOUND THEN
        PERFORM tally_written();
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER record_states_tally_insert AFTER INSERT ON record_states
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION record_states_tally();
CREATE TRIGGER record_states_tally_update AFTER UPDATE ON record_states
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION record_states_tally();
CREATE TRIGGER record_states_tally_delete AFTER DELETE ON record_states
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION record_states_tally();

CREATE FUNCTION deliveries_tally() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    wrote boolean := false;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO delivery_tallies (state, n) SELECT state, count(*) FROM new_rows GROUP BY 1;
        wrote := FOUND;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO delivery_tallies (state, n) SELECT state, -count(*) FROM old_rows GROUP BY 1;
        wrote := FOUND;
    ELSE
        INSERT INTO delivery_tallies (state, n)
        SELECT state, sum(n) FROM (
            SELECT state, 1 AS n FROM new_rows
            UNION ALL SELECT state, -1 FROM old_rows) d
        GROUP BY 1 HAVING sum(n) <> 0;
        wrote := FOUND;
        -- An attempt ends when its job leaves 'running'.
        INSERT INTO delivery_minutes (minute, delivered, failed)
        SELECT date_trunc('minute', now()), count(*) FILTER (WHERE n.state = 'delivered'),
            count(*) FILTER (WHERE n.state <> 'delivered')
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE o.state = 'running' AND n.state <> 'running'
        HAVING count(*) > 0;
        wrote := wrote OR FOUND;
    END IF;
    IF wrote THEN
        PERFORM tally_written();
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER deliveries_tally_insert AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION deliveries_tally();
CREATE TRIGGER deliveries_tally_update AFTER UPDATE ON deliveries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION deliveries_tally();
CREATE TRIGGER deliveries_tally_delete AFTER DELETE ON deliveries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION deliveries_tally();

-- What exists now; for the past day, the jobs that ended delivered or
-- failed (attempts that were retried left no trace).
INSERT INTO host_tallies (enabled, n) SELECT enabled, count(*) FROM hosts GROUP BY 1;
INSERT INTO record_tallies (n) SELECT count(*) FROM records HAVING count(*) > 0;
INSERT INTO record_state_tallies (service_id, state, n) SELECT service_id, state, count(*) FROM record_states GROUP BY 1, 2;
INSERT INTO delivery_tallies (state, n) SELECT state, count(*) FROM deliveries GROUP BY 1;
INSERT INTO delivery_minutes (minute, delivered, failed)
SELECT date_trunc('minute', finished_at), count(*) FILTER (WHERE state = 'delivered'), count(*) FILTER (WHERE state <> 'delivered')
FROM deliveries WHERE attempts > 0 AND finished_at >= now() - interval '24 hours'
    AND state IN ('delivered', 'failed') GROUP BY 1;

-- The stale hosts (GET /status counts them, GET /hosts?stale=true lists
-- them): staleness depends on the time of asking, so it cannot be kept as
-- a tally; this index reads the stale ones only, not every host. It makes
-- a router's last_seen_at stamp update the hosts' indexes too (no HOT
-- update); those stamps are batched (TouchHostsSeen).
CREATE INDEX hosts_seen ON hosts ((coalesce(last_seen_at, created_at)));

-- The age of the oldest waiting job, without reading every waiting job.
CREATE INDEX deliveries_pending_created ON deliveries (created_at) WHERE state = 'pending';
