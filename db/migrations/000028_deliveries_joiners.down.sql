DROP INDEX IF EXISTS deliveries_joiners;
