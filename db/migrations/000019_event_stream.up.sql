-- The live event stream (GET /api/v1/events/stream) reads the events of
-- every kind in the order of the transactions that wrote them, like the
-- notifier (migration 000004), and is woken by a NOTIFY on
-- ddnsbroker_events carrying the writing transaction's id, on every replica.
CREATE INDEX events_stream ON events (xid, id) WHERE xid IS NOT NULL;

CREATE FUNCTION events_announce() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ddnsbroker_events', pg_current_xact_id()::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER events_announce AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_announce();
