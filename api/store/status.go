package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Status is the broker's state at a glance, as the dashboard shows it. Its
// counts come from the tally tables that triggers keep (migration 12), not
// from counting the tables, so reading it costs the same with 300,000
// records as with 3; only the stale hosts are counted, through an index
// that reads them alone, because staleness depends on the time of asking.
type Status struct {
	Hosts, EnabledHosts, StaleHosts int
	Records                         int
	// States counts (record, family) pairs by delivery state.
	States map[string]int
	// Troubled lists the services with pairs failed, retrying or blocked,
	// the one with the most first.
	Troubled []ServiceTrouble
	// Deliveries counts jobs by state over the jobs kept.
	Deliveries map[string]int
	// OldestPending is the age of the oldest waiting job, OldestDue how long
	// the most overdue one has been due; nil when there is none.
	OldestPending, OldestDue *time.Duration
	// Now is the database's current minute, the last of Minutes' window.
	Now time.Time
	// Minutes counts the attempts that ended in each minute of the last
	// 24 hours (through Now), oldest first; minutes without any are left out.
	Minutes []MinuteCount
}

// ServiceTrouble counts a service's (record, family) pairs that are not
// getting through.
type ServiceTrouble struct {
	ServiceID                 int64
	Name                      string
	Failed, Retrying, Blocked int
}

// MinuteCount is one minute of delivery attempts.
type MinuteCount struct {
	Minute            time.Time
	Delivered, Failed int
}

// DayMinutes is the length of the Minutes window.
const DayMinutes = 24 * 60

// Status reads the broker's state; rule says which hosts are stale (see
// hostStale).
func (q *Queries) Status(ctx context.Context, rule StaleRule) (Status, error) {
	if q.restricted() {
		return q.ownStatus(ctx, rule)
	}
	s := Status{States: map[string]int{}, Deliveries: map[string]int{}}
	var stale cond
	stale.add(hostStale, rule.args()...)
	var pending, due *float64
	// One round trip: the statements of a batch share one implicit
	// transaction, hence one now().
	b := &pgx.Batch{}
	b.Queue(`SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE enabled), 0),
		(SELECT count(*) FROM hosts h WHERE `+stale.sql()+`) FROM host_tallies`,
		stale.args...).QueryRow(func(row pgx.Row) error {
		return row.Scan(&s.Hosts, &s.EnabledHosts, &s.StaleHosts)
	})
	b.Queue(`SELECT coalesce(sum(n), 0),
		(SELECT extract(epoch FROM now() - min(created_at)) FROM deliveries WHERE state = 'pending'),
		(SELECT extract(epoch FROM now() - min(next_attempt_at)) FROM deliveries WHERE state = 'pending' AND next_attempt_at <= now()),
		date_trunc('minute', now())
		FROM record_tallies`).QueryRow(func(row pgx.Row) error {
		return row.Scan(&s.Records, &pending, &due, &s.Now)
	})
	counts := func(m map[string]int) func(pgx.Rows) error {
		return func(rows pgx.Rows) error {
			var k string
			var n int
			_, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error { m[k] = n; return nil })
			return err
		}
	}
	b.Queue(`SELECT state, sum(n) FROM record_state_tallies GROUP BY state`).Query(counts(s.States))
	b.Queue(`SELECT state, sum(n) FROM delivery_tallies GROUP BY state`).Query(counts(s.Deliveries))
	b.Queue(`SELECT t.service_id, s.name, coalesce(sum(t.n) FILTER (WHERE t.state = 'failed'), 0),
			coalesce(sum(t.n) FILTER (WHERE t.state = 'retrying'), 0), coalesce(sum(t.n) FILTER (WHERE t.state = 'blocked'), 0)
		FROM (SELECT service_id, state, sum(n) AS n FROM record_state_tallies
			WHERE state IN ('failed', 'retrying', 'blocked') GROUP BY 1, 2 HAVING sum(n) > 0) t
		JOIN services s ON s.id = t.service_id
		GROUP BY t.service_id, s.name ORDER BY sum(t.n) DESC, lower(s.name), t.service_id`).Query(func(rows pgx.Rows) error {
		var t ServiceTrouble
		_, err := pgx.ForEachRow(rows, []any{&t.ServiceID, &t.Name, &t.Failed, &t.Retrying, &t.Blocked}, func() error {
			s.Troubled = append(s.Troubled, t)
			return nil
		})
		return err
	})
	b.Queue(`SELECT minute, sum(delivered), sum(failed) FROM delivery_minutes
		WHERE minute > date_trunc('minute', now()) - interval '24 hours' AND minute <= now()
		GROUP BY minute ORDER BY minute`).Query(func(rows pgx.Rows) error {
		var m MinuteCount
		_, err := pgx.ForEachRow(rows, []any{&m.Minute, &m.Delivered, &m.Failed}, func() error {
			s.Minutes = append(s.Minutes, m)
			return nil
		})
		return err
	})
	if err := q.db.SendBatch(ctx, b).Close(); err != nil {
		return Status{}, mapErr("status", err)
	}
	seconds := func(f *float64) *time.Duration {
		if f == nil {
			return nil
		}
		d := time.Duration(*f * float64(time.Second))
		return &d
	}
	s.OldestPending, s.OldestDue = seconds(pending), seconds(due)
	return s, nil
}

