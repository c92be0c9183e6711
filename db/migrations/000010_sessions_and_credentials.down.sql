ALTER TABLE records DROP COLUMN password_cleared_at;
DROP TABLE sessions;
