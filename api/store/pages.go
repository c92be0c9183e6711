package store

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// Keyset listings for the JSON API: each page starts after the sort key of
// the previous page's last row, so pages stay cheap and stable while rows
// are added or removed, unlike OFFSET.

// cond collects the WHERE clause and arguments of a listing.
type cond struct {
	where []string
	args  []any
}

// add appends a condition; each "$?" in c is replaced by the placeholder of
// the next argument (one argument per "$?").
func (c *cond) add(sql string, args ...any) {
	for _, a := range args {
		c.args = append(c.args, a)
		sql = strings.Replace(sql, "$?", "$"+itoa(len(c.args)), 1)
	}
	c.where = append(c.where, sql)
}

func (c *cond) sql() string {
	if len(c.where) == 0 {
		return "true"
	}
	return strings.Join(c.where, " AND ")
}

// limit appends the LIMIT argument and returns its placeholder.
func (c *cond) limit(n int) string {
	c.args = append(c.args, n)
	return "$" + itoa(len(c.args))
}

// ServicesPage lists services by name (case-insensitive), then id, after
// (afterName, afterID) when afterID is not 0.
func (q *Queries) ServicesPage(ctx context.Context, afterName string, afterID int64, limit int) ([]Service, error) {
	var c cond
	q.usableServices(&c, "s")
	if afterID != 0 {
		c.add("(lower(s.name), s.id) > (lower($?), $?)", afterName, afterID)
	}
	cols := q.serviceColumnsFor(&c)
	rows, err := q.db.Query(ctx, `SELECT `+cols+` FROM services s WHERE `+c.sql()+
		` ORDER BY lower(s.name), s.id LIMIT `+c.limit(limit), c.args...)
	return collect("list services", rows, err, scanService)
}

// ServiceHostCounts tells for each service how many hosts have a record
// published through it.
func (q *Queries) ServiceHostCounts(ctx context.Context, ids []int64) (map[int64]int, error) {
	var c cond
	c.add("service_id = ANY($?)", ids)
	q.ownHostIDs(&c, "host_id") // a user counts their own hosts of a shared service
	rows, err := q.db.Query(ctx, `SELECT service_id, count(DISTINCT host_id) FROM records
		WHERE `+c.sql()+` GROUP BY service_id`, c.args...)
	if err != nil {
		return nil, mapErr("service host counts", err)
	}
	defer rows.Close()
	out := make(map[int64]int, len(ids))
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, mapErr("service host counts", err)
		}
		out[id] = n
	}
	return out, mapErr("service host counts", rows.Err())
}

// RecordRef names a record and its host.
type RecordRef struct {
	ID     int64
	HostID int64
}

// ServiceRecords lists the records published through a service.
func (q *Queries) ServiceRecords(ctx context.Context, serviceID int64) ([]RecordRef, error) {
	rows, err := q.db.Query(ctx, `SELECT id, host_id FROM records WHERE service_id = $1 ORDER BY host_id, id`, serviceID)
	return collect("service records", rows, err, func(row rowScanner) (RecordRef, error) {
		var r RecordRef
		err := row.Scan(&r.ID, &r.HostID)
		return r, err
	})
}

// HostPage narrows and positions a host listing.
type HostPage struct {
	Search  string // substring of the FQDN, case-insensitive
	Enabled *bool
	// Stale keeps hosts that are (or are not) stale by StaleRule; see hostStale.
	Stale     *bool
	StaleRule StaleRule
	AfterFQDN string
	AfterID   int64 // 0: from the start
	Limit     int
	OwnerID   int64 // 0: every owner q sees
}

// HostsPage lists hosts by FQDN, then id.
func (q *Queries) HostsPage(ctx context.Context, p HostPage) ([]Host, error) {
	var c cond
	q.ownHosts(&c, "h")
	if p.OwnerID != 0 {
		c.add("h.owner_id = $?", p.OwnerID)
	}
	if p.Search != "" {
		c.add("h.fqdn LIKE $?", "%"+likeEscape(strings.ToLower(p.Search))+"%")
	}
	if p.Enabled != nil {
		c.add("h.enabled = $?", *p.Enabled)
	}
	if p.Stale != nil {
		expr := hostStale
		if !*p.Stale {
			expr = "NOT (" + hostStale + ")"
		}
		c.add(expr, p.StaleRule.args()...)
	}
	if p.AfterID != 0 {
		c.add("(lower(h.fqdn), h.id) > ($?, $?)", p.AfterFQDN, p.AfterID)
	}
	rows, err := q.db.Query(ctx, `SELECT `+hostColumns+` FROM hosts h WHERE `+c.sql()+
		` ORDER BY lower(h.fqdn), h.id LIMIT `+c.limit(p.Limit), c.args...)
	return collect("list hosts", rows, err, scanHost)
}

