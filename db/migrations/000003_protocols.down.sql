-- Going back to dyndns2 only. Nothing is deleted: while a service uses
-- another protocol this migration stops with a message saying which, and
-- the admin decides what becomes of those services and their records.
DO $$
DECLARE
    used text;
BEGIN
    SELECT string_agg(DISTINCT protocol, ', ' ORDER BY protocol) INTO used
    FROM services WHERE protocol <> 'dyndns2';
    IF used IS NOT NULL THEN
        RAISE EXCEPTION 'cannot migrate below version 3: services use the protocol(s) %; delete them or their records first', used;
    END IF;
END
$$;
ALTER TABLE services DROP CONSTRAINT services_protocol_check;
ALTER TABLE services ADD CONSTRAINT services_protocol_check CHECK (protocol IN ('dyndns2'));
