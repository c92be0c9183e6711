package store

import (
	"context"
	"net/netip"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// Statements used by imports from other systems: lookups by the natural keys
// an export names objects by, and inserts that keep the times and delivery
// state the other system recorded instead of stamping now().

// HostByFQDN finds a host by FQDN (case-insensitive).
func (q *Queries) HostByFQDN(ctx context.Context, fqdn string) (Host, error) {
	h, err := scanHost(q.db.QueryRow(ctx, `SELECT `+hostColumns+` FROM hosts h WHERE lower(h.fqdn) = lower($1)`, fqdn))
	return h, mapErr("host by fqdn", err)
}

// ServiceByName finds a service by name (case-insensitive).
func (q *Queries) ServiceByName(ctx context.Context, name string) (Service, error) {
	s, err := scanService(q.db.QueryRow(ctx, `SELECT `+serviceColumns+` FROM services s WHERE lower(s.name) = lower($1)`, name))
	return s, mapErr("service by name", err)
}

// RecordByServiceFQDN finds the record that publishes fqdn through a
// service, the pair that is unique.
func (q *Queries) RecordByServiceFQDN(ctx context.Context, serviceID int64, fqdn string) (Record, error) {
	r, err := scanRecord(q.db.QueryRow(ctx, recordSelect+` WHERE r.service_id = $1 AND lower(r.fqdn) = lower($2)`, serviceID, fqdn))
	return r, mapErr("record by service and fqdn", err)
}

// ImportedHost is a host as another system last knew it, times included.
type ImportedHost struct {
	NewHost
	IPv4UpdatedAt *time.Time
	IPv4ChangedAt *time.Time
	IPv6UpdatedAt *time.Time
	IPv6ChangedAt *time.Time
	LastSeenAt    *time.Time
	CreatedAt     time.Time
}

// ImportHost adds a host with the times it had elsewhere; an FQDN taken in
// any case is ErrConflict.
func (q *Queries) ImportHost(ctx context.Context, n ImportedHost) (Host, error) {
	h, err := scanHost(q.db.QueryRow(ctx, `
		INSERT INTO hosts AS h (fqdn, secret_hash, enabled, ipv4_enabled, ipv6_enabled, ipv4, ipv6, ipv6_prefix, notes,
			ipv4_updated_at, ipv4_changed_at, ipv6_updated_at, ipv6_changed_at, last_seen_at, created_at, ipv4_private_allowed)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		RETURNING `+hostColumns,
		n.FQDN, n.SecretHash, n.Enabled, n.IPv4Enabled, n.IPv6Enabled, n.IPv4, n.IPv6, n.Prefix, n.Notes,
		n.IPv4UpdatedAt, n.IPv4ChangedAt, n.IPv6UpdatedAt, n.IPv6ChangedAt, n.LastSeenAt, n.CreatedAt,
		// The system it comes from published private addresses: it goes on doing so.
		netcalc.Private(n.IPv4)))
	return h, mapErr("import host", err)
}

// ImportedState is where a (record, family) stood with its upstream in the
// system it comes from.
type ImportedState struct {
	Desired       netip.Addr
	Delivered     netip.Addr
	State         SyncState // idle or delivered
	LastSuccessAt *time.Time
}

// ImportedRecord is a record with its creation time and both families' states.
type ImportedRecord struct {
	NewRecord
	CreatedAt time.Time
	V4        ImportedState
	V6        ImportedState
}

// ImportRecord adds a record whose addresses the upstream already holds, so
// no delivery is queued for it; call Desire afterwards for a family that
// must change.
func (q *Queries) ImportRecord(ctx context.Context, n ImportedRecord) (Record, error) {
	var id int64
	err := q.db.QueryRow(ctx, `
		WITH r AS (
			INSERT INTO records (host_id, service_id, fqdn, ipv4_enabled, ipv4_netmask, ipv4_host_identifier,
				ipv6_enabled, ipv6_netmask, ipv6_host_identifier, username, password, password_key, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, nullif($12, ''), $13)
			RETURNING id
		), s AS (
			INSERT INTO record_states (record_id, family, desired, delivered, state, last_success_at)
			SELECT id, v.f, v.desired, v.delivered, v.state, v.last_success_at FROM r,
				(VALUES (4, $14::inet, $15::inet, $16, $17::timestamptz), (6, $18::inet, $19::inet, $20, $21::timestamptz))
				AS v(f, desired, delivered, state, last_success_at)
		)
		SELECT id FROM r`,
		n.HostID, n.ServiceID, n.FQDN, n.IPv4Enabled, n.IPv4Netmask, n.IPv4HostIdentifier,
		n.IPv6Enabled, n.IPv6Netmask, n.IPv6HostIdentifier, n.Username, n.Password, n.PasswordKey, n.CreatedAt,
		n.V4.Desired, n.V4.Delivered, stateOrIdle(n.V4.State), n.V4.LastSuccessAt,
		n.V6.Desired, n.V6.Delivered, stateOrIdle(n.V6.State), n.V6.LastSuccessAt).Scan(&id)
	if err != nil {
		return Record{}, mapErr("import record", err)
	}
	return q.Record(ctx, id)
}

func stateOrIdle(s SyncState) SyncState {
	if s == "" {
		return SyncIdle
	}
	return s
}

// ImportedBefore reports whether an import.created event names the object
// (a host, service or record id; zero ids match nothing) with this source
// fingerprint: the object came from the very same exported object, and may
// have changed since.
func (q *Queries) ImportedBefore(ctx context.Context, hostID, serviceID, recordID int64, fingerprint string) (bool, error) {
	var ok bool
	err := q.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE kind = $5
		AND data->>'fingerprint' = $4 AND (host_id = $1 OR service_id = $2 OR record_id = $3))`,
		hostID, serviceID, recordID, fingerprint, string(EventImportCreated)).Scan(&ok)
	return ok, mapErr("imported before", err)
}
