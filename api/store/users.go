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
	// MaxHosts and MaxRecords limit what the account may own (nil: no limit).
	MaxHosts   *int
	MaxRecords *int
}

const userColumns = `id, username, password_hash, created_at, updated_at, last_login_at, role, disabled,
	otp_enabled_at IS NOT NULL, oidc_subject IS NOT NULL, max_hosts, max_records`

func scanUser(row rowScanner) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt, &u.Role, &u.Disabled,
		&u.OTPEnabled, &u.SSO, &u.MaxHosts, &u.MaxRecords)
	return u, err
}

// UserAccess is an account's role and limits, as an admin sets them.
type UserAccess struct {
	Role string
	// MaxHosts and MaxRecords: nil keeps the value, a negative one removes the limit.
	MaxHosts, MaxRecords *int
}

// SetUserAccess changes an account's role and limits; nil fields stay.
func (q *Queries) SetUserAccess(ctx context.Context, id int64, a UserAccess) error {
	tag, err := q.db.Exec(ctx, `UPDATE users SET role = coalesce(nullif($2, ''), role),
			max_hosts = CASE WHEN $3::int IS NULL THEN max_hosts WHEN $3 < 0 THEN NULL ELSE $3 END,
			max_records = CASE WHEN $4::int IS NULL THEN max_records WHEN $4 < 0 THEN NULL ELSE $4 END,
			updated_at = now()
		WHERE id = $1`, id, a.Role, a.MaxHosts, a.MaxRecords)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	return mapErr("set user access", err)
}

// CountAdmins counts the admin accounts: the last one keeps its role.
func (q *Queries) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `SELECT count(*) FROM users WHERE role = 'admin'`).Scan(&n)
	return n, mapErr("count admins", err)
}

// CreateUser adds an admin account: the first one, and the command
// line's. It names only the columns every schema has, so that a server
// started on a schema not yet migrated (--no-migrate) still creates its
// first admin; accounts are admins by the column's default (migration 17).
// A username taken in any case is ErrConflict.
func (q *Queries) CreateUser(ctx context.Context, username, passwordHash string) (User, error) {
	var u User
	err := q.db.QueryRow(ctx, `INSERT INTO users (username, password_hash) VALUES ($1, $2)
		RETURNING id, username, password_hash, created_at, updated_at, last_login_at`, username, passwordHash).
		Scan(&u.ID, &u.Username, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt)
	u.Role = RoleAdmin
	return u, mapErr("create user", err)
}

// CreateAccount adds an account with a role (RoleAdmin or RoleUser): what
// the API and single sign-on create. A username taken in any case is
// ErrConflict.
func (q *Queries) CreateAccount(ctx context.Context, username, passwordHash, role string) (User, error) {
	u, err := scanUser(q.db.QueryRow(ctx,
		`INSERT INTO users (username, password_hash, role) VALUES ($1, $2, $3) RETURNING `+userColumns,
		username, passwordHash, role))
	return u, mapErr("create account", err)
}

// UserByName finds an account case-insensitively.
func (q *Queries) UserByName(ctx context.Context, username string) (User, error) {
	u, err := scanUser(q.db.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE lower(username) = lower($1)`, username))
	return u, mapErr("user by name", err)
}

// User finds an account by id.
func (q *Queries) User(ctx context.Context, id int64) (User, error) {
	c := one("id", id, func(c *cond) { q.ownRows(c, "id") })
	u, err := scanUser(q.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE `+c.sql(), c.args...))
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
