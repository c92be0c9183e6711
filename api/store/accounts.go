package store

import "context"

// RenameUser changes an account's name; a name taken in any case is ErrConflict.
func (q *Queries) RenameUser(ctx context.Context, id int64, username string) error {
	tag, err := q.db.Exec(ctx, `UPDATE users SET username = $2, updated_at = now() WHERE id = $1`, id, username)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	return mapErr("rename user", err)
}

// RehashUserPassword replaces a password hash with a stronger one only if it
// is still the old one, without ending sessions (the password is the same).
func (q *Queries) RehashUserPassword(ctx context.Context, id int64, oldHash, newHash string) error {
	_, err := q.db.Exec(ctx, `UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, id, oldHash, newHash)
	return mapErr("rehash user password", err)
}

// UsersPage lists accounts by id, after the id afterID.
func (q *Queries) UsersPage(ctx context.Context, afterID int64, limit int) ([]User, error) {
	var c cond
	c.add("id > $?", afterID)
	q.ownRows(&c, "id")
	rows, err := q.db.Query(ctx, `SELECT `+userColumns+` FROM users WHERE `+c.sql()+` ORDER BY id LIMIT `+c.limit(limit), c.args...)
	return collect("list users", rows, err, scanUser)
}
