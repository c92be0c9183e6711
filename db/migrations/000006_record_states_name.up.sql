-- Listing the records in a state, in name order, reads one index range: each
-- state row carries its record's name as the listing sorts it (lower-case),
-- kept true by two triggers whatever writes the rows.
ALTER TABLE record_states ADD COLUMN name_key text;
UPDATE record_states s SET name_key = lower(r.fqdn) FROM records r WHERE r.id = s.record_id;
ALTER TABLE record_states ALTER COLUMN name_key SET NOT NULL;

CREATE FUNCTION record_states_name_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT lower(fqdn) INTO NEW.name_key FROM records WHERE id = NEW.record_id;
    RETURN NEW;
END $$;
CREATE TRIGGER record_states_name_key BEFORE INSERT ON record_states
    FOR EACH ROW EXECUTE FUNCTION record_states_name_key();

CREATE FUNCTION records_rename_states() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE record_states SET name_key = lower(NEW.fqdn) WHERE record_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER records_rename_states AFTER UPDATE OF fqdn ON records
    FOR EACH ROW WHEN (lower(OLD.fqdn) IS DISTINCT FROM lower(NEW.fqdn)) EXECUTE FUNCTION records_rename_states();

DROP INDEX record_states_state;
CREATE INDEX record_states_state ON record_states (state, name_key, record_id);
