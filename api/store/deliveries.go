package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
)

// NotifyChannel is the LISTEN/NOTIFY channel that wakes dispatchers.
const NotifyChannel = "ddnsbroker_deliveries"

// Desire says what a (record, family) should point to now.
type Desire struct {
	RecordID int64
	Family   int
	Address  netip.Addr // zero: the family has no effective address; cancel what waits
	Reason   string     // update, config, resync, import, drift
	// Force sends even when the upstream already holds the address, a
	// failed record is waiting for a change, or a block is in force (resync,
	// configuration change).
	Force bool
}

// Desire statements, run in order for each item. The record_states row is
// locked first: dispatchers finishing a job lock it too, so a job that goes
// back to pending and a newer job never meet as two pending rows.
const (
	desireLock = `SELECT 1 FROM record_states WHERE record_id = $1 AND family = $2 FOR UPDATE`
	// Older waiting jobs are superseded: only the newest address is ever sent.
	desireSupersede = `UPDATE deliveries SET state = 'superseded', finished_at = now(), updated_at = now(),
		result = 'superseded by a newer address' WHERE record_id = $1 AND family = $2 AND state = 'pending'`
	// A job is needed unless the upstream already holds the address and
	// nothing in flight could overwrite it, or the record failed for good.
	desireInsert = `INSERT INTO deliveries (record_id, family, address, reason, next_attempt_at)
		SELECT $1, $2, $3, $4,
			CASE WHEN NOT $5 AND s.state = 'blocked' AND s.next_attempt_at > now() THEN s.next_attempt_at ELSE now() END
		FROM record_states s
		WHERE s.record_id = $1 AND s.family = $2 AND (
			$5 OR (s.state <> 'failed' AND (s.delivered IS DISTINCT FROM $3 OR EXISTS (
				SELECT 1 FROM deliveries d WHERE d.record_id = $1 AND d.family = $2 AND d.state = 'running'))))`
	desireState = `UPDATE record_states s SET desired = $3, updated_at = now(),
		state = CASE
			WHEN p.next_attempt_at IS NULL THEN CASE WHEN s.state = 'failed' AND NOT $4 THEN 'failed' ELSE 'delivered' END
			WHEN p.next_attempt_at > now() AND s.state = 'blocked' THEN 'blocked'
			ELSE 'pending' END,
		attempts = CASE WHEN p.next_attempt_at IS NULL THEN s.attempts ELSE 0 END,
		next_attempt_at = p.next_attempt_at,
		message = CASE WHEN p.next_attempt_at IS NULL OR s.state = 'blocked' THEN s.message ELSE '' END
		FROM (SELECT max(next_attempt_at) AS next_attempt_at FROM deliveries
			WHERE record_id = $1 AND family = $2 AND state = 'pending') p
		WHERE s.record_id = $1 AND s.family = $2`
	desireCancel = `UPDATE deliveries SET state = 'cancelled', finished_at = now(), updated_at = now(),
		result = 'no effective address' WHERE record_id = $1 AND family = $2 AND state = 'pending'`
	desireClear = `UPDATE record_states SET desired = NULL, state = 'idle', next_attempt_at = NULL, attempts = 0,
		updated_at = now() WHERE record_id = $1 AND family = $2`
)

// Desire brings each (record, family) to its desired address in one round
// trip: it supersedes older waiting jobs, queues a job where the upstream
// needs one, and updates the record's state. It returns how many jobs were
// queued and notifies the dispatchers (on commit) when any were. Run it in
// the transaction that changed the addresses.
func (q *Queries) Desire(ctx context.Context, items []Desire) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	b := &pgx.Batch{}
	for _, d := range items {
		b.Queue(desireLock, d.RecordID, d.Family)
		if !d.Address.IsValid() {
			b.Queue(desireCancel, d.RecordID, d.Family)
			b.Queue(desireClear, d.RecordID, d.Family)
			continue
		}
		b.Queue(desireSupersede, d.RecordID, d.Family)
		b.Queue(desireInsert, d.RecordID, d.Family, d.Address, d.Reason, d.Force)
		b.Queue(desireState, d.RecordID, d.Family, d.Address, d.Force)
	}
	queued := 0
	res := q.db.SendBatch(ctx, b)
	for _, d := range items {
		n := 3
		if d.Address.IsValid() {
			n = 4
		}
		for i := 0; i < n; i++ {
			tag, err := res.Exec()
			if err != nil {
				res.Close()
				return 0, mapErr("desire", err)
			}
			if i == 2 && d.Address.IsValid() {
				queued += int(tag.RowsAffected())
			}
		}
	}
	if err := res.Close(); err != nil {
		return 0, mapErr("desire", err)
	}
	if queued > 0 {
		if _, err := q.db.Exec(ctx, `SELECT pg_notify($1, '')`, NotifyChannel); err != nil {
			return 0, mapErr("notify", err)
		}
	}
	return queued, nil
}

