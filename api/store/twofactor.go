package store

import (
	"context"
	"time"
)

// OTPSecret is a user's sealed TOTP secret.
type OTPSecret struct {
	Sealed []byte
	KeyID  string
	// Enabled: a code confirmed it and sign-in needs one.
	Enabled bool
}

// SetPendingOTP stores a new TOTP secret that sign-in does not use until
// EnableOTP; it refuses (ErrConflict) when two-factor sign-in is already on.
func (q *Queries) SetPendingOTP(ctx context.Context, userID int64, sealed []byte, keyID string) error {
	tag, err := q.db.Exec(ctx, `UPDATE users SET otp_secret = $2, otp_key_id = $3, otp_last_step = NULL
		WHERE id = $1 AND otp_enabled_at IS NULL`, userID, sealed, keyID)
	if err == nil && tag.RowsAffected() == 0 {
		err = ErrConflict
	}
	return mapErr("set otp secret", err)
}

// UserOTP reads a user's TOTP secret; ErrNotFound when there is none.
func (q *Queries) UserOTP(ctx context.Context, userID int64) (OTPSecret, error) {
	var o OTPSecret
	err := q.db.QueryRow(ctx, `SELECT otp_secret, otp_key_id, otp_enabled_at IS NOT NULL FROM users
		WHERE id = $1 AND otp_secret IS NOT NULL`, userID).Scan(&o.Sealed, &o.KeyID, &o.Enabled)
	return o, mapErr("user otp", err)
}

// UseOTPStep records that the code of a time step was accepted; false when
// a code of this step or a later one was already accepted (a replay).
func (q *Queries) UseOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	tag, err := q.db.Exec(ctx, `UPDATE users SET otp_last_step = $2
		WHERE id = $1 AND (otp_last_step IS NULL OR otp_last_step < $2)`, userID, step)
	if err != nil {
		return false, mapErr("use otp step", err)
	}
	return tag.RowsAffected() == 1, nil
}

// EnableOTP turns two-factor sign-in on and replaces the recovery codes
// with the given hashes.
func (q *Queries) EnableOTP(ctx context.Context, userID int64, recoveryHashes [][]byte) error {
	tag, err := q.db.Exec(ctx, `UPDATE users SET otp_enabled_at = now(), updated_at = now()
		WHERE id = $1 AND otp_secret IS NOT NULL AND otp_enabled_at IS NULL`, userID)
	if err != nil {
		return mapErr("enable otp", err)
	}
	if tag.RowsAffected() == 0 {
		return mapErr("enable otp", ErrConflict)
	}
	if _, err := q.db.Exec(ctx, `DELETE FROM otp_recovery_codes WHERE user_id = $1`, userID); err != nil {
		return mapErr("enable otp", err)
	}
	_, err = q.db.Exec(ctx, `INSERT INTO otp_recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])`,
		userID, recoveryHashes)
	return mapErr("enable otp", err)
}

// DisableOTP removes the TOTP secret and the recovery codes.
func (q *Queries) DisableOTP(ctx context.Context, userID int64) error {
	if _, err := q.db.Exec(ctx, `UPDATE users SET otp_secret = NULL, otp_key_id = NULL, otp_enabled_at = NULL,
		otp_last_step = NULL, updated_at = now() WHERE id = $1`, userID); err != nil {
		return mapErr("disable otp", err)
	}
	_, err := q.db.Exec(ctx, `DELETE FROM otp_recovery_codes WHERE user_id = $1`, userID)
	return mapErr("disable otp", err)
}

// UseRecoveryCode spends a recovery code; false when the user has no
// unused code with this hash.
func (q *Queries) UseRecoveryCode(ctx context.Context, userID int64, hash []byte) (bool, error) {
	tag, err := q.db.Exec(ctx, `UPDATE otp_recovery_codes SET used_at = now()
		WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`, userID, hash)
	if err != nil {
		return false, mapErr("use recovery code", err)
	}
	return tag.RowsAffected() == 1, nil
}

// RecoveryCodesLeft counts a user's unused recovery codes.
func (q *Queries) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := q.db.QueryRow(ctx, `SELECT count(*) FROM otp_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).Scan(&n)
	return n, mapErr("recovery codes left", err)
}

// SignInSettings are the sign-in rules admins set.
type SignInSettings struct {
	// Require2FA: every password sign-in needs a TOTP code; accounts
	// without one can only enrol until they have.
	Require2FA bool
	// PasswordLogin: sign-in with a password is allowed (else single
	// sign-on only).
	PasswordLogin bool
	UpdatedAt     time.Time
}

// SignInSettings reads the sign-in rules.
func (q *Queries) SignInSettings(ctx context.Context) (SignInSettings, error) {
	var s SignInSettings
	err := q.db.QueryRow(ctx, `SELECT require_2fa, password_login, updated_at FROM sign_in_settings`).
		Scan(&s.Require2FA, &s.PasswordLogin, &s.UpdatedAt)
	return s, mapErr("sign-in settings", err)
}

// SetSignInSettings replaces the sign-in rules.
func (q *Queries) SetSignInSettings(ctx context.Context, s SignInSettings) (SignInSettings, error) {
	err := q.db.QueryRow(ctx, `UPDATE sign_in_settings SET require_2fa = $1, password_login = $2, updated_at = now()
		RETURNING require_2fa, password_login, updated_at`, s.Require2FA, s.PasswordLogin).
		Scan(&s.Require2FA, &s.PasswordLogin, &s.UpdatedAt)
	return s, mapErr("set sign-in settings", err)
}

// UserByOIDC finds the account created by single sign-on for an identity.
func (q *Queries) UserByOIDC(ctx context.Context, issuer, subject string) (User, error) {
	u, err := scanUser(q.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2`,
		issuer, subject))
	return u, mapErr("user by oidc", err)
}

// CreateOIDCUser adds an account for an identity of the identity
// provider; passwordHash is of a random password nobody knows.
func (q *Queries) CreateOIDCUser(ctx context.Context, username, passwordHash, role, issuer, subject string) (User, error) {
	u, err := scanUser(q.db.QueryRow(ctx, `INSERT INTO users (username, password_hash, role, oidc_issuer, oidc_subject)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+userColumns, username, passwordHash, role, issuer, subject))
	return u, mapErr("create oidc user", err)
}

// SetUserRole changes an account's role.
func (q *Queries) SetUserRole(ctx context.Context, id int64, role string) error {
	tag, err := q.db.Exec(ctx, `UPDATE users SET role = $2, updated_at = now() WHERE id = $1`, id, role)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	return mapErr("set role", err)
}

// SetUserDisabled disables or enables an account; disabling ends its sessions.
func (q *Queries) SetUserDisabled(ctx context.Context, id int64, disabled bool) error {
	tag, err := q.db.Exec(ctx, `UPDATE users SET disabled = $2, updated_at = now() WHERE id = $1`, id, disabled)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	if err != nil || !disabled {
		return mapErr("set disabled", err)
	}
	_, err = q.EndUserSessions(ctx, id, "")
	return err
}