// HostsByID reads the hosts with the given ids.
func (q *Queries) HostsByID(ctx context.Context, ids []int64) (map[int64]Host, error) {
	var c cond
	c.add("h.id = ANY($?)", ids)
	q.ownHosts(&c, "h")
	rows, err := q.db.Query(ctx, `SELECT `+hostColumns+` FROM hosts h WHERE `+c.sql(), c.args...)
	if err != nil {
		return nil, mapErr("hosts by id", err)
	}
	defer rows.Close()
	out := make(map[int64]Host, len(ids))
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			return nil, mapErr("hosts by id", err)
		}
		out[h.ID] = h
	}
	return out, mapErr("hosts by id", rows.Err())
}

// RecordPage narrows and positions a record listing.
type RecordPage struct {
	HostID    int64
	ServiceID int64
	State     string // either family in this state
	Search    string
	AfterFQDN string
	AfterID   int64
	Limit     int
}

// RecordsPage lists records with their states by FQDN, then id.
func (q *Queries) RecordsPage(ctx context.Context, p RecordPage) ([]Record, error) {
	var c cond
	q.ownHostIDs(&c, "r.host_id")
	if p.HostID != 0 {
		c.add("r.host_id = $?", p.HostID)
	}
	if p.ServiceID != 0 {
		c.add("r.service_id = $?", p.ServiceID)
	}
	if p.Search != "" {
		c.add("r.fqdn LIKE $?", "%"+likeEscape(strings.ToLower(p.Search))+"%")
	}
	// A rare part of a name is found through the trigram index (migration
	// 8), a common one by walking the names in order: with a search, the
	// plan depends on the pattern, so it is made per call.
	var mode []any
	if p.Search != "" {
		mode = []any{planEachCall}
	}
	if p.State == "" {
		if p.AfterID != 0 {
			c.add("(lower(r.fqdn), r.id) > (lower($?), $?)", p.AfterFQDN, p.AfterID)
		}
		sql := recordSelect + ` WHERE ` + c.sql() + ` ORDER BY lower(r.fqdn), r.id LIMIT ` + c.limit(p.Limit)
		return q.records(ctx, sql, append(mode, c.args...)...)
	}
	// In a state, the page is one range of the (state, name_key, record_id)
	// index, where name_key is lower(fqdn): a record with both families in
	// the state appears there twice, hence DISTINCT ON.
	c.add("st.state = $?", p.State)
	if p.AfterID != 0 {
		c.add("(st.name_key, st.record_id) > (lower($?), $?)", p.AfterFQDN, p.AfterID)
	}
	sql := `SELECT ` + recordColumns + ` FROM (
		SELECT DISTINCT ON (st.name_key, st.record_id) st.name_key, st.record_id
		FROM record_states st JOIN records r ON r.id = st.record_id
		WHERE ` + c.sql() + ` ORDER BY st.name_key, st.record_id LIMIT ` + c.limit(p.Limit) + `) p
		JOIN records r ON r.id = p.record_id` + recordStates + `
		ORDER BY p.name_key, p.record_id`
	return q.records(ctx, sql, append(mode, c.args...)...)
}

// DeliveriesPage lists a record's jobs, newest first, before the id beforeID
// (0: from the newest).
func (q *Queries) DeliveriesPage(ctx context.Context, recordID, beforeID int64, limit int) ([]Delivery, error) {
	var c cond
	c.add("record_id = $?", recordID)
	q.ownRecordIDs(&c, "record_id")
	if beforeID != 0 {
		c.add("id < $?", beforeID)
	}
	rows, err := q.db.Query(ctx, `SELECT id, record_id, family, address, reason, state, attempts, next_attempt_at, result, advice,
		created_at, updated_at, finished_at FROM deliveries WHERE `+c.sql()+` ORDER BY id DESC LIMIT `+c.limit(limit), c.args...)
	return collect("list deliveries", rows, err, func(row rowScanner) (Delivery, error) {
		var d Delivery
		err := row.Scan(&d.ID, &d.RecordID, &d.Family, &d.Address, &d.Reason, &d.State, &d.Attempts, &d.NextAttemptAt,
			&d.Result, &d.Advice, &d.CreatedAt, &d.UpdatedAt, &d.FinishedAt)
		return d, err
	})
}

