-- Services may deliver through rfc2136 (DNS UPDATE with TSIG), http
-- (request templates) and cloudflare (API v4) besides dyndns2.
ALTER TABLE services DROP CONSTRAINT services_protocol_check;
ALTER TABLE services ADD CONSTRAINT services_protocol_check
    CHECK (protocol IN ('dyndns2', 'rfc2136', 'http', 'cloudflare'));
