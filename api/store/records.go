package store

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// Record is a DNS name whose address derives from its host's.
type Record struct {
	ID                 int64
	HostID             int64
	ServiceID          int64
	FQDN               string
	IPv4Enabled        bool
	IPv4Netmask        int
	IPv4HostIdentifier netip.Addr
	IPv6Enabled        bool
	IPv6Netmask        int
	IPv6HostIdentifier netip.Addr
	Sources
	Username    string
	Password    []byte // sealed by secretbox
	PasswordKey string
	// PasswordClearedAt is set when a change of the service's destination
	// removed the password: the record needs credentials until it is given
	// one again (or is told to go on without).
	PasswordClearedAt *time.Time
	// KeepOtherAddresses asks the provider to replace only the address the
	// broker last delivered and keep the name's other addresses.
	KeepOtherAddresses bool
	// DropWhenStale leaves the record's address out of its shared name
	// while its host is stale (reported host.stale and silent since).
	DropWhenStale bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Delivery state per family, filled by reads.
	V4 RecordState
	V6 RecordState
}

// Sources are how a record's addresses are made beyond netmask and host
// identifier: a MAC the IPv6 identifier came from, a subnet of the
// delegated prefix, or a fixed address per family (netcalc's doc).
type Sources struct {
	// IPv6HostMAC, when set, is the MAC address IPv6HostIdentifier is the
	// EUI-64 form of (kept for display; the identifier is what counts).
	IPv6HostMAC net.HardwareAddr
	// IPv6SubnetID, when set, puts the record in that /64 of the host's
	// delegated prefix.
	IPv6SubnetID *uint64
	// IPv4Static and IPv6Static, when valid, are the family's fixed
	// address: no derivation (mode static).
	IPv4Static netip.Addr
	IPv6Static netip.Addr
}

// Static is the family's fixed address, or the zero Addr when the family
// is derived.
func (s Sources) Static(family netcalc.Family) netip.Addr {
	if family == netcalc.V4 {
		return s.IPv4Static
	}
	return s.IPv6Static
}

// RecordState is where one (record, family) stands with its upstream.
type RecordState struct {
	Family        netcalc.Family
	Desired       netip.Addr
	Delivered     netip.Addr
	State         SyncState
	Attempts      int
	NextAttemptAt *time.Time
	LastAttemptAt *time.Time
	LastSuccessAt *time.Time
	Message       string
	// Advice says what the user can do about the last outcome; empty when
	// there is nothing to do.
	Advice    string
	UpdatedAt *time.Time
}

const stateColumns = `%[1]s.desired, %[1]s.delivered, coalesce(%[1]s.state, 'idle'), coalesce(%[1]s.attempts, 0),
	%[1]s.next_attempt_at, %[1]s.last_attempt_at, %[1]s.last_success_at, coalesce(%[1]s.message, ''), coalesce(%[1]s.advice, ''), %[1]s.updated_at`

var (
	recordColumns = `r.id, r.host_id, r.service_id, r.fqdn, r.ipv4_enabled, r.ipv4_netmask, r.ipv4_host_identifier,
	r.ipv6_enabled, r.ipv6_netmask, r.ipv6_host_identifier, r.username, r.password, coalesce(r.password_key, ''),
	r.password_cleared_at, r.keep_other_addresses, r.drop_when_stale, r.created_at, r.updated_at,
	r.ipv6_host_mac, r.ipv6_subnet_id, CASE WHEN r.ipv4_mode = 'static' THEN r.ipv4_static_address END,
	CASE WHEN r.ipv6_mode = 'static' THEN r.ipv6_static_address END, ` + strings.ReplaceAll(stateColumns, "%[1]s", "s4") + `, ` + strings.ReplaceAll(stateColumns, "%[1]s", "s6")
	recordStates = `
	LEFT JOIN record_states s4 ON s4.record_id = r.id AND s4.family = 4
	LEFT JOIN record_states s6 ON s6.record_id = r.id AND s6.family = 6`
	recordSelect = `SELECT ` + recordColumns + ` FROM records r` + recordStates
)

