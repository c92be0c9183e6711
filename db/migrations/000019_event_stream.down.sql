DROP TRIGGER IF EXISTS events_announce ON events;
DROP FUNCTION IF EXISTS events_announce();
DROP INDEX IF EXISTS events_stream;