// ownStatus is Status over the hosts of one owner (or one token's hosts),
// counted from the tables: the tallies are kept for all owners together,
// and one account's hosts and records are few.
func (q *Queries) ownStatus(ctx context.Context, rule StaleRule) (Status, error) {
	s := Status{States: map[string]int{}, Deliveries: map[string]int{}}
	// Every statement takes the owner's arguments ($1 and maybe $2); the
	// first one also the stale rule's after them.
	var own cond
	q.ownHosts(&own, "h")
	hosts := own.sql()
	mine := `SELECT r.id FROM records r JOIN hosts h ON h.id = r.host_id WHERE ` + hosts
	first := own
	first.args = append([]any(nil), own.args...)
	first.add(hostStale, rule.args()...)
	stale := first.where[len(first.where)-1]
	var pending, due *float64
	b := &pgx.Batch{}
	b.Queue(`SELECT (SELECT count(*) FROM hosts h WHERE `+hosts+`),
			(SELECT count(*) FROM hosts h WHERE h.enabled AND `+hosts+`),
			(SELECT count(*) FROM hosts h WHERE `+hosts+` AND `+stale+`),
			(SELECT count(*) FROM (`+mine+`) m),
			(SELECT extract(epoch FROM now() - min(created_at)) FROM deliveries WHERE state = 'pending' AND record_id IN (`+mine+`)),
			(SELECT extract(epoch FROM now() - min(next_attempt_at)) FROM deliveries
				WHERE state = 'pending' AND next_attempt_at <= now() AND record_id IN (`+mine+`)),
			date_trunc('minute', now())`, first.args...).QueryRow(func(row pgx.Row) error {
		return row.Scan(&s.Hosts, &s.EnabledHosts, &s.StaleHosts, &s.Records, &pending, &due, &s.Now)
	})
	counts := func(m map[string]int) func(pgx.Rows) error {
		return func(rows pgx.Rows) error {
			var k string
			var n int
			_, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error { m[k] = n; return nil })
			return err
		}
	}
	b.Queue(`SELECT state, count(*) FROM record_states WHERE record_id IN (`+mine+`) GROUP BY state`, own.args...).Query(counts(s.States))
	b.Queue(`SELECT state, count(*) FROM deliveries WHERE record_id IN (`+mine+`) GROUP BY state`, own.args...).Query(counts(s.Deliveries))
	b.Queue(`SELECT st.service_id, sv.name, count(*) FILTER (WHERE st.state = 'failed'),
			count(*) FILTER (WHERE st.state = 'retrying'), count(*) FILTER (WHERE st.state = 'blocked')
		FROM record_states st JOIN services sv ON sv.id = st.service_id
		WHERE st.state IN ('failed', 'retrying', 'blocked') AND st.record_id IN (`+mine+`)
		GROUP BY st.service_id, sv.name ORDER BY count(*) DESC, lower(sv.name), st.service_id`, own.args...).Query(func(rows pgx.Rows) error {
		var t ServiceTrouble
		_, err := pgx.ForEachRow(rows, []any{&t.ServiceID, &t.Name, &t.Failed, &t.Retrying, &t.Blocked}, func() error {
			s.Troubled = append(s.Troubled, t)
			return nil
		})
		return err
	})
	// Attempts per minute, from the jobs kept: finished ones by their end.
	b.Queue(`SELECT date_trunc('minute', finished_at), count(*) FILTER (WHERE state = 'delivered'), count(*) FILTER (WHERE state <> 'delivered')
		FROM deliveries WHERE finished_at > date_trunc('minute', now()) - interval '24 hours'
			AND state IN ('delivered', 'failed', 'blocked') AND record_id IN (`+mine+`)
		GROUP BY 1 ORDER BY 1`, own.args...).Query(func(rows pgx.Rows) error {
		var m MinuteCount
		_, err := pgx.ForEachRow(rows, []any{&m.Minute, &m.Delivered, &m.Failed}, func() error {
			s.Minutes = append(s.Minutes, m)
			return nil
		})
		return err
	})
	if err := q.db.SendBatch(ctx, b).Close(); err != nil {
		return Status{}, mapErr("status", err)
	}
	seconds := func(f *float64) *time.Duration {
		if f == nil {
			return nil
		}
		d := time.Duration(*f * float64(time.Second))
		return &d
	}
	s.OldestPending, s.OldestDue = seconds(pending), seconds(due)
	return s, nil
}
