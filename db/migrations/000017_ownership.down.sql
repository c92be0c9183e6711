DROP TRIGGER events_owner ON events;
DROP FUNCTION events_owner();
ALTER TABLE events DROP COLUMN source, DROP COLUMN actor_token_id, DROP COLUMN actor_user_id, DROP COLUMN owner_id;
ALTER TABLE api_tokens DROP COLUMN host_ids;
ALTER TABLE webhooks DROP COLUMN owner_id;
ALTER TABLE services DROP COLUMN shared, DROP COLUMN owner_id;
ALTER TABLE hosts DROP COLUMN owner_id;
ALTER TABLE users DROP COLUMN max_records, DROP COLUMN max_hosts, DROP COLUMN role;
