-- Address sources (issue 18).

-- A record's IPv6 host identifier may be given as a MAC address (the
-- identifier is its EUI-64 form, kept in ipv6_host_identifier as well), and
-- its /64 may be one subnet of a shorter delegated prefix (ipv6_subnet_id).
ALTER TABLE records
    ADD COLUMN ipv6_host_mac macaddr,
    ADD COLUMN ipv6_subnet_id bigint CHECK (ipv6_subnet_id >= 0),
    -- derived: from the host's addresses; static: the fixed address below.
    ADD COLUMN ipv4_mode text NOT NULL DEFAULT 'derived' CHECK (ipv4_mode IN ('derived', 'static')),
    ADD COLUMN ipv4_static_address inet CHECK (family(ipv4_static_address) = 4 AND masklen(ipv4_static_address) = 32),
    ADD COLUMN ipv6_mode text NOT NULL DEFAULT 'derived' CHECK (ipv6_mode IN ('derived', 'static')),
    ADD COLUMN ipv6_static_address inet CHECK (family(ipv6_static_address) = 6 AND masklen(ipv6_static_address) = 128),
    ADD CONSTRAINT records_ipv4_static CHECK (ipv4_mode = 'derived' OR ipv4_static_address IS NOT NULL),
    ADD CONSTRAINT records_ipv6_static CHECK (ipv6_mode = 'derived' OR ipv6_static_address IS NOT NULL);

-- Several hosts may feed one name at one service (published as one RRset
-- where the protocol can): a name stays unique per service and host.
DROP INDEX records_fqdn_key;
CREATE UNIQUE INDEX records_fqdn_key ON records (service_id, lower(fqdn), host_id);

-- A private or CGNAT IPv4 address is held back unless the host allows it
-- (internal DNS). Hosts that already publish one keep doing so.
ALTER TABLE hosts
    ADD COLUMN ipv4_private_allowed boolean NOT NULL DEFAULT false,
    -- Where each address came from: the dyndns2 parameter (myip,
    -- ip6lanprefix, ...), myip/len, the connection, or set by hand.
    ADD COLUMN ipv4_source text NOT NULL DEFAULT '',
    ADD COLUMN ipv6_source text NOT NULL DEFAULT '',
    ADD COLUMN prefix_source text NOT NULL DEFAULT '';
UPDATE hosts SET ipv4_private_allowed = true
    WHERE ipv4 << '10.0.0.0/8' OR ipv4 << '172.16.0.0/12' OR ipv4 << '192.168.0.0/16' OR ipv4 << '100.64.0.0/10';