func scanRecord(row rowScanner) (Record, error) {
	var r Record
	var subnet *int64
	err := row.Scan(&r.ID, &r.HostID, &r.ServiceID, &r.FQDN, &r.IPv4Enabled, &r.IPv4Netmask, &r.IPv4HostIdentifier,
		&r.IPv6Enabled, &r.IPv6Netmask, &r.IPv6HostIdentifier, &r.Username, &r.Password, &r.PasswordKey,
		&r.PasswordClearedAt, &r.KeepOtherAddresses, &r.DropWhenStale, &r.CreatedAt, &r.UpdatedAt,
		&r.IPv6HostMAC, &subnet, &r.IPv4Static, &r.IPv6Static,
		&r.V4.Desired, &r.V4.Delivered, &r.V4.State, &r.V4.Attempts, &r.V4.NextAttemptAt, &r.V4.LastAttemptAt, &r.V4.LastSuccessAt, &r.V4.Message, &r.V4.Advice, &r.V4.UpdatedAt,
		&r.V6.Desired, &r.V6.Delivered, &r.V6.State, &r.V6.Attempts, &r.V6.NextAttemptAt, &r.V6.LastAttemptAt, &r.V6.LastSuccessAt, &r.V6.Message, &r.V6.Advice, &r.V6.UpdatedAt)
	r.V4.Family, r.V6.Family = 4, 6
	if subnet != nil {
		id := uint64(*subnet)
		r.IPv6SubnetID = &id
	}
	return r, err
}

// State returns the delivery state of a family.
func (r *Record) State(family netcalc.Family) *RecordState {
	if family == netcalc.V4 {
		return &r.V4
	}
	return &r.V6
}

// NewRecord is what creating a record takes; FQDN must already be normalised.
type NewRecord struct {
	HostID             int64
	ServiceID          int64
	FQDN               string
	IPv4Enabled        bool
	IPv4Netmask        int
	IPv4HostIdentifier netip.Addr
	IPv6Enabled        bool
	IPv6Netmask        int
	IPv6HostIdentifier netip.Addr
	Username           string
	Password           []byte
	PasswordKey        string
	KeepOtherAddresses bool
	DropWhenStale      bool
	Sources
}

// subnetArg is a subnet id as the database stores it (bigint, at most
// 2^63-1: a /1 prefix is the shortest, so ids never need the top bit).
func subnetArg(id *uint64) *int64 {
	if id == nil {
		return nil
	}
	v := int64(*id)
	return &v
}

// modeArg is the mode column of a static address: static when it is set.
func modeArg(static netip.Addr) string {
	if static.IsValid() {
		return "static"
	}
	return "derived"
}

// CreateRecord adds a record and its two state rows.
func (q *Queries) CreateRecord(ctx context.Context, n NewRecord) (Record, error) {
	var id int64
	err := q.db.QueryRow(ctx, `
		WITH r AS (
			INSERT INTO records (host_id, service_id, fqdn, ipv4_enabled, ipv4_netmask, ipv4_host_identifier,
				ipv6_enabled, ipv6_netmask, ipv6_host_identifier, username, password, password_key, keep_other_addresses,
				ipv6_host_mac, ipv6_subnet_id, ipv4_mode, ipv4_static_address, ipv6_mode, ipv6_static_address, drop_when_stale)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, nullif($12, ''), $13, $14, $15, $16, $17, $18, $19, $20)
			RETURNING id
		), s AS (
			INSERT INTO record_states (record_id, family) SELECT id, f FROM r, (VALUES (4), (6)) AS v(f)
		)
		SELECT id FROM r`,
		n.HostID, n.ServiceID, n.FQDN, n.IPv4Enabled, n.IPv4Netmask, n.IPv4HostIdentifier,
		n.IPv6Enabled, n.IPv6Netmask, n.IPv6HostIdentifier, n.Username, n.Password, n.PasswordKey, n.KeepOtherAddresses,
		n.IPv6HostMAC, subnetArg(n.IPv6SubnetID), modeArg(n.IPv4Static), n.IPv4Static, modeArg(n.IPv6Static), n.IPv6Static, n.DropWhenStale).Scan(&id)
	if err != nil {
		return Record{}, mapErr("create record", err)
	}
	return q.Record(ctx, id)
}

