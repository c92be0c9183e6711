ALTER TABLE deliveries DROP COLUMN request_id;
