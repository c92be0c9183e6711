package store

import (
	"context"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

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

// HostsByFQDN finds the hosts of many FQDNs (case-insensitive) in one
// statement: the host of fqdns[i] is at i, with ID 0 when there is none.
func (q *Queries) HostsByFQDN(ctx context.Context, fqdns []string) ([]Host, error) {
	rows, err := q.db.Query(ctx, `SELECT v.i, `+hostColumns+` FROM unnest($1::text[]) WITH ORDINALITY AS v(f, i)
		JOIN hosts h ON lower(h.fqdn) = lower(v.f)`, fqdns)
	if err != nil {
		return nil, mapErr("hosts by fqdn", err)
	}
	out := make([]Host, len(fqdns))
	_, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
		var i int64
		h, err := scanHost(numbered{row, &i})
		out[i-1] = h
		return struct{}{}, err
	})
	return out, mapErr("hosts by fqdn", err)
}

// RecordsByServiceFQDN finds the records of many (service, FQDN) pairs,
// serviceIDs[i] with fqdns[i], in one statement: the record of pair i is
// at i, with ID 0 when there is none.
func (q *Queries) RecordsByServiceFQDN(ctx context.Context, serviceIDs []int64, fqdns []string) ([]Record, error) {
	rows, err := q.db.Query(ctx, `SELECT v.i, `+recordColumns+` FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS v(s, f, i)
		JOIN records r ON r.service_id = v.s AND lower(r.fqdn) = lower(v.f)`+recordStates, serviceIDs, fqdns)
	if err != nil {
		return nil, mapErr("records by service and fqdn", err)
	}
	out := make([]Record, len(fqdns))
	_, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (struct{}, error) {
		var i int64
		r, err := scanRecord(numbered{row, &i})
		out[i-1] = r
		return struct{}{}, err
	})
	return out, mapErr("records by service and fqdn", err)
}

// numbered reads a row whose first column is the ordinal of the input it
// answers into i, and the rest into what Scan is given.
type numbered struct {
	row rowScanner
	i   *int64
}

func (n numbered) Scan(dest ...any) error { return n.row.Scan(append([]any{n.i}, dest...)...) }

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

// ImportHosts adds hosts with the times they had elsewhere, in one
// statement, and returns them in the order given; an FQDN taken in any case
// is ErrConflict. An import of many hosts would otherwise spend its time
// on one round trip per host.
func (q *Queries) ImportHosts(ctx context.Context, hosts []ImportedHost) ([]Host, error) {
	if len(hosts) == 0 {
		return nil, nil
	}
	n := len(hosts)
	fqdns, hashes, notes := make([]string, n), make([]string, n), make([]string, n)
	enabled, v4on, v6on, private := make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n)
	v4, v6 := make([]*netip.Addr, n), make([]*netip.Addr, n)
	prefixes := make([]*netip.Prefix, n)
	v4up, v4ch, v6up, v6ch, seen := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	created := make([]time.Time, n)
	for i := range hosts {
		h := &hosts[i]
		fqdns[i], hashes[i], notes[i] = h.FQDN, h.SecretHash, h.Notes
		enabled[i], v4on[i], v6on[i] = h.Enabled, h.IPv4Enabled, h.IPv6Enabled
		// The system it comes from published private addresses: it goes on doing so.
		private[i] = netcalc.Private(h.IPv4)
		v4[i], v6[i] = addrOrNil(h.IPv4), addrOrNil(h.IPv6)
		if h.Prefix.IsValid() {
			prefixes[i] = &h.Prefix
		}
		v4up[i], v4ch[i], v6up[i], v6ch[i], seen[i] = h.IPv4UpdatedAt, h.IPv4ChangedAt, h.IPv6UpdatedAt, h.IPv6ChangedAt, h.LastSeenAt
		created[i] = h.CreatedAt
	}
	rows, err := q.db.Query(ctx, `
		WITH v AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::bool[], $4::bool[], $5::bool[], $6::inet[], $7::inet[], $8::cidr[], $9::text[],
				$10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::timestamptz[], $15::timestamptz[], $16::bool[])
				WITH ORDINALITY AS v(fqdn, secret_hash, enabled, ipv4_enabled, ipv6_enabled, ipv4, ipv6, ipv6_prefix, notes,
					ipv4_updated_at, ipv4_changed_at, ipv6_updated_at, ipv6_changed_at, last_seen_at, created_at, ipv4_private_allowed, i)
		), h AS (
			INSERT INTO hosts (fqdn, secret_hash, enabled, ipv4_enabled, ipv6_enabled, ipv4, ipv6, ipv6_prefix, notes,
				ipv4_updated_at, ipv4_changed_at, ipv6_updated_at, ipv6_changed_at, last_seen_at, created_at, ipv4_private_allowed)
			SELECT fqdn, secret_hash, enabled, ipv4_enabled, ipv6_enabled, ipv4, ipv6, ipv6_prefix, notes,
				ipv4_updated_at, ipv4_changed_at, ipv6_updated_at, ipv6_changed_at, last_seen_at, created_at, ipv4_private_allowed
			FROM v ORDER BY i
			RETURNING *
		)
		SELECT `+hostColumns+` FROM h JOIN v ON v.fqdn = h.fqdn ORDER BY v.i`,
		fqdns, hashes, enabled, v4on, v6on, v4, v6, prefixes, notes, v4up, v4ch, v6up, v6ch, seen, created, private)
	if err != nil {
		return nil, mapErr("import hosts", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Host, error) { return scanHost(row) })
	if err != nil {
		return nil, mapErr("import hosts", err)
	}
	return out, nil
}

