DROP INDEX record_states_state;
DROP TRIGGER records_rename_states ON records;
DROP FUNCTION records_rename_states();
DROP TRIGGER record_states_name_key ON record_states;
DROP FUNCTION record_states_name_key();
ALTER TABLE record_states DROP COLUMN name_key;
CREATE INDEX record_states_state ON record_states (state, record_id);
