-- Back to the protocols version 10 knows. Services of any other protocol
-- stop this migration with a message saying which, rather than being
-- deleted with their records.
DO $$
DECLARE used text;
BEGIN
    SELECT string_agg(DISTINCT protocol, ', ' ORDER BY protocol) INTO used
    FROM services WHERE protocol NOT IN ('dyndns2', 'rfc2136', 'http', 'cloudflare');
    IF used IS NOT NULL THEN
        RAISE EXCEPTION 'cannot migrate below version 11: services use the protocol(s) %; delete them or their records first', used;
    END IF;
END $$;
ALTER TABLE services DROP CONSTRAINT services_protocol_check;
ALTER TABLE services ADD CONSTRAINT services_protocol_check
    CHECK (protocol IN ('dyndns2', 'rfc2136', 'http', 'cloudflare'));