// Job is a claimed delivery with what sending it takes.
type Job struct {
	ID          int64
	RecordID    int64
	HostID      int64
	Family      int
	Address     netip.Addr
	Attempts    int // including this one
	Reason      string
	FQDN        string
	Username    string
	Password    []byte
	PasswordKey string
	ServiceID   int64
	Protocol    string
	Settings    json.RawMessage
	Credentials []byte
	CredKey     string
	// Other is the newest wanted address of the record's other family, for
	// services that send both in one request.
	Other netip.Addr
}

// ClaimDeliveries leases up to limit due jobs for worker. A job waits while
// an older job of its (record, family) is still running, so addresses reach
// the upstream in order.
//
// It is planned afresh on every call (planEachCall): the queue swings from empty
// to thousands of rows in seconds, and a generic plan cached while it was
// small made each claim take 300 ms with a queue of 3,000 (130 deliveries/s
// instead of 1,100).
func (q *Queries) ClaimDeliveries(ctx context.Context, worker string, limit int, lease time.Duration) ([]Job, error) {
	rows, err := q.db.Query(ctx, `
		WITH due AS (
			SELECT d.id FROM deliveries d
			WHERE d.state = 'pending' AND d.next_attempt_at <= now()
				AND NOT EXISTS (SELECT 1 FROM deliveries r
					WHERE r.record_id = d.record_id AND r.family = d.family AND r.state = 'running')
			ORDER BY d.next_attempt_at, d.id
			LIMIT $1
			FOR UPDATE SKIP LOCKED
		)
		UPDATE deliveries d SET state = 'running', lease_until = now() + $2::interval, leased_by = $3,
			attempts = d.attempts + 1, updated_at = now()
		FROM due, records r, services s
		WHERE d.id = due.id AND r.id = d.record_id AND s.id = r.service_id
		RETURNING d.id, d.record_id, r.host_id, d.family, d.address, d.attempts, d.reason, r.fqdn, r.username, r.password,
			coalesce(r.password_key, ''), s.id, s.protocol, s.settings, s.credentials, coalesce(s.credentials_key, ''),
			(SELECT o.desired FROM record_states o WHERE o.record_id = d.record_id AND o.family = 10 - d.family)`,
		planEachCall, limit, lease, worker)
	return collect("claim deliveries", rows, err, func(row rowScanner) (Job, error) {
		var j Job
		err := row.Scan(&j.ID, &j.RecordID, &j.HostID, &j.Family, &j.Address, &j.Attempts, &j.Reason, &j.FQDN, &j.Username,
			&j.Password, &j.PasswordKey, &j.ServiceID, &j.Protocol, &j.Settings, &j.Credentials, &j.CredKey, &j.Other)
		return j, err
	})
}

// ExtendLeases keeps a worker's running jobs leased while it still works on them.
func (q *Queries) ExtendLeases(ctx context.Context, worker string, ids []int64, lease time.Duration) error {
	_, err := q.db.Exec(ctx, `UPDATE deliveries SET lease_until = now() + $3::interval
		WHERE leased_by = $1 AND state = 'running' AND id = ANY($2)`, worker, ids, lease)
	return mapErr("extend leases", err)
}

// Outcome kinds a dispatcher reports.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeFailed    = "failed"
	OutcomeBlocked   = "blocked"
)

