-- Which protocols exist is the application's registry (api/provider): the
-- API refuses an unknown one before anything is stored, and a protocol
-- this version does not know fails its deliveries with a message. The
-- database keeps only the name's form, so adding a provider needs no
-- migration.
ALTER TABLE services DROP CONSTRAINT services_protocol_check;
ALTER TABLE services ADD CONSTRAINT services_protocol_check
    CHECK (protocol ~ '^[a-z][a-z0-9_]{0,31}$');
