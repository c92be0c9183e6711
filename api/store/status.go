package store

import (
	"context"
	"time"
)

// Status is the broker's state at a glance.
type Status struct {
	Hosts, EnabledHosts int
	Records             int
	// States counts (record, family) pairs by delivery state.
	States map[string]int
	// Deliveries counts jobs by state over the whole history.
	Deliveries map[string]int
	// OldestPending is the age of the oldest waiting job, OldestDue how long
	// the most overdue one has been due; nil when there is none.
	OldestPending, OldestDue *time.Duration
}

// Status counts hosts, records and deliveries.
func (q *Queries) Status(ctx context.Context) (Status, error) {
	s := Status{States: map[string]int{}, Deliveries: map[string]int{}}
	var pending, due *float64
	err := q.db.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM hosts), (SELECT count(*) FROM hosts WHERE enabled), (SELECT count(*) FROM records),
		(SELECT extract(epoch FROM now() - min(created_at)) FROM deliveries WHERE state = 'pending'),
		(SELECT extract(epoch FROM now() - min(next_attempt_at)) FROM deliveries WHERE state = 'pending' AND next_attempt_at <= now())`).
		Scan(&s.Hosts, &s.EnabledHosts, &s.Records, &pending, &due)
	if err != nil {
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
	for _, c := range []struct {
		sql string
		m   map[string]int
	}{
		// Records without a state row (none today) count as idle.
		{`SELECT coalesce(s.state, 'idle'), count(*) FROM records r CROSS JOIN (VALUES (4), (6)) AS f(family)
			LEFT JOIN record_states s ON s.record_id = r.id AND s.family = f.family GROUP BY 1`, s.States},
		{`SELECT state, count(*) FROM deliveries GROUP BY state`, s.Deliveries},
	} {
		rows, err := q.db.Query(ctx, c.sql)
		if err != nil {
			return Status{}, mapErr("status", err)
		}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return Status{}, mapErr("status", err)
			}
			c.m[k] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return Status{}, mapErr("status", err)
		}
	}
	return s, nil
}
