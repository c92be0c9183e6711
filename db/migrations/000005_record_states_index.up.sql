-- Listing records by delivery state must find the few records in a state
-- among many: index every state (the partial index skipped 'delivered').
DROP INDEX record_states_state;
CREATE INDEX record_states_state ON record_states (state, record_id);
