package store

import (
	"context"
	"regexp"
	"time"
)

// uuidText is what a session id looks like; anything else is not looked up.
var uuidText = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Session is one login of a user: the refresh tokens of one family and the
// access tokens issued from them.
type Session struct {
	ID     string // the refresh-token family, a UUID
	UserID int64
	// AuthenticatedAt is when the user last gave their password in this
	// session (the login, or a confirmation since).
	AuthenticatedAt time.Time
	CreatedAt       time.Time
	EndedAt         *time.Time
}

// CreateSession starts a session; id is the family of its refresh tokens.
func (q *Queries) CreateSession(ctx context.Context, id string, userID int64) error {
	_, err := q.db.Exec(ctx, `INSERT INTO sessions (id, user_id) VALUES ($1, $2)`, id, userID)
	return mapErr("create session", err)
}

// SessionUser reads a session with its user, in one query: every request
// made with an access token does it. An unknown id (or one that is not a
// UUID) is ErrNotFound.
func (q *Queries) SessionUser(ctx context.Context, id string) (Session, User, error) {
	var s Session
	var u User
	if !uuidText.MatchString(id) {
		return s, u, mapErr("session", errNoRows)
	}
	err := q.db.QueryRow(ctx, `SELECT s.id::text, s.user_id, s.authenticated_at, s.created_at, s.ended_at,
			u.id, u.username, u.password_hash, u.created_at, u.updated_at, u.last_login_at, u.role
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id = $1::uuid`, id).
		Scan(&s.ID, &s.UserID, &s.AuthenticatedAt, &s.CreatedAt, &s.EndedAt,
			&u.ID, &u.Username, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt, &u.Role)
	return s, u, mapErr("session", err)
}

// ReauthenticateSession records that the user just gave their password
// again in this session.
func (q *Queries) ReauthenticateSession(ctx context.Context, id string) error {
	_, err := q.db.Exec(ctx, `UPDATE sessions SET authenticated_at = now() WHERE id = $1::uuid AND ended_at IS NULL`, id)
	return mapErr("reauthenticate session", err)
}

// EndSession ends a session and revokes its refresh tokens, and tells
// whether it was still live.
func (q *Queries) EndSession(ctx context.Context, id string) (bool, error) {
	if !uuidText.MatchString(id) {
		return false, nil
	}
	tag, err := q.db.Exec(ctx, `UPDATE sessions SET ended_at = now() WHERE id = $1::uuid AND ended_at IS NULL`, id)
	if err != nil {
		return false, mapErr("end session", err)
	}
	_, err = q.db.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now() WHERE family = $1::uuid AND revoked_at IS NULL`, id)
	return tag.RowsAffected() > 0, mapErr("end session", err)
}

// EndUserSessions ends every session of a user but except (""
// for none) and revokes their refresh tokens; it returns how many were
// live.
func (q *Queries) EndUserSessions(ctx context.Context, userID int64, except string) (int, error) {
	tag, err := q.db.Exec(ctx, `UPDATE sessions SET ended_at = now()
		WHERE user_id = $1 AND ended_at IS NULL AND id::text <> $2`, userID, except)
	if err != nil {
		return 0, mapErr("end sessions", err)
	}
	_, err = q.db.Exec(ctx, `UPDATE refresh_tokens SET revoked_at = now()
		WHERE user_id = $1 AND revoked_at IS NULL AND family::text <> $2`, userID, except)
	return int(tag.RowsAffected()), mapErr("end sessions", err)
}
