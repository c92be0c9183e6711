ALTER TABLE deliveries DROP COLUMN advice;
ALTER TABLE record_states DROP COLUMN advice;
ALTER TABLE records DROP COLUMN keep_other_addresses;
