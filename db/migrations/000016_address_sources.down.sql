ALTER TABLE hosts
    DROP COLUMN ipv4_private_allowed,
    DROP COLUMN ipv4_source,
    DROP COLUMN ipv6_source,
    DROP COLUMN prefix_source;
-- Names shared by several hosts cannot go back to one record per name and
-- service: all but the oldest record of each are removed.
DELETE FROM records r USING records o
    WHERE o.service_id = r.service_id AND lower(o.fqdn) = lower(r.fqdn) AND o.id < r.id;
DROP INDEX records_fqdn_key;
CREATE UNIQUE INDEX records_fqdn_key ON records (service_id, lower(fqdn));
ALTER TABLE records
    DROP CONSTRAINT records_ipv4_static,
    DROP CONSTRAINT records_ipv6_static,
    DROP COLUMN ipv6_host_mac,
    DROP COLUMN ipv6_subnet_id,
    DROP COLUMN ipv4_mode,
    DROP COLUMN ipv4_static_address,
    DROP COLUMN ipv6_mode,
    DROP COLUMN ipv6_static_address;
