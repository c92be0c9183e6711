DROP TRIGGER records_notify_host_updated ON records;
DROP TRIGGER records_notify_host ON records;
DROP FUNCTION records_notify_host();
DROP TRIGGER hosts_notify_updated ON hosts;
DROP TRIGGER hosts_notify_changed ON hosts;
DROP FUNCTION hosts_notify_changed();
ALTER TABLE hosts DROP COLUMN secret_verifier;