// Record finds a record by id, with its states.
func (q *Queries) Record(ctx context.Context, id int64) (Record, error) {
	c := one("r.id", id, func(c *cond) { q.ownHostIDs(c, "r.host_id") })
	r, err := scanRecord(q.db.QueryRow(ctx, recordSelect+` WHERE `+c.sql(), c.args...))
	return r, mapErr("record", err)
}

// HostRecords lists a host's records with their states, locking nothing;
// callers that apply an update hold the host's lock.
func (q *Queries) HostRecords(ctx context.Context, hostID int64) ([]Record, error) {
	return q.records(ctx, recordSelect+` WHERE r.host_id = $1 ORDER BY r.id`, hostID)
}

func (q *Queries) records(ctx context.Context, sql string, args ...any) ([]Record, error) {
	rows, err := q.db.Query(ctx, sql, args...)
	return collect("list records", rows, err, scanRecord)
}

// RecordPatch changes a record; nil fields stay. ClearPassword removes it.
type RecordPatch struct {
	ServiceID          *int64
	FQDN               *string
	IPv4Enabled        *bool
	IPv4Netmask        *int
	IPv4HostIdentifier *netip.Addr
	IPv6Enabled        *bool
	IPv6Netmask        *int
	IPv6HostIdentifier *netip.Addr
	Username           *string
	Password           []byte
	PasswordKey        string
	ClearPassword      bool
	KeepOtherAddresses *bool
	DropWhenStale      *bool
	// Sources, when not nil, replaces the record's sources as a whole
	// (the API resolves a partial change against the stored ones).
	Sources *Sources
}

// UpdateRecord applies a patch.
func (q *Queries) UpdateRecord(ctx context.Context, id int64, p RecordPatch) (Record, error) {
	var src Sources
	if p.Sources != nil {
		src = *p.Sources
	}
	tag, err := q.db.Exec(ctx, `
		UPDATE records SET service_id = coalesce($2, service_id), fqdn = coalesce($3, fqdn),
			ipv4_enabled = coalesce($4, ipv4_enabled), ipv4_netmask = coalesce($5, ipv4_netmask),
			ipv4_host_identifier = coalesce($6, ipv4_host_identifier),
			ipv6_enabled = coalesce($7, ipv6_enabled), ipv6_netmask = coalesce($8, ipv6_netmask),
			ipv6_host_identifier = coalesce($9, ipv6_host_identifier),
			username = coalesce($10, username),
			password = CASE WHEN $13 THEN NULL WHEN $11::bytea IS NOT NULL THEN $11 ELSE password END,
			password_key = CASE WHEN $13 THEN NULL WHEN $11::bytea IS NOT NULL THEN $12 ELSE password_key END,
			password_cleared_at = CASE WHEN $13 OR $11::bytea IS NOT NULL THEN NULL ELSE password_cleared_at END,
			keep_other_addresses = coalesce($14, keep_other_addresses),
			drop_when_stale = coalesce($22, drop_when_stale),
			ipv6_host_mac = CASE WHEN $15 THEN $16 ELSE ipv6_host_mac END,
			ipv6_subnet_id = CASE WHEN $15 THEN $17 ELSE ipv6_subnet_id END,
			ipv4_mode = CASE WHEN $15 THEN $18 ELSE ipv4_mode END,
			ipv4_static_address = CASE WHEN $15 THEN $19 ELSE ipv4_static_address END,
			ipv6_mode = CASE WHEN $15 THEN $20 ELSE ipv6_mode END,
			ipv6_static_address = CASE WHEN $15 THEN $21 ELSE ipv6_static_address END,
			updated_at = now()
		WHERE id = $1`, id, p.ServiceID, p.FQDN, p.IPv4Enabled, p.IPv4Netmask, p.IPv4HostIdentifier,
		p.IPv6Enabled, p.IPv6Netmask, p.IPv6HostIdentifier, p.Username, p.Password, p.PasswordKey, p.ClearPassword, p.KeepOtherAddresses,
		p.Sources != nil, src.IPv6HostMAC, subnetArg(src.IPv6SubnetID), modeArg(src.IPv4Static), src.IPv4Static,
		modeArg(src.IPv6Static), src.IPv6Static, p.DropWhenStale)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	if err != nil {
		return Record{}, mapErr("update record", err)
	}
	return q.Record(ctx, id)
}

