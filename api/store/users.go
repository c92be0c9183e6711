package store

import (
	"context"
	"time"
)

// User is an admin account.
type User struct {
	ID           int64
	Username     string
	PasswordHash string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLoginAt  *time.Time
	// Role is admin or user.
	Role string
	// Disabled accounts cannot sign in nor use their sessions and tokens.
	Disabled bool
	// OTPEnabled: sign-in needs a TOTP code (or a recovery code).
	OTPEnabled bool
	// SSO: the account was created by single sign-on.
	SSO bool
}

// The roles of accounts.
const (
	RoleAdmin = "admin"
	RoleUser  = "user"
)

const userColumns = `id, username, password_hash, created_at, updated_at, last_login_at, role, disabled,
	otp_enabled_at IS NOT NULL, oidc_subject IS NOT NULL`

func scanUser(row rowScanner) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt, &u.Role, &u.Disabled,
		&u.OTPEnabled, &u.SSO)
	return u, err
}

// CreateUser adds an account; a username taken in any case is ErrConflict.
// It reads back only the columns of the first schema (the others hold
// their defaults): the first start creates the admin with it, and must
// work on a schema a migration behind (serve --no-migrate).
func (q *Queries) CreateUser(ctx context.Context, username, passwordHash string) (User, error) {
	u := User{Role: RoleAdmin}
	err := q.db.QueryRow(ctx,
		`INSERT INTO users (username, password_hash) VALUES ($1, $2)
		RETURNING id, username, password_hash, created_at, updated_at, last_login_at`, username, passwordHash).
		Scan(&u.ID, &u.Username, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt)
	return u, mapErr("create user", err)
}

// UserByName finds an account case-insensitively.
func (q *Queries) UserByName(ctx context.Context, username string) (User, error) {
	u, err := scanUser(q.db.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE lower(username) = lower($1)`, username))
	return u, mapErr("user by name", err)
}

// User finds an account by id.
func (q *Queries) User(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(q.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, mapErr("user", err)
}

// Users lists every account by name.
func (q *Queries) Users(ctx context.Context) ([]User, error) {
	rows, err := q.db.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY lower(username)`)
	return collect("list users", rows, err, scanUser)
}

// CountUsers tells whether the first admin must still be created.
func (q *Queries) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, mapErr("count users", err)
}

// SetUserPassword replaces a password hash and ends the user's web
// sessions but keep ("" ends all): the session that changed its own
// password goes on, any other may be the one the password leaked to. API
// tokens stay.
func (q *Queries) SetUserPassword(ctx context.Context, id int64, passwordHash, keep string) error {
	tag, err := q.db.Exec(ctx, `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, id, passwordHash)
	if err != nil {
		return mapErr("set password", err)
	}
	if tag.RowsAffected() == 0 {
		return mapErr("set password", errNoRows)
	}
	_, err = q.EndUserSessions(ctx, id, keep)
	return err
}

// TouchUserLogin records a successful login.
func (q *Queries) TouchUserLogin(ctx context.Context, id int64) error {
	_, err := q.db.Exec(ctx, `UPDATE users SET last_login_at = now() WHERE id = $1`, id)
	return mapErr("touch login", err)
}

// DeleteUser removes an account with its tokens.
func (q *Queries) DeleteUser(ctx context.Context, id int64) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	return mapErr("delete user", err)
}
