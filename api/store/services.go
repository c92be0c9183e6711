package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Service is an upstream DNS update endpoint.
type Service struct {
	ID             int64
	Name           string
	Protocol       string
	Settings       json.RawMessage // protocol-specific, decoded by the protocol client
	Credentials    []byte          // sealed by secretbox
	CredentialsKey string
	// OwnerID is the account the service belongs to (nil: the admins');
	// Shared lets every account publish records through it.
	OwnerID     *int64
	OwnerName   string
	Shared      bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	RecordCount int
}

const serviceColumns = `s.id, s.name, s.protocol, s.settings, s.credentials, coalesce(s.credentials_key, ''),
	s.owner_id, coalesce((SELECT username FROM users WHERE id = s.owner_id), ''), s.shared, s.created_at, s.updated_at,
	` + serviceRecordCount

const serviceRecordCount = `(SELECT count(*) FROM records r WHERE r.service_id = s.id)`

func scanService(row rowScanner) (Service, error) {
	var s Service
	err := row.Scan(&s.ID, &s.Name, &s.Protocol, &s.Settings, &s.Credentials, &s.CredentialsKey, &s.OwnerID, &s.OwnerName, &s.Shared, &s.CreatedAt, &s.UpdatedAt, &s.RecordCount)
	return s, err
}

// NewService is what creating a service takes.
type NewService struct {
	Name           string
	Protocol       string
	Settings       json.RawMessage
	Credentials    []byte
	CredentialsKey string
	OwnerID        int64
	Shared         bool
}

// CreateService adds a service; a name taken in any case is ErrConflict.
func (q *Queries) CreateService(ctx context.Context, n NewService) (Service, error) {
	if n.Settings == nil {
		n.Settings = json.RawMessage(`{}`)
	}
	s, err := scanService(q.db.QueryRow(ctx, `
		INSERT INTO services AS s (name, protocol, settings, credentials, credentials_key, owner_id, shared)
		VALUES ($1, $2, $3, $4, nullif($5, ''), nullif($6, 0), $7) RETURNING `+serviceColumns,
		n.Name, n.Protocol, n.Settings, n.Credentials, n.CredentialsKey, n.OwnerID, n.Shared))
	return s, mapErr("create service", err)
}

// serviceColumnsFor are serviceColumns as q sees them: a user counts only
// their own records of a service (a shared one has other users' too).
func (q *Queries) serviceColumnsFor(c *cond) string {
	if !q.restricted() {
		return serviceColumns
	}
	var own cond
	own.args = c.args
	q.ownHostIDs(&own, "r.host_id")
	c.args = own.args
	return strings.Replace(serviceColumns, serviceRecordCount,
		`(SELECT count(*) FROM records r WHERE r.service_id = s.id AND `+own.sql()+`)`, 1)
}

// Service finds a service by id, among those q may publish through (its
// own and the shared ones).
func (q *Queries) Service(ctx context.Context, id int64) (Service, error) {
	c := one("s.id", id, func(c *cond) { q.usableServices(c, "s") })
	cols := q.serviceColumnsFor(c)
	s, err := scanService(q.db.QueryRow(ctx, `SELECT `+cols+` FROM services s WHERE `+c.sql(), c.args...))
	return s, mapErr("service", err)
}

// OwnService finds a service by id among those q may change: its own (a
// shared service is changed by its owner or an admin only).
func (q *Queries) OwnService(ctx context.Context, id int64) (Service, error) {
	c := one("s.id", id, func(c *cond) { q.ownRows(c, "s.owner_id") })
	s, err := scanService(q.db.QueryRow(ctx, `SELECT `+serviceColumns+` FROM services s WHERE `+c.sql(), c.args...))
	return s, mapErr("service", err)
}

// Services lists every service q may use by name.
func (q *Queries) Services(ctx context.Context) ([]Service, error) {
	var c cond
	q.usableServices(&c, "s")
	cols := q.serviceColumnsFor(&c)
	rows, err := q.db.Query(ctx, `SELECT `+cols+` FROM services s WHERE `+c.sql()+` ORDER BY lower(s.name)`, c.args...)
	return collect("list services", rows, err, scanService)
}

// ServicePatch changes a service; nil fields stay. ClearCredentials removes them.
type ServicePatch struct {
	Name             *string
	Settings         json.RawMessage
	Credentials      []byte
	CredentialsKey   string
	ClearCredentials bool
	OwnerID          *int64
	Shared           *bool
}

// UpdateService applies a patch.
func (q *Queries) UpdateService(ctx context.Context, id int64, p ServicePatch) (Service, error) {
	s, err := scanService(q.db.QueryRow(ctx, `
		UPDATE services s SET name = coalesce($2, name), settings = coalesce($3, settings),
			credentials = CASE WHEN $6 THEN NULL WHEN $4::bytea IS NOT NULL THEN $4 ELSE credentials END,
			credentials_key = CASE WHEN $6 THEN NULL WHEN $4::bytea IS NOT NULL THEN $5 ELSE credentials_key END,
			owner_id = coalesce($7, owner_id), shared = coalesce($8, shared), updated_at = now()
		WHERE id = $1 RETURNING `+serviceColumns, id, p.Name, p.Settings, p.Credentials, p.CredentialsKey, p.ClearCredentials,
		p.OwnerID, p.Shared))
	return s, mapErr("update service", err)
}

// DeleteService removes a service; one still used by records is ErrConflict.
func (q *Queries) DeleteService(ctx context.Context, id int64) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM services WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	return mapErr("delete service", err)
}