// ClearServicePasswords removes the passwords of a service's records,
// marking each record as needing credentials, and tells how many it
// removed.
func (q *Queries) ClearServicePasswords(ctx context.Context, serviceID int64) (int, error) {
	tag, err := q.db.Exec(ctx, `UPDATE records SET password = NULL, password_key = NULL, password_cleared_at = now(), updated_at = now()
		WHERE service_id = $1 AND password IS NOT NULL`, serviceID)
	return int(tag.RowsAffected()), mapErr("clear service passwords", err)
}

// LockService holds a service's row until the transaction ends, so that a
// password stored for its records is stored for the destination it has
// now, not one a concurrent change is replacing. An unknown id is
// ErrNotFound. It takes the same lock as RecordCounts (FOR NO KEY UPDATE):
// a weaker one here, upgraded there, deadlocked two records added at once.
func (q *Queries) LockService(ctx context.Context, id int64) error {
	var got int64
	c := one("s.id", id, func(c *cond) { q.usableServices(c, "s") })
	err := q.db.QueryRow(ctx, `SELECT s.id FROM services s WHERE `+c.sql()+` FOR NO KEY UPDATE`, c.args...).Scan(&got)
	return mapErr("lock service", err)
}

// DeleteRecord removes a record with its states and deliveries.
func (q *Queries) DeleteRecord(ctx context.Context, id int64) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM records WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = errNoRows
	}
	return mapErr("delete record", err)
}

// RecordCounts locks a host and a service, in that order, until the
// transaction ends and counts their records, so that additions running at
// once cannot pass a limit together (host updates take the same host lock
// first, so the order never deadlocks).
func (q *Queries) RecordCounts(ctx context.Context, hostID, serviceID int64) (host, service int, err error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT 1 FROM hosts WHERE id = $1 FOR NO KEY UPDATE`, hostID)
	b.Queue(`SELECT 1 FROM services WHERE id = $1 FOR NO KEY UPDATE`, serviceID)
	b.Queue(`SELECT (SELECT count(*) FROM records WHERE host_id = $1), (SELECT count(*) FROM records WHERE service_id = $2)`,
		hostID, serviceID).QueryRow(func(row pgx.Row) error { return row.Scan(&host, &service) })
	if err := q.db.SendBatch(ctx, b).Close(); err != nil {
		return 0, 0, mapErr("record counts", err)
	}
	return host, service, nil
}

// NameSharer is a record that publishes a name through a service.
type NameSharer struct {
	ID       int64
	HostID   int64
	HostFQDN string
}

// NameSharers are the records other than exceptID that publish fqdn (in
// any case) through a service: the hosts a record of that name would
// share it with.
func (q *Queries) NameSharers(ctx context.Context, serviceID int64, fqdn string, exceptID int64) ([]NameSharer, error) {
	rows, err := q.db.Query(ctx, `SELECT r.id, r.host_id, h.fqdn FROM records r JOIN hosts h ON h.id = r.host_id
		WHERE r.service_id = $1 AND lower(r.fqdn) = lower($2) AND r.id <> $3 ORDER BY r.id`, serviceID, fqdn, exceptID)
	return collect("name sharers", rows, err, func(row rowScanner) (NameSharer, error) {
		var n NameSharer
		err := row.Scan(&n.ID, &n.HostID, &n.HostFQDN)
		return n, err
	})
}
