DROP TRIGGER records_move_deliveries ON records;
DROP FUNCTION records_move_deliveries();
DROP INDEX deliveries_attempted;
DROP INDEX deliveries_running_target;
DROP INDEX deliveries_service_due;
ALTER TABLE deliveries DROP COLUMN name_key, DROP COLUMN service_id;
