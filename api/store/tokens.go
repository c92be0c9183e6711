package store

import (
	"context"
	"time"
)

// APIToken is a script's credential. Only the SHA-256 of the token is stored.
type APIToken struct {
	ID         int64
	UserID     int64
	Username   string // the owner's, filled by reads
	Name       string
	Scope      string // read or write
	Prefix     string // the token's first characters, to recognise it
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
	// HostIDs, when not nil, are the only hosts (and their records) the
	// token reaches.
	HostIDs []int64
	// Role is the owner's, filled by reads.
	Role string
}

const apiTokenSelect = `SELECT t.id, t.user_id, u.username, t.name, t.scope, t.prefix, t.expires_at, t.last_used_at, t.created_at,
	t.host_ids, u.role
	FROM api_tokens t JOIN users u ON u.id = t.user_id`

func scanAPIToken(row rowScanner) (APIToken, error) {
	var t APIToken
	err := row.Scan(&t.ID, &t.UserID, &t.Username, &t.Name, &t.Scope, &t.Prefix, &t.ExpiresAt, &t.LastUsedAt, &t.CreatedAt,
		&t.HostIDs, &t.Role)
	return t, err
}

// NewAPIToken is what creating an API token takes.
type NewAPIToken struct {
	UserID    int64
	Name      string
	Scope     string
	Prefix    string
	Hash      []byte // SHA-256 of the token
	ExpiresAt *time.Time
	HostIDs   []int64 // nil: every host of the user
}

// CreateAPIToken stores a token's hash.
func (q *Queries) CreateAPIToken(ctx context.Context, n NewAPIToken) (APIToken, error) {
	var id int64
	err := q.db.QueryRow(ctx, `INSERT INTO api_tokens (user_id, name, token_hash, prefix, scope, expires_at, host_ids)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, n.UserID, n.Name, n.Hash, n.Prefix, n.Scope, n.ExpiresAt, n.HostIDs).Scan(&id)
	if err != nil {
		return APIToken{}, mapErr("create api token", err)
	}
	return q.APIToken(ctx, id)
}

// APIToken finds a token by id.
func (q *Queries) APIToken(ctx context.Context, id int64) (APIToken, error) {
	c := one("t.id", id, func(c *cond) { q.ownRows(c, "t.user_id") })
	t, err := scanAPIToken(q.db.QueryRow(ctx, apiTokenSelect+` WHERE `+c.sql(), c.args...))
	return t, mapErr("api token", err)
}

// APITokenByHash finds a token by the SHA-256 of its value, expired or
// not; the tokens of a disabled account are not found.
func (q *Queries) APITokenByHash(ctx context.Context, hash []byte) (APIToken, error) {
	t, err := scanAPIToken(q.db.QueryRow(ctx, apiTokenSelect+` WHERE t.token_hash = $1 AND NOT u.disabled`, hash))
	return t, mapErr("api token by hash", err)
}

// APITokensPage lists tokens by id, after the id afterID (0: from the start).
func (q *Queries) APITokensPage(ctx context.Context, afterID int64, limit int) ([]APIToken, error) {
	var c cond
	c.add("t.id > $?", afterID)
	q.ownRows(&c, "t.user_id")
	rows, err := q.db.Query(ctx, apiTokenSelect+` WHERE `+c.sql()+` ORDER BY t.id LIMIT `+c.limit(limit), c.args...)
	return collect("list api tokens", rows, err, scanAPIToken)
}

// TouchAPIToken records a use of a token, at most once a minute, so that a
// busy script does not turn every read into a write.
func (q *Queries) TouchAPIToken(ctx context.Context, id int64) error {
	_, err := q.db.Exec(ctx, `UPDATE api_tokens SET last_used_at = now()
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, id)
	return mapErr("touch api token", err)
}

// DeleteAPIToken revokes a token.
func (q *Queries) DeleteAPIToken(ctx context.Context, id int64) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	return mapErr("delete api token", err)
}

// CreateRefreshToken stores the hash of a web session's refresh token;
// family groups the tokens that rotated from one login.
func (q *Queries) CreateRefreshToken(ctx context.Context, userID int64, hash []byte, family string, expires time.Time) error {
	_, err := q.db.Exec(ctx, `INSERT INTO refresh_tokens (user_id, token_hash, family, expires_at) VALUES ($1, $2, $3, $4)`,
		userID, hash, family, expires)
	return mapErr("create refresh token", err)
}

// UseRefreshToken spends a live refresh token: it is revoked in the same
// statement, so two requests presenting it cannot both succeed. A token that
// is unknown, expired or already spent is ErrNotFound.
func (q *Queries) UseRefreshToken(ctx context.Context, hash []byte) (userID int64, family string, err error) {
	err = q.db.QueryRow(ctx, `UPDATE refresh_tokens SET revoked_at = now()
		WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
		RETURNING user_id, family::text`, hash).Scan(&userID, &family)
	return userID, family, mapErr("use refresh token", err)
}

// ReuseRefreshToken accepts again a refresh token spent less than within
// ago, if its session still has a live token: two tabs of one browser that
// refresh at the same moment present the same token, and the second is the
// same browser, not a copy. Anything else is ErrNotFound.
func (q *Queries) ReuseRefreshToken(ctx context.Context, hash []byte, within time.Duration) (userID int64, family string, err error) {
	err = q.db.QueryRow(ctx, `SELECT t.user_id, t.family::text FROM refresh_tokens t
		WHERE t.token_hash = $1 AND t.revoked_at > now() - make_interval(secs => $2) AND t.expires_at > now()
		AND EXISTS (SELECT 1 FROM refresh_tokens l WHERE l.family = t.family AND l.revoked_at IS NULL AND l.expires_at > now())`,
		hash, within.Seconds()).Scan(&userID, &family)
	return userID, family, mapErr("reuse refresh token", err)
}

// RefreshTokenFamily finds the family of a refresh token in any state, and
// whether the token was already revoked (spent or logged out).
func (q *Queries) RefreshTokenFamily(ctx context.Context, hash []byte) (family string, revoked bool, err error) {
	err = q.db.QueryRow(ctx, `SELECT family::text, revoked_at IS NOT NULL FROM refresh_tokens WHERE token_hash = $1`, hash).
		Scan(&family, &revoked)
	return family, revoked, mapErr("refresh token family", err)
}

// RevokeRefreshFamily ends a session: every token of it, and the session
// itself (so its access tokens stop working). It tells how many tokens
// were still live (0: the session had already ended).
func (q *Queries) RevokeRefreshFamily(ctx context.Context, family string) (int, error) {
	tag, err := q.db.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now() WHERE family = $1 AND revoked_at IS NULL`, family)
	if err != nil {
		return 0, mapErr("revoke refresh family", err)
	}
	_, err = q.db.Exec(ctx, `UPDATE sessions SET ended_at = now() WHERE id = $1::uuid AND ended_at IS NULL`, family)
	return int(tag.RowsAffected()), mapErr("revoke refresh family", err)
}
