-- Sessions: one row per login (its refresh-token family). Access tokens name
-- their session, and the API looks it up on every request, so ending a
-- session (logout, password change, a replayed refresh token) ends its
-- access tokens at once, on every replica. authenticated_at is when the
-- user last gave their password in this session: minting an API token
-- needs it to be recent.
CREATE TABLE sessions (
    id               uuid PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    authenticated_at timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz
);
CREATE INDEX sessions_user_id ON sessions (user_id) WHERE ended_at IS NULL;

-- Logins from before this version keep working through their refresh
-- token; their access tokens (which name no session) are refused.
INSERT INTO sessions (id, user_id, authenticated_at, created_at)
SELECT family, min(user_id), min(created_at), min(created_at)
FROM refresh_tokens
WHERE revoked_at IS NULL AND expires_at > now()
GROUP BY family;

-- A record's password is only sent where it was entered. When its
-- service's destination changes, the password is removed and this says
-- so until a new one is given ("needs credentials").
ALTER TABLE records ADD COLUMN password_cleared_at timestamptz;