func addrOrNil(a netip.Addr) *netip.Addr {
	if !a.IsValid() {
		return nil
	}
	return &a
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

// ImportRecords adds records as ImportRecord does, in one statement, and
// returns them in the order given.
func (q *Queries) ImportRecords(ctx context.Context, records []ImportedRecord) ([]Record, error) {
	if len(records) == 0 {
		return nil, nil
	}
	n := len(records)
	hostIDs, serviceIDs := make([]int64, n), make([]int64, n)
	fqdns, usernames, keys := make([]string, n), make([]string, n), make([]string, n)
	v4on, v6on := make([]bool, n), make([]bool, n)
	v4mask, v6mask := make([]int32, n), make([]int32, n)
	v4id, v6id := make([]*netip.Addr, n), make([]*netip.Addr, n)
	passwords := make([][]byte, n)
	created := make([]time.Time, n)
	desired4, delivered4, desired6, delivered6 := make([]*netip.Addr, n), make([]*netip.Addr, n), make([]*netip.Addr, n), make([]*netip.Addr, n)
	state4, state6 := make([]string, n), make([]string, n)
	success4, success6 := make([]*time.Time, n), make([]*time.Time, n)
	for i := range records {
		r := &records[i]
		hostIDs[i], serviceIDs[i], fqdns[i] = r.HostID, r.ServiceID, r.FQDN
		v4on[i], v4mask[i], v4id[i] = r.IPv4Enabled, int32(r.IPv4Netmask), addrOrNil(r.IPv4HostIdentifier)
		v6on[i], v6mask[i], v6id[i] = r.IPv6Enabled, int32(r.IPv6Netmask), addrOrNil(r.IPv6HostIdentifier)
		usernames[i], passwords[i], keys[i], created[i] = r.Username, r.Password, r.PasswordKey, r.CreatedAt
		desired4[i], delivered4[i], state4[i], success4[i] = addrOrNil(r.V4.Desired), addrOrNil(r.V4.Delivered), string(stateOrIdle(r.V4.State)), r.V4.LastSuccessAt
		desired6[i], delivered6[i], state6[i], success6[i] = addrOrNil(r.V6.Desired), addrOrNil(r.V6.Delivered), string(stateOrIdle(r.V6.State)), r.V6.LastSuccessAt
	}
	rows, err := q.db.Query(ctx, `
		WITH v AS (
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bool[], $5::int[], $6::inet[], $7::bool[], $8::int[], $9::inet[],
				$10::text[], $11::bytea[], $12::text[], $13::timestamptz[],
				$14::inet[], $15::inet[], $16::text[], $17::timestamptz[], $18::inet[], $19::inet[], $20::text[], $21::timestamptz[])
				WITH ORDINALITY AS v(host_id, service_id, fqdn, ipv4_enabled, ipv4_netmask, ipv4_host_identifier,
					ipv6_enabled, ipv6_netmask, ipv6_host_identifier, username, password, password_key, created_at,
					desired4, delivered4, state4, success4, desired6, delivered6, state6, success6, i)
		), r AS (
			INSERT INTO records (host_id, service_id, fqdn, ipv4_enabled, ipv4_netmask, ipv4_host_identifier,
				ipv6_enabled, ipv6_netmask, ipv6_host_identifier, username, password, password_key, created_at)
			SELECT host_id, service_id, fqdn, ipv4_enabled, ipv4_netmask, ipv4_host_identifier,
				ipv6_enabled, ipv6_netmask, ipv6_host_identifier, username, password, nullif(password_key, ''), created_at
			FROM v ORDER BY i
			RETURNING id, host_id, service_id, fqdn
		), rv AS (
			SELECT r.id, v.* FROM r JOIN v ON v.host_id = r.host_id AND v.service_id = r.service_id AND v.fqdn = r.fqdn
		), s AS (
			INSERT INTO record_states (record_id, family, desired, delivered, state, last_success_at)
			SELECT rv.id, x.f, x.desired, x.delivered, x.state, x.last_success_at FROM rv,
				LATERAL (VALUES (4, rv.desired4, rv.delivered4, rv.state4, rv.success4), (6, rv.desired6, rv.delivered6, rv.state6, rv.success6))
				AS x(f, desired, delivered, state, last_success_at)
		)
		SELECT id FROM rv ORDER BY i`,
		hostIDs, serviceIDs, fqdns, v4on, v4mask, v4id, v6on, v6mask, v6id, usernames, passwords, keys, created,
		desired4, delivered4, state4, success4, desired6, delivered6, state6, success6)
	if err != nil {
		return nil, mapErr("import records", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, mapErr("import records", err)
	}
	return q.recordsByID(ctx, ids)
}

// recordsByID reads records in the order of ids; a record the queries may
// not see, or that does not exist, is ErrNotFound.
func (q *Queries) recordsByID(ctx context.Context, ids []int64) ([]Record, error) {
	c := &cond{}
	c.add("r.id = ANY($?)", ids)
	q.ownHostIDs(c, "r.host_id")
	rows, err := q.db.Query(ctx, recordSelect+` WHERE `+c.sql(), c.args...)
	if err != nil {
		return nil, mapErr("records", err)
	}
	found, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Record, error) { return scanRecord(row) })
	if err != nil {
		return nil, mapErr("records", err)
	}
	byID := make(map[int64]Record, len(found))
	for _, r := range found {
		byID[r.ID] = r
	}
	out := make([]Record, len(ids))
	for i, id := range ids {
		r, ok := byID[id]
		if !ok {
			return nil, mapErr("records", pgx.ErrNoRows)
		}
		out[i] = r
	}
	return out, nil
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
