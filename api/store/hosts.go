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
	// PrivateIPv4Allowed lets a private or CGNAT IPv4 address be
	// published (internal DNS); otherwise such an address is stored but
	// its records send nothing for IPv4.
	PrivateIPv4Allowed bool
	// Source says where each address came from (see AddressSources).
	Source AddressSources
	Notes  string
	// OwnerID is the account the host belongs to, with its records (nil:
	// the admins', after its owner was deleted).
	OwnerID   *int64
	OwnerName string
	// StaleAfter is how long the host may stay silent before it is
	// stale; nil: the server's stale-after (see StaleRule).
	StaleAfter *time.Duration
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// RecordCount is filled by listings.
	RecordCount int
}

const hostColumnsBare = `h.id, h.fqdn, h.secret_hash, h.enabled, h.ipv4_enabled, h.ipv6_enabled, h.ipv4, h.ipv6, h.ipv6_prefix,
	h.ipv4_updated_at, h.ipv4_changed_at, h.ipv6_updated_at, h.ipv6_changed_at, h.last_seen_at, h.notes, h.owner_id, coalesce((SELECT username FROM users WHERE id = h.owner_id), ''), h.created_at, h.updated_at,
	h.ipv4_private_allowed, h.ipv4_source, h.ipv6_source, h.prefix_source, (extract(epoch FROM h.stale_after) * 1000000)::bigint`

const hostColumns = hostColumnsBare + `, (SELECT count(*) FROM records r WHERE r.host_id = h.id)`

func scanHost(row rowScanner) (Host, error) {
	var h Host
	var staleAfter *int64 // microseconds
	err := row.Scan(&h.ID, &h.FQDN, &h.SecretHash, &h.Enabled, &h.IPv4Enabled, &h.IPv6Enabled, &h.IPv4, &h.IPv6, &h.Prefix,
		&h.IPv4UpdatedAt, &h.IPv4ChangedAt, &h.IPv6UpdatedAt, &h.IPv6ChangedAt, &h.LastSeenAt, &h.Notes, &h.OwnerID, &h.OwnerName, &h.CreatedAt, &h.UpdatedAt,
		&h.PrivateIPv4Allowed, &h.Source.IPv4, &h.Source.IPv6, &h.Source.Prefix, &staleAfter, &h.RecordCount)
	if staleAfter != nil {
		d := time.Duration(*staleAfter) * time.Microsecond
		h.StaleAfter = &d
	}
	return h, err
}

// staleAfterArg is a stale-after as the interval queries take it
// (microseconds, NULL for none).
func staleAfterArg(d *time.Duration) *int64 {
	if d == nil {
		return nil
	}
	us := d.Microseconds()
	return &us
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
	// PrivateIPv4Allowed: see Host.
	PrivateIPv4Allowed bool
	OwnerID            int64
	// StaleAfter: see Host.
	StaleAfter *time.Duration
}

