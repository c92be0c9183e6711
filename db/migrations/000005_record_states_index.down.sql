DROP INDEX record_states_state;
CREATE INDEX record_states_state ON record_states (state) WHERE state <> 'delivered';
