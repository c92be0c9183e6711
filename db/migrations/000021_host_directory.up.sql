-- Every replica keeps the hosts in memory (api/auth/directory.go), so that a
-- router's nochg reads no row. It stays current by listening on the
-- channel hosts_changed: a statement that changes what authenticating an
-- update reads (a host's name, secret, switches or addresses, the names of
-- its records) notifies the host's id, on commit. Last-seen times and notes
-- do not: they change with every batch of nochg and nothing reads them.
-- PostgreSQL folds equal notifications of one transaction into one.

-- secret_verifier: HMAC-SHA256, keyed with a key derived from the server
-- secret, of the host's id, its secret_hash and its secret (api/auth
-- verifier.go). A fresh process checks a router's secret with it in a
-- microsecond instead of an argon2id verification. NULL until the secret has
-- been verified once; bound to secret_hash, so a new secret voids it.
ALTER TABLE hosts ADD COLUMN secret_verifier bytea;

CREATE FUNCTION hosts_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('hosts_changed', OLD.id::text);
    ELSE
        PERFORM pg_notify('hosts_changed', NEW.id::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hosts_notify_changed AFTER INSERT OR DELETE ON hosts
    FOR EACH ROW EXECUTE FUNCTION hosts_notify_changed();
CREATE TRIGGER hosts_notify_updated AFTER UPDATE ON hosts
    FOR EACH ROW WHEN (OLD.fqdn IS DISTINCT FROM NEW.fqdn OR OLD.secret_hash IS DISTINCT FROM NEW.secret_hash
        OR OLD.secret_verifier IS DISTINCT FROM NEW.secret_verifier OR OLD.enabled IS DISTINCT FROM NEW.enabled
        OR OLD.ipv4_enabled IS DISTINCT FROM NEW.ipv4_enabled OR OLD.ipv6_enabled IS DISTINCT FROM NEW.ipv6_enabled
        OR OLD.ipv4 IS DISTINCT FROM NEW.ipv4 OR OLD.ipv6 IS DISTINCT FROM NEW.ipv6
        OR OLD.ipv6_prefix IS DISTINCT FROM NEW.ipv6_prefix)
    EXECUTE FUNCTION hosts_notify_changed();

CREATE FUNCTION records_notify_host() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('hosts_changed', OLD.host_id::text);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('hosts_changed', NEW.host_id::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER records_notify_host AFTER INSERT OR DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION records_notify_host();
CREATE TRIGGER records_notify_host_updated AFTER UPDATE OF fqdn, host_id ON records
    FOR EACH ROW WHEN (OLD.fqdn IS DISTINCT FROM NEW.fqdn OR OLD.host_id IS DISTINCT FROM NEW.host_id)
    EXECUTE FUNCTION records_notify_host();
