package store

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// Host is a device that reports its addresses.
type Host struct {
	ID            int64
	FQDN          string
	SecretHash    string
	Enabled       bool
	IPv4Enabled   bool
	IPv6Enabled   bool
	IPv4          netip.Addr
	IPv6          netip.Addr
	Prefix        netip.Prefix
	IPv4UpdatedAt *time.Time
	IPv4ChangedAt *time.Time
	IPv6UpdatedAt *time.Time
	IPv6ChangedAt *time.Time
	LastSeenAt    *time.Time
	Notes         string
	// OwnerID is the account the host belongs to, with its records (nil:
	// the admins', after its owner was deleted).
	OwnerID   *int64
	OwnerName string
	CreatedAt time.Time
	UpdatedAt time.Time
	// RecordCount is filled by listings.
	RecordCount int
}

const hostColumnsBare = `h.id, h.fqdn, h.secret_hash, h.enabled, h.ipv4_enabled, h.ipv6_enabled, h.ipv4, h.ipv6, h.ipv6_prefix,
	h.ipv4_updated_at, h.ipv4_changed_at, h.ipv6_updated_at, h.ipv6_changed_at, h.last_seen_at, h.notes, h.owner_id, coalesce((SELECT username FROM users WHERE id = h.owner_id), ''), h.created_at, h.updated_at`

const hostColumns = hostColumnsBare + `, (SELECT count(*) FROM records r WHERE r.host_id = h.id)`

func scanHost(row rowScanner) (Host, error) {
	var h Host
	err := row.Scan(&h.ID, &h.FQDN, &h.SecretHash, &h.Enabled, &h.IPv4Enabled, &h.IPv6Enabled, &h.IPv4, &h.IPv6, &h.Prefix,
		&h.IPv4UpdatedAt, &h.IPv4ChangedAt, &h.IPv6UpdatedAt, &h.IPv6ChangedAt, &h.LastSeenAt, &h.Notes, &h.OwnerID, &h.OwnerName, &h.CreatedAt, &h.UpdatedAt,
		&h.RecordCount)
	return h, err
}

// NewHost is what creating a host takes; FQDN must already be normalised.
type NewHost struct {
	FQDN        string
	SecretHash  string
	Enabled     bool
	IPv4Enabled bool
	IPv6Enabled bool
	IPv4        netip.Addr
	IPv6        netip.Addr
	Prefix      netip.Prefix
	Notes       string
	OwnerID     int64
}

// CreateHost adds a host; an FQDN taken in any case is ErrConflict.
func (q *Queries) CreateHost(ctx context.Context, n NewHost) (Host, error) {
	h, err := scanHost(q.db.QueryRow(ctx, `
		INSERT INTO hosts AS h (fqdn, secret_hash, enabled, ipv4_enabled, ipv6_enabled, ipv4, ipv6, ipv6_prefix, notes,
			ipv4_updated_at, ipv4_changed_at, ipv6_updated_at, ipv6_changed_at, owner_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
			CASE WHEN $6::inet IS NULL THEN NULL ELSE now() END, CASE WHEN $6::inet IS NULL THEN NULL ELSE now() END,
			CASE WHEN $7::inet IS NULL AND $8::cidr IS NULL THEN NULL ELSE now() END,
			CASE WHEN $7::inet IS NULL AND $8::cidr IS NULL THEN NULL ELSE now() END, nullif($10, 0))
		RETURNING `+hostColumns,
		n.FQDN, n.SecretHash, n.Enabled, n.IPv4Enabled, n.IPv6Enabled, n.IPv4, n.IPv6, n.Prefix, n.Notes, n.OwnerID))
	return h, mapErr("create host", err)
}

// Host finds a host by id.
func (q *Queries) Host(ctx context.Context, id int64) (Host, error) {
	c := one("h.id", id, func(c *cond) { q.ownHosts(c, "h") })
	h, err := scanHost(q.db.QueryRow(ctx, `SELECT `+hostColumns+` FROM hosts h WHERE `+c.sql(), c.args...))
	return h, mapErr("host", err)
}

// LockHost reads a host and locks its row until the transaction ends, so
// concurrent updates of one host apply one after the other. The lock is NO
// KEY UPDATE: it must not block the foreign-key checks of rows that point at
// the host (a dispatcher recording an event for it while this transaction
// waits for that dispatcher's record lock would otherwise deadlock).
func (q *Queries) LockHost(ctx context.Context, id int64) (Host, error) {
	c := one("h.id", id, func(c *cond) { q.ownHosts(c, "h") })
	h, err := scanHost(q.db.QueryRow(ctx, `SELECT `+hostColumnsBare+`, 0 FROM hosts h WHERE `+c.sql()+` FOR NO KEY UPDATE`, c.args...))
	return h, mapErr("lock host", err)
}

// HostAuth is what a dyndns2 request needs of its host: the row and the
// names of its records (a `hostname` may name any of them).
type HostAuth struct {
	Host
	Names []string
}

