package store

import (
	"context"
	"net/netip"
)

// Roles of an account.
const (
	RoleAdmin = "admin" // sees and changes everything
	RoleUser  = "user"  // sees and changes what they own
)

// Access is what one caller of the API may see and change. Queries made
// through q.As(a) add it to the WHERE clause of every read of hosts,
// records, services, webhooks, tokens, users, deliveries and events, so an
// object of another owner is not found (the API answers 404, and ids do
// not leak) rather than found and refused afterwards. The zero value sees
// nothing.
type Access struct {
	// All: an admin, who sees every owner's objects.
	All bool
	// Owner is the account whose objects are visible when not All.
	Owner int64
	// Hosts, when not nil, narrows further to these hosts and their
	// records (a host-scoped API token); services, webhooks, tokens and
	// accounts are then not visible at all.
	Hosts []int64
}

// Actor is who makes the changes of a request, written into each event
// of its transaction (the audit trail).
type Actor struct {
	UserID  *int64
	TokenID *int64
	Source  netip.Addr
}

// As returns queries that see only what a may see and that sign the
// events they write with actor.
func (q *Queries) As(a Access, actor Actor) *Queries {
	return &Queries{db: q.db, access: &a, actor: actor}
}

// All returns the same queries without the access filter, signing events
// as before: for work on behalf of a change already allowed that reaches
// other owners' objects (records of a shared service the change resends).
func (q *Queries) All() *Queries { return &Queries{db: q.db, actor: q.actor} }

// restricted tells whether the queries see less than everything.
func (q *Queries) restricted() bool { return q.access != nil && !q.access.All }

// hostsOnly tells whether the queries are narrowed to named hosts.
func (q *Queries) hostsOnly() bool { return q.restricted() && q.access.Hosts != nil }

// ownHosts adds the filter of the hosts visible to q (alias names the
// hosts table in the query). Other packages' listings use it through
// HostFilter.
func (q *Queries) ownHosts(c *cond, alias string) {
	if !q.restricted() {
		return
	}
	c.add(alias+".owner_id = $?", q.access.Owner)
	if q.access.Hosts != nil {
		c.add(alias+".id = ANY($?)", q.access.Hosts)
	}
}

// ownHostIDs adds the filter of a column holding a host id.
func (q *Queries) ownHostIDs(c *cond, column string) {
	if !q.restricted() {
		return
	}
	c.add(column+" IN (SELECT oh.id FROM hosts oh WHERE oh.owner_id = $?)", q.access.Owner)
	if q.access.Hosts != nil {
		c.add(column+" = ANY($?)", q.access.Hosts)
	}
}

// ownRecordIDs adds the filter of a column holding a record id.
func (q *Queries) ownRecordIDs(c *cond, column string) {
	if !q.restricted() {
		return
	}
	var in cond
	in.args = c.args
	q.ownHostIDs(&in, "orr.host_id")
	c.args = in.args
	c.where = append(c.where, column+" IN (SELECT orr.id FROM records orr WHERE "+in.sql()+")")
}

// usableServices adds the filter of the services q may read and publish
// through: its own and the shared ones.
func (q *Queries) usableServices(c *cond, alias string) {
	switch {
	case !q.restricted():
	case q.hostsOnly():
		c.add("false")
	default:
		c.add("("+alias+".owner_id = $? OR "+alias+".shared)", q.access.Owner)
	}
}

// ownRows adds the filter of a table whose rows belong to one account
// (column holds its id): services to change, webhooks, tokens, events.
func (q *Queries) ownRows(c *cond, column string) {
	switch {
	case !q.restricted():
	case q.hostsOnly():
		c.add("false")
	default:
		c.add(column+" = $?", q.access.Owner)
	}
}

// ownEvents adds the filter of the history q may read: events of the
// owner's objects, or of the named hosts and their records.
func (q *Queries) ownEvents(c *cond, alias string) {
	if !q.restricted() {
		return
	}
	c.add(alias+".owner_id = $?", q.access.Owner)
	if q.access.Hosts != nil {
		c.add("("+alias+".host_id = ANY($?) OR "+alias+".record_id IN (SELECT id FROM records WHERE host_id = ANY($?)))",
			q.access.Hosts, q.access.Hosts)
	}
}

// EventFilter is the condition, on the events table under alias, that
// keeps the history q may read, with its arguments numbered from
// firstArg ($firstArg, $firstArg+1, …): for listings outside this package's
// own (a stream of events, a host's history). "true" when q sees all.
func (q *Queries) EventFilter(alias string, firstArg int) (sql string, args []any) {
	var c cond
	c.args = make([]any, firstArg-1)
	q.ownEvents(&c, alias)
	return c.sql(), c.args[firstArg-1:]
}

// HostFilter is the same for the hosts table under alias.
func (q *Queries) HostFilter(alias string, firstArg int) (sql string, args []any) {
	var c cond
	c.args = make([]any, firstArg-1)
	q.ownHosts(&c, alias)
	return c.sql(), c.args[firstArg-1:]
}

// OwnerLimits are the most hosts and records an account may own (nil:
// no limit) and how many it owns.
type OwnerLimits struct {
	MaxHosts, MaxRecords *int
	Hosts, Records       int
}

// LockOwnerLimits locks an account's row until the transaction ends and
// counts what it owns, so that additions running at once cannot pass a
// limit together.
func (q *Queries) LockOwnerLimits(ctx context.Context, userID int64) (OwnerLimits, error) {
	var l OwnerLimits
	err := q.db.QueryRow(ctx, `SELECT u.max_hosts, u.max_records,
			(SELECT count(*) FROM hosts WHERE owner_id = u.id),
			(SELECT count(*) FROM records r JOIN hosts h ON h.id = r.host_id WHERE h.owner_id = u.id)
		FROM users u WHERE u.id = $1 FOR NO KEY UPDATE`, userID).Scan(&l.MaxHosts, &l.MaxRecords, &l.Hosts, &l.Records)
	return l, mapErr("owner limits", err)
}

// one is the condition "column = id" plus filter, for reads of one row.
func one(column string, id int64, filter func(*cond)) *cond {
	c := &cond{}
	c.add(column+" = $?", id)
	if filter != nil {
		filter(c)
	}
	return c
}
