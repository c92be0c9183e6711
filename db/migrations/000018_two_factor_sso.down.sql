-- role and disabled stay: migration 000017 (roles and ownership) owns role,
-- and dropping either would turn restricted accounts into admins.
DROP TABLE sign_in_settings;
DROP INDEX users_oidc_key;
ALTER TABLE users DROP COLUMN oidc_issuer, DROP COLUMN oidc_subject,
    DROP COLUMN otp_secret, DROP COLUMN otp_key_id, DROP COLUMN otp_enabled_at, DROP COLUMN otp_last_step;
DROP TABLE otp_recovery_codes;