// HostForAuth finds a host by FQDN (case-insensitive) with its record names.
func (q *Queries) HostForAuth(ctx context.Context, fqdn string) (HostAuth, error) {
	var a HostAuth
	var h Host
	err := q.db.QueryRow(ctx, `
		SELECT h.id, h.fqdn, h.secret_hash, h.enabled, h.ipv4_enabled, h.ipv6_enabled, h.ipv4, h.ipv6, h.ipv6_prefix,
			coalesce((SELECT array_agg(DISTINCT lower(r.fqdn)) FROM records r WHERE r.host_id = h.id), '{}')
		FROM hosts h WHERE lower(h.fqdn) = lower($1)`, fqdn).
		Scan(&h.ID, &h.FQDN, &h.SecretHash, &h.Enabled, &h.IPv4Enabled, &h.IPv6Enabled, &h.IPv4, &h.IPv6, &h.Prefix, &a.Names)
	a.Host = h
	return a, mapErr("host for auth", err)
}

// HostPatch changes the settings of a host; nil fields stay as they are.
type HostPatch struct {
	FQDN        *string
	Enabled     *bool
	IPv4Enabled *bool
	IPv6Enabled *bool
	Notes       *string
	OwnerID     *int64 // an admin's reassignment
}

// UpdateHost applies a patch.
func (q *Queries) UpdateHost(ctx context.Context, id int64, p HostPatch) (Host, error) {
	h, err := scanHost(q.db.QueryRow(ctx, `
		UPDATE hosts h SET fqdn = coalesce($2, fqdn), enabled = coalesce($3, enabled),
			ipv4_enabled = coalesce($4, ipv4_enabled), ipv6_enabled = coalesce($5, ipv6_enabled),
			notes = coalesce($6, notes), owner_id = coalesce($7, owner_id), updated_at = now()
		WHERE id = $1 RETURNING `+hostColumns, id, p.FQDN, p.Enabled, p.IPv4Enabled, p.IPv6Enabled, p.Notes, p.OwnerID))
	return h, mapErr("update host", err)
}

// SetHostSecret replaces the hash of a host's update secret.
func (q *Queries) SetHostSecret(ctx context.Context, id int64, hash string) error {
	tag, err := q.db.Exec(ctx, `UPDATE hosts SET secret_hash = $2, updated_at = now() WHERE id = $1`, id, hash)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	return mapErr("set host secret", err)
}

// RehashHostSecret replaces a hash only if it is still the old one, so a
// concurrent rotation by an admin is never overwritten by an upgrade.
func (q *Queries) RehashHostSecret(ctx context.Context, id int64, oldHash, newHash string) error {
	_, err := q.db.Exec(ctx, `UPDATE hosts SET secret_hash = $3 WHERE id = $1 AND secret_hash = $2`, id, oldHash, newHash)
	return mapErr("rehash host secret", err)
}

// HostAddresses are a host's stored addresses after an update.
type HostAddresses struct {
	IPv4   netip.Addr
	IPv6   netip.Addr
	Prefix netip.Prefix
}

// SetHostAddresses stores new addresses, stamping update and change times per
// family (the prefix belongs to the IPv6 family).
func (q *Queries) SetHostAddresses(ctx context.Context, id int64, a HostAddresses) error {
	_, err := q.db.Exec(ctx, `
		UPDATE hosts SET
			ipv4_changed_at = CASE WHEN ipv4 IS DISTINCT FROM $2 THEN now() ELSE ipv4_changed_at END,
			ipv6_changed_at = CASE WHEN ipv6 IS DISTINCT FROM $3 OR ipv6_prefix IS DISTINCT FROM $4 THEN now() ELSE ipv6_changed_at END,
			ipv4_updated_at = CASE WHEN $2::inet IS NOT NULL THEN now() ELSE ipv4_updated_at END,
			ipv6_updated_at = CASE WHEN $3::inet IS NOT NULL OR $4::cidr IS NOT NULL THEN now() ELSE ipv6_updated_at END,
			ipv4 = $2, ipv6 = $3, ipv6_prefix = $4, last_seen_at = now(), updated_at = now()
		WHERE id = $1`, id, a.IPv4, a.IPv6, a.Prefix)
	return mapErr("set host addresses", err)
}

// TouchHostsSeen stores a batch of last-seen times (nochg updates).
func (q *Queries) TouchHostsSeen(ctx context.Context, ids []int64, at []time.Time) error {
	_, err := q.db.Exec(ctx, `
		UPDATE hosts h SET last_seen_at = v.at
		FROM unnest($1::bigint[], $2::timestamptz[]) AS v(id, at)
		WHERE h.id = v.id AND (h.last_seen_at IS NULL OR h.last_seen_at < v.at)`, ids, at)
	return mapErr("touch hosts seen", err)
}

// DeleteHost removes a host; one still used by records is ErrConflict.
func (q *Queries) DeleteHost(ctx context.Context, id int64) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM hosts WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	return mapErr("delete host", err)
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