// EventPage narrows and positions the history.
type EventPage struct {
	HostID    int64
	RecordID  int64
	ServiceID int64
	Kind      string // exact kind, or a prefix ending in "."
	// Kinds, when given, are the exact kinds to list (any of them).
	Kinds    []string
	Since    *time.Time
	Until    *time.Time
	BeforeID int64
	Limit    int
	// Audit: who wrote the event.
	ActorUserID  int64
	ActorTokenID int64
	Source       netip.Addr
	// Stream, when set, turns the page into the next part of the live
	// stream: the events after its cursor and before its horizon, in the
	// order of their transactions, each with its XID.
	Stream *StreamWindow
}

// EventsPage lists history newest first. Every listing of events goes
// through it, the live stream included, so that what narrows one narrows all.
func (q *Queries) EventsPage(ctx context.Context, p EventPage) ([]Event, error) {
	var c cond
	q.ownEvents(&c, "e")
	if p.ActorUserID != 0 {
		c.add("actor_user_id = $?", p.ActorUserID)
	}
	if p.ActorTokenID != 0 {
		c.add("actor_token_id = $?", p.ActorTokenID)
	}
	if p.Source.IsValid() {
		c.add("source = $?", p.Source)
	}
	columns, order := "NULL::text", "id DESC"
	if w := p.Stream; w != nil {
		c.add("xid IS NOT NULL AND (xid, id) > ($?::text::xid8, $?) AND xid < $?::text::xid8", w.After.XID, w.After.EventID, w.Horizon)
		columns, order = "xid::text", "xid, id"
		if w.Seen != "" {
			c.add("NOT pg_visible_in_snapshot(xid, $?::pg_snapshot)", w.Seen)
		}
	}
	if p.HostID != 0 {
		c.add("host_id = $?", p.HostID)
	}
	if p.RecordID != 0 {
		c.add("record_id = $?", p.RecordID)
	}
	if p.ServiceID != 0 {
		c.add("service_id = $?", p.ServiceID)
	}
	if len(p.Kinds) > 0 {
		c.add("kind = ANY($?)", p.Kinds)
	}
	if p.Kind != "" {
		if strings.HasSuffix(p.Kind, ".") {
			c.add("kind LIKE $?", likeEscape(p.Kind)+"%")
		} else {
			c.add("kind = $?", p.Kind)
		}
	}
	if p.Since != nil {
		c.add("at >= $?", *p.Since)
	}
	if p.Until != nil {
		c.add("at < $?", *p.Until)
	}
	if p.BeforeID != 0 {
		c.add("id < $?", p.BeforeID)
	}
	rows, err := q.db.Query(ctx, `SELECT `+eventColumns+`, `+columns+` FROM events e
		WHERE `+c.sql()+` ORDER BY `+order+` LIMIT `+c.limit(p.Limit), c.args...)
	return collect("list events", rows, err, func(row rowScanner) (Event, error) {
		var xid *string
		e, err := ScanEvent(withXID{row, &xid})
		e.XID = deref(xid)
		return e, err
	})
}

// withXID scans a row's columns and then its transaction id, which the
// live stream's pages read after ScanEvent's columns.
type withXID struct {
	rowScanner
	xid **string
}

func (r withXID) Scan(dest ...any) error { return r.rowScanner.Scan(append(dest, r.xid)...) }

// SharedNameRecords lists, for the records of hostID that leave their
// shared name while the host is stale (drop_when_stale), the records of
// other hosts with the same name at the same service (own false), or those
// records of hostID themselves that share their name (own true).
func (q *Queries) SharedNameRecords(ctx context.Context, hostID int64, own bool) ([]RecordRef, error) {
	rows, err := q.db.Query(ctx, `SELECT DISTINCT CASE WHEN $2 THEN r.id ELSE x.id END, CASE WHEN $2 THEN r.host_id ELSE x.host_id END
		FROM records r JOIN records x ON x.service_id = r.service_id AND lower(x.fqdn) = lower(r.fqdn) AND x.host_id <> r.host_id
		WHERE r.host_id = $1 AND r.drop_when_stale ORDER BY 2, 1`, hostID, own)
	return collect("shared name records", rows, err, func(row rowScanner) (RecordRef, error) {
		var r RecordRef
		err := row.Scan(&r.ID, &r.HostID)
		return r, err
	})
}