// Finish is the result of one attempt.
type Finish struct {
	Outcome string
	Message string
	// NextAttempt is when a retried or blocked job runs again.
	NextAttempt time.Time
	// Event is appended to the history in the same transaction.
	Event *Event
}

// FinishDelivery records the outcome of a job the worker still holds and
// updates the record's state and history. It reports false when the lease
// was lost (the job was reclaimed after it expired): the outcome is dropped.
func (s *Store) FinishDelivery(ctx context.Context, j Job, worker string, f Finish) (bool, error) {
	held := false
	err := s.InTx(ctx, func(q *Queries) error {
		// One statement locks the record's state (as Desire does) and reads
		// whether this worker still holds the job and whether a newer one waits.
		var newer bool
		err := q.db.QueryRow(ctx, `SELECT
				EXISTS (SELECT 1 FROM deliveries WHERE id = $3 AND state = 'running' AND leased_by = $4),
				EXISTS (SELECT 1 FROM deliveries WHERE record_id = $1 AND family = $2 AND state = 'pending')
			FROM record_states WHERE record_id = $1 AND family = $2 FOR UPDATE`,
			j.RecordID, j.Family, j.ID, worker).Scan(&held, &newer)
		if errors.Is(err, pgx.ErrNoRows) {
			held = false // the record was deleted meanwhile, and its jobs with it
			return nil
		}
		if err != nil || !held {
			return err
		}
		b := &pgx.Batch{}
		if err := finish(b, j, f, newer); err != nil {
			return err
		}
		if e := f.Event; e != nil {
			if e.Data == nil {
				e.Data = json.RawMessage(`{}`)
			}
			b.Queue(insertEvent, e.Kind, e.HostID, e.RecordID, e.ServiceID, e.Actor, e.Message, e.Data)
		}
		return q.db.SendBatch(ctx, b).Close()
	})
	return held, mapErr("finish delivery", err)
}

// finish queues the statements that record an outcome.
func finish(b *pgx.Batch, j Job, f Finish, newer bool) error {
	msg := f.Message
	switch f.Outcome {
	case OutcomeDelivered:
		b.Queue(`UPDATE deliveries SET state = 'delivered', lease_until = NULL, finished_at = now(),
			updated_at = now(), result = $2 WHERE id = $1`, j.ID, msg)
		b.Queue(`UPDATE record_states SET delivered = $3, last_success_at = now(), last_attempt_at = now(),
			message = $4, updated_at = now(),
			state = CASE WHEN $5 THEN state WHEN desired IS NOT DISTINCT FROM $3 THEN 'delivered' ELSE state END,
			attempts = CASE WHEN $5 THEN attempts ELSE 0 END,
			next_attempt_at = CASE WHEN $5 THEN next_attempt_at ELSE NULL END
			WHERE record_id = $1 AND family = $2`, j.RecordID, j.Family, j.Address, msg, newer)
	case OutcomeRetry, OutcomeBlocked:
		state := "retrying"
		if f.Outcome == OutcomeBlocked {
			state = "blocked"
		}
		switch {
		case newer && f.Outcome == OutcomeBlocked:
			// The newer job inherits the block: the provider asked for a pause.
			b.Queue(`UPDATE deliveries SET state = 'superseded', lease_until = NULL, finished_at = now(),
				updated_at = now(), result = $2 WHERE id = $1`, j.ID, msg)
			b.Queue(`UPDATE deliveries SET next_attempt_at = greatest(next_attempt_at, $3)
				WHERE record_id = $1 AND family = $2 AND state = 'pending'`, j.RecordID, j.Family, f.NextAttempt)
		case newer:
			b.Queue(`UPDATE deliveries SET state = 'superseded', lease_until = NULL, finished_at = now(),
				updated_at = now(), result = $2 WHERE id = $1`, j.ID, msg)
			state = "pending"
		default:
			b.Queue(`UPDATE deliveries SET state = 'pending', lease_until = NULL, leased_by = NULL,
				next_attempt_at = $2, updated_at = now(), result = $3 WHERE id = $1`, j.ID, f.NextAttempt, msg)
		}
		b.Queue(`UPDATE record_states SET state = $3, attempts = $4, next_attempt_at = $5,
			last_attempt_at = now(), message = $6, updated_at = now() WHERE record_id = $1 AND family = $2`,
			j.RecordID, j.Family, state, j.Attempts, f.NextAttempt, msg)
	case OutcomeFailed:
		b.Queue(`UPDATE deliveries SET state = 'failed', lease_until = NULL, finished_at = now(),
			updated_at = now(), result = $2 WHERE id = $1`, j.ID, msg)
		b.Queue(`UPDATE record_states SET state = CASE WHEN $3 THEN 'pending' ELSE 'failed' END,
			attempts = $4, next_attempt_at = NULL, last_attempt_at = now(), message = $5, updated_at = now()
			WHERE record_id = $1 AND family = $2`, j.RecordID, j.Family, newer, j.Attempts, msg)
	default:
		return fmt.Errorf("unknown outcome %q", f.Outcome)
	}
	return nil
}

