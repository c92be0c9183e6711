DROP TABLE refresh_tokens;
DROP TABLE api_tokens;
DROP TABLE users;
