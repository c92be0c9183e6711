-- Accounts with roles: an admin sees and changes everything, a user only
-- what they own. Hosts, services and webhooks get an owner (a record
-- belongs to its host's owner, an API token to its user); services an
-- admin marks shared may be used by everyone. Every existing account was
-- an admin and stays one; existing objects go to the first of them. The
-- default stays admin: the first account and the command line's are
-- admins, written by a binary that may predate this column; the API and
-- single sign-on always name the role.
ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'user'));
-- Limits an admin sets per user; NULL: none.
ALTER TABLE users ADD COLUMN max_hosts integer CHECK (max_hosts >= 0);
ALTER TABLE users ADD COLUMN max_records integer CHECK (max_records >= 0);

-- An owner's account deleted leaves its objects to the admins (no owner).
ALTER TABLE hosts ADD COLUMN owner_id bigint REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE services ADD COLUMN owner_id bigint REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE services ADD COLUMN shared boolean NOT NULL DEFAULT false;
ALTER TABLE webhooks ADD COLUMN owner_id bigint REFERENCES users (id) ON DELETE SET NULL;
UPDATE hosts SET owner_id = (SELECT min(id) FROM users WHERE role = 'admin');
UPDATE services SET owner_id = (SELECT min(id) FROM users WHERE role = 'admin');
UPDATE webhooks SET owner_id = (SELECT min(id) FROM users WHERE role = 'admin');
CREATE INDEX hosts_owner ON hosts (owner_id, lower(fqdn), id);
CREATE INDEX services_owner ON services (owner_id);
CREATE INDEX webhooks_owner ON webhooks (owner_id);

-- A host-scoped API token reaches only these hosts and their records.
ALTER TABLE api_tokens ADD COLUMN host_ids bigint[];

-- Audit: who wrote each event (account, API token, source address), and
-- whose it is, so a user reads the history of their own objects only. No
-- foreign keys: the history outlives accounts and tokens.
ALTER TABLE events ADD COLUMN owner_id bigint;
ALTER TABLE events ADD COLUMN actor_user_id bigint;
ALTER TABLE events ADD COLUMN actor_token_id bigint;
ALTER TABLE events ADD COLUMN source inet;
CREATE INDEX events_owner ON events (owner_id, id DESC) WHERE owner_id IS NOT NULL;
CREATE INDEX events_actor_user ON events (actor_user_id, id DESC) WHERE actor_user_id IS NOT NULL;

-- The owner of an event is the owner of what it is about, whichever path
-- wrote it (the API, the broker, the dispatcher), unless the writer named
-- one (an object already deleted).
CREATE FUNCTION events_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.owner_id IS NULL THEN
        NEW.owner_id := coalesce(
            (SELECT owner_id FROM hosts WHERE id = NEW.host_id),
            (SELECT h.owner_id FROM records r JOIN hosts h ON h.id = r.host_id WHERE r.id = NEW.record_id),
            (SELECT owner_id FROM services WHERE id = NEW.service_id));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER events_owner BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_owner();
UPDATE events e SET owner_id = coalesce(
    (SELECT owner_id FROM hosts WHERE id = e.host_id),
    (SELECT h.owner_id FROM records r JOIN hosts h ON h.id = r.host_id WHERE r.id = e.record_id),
    (SELECT owner_id FROM services WHERE id = e.service_id));
