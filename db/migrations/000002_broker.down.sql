DROP TABLE events;
DROP TABLE deliveries;
DROP TABLE record_states;
DROP TABLE records;
DROP TABLE hosts;
DROP TABLE services;
DROP DOMAIN fqdn;