// ReclaimExpired returns jobs whose worker stopped renewing its lease (it
// crashed or lost the database) to the queue, or supersedes them when a newer
// job waits. It returns how many it touched.
func (s *Store) ReclaimExpired(ctx context.Context) (int, error) {
	total := 0
	err := s.InTx(ctx, func(q *Queries) error {
		total = 0
		rows, err := q.db.Query(ctx, `SELECT s.record_id, s.family FROM record_states s
			JOIN deliveries d ON d.record_id = s.record_id AND d.family = s.family
			WHERE d.state = 'running' AND d.lease_until < now()
			ORDER BY s.record_id, s.family FOR UPDATE OF s`)
		if err != nil {
			return err
		}
		rows.Close()
		tag, err := q.db.Exec(ctx, `UPDATE deliveries d SET lease_until = NULL, leased_by = NULL, updated_at = now(),
			state = CASE WHEN EXISTS (SELECT 1 FROM deliveries p WHERE p.record_id = d.record_id AND p.family = d.family
				AND p.state = 'pending') THEN 'superseded' ELSE 'pending' END,
			finished_at = CASE WHEN EXISTS (SELECT 1 FROM deliveries p WHERE p.record_id = d.record_id AND p.family = d.family
				AND p.state = 'pending') THEN now() END,
			result = 'lease expired: the worker stopped before it finished'
			WHERE d.state = 'running' AND d.lease_until < now()`)
		total = int(tag.RowsAffected())
		if err == nil && total > 0 {
			_, err = q.db.Exec(ctx, `SELECT pg_notify($1, '')`, NotifyChannel)
		}
		return err
	})
	return total, mapErr("reclaim expired", err)
}

// NextDue tells when the earliest waiting job becomes due (zero when none waits).
func (q *Queries) NextDue(ctx context.Context) (time.Time, error) {
	var t *time.Time
	err := q.db.QueryRow(ctx, `SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'`).Scan(&t)
	if err != nil || t == nil {
		return time.Time{}, mapErr("next due", err)
	}
	return *t, nil
}

// Delivery is one row of a record's delivery history.
type Delivery struct {
	ID            int64
	RecordID      int64
	Family        int
	Address       netip.Addr
	Reason        string
	State         string
	Attempts      int
	NextAttemptAt time.Time
	Result        string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    *time.Time
}

// QueueStats are the outbox's depth and the age of its oldest due job.
type QueueStats struct {
	Pending   int
	Running   int
	OldestDue time.Duration
}

// Queue reports the outbox's depth.
func (q *Queries) Queue(ctx context.Context) (QueueStats, error) {
	var s QueueStats
	var age float64
	err := q.db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'running'),
		coalesce(extract(epoch FROM now() - min(next_attempt_at) FILTER (WHERE state = 'pending' AND next_attempt_at <= now())), 0)
		FROM deliveries WHERE state IN ('pending', 'running')`).Scan(&s.Pending, &s.Running, &age)
	s.OldestDue = time.Duration(age * float64(time.Second))
	return s, mapErr("queue", err)
}
