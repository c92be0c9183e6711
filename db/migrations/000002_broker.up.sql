-- The broker's data: upstream services, hosts (routers) with their current
-- addresses, records derived from them, per-(record, family) delivery state,
-- the delivery outbox and the append-only event history.

-- An FQDN as stored: lowercase, no trailing dot, 1..253 characters.
CREATE DOMAIN fqdn AS text
    CHECK (VALUE = lower(VALUE) AND VALUE !~ '\.$' AND length(VALUE) BETWEEN 1 AND 253);

CREATE TABLE services (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    protocol        text NOT NULL CHECK (protocol IN ('dyndns2')),
    settings        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    -- credentials of the service itself (API token, TSIG key), AES-256-GCM
    credentials     bytea,
    credentials_key text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((credentials IS NULL) = (credentials_key IS NULL))
);
CREATE UNIQUE INDEX services_name_key ON services (lower(name));

CREATE TABLE hosts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fqdn            fqdn NOT NULL,
    secret_hash     text NOT NULL CHECK (secret_hash <> ''),
    enabled         boolean NOT NULL DEFAULT true,
    ipv4_enabled    boolean NOT NULL DEFAULT true,
    ipv6_enabled    boolean NOT NULL DEFAULT true,
    ipv4            inet CHECK (family(ipv4) = 4 AND masklen(ipv4) = 32),
    ipv6            inet CHECK (family(ipv6) = 6 AND masklen(ipv6) = 128),
    ipv6_prefix     cidr CHECK (family(ipv6_prefix) = 6),
    ipv4_updated_at timestamptz,
    ipv4_changed_at timestamptz,
    ipv6_updated_at timestamptz,
    ipv6_changed_at timestamptz,
    last_seen_at    timestamptz,
    notes           text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX hosts_fqdn_key ON hosts (lower(fqdn));

CREATE TABLE records (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id              bigint NOT NULL REFERENCES hosts (id) ON DELETE RESTRICT,
    service_id           bigint NOT NULL REFERENCES services (id) ON DELETE RESTRICT,
    fqdn                 fqdn NOT NULL,
    ipv4_enabled         boolean NOT NULL DEFAULT true,
    ipv4_netmask         smallint NOT NULL DEFAULT 32 CHECK (ipv4_netmask BETWEEN 0 AND 32),
    ipv4_host_identifier inet NOT NULL DEFAULT '0.0.0.0'
        CHECK (family(ipv4_host_identifier) = 4 AND masklen(ipv4_host_identifier) = 32),
    ipv6_enabled         boolean NOT NULL DEFAULT true,
    ipv6_netmask         smallint NOT NULL DEFAULT 128 CHECK (ipv6_netmask BETWEEN 0 AND 128),
    ipv6_host_identifier inet NOT NULL DEFAULT '::'
        CHECK (family(ipv6_host_identifier) = 6 AND masklen(ipv6_host_identifier) = 128),
    username             text NOT NULL DEFAULT '' CHECK (length(username) <= 255),
    -- the upstream password, AES-256-GCM; password_key names the key
    password             bytea,
    password_key         text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((password IS NULL) = (password_key IS NULL))
);
-- One name may be published through several services, but only once through each.
CREATE UNIQUE INDEX records_fqdn_key ON records (service_id, lower(fqdn));
CREATE INDEX records_host_id ON records (host_id);
CREATE INDEX records_fqdn ON records (lower(fqdn));

-- Where each (record, family) stands with its upstream.
CREATE TABLE record_states (
    record_id       bigint NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    family          smallint NOT NULL CHECK (family IN (4, 6)),
    desired         inet,
    delivered       inet,
    state           text NOT NULL DEFAULT 'idle'
        CHECK (state IN ('idle', 'pending', 'delivered', 'retrying', 'failed', 'blocked')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz,
    last_attempt_at timestamptz,
    last_success_at timestamptz,
    message         text NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (record_id, family)
);
CREATE INDEX record_states_state ON record_states (state) WHERE state <> 'delivered';

-- The outbox: one row per (record, family, address) to make true upstream.
CREATE TABLE deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_id       bigint NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    family          smallint NOT NULL CHECK (family IN (4, 6)),
    address         inet NOT NULL,
    reason          text NOT NULL CHECK (reason IN ('update', 'config', 'resync', 'import', 'drift')),
    state           text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'running', 'delivered', 'failed', 'blocked', 'superseded', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    leased_by       text,
    result          text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    CHECK ((state = 'running') = (lease_until IS NOT NULL))
);
-- At most one waiting job per (record, family): a newer address supersedes it.
-- A running job may have a pending successor; the dispatcher sends that one
-- only after the running one ended, so an older address never lands last.
CREATE UNIQUE INDEX deliveries_pending_key ON deliveries (record_id, family) WHERE state = 'pending';
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_lease ON deliveries (lease_until) WHERE state = 'running';
CREATE INDEX deliveries_record ON deliveries (record_id, id DESC);

-- Append-only history.
CREATE TABLE events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    kind       text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]*$'),
    host_id    bigint REFERENCES hosts (id) ON DELETE SET NULL,
    record_id  bigint REFERENCES records (id) ON DELETE SET NULL,
    service_id bigint REFERENCES services (id) ON DELETE SET NULL,
    actor      text NOT NULL DEFAULT '',
    message    text NOT NULL,
    data       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_at ON events (at DESC, id DESC);
CREATE INDEX events_host ON events (host_id, at DESC) WHERE host_id IS NOT NULL;
CREATE INDEX events_record ON events (record_id, at DESC) WHERE record_id IS NOT NULL;
