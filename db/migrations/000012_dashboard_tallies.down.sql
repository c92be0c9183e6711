DROP INDEX deliveries_pending_created;
DROP TRIGGER deliveries_tally_insert ON deliveries;
DROP TRIGGER deliveries_tally_update ON deliveries;
DROP TRIGGER deliveries_tally_delete ON deliveries;
DROP FUNCTION deliveries_tally();
DROP TRIGGER record_states_tally_insert ON record_states;
DROP TRIGGER record_states_tally_update ON record_states;
DROP TRIGGER record_states_tally_delete ON record_states;
DROP FUNCTION record_states_tally();
DROP INDEX hosts_seen;
DROP TRIGGER hosts_tally_insert ON hosts;
DROP TRIGGER hosts_tally_delete ON hosts;
DROP TRIGGER hosts_tally_enabled ON hosts;
DROP FUNCTION hosts_tally();
DROP TRIGGER records_tally_insert ON records;
DROP TRIGGER records_tally_delete ON records;
DROP FUNCTION records_tally();
DROP FUNCTION tally_written();
DROP FUNCTION tallies_compact();
DROP SEQUENCE tally_writes;
DROP TABLE delivery_minutes, delivery_tallies, record_state_tallies, record_tallies, host_tallies;
DROP TRIGGER records_move_states ON records;
DROP FUNCTION records_move_states();
CREATE OR REPLACE FUNCTION record_states_name_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT lower(fqdn) INTO NEW.name_key FROM records WHERE id = NEW.record_id;
    RETURN NEW;
END $$;
ALTER TABLE record_states DROP COLUMN service_id;