// CreateHost adds a host; an FQDN taken in any case is ErrConflict.
func (q *Queries) CreateHost(ctx context.Context, n NewHost) (Host, error) {
	h, err := scanHost(q.db.QueryRow(ctx, `
		INSERT INTO hosts AS h (fqdn, secret_hash, enabled, ipv4_enabled, ipv6_enabled, ipv4, ipv6, ipv6_prefix, notes,
			ipv4_private_allowed, ipv4_source, ipv6_source, prefix_source,
			ipv4_updated_at, ipv4_changed_at, ipv6_updated_at, ipv6_changed_at, owner_id, stale_after)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			CASE WHEN $6::inet IS NULL THEN '' ELSE 'manual' END, CASE WHEN $7::inet IS NULL THEN '' ELSE 'manual' END,
			CASE WHEN $8::cidr IS NULL THEN '' ELSE 'manual' END,
			CASE WHEN $6::inet IS NULL THEN NULL ELSE now() END, CASE WHEN $6::inet IS NULL THEN NULL ELSE now() END,
			CASE WHEN $7::inet IS NULL AND $8::cidr IS NULL THEN NULL ELSE now() END,
			CASE WHEN $7::inet IS NULL AND $8::cidr IS NULL THEN NULL ELSE now() END, nullif($11, 0),
			$12::bigint * interval '1 microsecond')
		RETURNING `+hostColumns,
		n.FQDN, n.SecretHash, n.Enabled, n.IPv4Enabled, n.IPv6Enabled, n.IPv4, n.IPv6, n.Prefix, n.Notes, n.PrivateIPv4Allowed, n.OwnerID,
		staleAfterArg(n.StaleAfter)))
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

// HostAuth is what a dyndns2 request needs of its host: the row, the
// names of its records (a `hostname` may name any of them) and the
// persisted verifier of its secret (nil until one was stored).
type HostAuth struct {
	Host
	Names    []string
	Verifier []byte
}

// hostAuthColumns are what scanHostAuth reads, of hosts h.
const hostAuthColumns = `h.id, h.fqdn, h.secret_hash, h.enabled, h.ipv4_enabled, h.ipv6_enabled, h.ipv4, h.ipv6, h.ipv6_prefix,
	h.ipv4_source, h.ipv6_source, h.prefix_source, h.secret_verifier`

func scanHostAuth(row rowScanner) (HostAuth, error) {
	var a HostAuth
	err := row.Scan(&a.ID, &a.FQDN, &a.SecretHash, &a.Enabled, &a.IPv4Enabled, &a.IPv6Enabled, &a.IPv4, &a.IPv6, &a.Prefix,
		&a.Source.IPv4, &a.Source.IPv6, &a.Source.Prefix, &a.Verifier, &a.Names)
	return a, err
}

// HostForAuth finds a host by FQDN (case-insensitive) with its record names.
func (q *Queries) HostForAuth(ctx context.Context, fqdn string) (HostAuth, error) {
	a, err := scanHostAuth(q.db.QueryRow(ctx, `
		SELECT `+hostAuthColumns+`,
			coalesce((SELECT array_agg(DISTINCT lower(r.fqdn)) FROM records r WHERE r.host_id = h.id), '{}')
		FROM hosts h WHERE lower(h.fqdn) = lower($1)`, fqdn))
	return a, mapErr("host for auth", err)
}

// HostsForAuth reads what HostForAuth reads, for the hosts ids (those that
// still exist), or for every host when ids is nil: what the in-memory host
// directory loads.
func (q *Queries) HostsForAuth(ctx context.Context, ids []int64) ([]HostAuth, error) {
	if ids == nil {
		rows, err := q.db.Query(ctx, `
			SELECT `+hostAuthColumns+`, coalesce(n.names, '{}')
			FROM hosts h LEFT JOIN (SELECT host_id, array_agg(DISTINCT lower(fqdn)) AS names FROM records GROUP BY host_id) n
				ON n.host_id = h.id`)
		return collect("hosts for auth", rows, err, scanHostAuth)
	}
	rows, err := q.db.Query(ctx, `
		SELECT `+hostAuthColumns+`,
			coalesce((SELECT array_agg(DISTINCT lower(r.fqdn)) FROM records r WHERE r.host_id = h.id), '{}')
		FROM hosts h WHERE h.id = ANY($1)`, ids)
	return collect("hosts for auth", rows, err, scanHostAuth)
}

// SetHostVerifier stores the verifier of a host's secret, unless the secret
// changed meanwhile (hash is what it was verified against).
func (q *Queries) SetHostVerifier(ctx context.Context, id int64, hash string, verifier []byte) error {
	_, err := q.db.Exec(ctx, `UPDATE hosts SET secret_verifier = $3 WHERE id = $1 AND secret_hash = $2
		AND secret_verifier IS DISTINCT FROM $3`, id, hash, verifier)
	return mapErr("set host verifier", err)
}

// HostPatch changes the settings of a host; nil fields stay as they are.
type HostPatch struct {
	FQDN        *string
	Enabled     *bool
	IPv4Enabled *bool
	IPv6Enabled *bool
	Notes       *string
	// PrivateIPv4Allowed: see Host.
	PrivateIPv4Allowed *bool
	OwnerID            *int64 // an admin's reassignment
	// SetStaleAfter replaces the host's stale-after with StaleAfter (nil:
	// back to the server's); without it the stale-after stays.
	SetStaleAfter bool
	StaleAfter    *time.Duration
}

// UpdateHost applies a patch.
func (q *Queries) UpdateHost(ctx context.Context, id int64, p HostPatch) (Host, error) {
	h, err := scanHost(q.db.QueryRow(ctx, `
		UPDATE hosts h SET fqdn = coalesce($2, fqdn), enabled = coalesce($3, enabled),
			ipv4_enabled = coalesce($4, ipv4_enabled), ipv6_enabled = coalesce($5, ipv6_enabled),
			notes = coalesce($6, notes), ipv4_private_allowed = coalesce($7, ipv4_private_allowed), owner_id = coalesce($8, owner_id),
			stale_after = CASE WHEN $9 THEN $10::bigint * interval '1 microsecond' ELSE stale_after END, updated_at = now()
		WHERE id = $1 RETURNING `+hostColumns, id, p.FQDN, p.Enabled, p.IPv4Enabled, p.IPv6Enabled, p.Notes, p.PrivateIPv4Allowed, p.OwnerID,
		p.SetStaleAfter, staleAfterArg(p.StaleAfter)))
	return h, mapErr("update host", err)
}

// SetHostSecret replaces the hash of a host's update secret.
func (q *Queries) SetHostSecret(ctx context.Context, id int64, hash string) error {
	tag, err := q.db.Exec(ctx, `UPDATE hosts SET secret_hash = $2, secret_verifier = NULL, updated_at = now() WHERE id = $1`, id, hash)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	return mapErr("set host secret", err)
}

// RehashHostSecret replaces a hash only if it is still the old one, so a
// concurrent rotation by an admin is never overwritten by an upgrade.
// verifier is the new hash's (nil: none).
func (q *Queries) RehashHostSecret(ctx context.Context, id int64, oldHash, newHash string, verifier []byte) error {
	_, err := q.db.Exec(ctx, `UPDATE hosts SET secret_hash = $3, secret_verifier = $4 WHERE id = $1 AND secret_hash = $2`,
		id, oldHash, newHash, verifier)
	return mapErr("rehash host secret", err)
}

// HostAddresses are a host's stored addresses after an update.
type HostAddresses struct {
	IPv4   netip.Addr
	IPv6   netip.Addr
	Prefix netip.Prefix
	Source AddressSources
}

// AddressSources say where each of a host's addresses came from, as the
// record's derivation shows it: the dyndns2 parameter that carried it
// (myip, myipv6, ip6lanprefix, ...), "myip/len" for a prefix given as an
// address with a length, "connection" for the address the request came
// from, "manual" for an admin's edit, "" when unknown.
type AddressSources struct {
	IPv4   string
	IPv6   string
	Prefix string
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
			ipv4 = $2, ipv6 = $3, ipv6_prefix = $4, last_seen_at = now(), updated_at = now(),
			ipv4_source = CASE WHEN $2::inet IS NULL THEN '' ELSE $5 END,
			ipv6_source = CASE WHEN $3::inet IS NULL THEN '' ELSE $6 END,
			prefix_source = CASE WHEN $4::cidr IS NULL THEN '' ELSE $7 END
		WHERE id = $1`, id, a.IPv4, a.IPv6, a.Prefix, a.Source.IPv4, a.Source.IPv6, a.Source.Prefix)
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
