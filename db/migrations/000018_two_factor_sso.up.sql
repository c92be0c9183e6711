-- Two-factor sign-in (TOTP) and single sign-on (OpenID Connect).

-- role: admin or user. Migration 000017 (roles and ownership) owns this
-- column; it is added here only when that migration has not run, so that
-- accounts created by single sign-on have a role either way.
ALTER TABLE users ADD COLUMN IF NOT EXISTS role text NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'user'));

-- disabled: the account can neither sign in (password or single sign-on)
-- nor use its sessions and API tokens.
ALTER TABLE users ADD COLUMN IF NOT EXISTS disabled boolean NOT NULL DEFAULT false;

-- The TOTP secret, sealed like upstream credentials (api/secretbox). It is
-- stored at enrolment and used for sign-in only once a code confirmed it
-- (otp_enabled_at). otp_last_step is the time step of the last code
-- accepted: a code is good once.
ALTER TABLE users
    ADD COLUMN otp_secret     bytea,
    ADD COLUMN otp_key_id     text,
    ADD COLUMN otp_enabled_at timestamptz,
    ADD COLUMN otp_last_step  bigint,
    ADD CONSTRAINT users_otp_enabled_has_secret CHECK (otp_enabled_at IS NULL OR otp_secret IS NOT NULL);

-- Recovery codes: SHA-256 of each (they are random, 80 bits), single use.
CREATE TABLE otp_recovery_codes (
    user_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL CHECK (octet_length(code_hash) = 32),
    used_at   timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- The identity provider's account behind a user created by single sign-on:
-- its issuer and subject, which never change (the name may).
ALTER TABLE users
    ADD COLUMN oidc_issuer  text,
    ADD COLUMN oidc_subject text,
    ADD CONSTRAINT users_oidc_both CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL));
CREATE UNIQUE INDEX users_oidc_key ON users (oidc_issuer, oidc_subject) WHERE oidc_issuer IS NOT NULL;

-- Sign-in rules set by admins: one row.
CREATE TABLE sign_in_settings (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    require_2fa    boolean NOT NULL DEFAULT false,
    password_login boolean NOT NULL DEFAULT true,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
INSERT INTO sign_in_settings DEFAULT VALUES;
