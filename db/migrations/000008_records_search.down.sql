-- The extension stays: other things in the database may use it.
DROP INDEX IF EXISTS records_fqdn_trgm;
