-- Each waiting or running delivery names the service it goes to, and each
-- running one the upstream name it is sent for (lower-case), so that claims
-- can keep to two rules across every replica: one request at a time per
-- (service, upstream name), and no service above its share of the workers.
-- Finished rows keep what they had; history does not need it.
ALTER TABLE deliveries ADD COLUMN service_id bigint, ADD COLUMN name_key text;
UPDATE deliveries d SET service_id = r.service_id, name_key = lower(r.fqdn)
    FROM records r WHERE r.id = d.record_id AND d.state IN ('pending', 'running');

-- The oldest due jobs of one service, in claim order.
CREATE INDEX deliveries_service_due ON deliveries (service_id, next_attempt_at, id) WHERE state = 'pending';
-- What runs now, per service and upstream name.
CREATE INDEX deliveries_running_target ON deliveries (service_id, name_key) WHERE state = 'running';
-- The newest attempted job of a (record, family): was anything sent since
-- the last confirmed delivery?
CREATE INDEX deliveries_attempted ON deliveries (record_id, family, id DESC) WHERE attempts > 0;

-- A record moved to another service takes its waiting jobs along, whatever
-- moved it.
CREATE FUNCTION records_move_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE deliveries SET service_id = NEW.service_id WHERE record_id = NEW.id AND state = 'pending';
    RETURN NULL;
END $$;
CREATE TRIGGER records_move_deliveries AFTER UPDATE OF service_id ON records
    FOR EACH ROW WHEN (OLD.service_id IS DISTINCT FROM NEW.service_id) EXECUTE FUNCTION records_move_deliveries();
