package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// NotifyChannel is the LISTEN/NOTIFY channel that wakes dispatchers.
const NotifyChannel = "ddnsbroker_deliveries"

// Desire says what a (record, family) should point to now.
type Desire struct {
	RecordID int64
	Family   netcalc.Family
	Address  netip.Addr // zero: the family has no effective address; cancel what waits
	Reason   Reason
	// Force sends even when the upstream already holds the address, a
	// failed record is waiting for a change, or a block is in force (resync,
	// configuration change).
	Force bool
}

// Desire statements, run in this order over every item at once (arrays of
// record ids, families, addresses, reasons and force flags), so that the
// work of one update grows linearly with its records.
const (
	// The record_states rows are locked first, in one order: dispatchers
	// finishing a job lock them too, so a job that goes back to pending and
	// a newer job never meet as two pending rows.
	desireLock = `SELECT 1 FROM record_states s JOIN unnest($1::bigint[], $2::smallint[]) AS v(r, f)
		ON s.record_id = v.r AND s.family = v.f ORDER BY s.record_id, s.family FOR UPDATE OF s`
	// Older waiting jobs are superseded: only the newest address is ever
	// sent. Without an address they are cancelled.
	desireSupersede = `UPDATE deliveries d SET finished_at = now(), updated_at = now(),
		state = CASE WHEN v.a IS NULL THEN 'cancelled' ELSE 'superseded' END,
		result = CASE WHEN v.a IS NULL THEN 'no effective address' ELSE 'superseded by a newer address' END
		FROM unnest($1::bigint[], $2::smallint[], $3::inet[]) AS v(r, f, a)
		WHERE d.record_id = v.r AND d.family = v.f AND d.state = 'pending'`
	// A job is needed unless the record failed for good, or the upstream
	// holds the address and nothing was sent since it confirmed it: the
	// newest attempted job (running, retried, superseded or failed after
	// an attempt) may have changed what the upstream holds, a waiting job
	// that was never sent has not.
	desireInsert = `INSERT INTO deliveries (record_id, family, address, reason, next_attempt_at, service_id)
		SELECT v.r, v.f, v.a, v.reason,
			CASE WHEN NOT v.force AND s.state = 'blocked' AND s.next_attempt_at > now() THEN s.next_attempt_at ELSE now() END,
			rec.service_id
		FROM unnest($1::bigint[], $2::smallint[], $3::inet[], $4::text[], $5::bool[]) AS v(r, f, a, reason, force)
		JOIN record_states s ON s.record_id = v.r AND s.family = v.f
		JOIN records rec ON rec.id = v.r
		WHERE v.a IS NOT NULL AND (v.force OR (s.state <> 'failed' AND (s.delivered IS DISTINCT FROM v.a OR coalesce((
			SELECT x.state <> 'delivered' FROM deliveries x WHERE x.record_id = v.r AND x.family = v.f AND x.attempts > 0
			ORDER BY x.id DESC LIMIT 1), false))))`
	desireState = `UPDATE record_states s SET desired = v.a, updated_at = now(),
		state = CASE
			WHEN v.a IS NULL THEN 'idle'
			WHEN p.next_attempt_at IS NULL THEN CASE WHEN s.state = 'failed' AND NOT v.force THEN 'failed' ELSE 'delivered' END
			WHEN p.next_attempt_at > now() AND s.state = 'blocked' THEN 'blocked'
			ELSE 'pending' END,
		attempts = CASE WHEN v.a IS NOT NULL AND p.next_attempt_at IS NULL THEN s.attempts ELSE 0 END,
		next_attempt_at = p.next_attempt_at,
		message = CASE WHEN v.a IS NULL OR p.next_attempt_at IS NULL OR s.state = 'blocked' THEN s.message ELSE '' END,
		advice = CASE WHEN v.a IS NULL OR p.next_attempt_at IS NULL OR s.state = 'blocked' THEN s.advice ELSE '' END
		FROM unnest($1::bigint[], $2::smallint[], $3::inet[], $4::bool[]) AS v(r, f, a, force)
		LEFT JOIN LATERAL (SELECT max(next_attempt_at) AS next_attempt_at FROM deliveries
			WHERE record_id = v.r AND family = v.f AND state = 'pending') p ON true
		WHERE s.record_id = v.r AND s.family = v.f`
)

// Desire brings each (record, family) to its desired address in one round
// trip: it supersedes older waiting jobs, queues a job where the upstream
// needs one, and updates the record's state. It returns how many jobs were
// queued and notifies the dispatchers (on commit) when any were. Run it in
// the transaction that changed the addresses. When items name a (record,
// family) twice, the last one counts.
func (q *Queries) Desire(ctx context.Context, items []Desire) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	type key struct {
		record int64
		family netcalc.Family
	}
	last := make(map[key]int, len(items))
	for i, d := range items {
		last[key{d.RecordID, d.Family}] = i
	}
	n := len(last)
	recs, fams := make([]int64, 0, n), make([]int16, 0, n)
	addrs, reasons, force := make([]*netip.Addr, 0, n), make([]string, 0, n), make([]bool, 0, n)
	for i, d := range items {
		if last[key{d.RecordID, d.Family}] != i {
			continue
		}
		var a *netip.Addr
		if d.Address.IsValid() {
			a = &items[i].Address
		}
		recs, fams, addrs = append(recs, d.RecordID), append(fams, int16(d.Family)), append(addrs, a)
		reasons, force = append(reasons, string(d.Reason)), append(force, d.Force)
	}
	// Each statement's result is read by its own callback, so that adding or
	// reordering a statement cannot make another's count the queued jobs.
	queued := 0
	b := &pgx.Batch{}
	b.Queue(desireLock, recs, fams)
	b.Queue(desireSupersede, recs, fams, addrs)
	b.Queue(desireInsert, recs, fams, addrs, reasons, force).Exec(func(tag pgconn.CommandTag) error {
		queued = int(tag.RowsAffected())
		return nil
	})
	b.Queue(desireState, recs, fams, addrs, force)
	if err := q.db.SendBatch(ctx, b).Close(); err != nil {
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
	Family      netcalc.Family
	Address     netip.Addr
	Attempts    int // including this one
	Reason      Reason
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
	// Delivered is the address the upstream last confirmed for the
	// record's family (zero: none).
	Delivered netip.Addr
	// KeepOthers is the record's keep_other_addresses.
	KeepOthers bool
	// Shared are the addresses of Family the other records with the same
	// name at the same service want now (other hosts feeding the name):
	// the name's RRset is the union of theirs and Address. A record with
	// drop_when_stale whose host is stale is left out.
	Shared []netip.Addr
	// SharedDelivered are the addresses of Family those other records
	// last delivered, a left-out record's included: the name's RRset
	// holds them as the broker's, so keep_other_addresses replaces them
	// too (an address of a host that left the name goes with it).
	SharedDelivered []netip.Addr
	// Request is the id of the job that leads the request this job goes
	// in: its own id when it goes alone or leads.
	Request int64
}

// Claim says what a dispatcher may take now.
type Claim struct {
	Worker string
	Lease  time.Duration
	// Free is how many more requests the worker can start now; Workers is
	// how many it can have in flight in all.
	Free    int
	Workers int
	// PerService is the most requests in flight to one service, counted
	// over every worker on the database.
	PerService int
	// Together tells whether a job's service takes both families of a
	// record in one request: such a job is claimed with its record's other
	// waiting job, and both count as one request.
	Together func(Job) bool
	// Batch is the most records a job's request may carry (1 or less:
	// the job goes alone). Other records' due jobs at its service with the
	// same family, address and username join it, as one request.
	Batch func(Job) int
	// Joins tells whether job j may go in lead's request, on what SQL
	// cannot compare: decrypted passwords (two ciphertexts of one password
	// differ, their nonces are random), the other family's address.
	Joins func(lead, j Job) bool
}

// claimLockKey names the advisory lock that makes claims take turns, so
// that each sees what every other claim took.
const claimLockKey = 0x6464636c61696d21 // "ddclaim!"

// jobColumns are what a claim returns of each job: d is the delivery, r its
// record and s the record's service.
const jobColumns = `d.id, d.record_id, r.host_id, d.family, d.address, d.attempts, d.reason, r.fqdn, r.username, r.password,
	coalesce(r.password_key, ''), s.id, s.protocol, s.settings, s.credentials, coalesce(s.credentials_key, ''),
	(SELECT o.desired FROM record_states o WHERE o.record_id = d.record_id AND o.family <> d.family),
	(SELECT m.delivered FROM record_states m WHERE m.record_id = d.record_id AND m.family = d.family),
	r.keep_other_addresses, coalesce(d.request_id, d.id),
	ARRAY(SELECT o.desired FROM records x JOIN record_states o ON o.record_id = x.id AND o.family = d.family
		WHERE x.service_id = r.service_id AND lower(x.fqdn) = lower(r.fqdn) AND x.id <> r.id AND o.desired IS NOT NULL
			AND NOT (x.drop_when_stale AND ` + droppedHost + `)
		ORDER BY x.id),
	ARRAY(SELECT o.delivered FROM records x JOIN record_states o ON o.record_id = x.id AND o.family = d.family
		WHERE x.service_id = r.service_id AND lower(x.fqdn) = lower(r.fqdn) AND x.id <> r.id AND o.delivered IS NOT NULL
		ORDER BY x.id)`

// droppedHost is true while record x's host is in a staleness episode: the
// notifier reported it host.stale (host_stale_notices) and it has not been
// seen since. Deciding by the reported episode, not by the clock, keeps the
// name in step with the re-send the stale check queues (broker.HostStale).
const droppedHost = `EXISTS (SELECT 1 FROM hosts hx JOIN host_stale_notices nx ON nx.host_id = hx.id
	WHERE hx.id = x.host_id AND nx.seen_at = coalesce(hx.last_seen_at, hx.created_at))`

// claimDue picks and leases the due jobs a claim may start, one per
// (service, upstream name), with these rules:
//   - a job waits while any job of its record, or of another record with the
//     same name at the same service, runs: one request at a time per
//     (service, name), and the families of a record one after the other;
//   - a service never has more than PerService ($4) in flight, counted over
//     every worker, nor more than its share of this worker, Workers ($5)
//     divided by one more than the services with work;
//   - services take turns: the oldest due job of each service first, then
//     the second of each, and so on;
//   - a service's first job here may take any free slot, any further job
//     only what is left after one share stays free, so that a service whose
//     work arrives later starts at once even when others hang.
//
// Every step is an index probe (services found by a loose scan of
// deliveries_service_due, locks by primary key). It is planned afresh on
// every call (planEachCall): a plan cached while the outbox was empty scans
// it, and took minutes once it held 30,000 jobs.
const claimDue = `
	WITH RECURSIVE waiting AS (
		-- Each service with waiting jobs and its oldest, one index probe per
		-- service (the first column of deliveries_service_due).
		(SELECT service_id, next_attempt_at FROM deliveries
			WHERE state = 'pending' AND service_id IS NOT NULL ORDER BY service_id, next_attempt_at LIMIT 1)
		UNION ALL
		SELECT n.service_id, n.next_attempt_at FROM waiting w CROSS JOIN LATERAL (
			SELECT service_id, next_attempt_at FROM deliveries WHERE state = 'pending' AND service_id > w.service_id
			ORDER BY service_id, next_attempt_at LIMIT 1) n
	), run AS (
		-- Requests in flight: the jobs sent together in one count once.
		SELECT service_id, count(DISTINCT coalesce(request_id, id)) AS n,
			count(DISTINCT coalesce(request_id, id)) FILTER (WHERE leased_by = $3) AS mine
		FROM deliveries WHERE state = 'running' GROUP BY service_id
	), busy AS (
		-- Services with work: due jobs, or requests running here.
		SELECT coalesce(w.service_id, r.service_id) AS id, coalesce(r.n, 0) AS n, coalesce(r.mine, 0) AS mine,
			w.service_id IS NOT NULL AS due
		FROM (SELECT service_id FROM waiting WHERE next_attempt_at <= now()) w
		FULL JOIN run r ON r.service_id = w.service_id
		WHERE w.service_id IS NOT NULL OR r.mine > 0
	), share AS (
		SELECT greatest(1, $5::int / (count(*) + 1)::int) AS v FROM busy
	), cand AS (
		SELECT c.id, c.next_attempt_at, b.mine = 0 AND c.rank = 1 AS first, c.rank
		FROM busy b CROSS JOIN share CROSS JOIN LATERAL (
			SELECT d.id, d.next_attempt_at, row_number() OVER (ORDER BY d.next_attempt_at, d.id) AS rank
			FROM deliveries d JOIN records r ON r.id = d.record_id
			WHERE d.state = 'pending' AND d.service_id = b.id AND d.next_attempt_at <= now()
				AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.state = 'running' AND x.record_id = d.record_id)
				AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.state = 'running' AND x.service_id = b.id
					AND x.name_key = lower(r.fqdn))
				AND NOT EXISTS (SELECT 1 FROM deliveries y WHERE y.state = 'pending' AND y.record_id = d.record_id
					AND y.next_attempt_at <= now() AND (y.next_attempt_at, y.id) < (d.next_attempt_at, d.id))
			ORDER BY d.next_attempt_at, d.id
			LIMIT greatest(0, least($4::int - b.n, share.v - b.mine))
		) c
		WHERE b.due
	), pick AS (
		SELECT id, first, row_number() OVER (ORDER BY first DESC, rank, next_attempt_at, id) AS i FROM cand
	), due AS (
		SELECT d.id FROM deliveries d
		WHERE d.id = ANY (ARRAY(SELECT p.id FROM pick p, share WHERE p.i <= $1 AND (p.first OR p.i <= $1 - share.v)))
			AND d.state = 'pending'
		FOR UPDATE SKIP LOCKED
	)
	UPDATE deliveries d SET state = 'running', lease_until = now() + $2::interval, leased_by = $3,
		attempts = d.attempts + 1, updated_at = now(), service_id = s.id, name_key = lower(r.fqdn), request_id = d.id
	FROM records r, services s
	WHERE d.id = ANY (ARRAY(SELECT id FROM due)) AND r.id = d.record_id AND s.id = r.service_id
	RETURNING ` + jobColumns

// joinersDue are the due jobs that could join the requests of jobs just
// claimed: at the service of one of them ($1), with its family ($2),
// address ($3) and username ($4), and free to start by claimDue's rules
// (nothing of the record or of the name running, the record's oldest due
// job). The claimed jobs run already, so none of their names or records
// comes back. They are locked, not leased: ClaimDeliveries picks among them.
const joinersDue = `
	SELECT ` + jobColumns + `
	FROM deliveries d
	JOIN records r ON r.id = d.record_id
	JOIN services s ON s.id = r.service_id
	JOIN (SELECT DISTINCT * FROM unnest($1::bigint[], $2::smallint[], $3::inet[], $4::text[])) AS v(svc, f, a, u)
		ON d.service_id = v.svc AND d.family = v.f AND d.address = v.a
	WHERE d.state = 'pending' AND d.next_attempt_at <= now() AND r.service_id = v.svc AND r.username = v.u
		AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.state = 'running' AND x.record_id = d.record_id)
		AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.state = 'running' AND x.service_id = v.svc
			AND x.name_key = lower(r.fqdn))
		AND NOT EXISTS (SELECT 1 FROM deliveries y WHERE y.state = 'pending' AND y.record_id = d.record_id
			AND y.next_attempt_at <= now() AND (y.next_attempt_at, y.id) < (d.next_attempt_at, d.id))
	ORDER BY d.next_attempt_at, d.id
	LIMIT $5
	FOR UPDATE OF d SKIP LOCKED`

// claimJoiners leases the jobs ClaimDeliveries picked from joinersDue
// ($3), each in the request of the job $4 names.
const claimJoiners = `
	UPDATE deliveries d SET state = 'running', lease_until = now() + $1::interval, leased_by = $2,
		attempts = d.attempts + 1, updated_at = now(), service_id = s.id, name_key = lower(r.fqdn), request_id = v.q
	FROM unnest($3::bigint[], $4::bigint[]) AS v(id, q), records r, services s
	WHERE d.id = v.id AND d.state = 'pending' AND r.id = d.record_id AND s.id = r.service_id
	RETURNING ` + jobColumns

// claimOthers leases the other family's due job of records whose service
// takes both families in one request ($3: record ids, $4: the claimed
// families, $5: the requests they go in).
const claimOthers = `
	WITH due AS (
		SELECT d.id, v.q FROM deliveries d JOIN unnest($3::bigint[], $4::smallint[], $5::bigint[]) AS v(r, f, q)
			ON d.record_id = v.r AND d.family <> v.f
		WHERE d.state = 'pending' AND d.next_attempt_at <= now()
		FOR UPDATE OF d SKIP LOCKED
	)
	UPDATE deliveries d SET state = 'running', lease_until = now() + $1::interval, leased_by = $2,
		attempts = d.attempts + 1, updated_at = now(), service_id = s.id, name_key = lower(r.fqdn), request_id = due.q
	FROM due, records r, services s
	WHERE d.id = due.id AND r.id = d.record_id AND s.id = r.service_id
	RETURNING ` + jobColumns

// ClaimDeliveries leases the due jobs the worker may start now (see
// claimDue for the rules), then the jobs that join their requests: other
// records' jobs (Batch, Joins), then the records' other families
// (Together). A request counts once against the limits, however many jobs
// it carries. Claims take turns through an advisory lock, so the rules
// hold across replicas: two claims never both see a name free. Its commit
// does not wait for the disk: a claim lost with the database leaves the
// job waiting, to be sent (again) as after a worker's crash, and the
// outcome that follows it flushes it anyway.
func (s *Store) ClaimDeliveries(ctx context.Context, c Claim) ([]Job, error) {
	if c.Free <= 0 {
		return nil, nil
	}
	var jobs []Job
	err := s.InTx(ctx, func(q *Queries) error {
		if _, err := q.db.Exec(ctx, `SELECT pg_advisory_xact_lock($1), set_config('synchronous_commit', 'off', true)`,
			int64(claimLockKey)); err != nil {
			return mapErr("claim deliveries: take turns", err)
		}
		rows, err := q.db.Query(ctx, claimDue, planEachCall, c.Free, c.Lease, c.Worker, c.PerService, c.Workers)
		if jobs, err = collect("claim deliveries", rows, err, scanJob); err != nil {
			return err
		}
		if jobs, err = oneJobPerName(ctx, q, jobs); err != nil {
			return err
		}
		joiners, err := claimBatches(ctx, q, c, jobs)
		if err != nil {
			return err
		}
		jobs = append(jobs, joiners...)
		var recs []int64
		var fams []int16
		var reqs []int64
		for _, j := range jobs {
			if c.Together != nil && c.Together(j) {
				recs, fams, reqs = append(recs, j.RecordID), append(fams, int16(j.Family)), append(reqs, j.Request)
			}
		}
		if len(recs) == 0 {
			return nil
		}
		rows, err = q.db.Query(ctx, claimOthers, c.Lease, c.Worker, recs, fams, reqs)
		others, err := collect("claim deliveries", rows, err, scanJob)
		jobs = append(jobs, others...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// serviceName is a name at a service: what one request at a time may
// change (claimDue's rule, kept within a claim by oneJobPerName and
// claimBatches).
type serviceName struct {
	service int64
	key     string // lower-case FQDN
}

func upstreamName(j Job) serviceName { return serviceName{j.ServiceID, strings.ToLower(j.FQDN)} }

// oneJobPerName gives back all but the first of claimed jobs that share a
// service and a name: records of several hosts feeding one name each have
// a job, and claimDue, which keeps a name waiting while a job of it runs,
// could take two of them at once; sent together, a record API would create
// the name's records twice.
func oneJobPerName(ctx context.Context, q *Queries, jobs []Job) ([]Job, error) {
	seen := map[serviceName]bool{}
	kept := jobs[:0]
	var back []int64
	for _, j := range jobs {
		n := upstreamName(j)
		if seen[n] {
			back = append(back, j.ID)
			continue
		}
		seen[n] = true
		kept = append(kept, j)
	}
	if len(back) == 0 {
		return kept, nil
	}
	_, err := q.db.Exec(ctx, `UPDATE deliveries SET state = 'pending', lease_until = NULL, leased_by = NULL,
		attempts = attempts - 1, request_id = NULL WHERE id = ANY($1)`, back)
	return kept, mapErr("claim deliveries: one job per name", err)
}

// claimBatches leases, for each claimed job whose request may carry more
// records (Claim.Batch), the due jobs that can go with it: same service,
// family, address and username (joinersDue), a password Joins accepts,
// and a name that no other job of the claim has. Jobs are taken oldest
// first, the first claimed job's request filled first; when no waiting
// job is left for a request, later claimed jobs that fit join it, so that
// 45 names make requests of 20, 20 and 5 rather than one per claimed job.
// It sets the joined claimed jobs' Request in leads.
func claimBatches(ctx context.Context, q *Queries, c Claim, leads []Job) ([]Job, error) {
	if c.Batch == nil {
		return nil, nil
	}
	var svcs []int64
	var fams []int16
	var addrs []netip.Addr
	var users []string
	room, limit := map[int64]int{}, 0
	for _, j := range leads {
		if n := c.Batch(j) - 1; n > 0 {
			room[j.ID] = n
			limit += n
			svcs, fams, addrs, users = append(svcs, j.ServiceID), append(fams, int16(j.Family)), append(addrs, j.Address), append(users, j.Username)
		}
	}
	if limit == 0 {
		return nil, nil
	}
	rows, err := q.db.Query(ctx, joinersDue, planEachCall, svcs, fams, addrs, users, limit)
	cands, err := collect("claim deliveries: requests", rows, err, scanJob)
	if err != nil {
		return nil, err
	}
	taken := map[serviceName]bool{}
	for _, j := range leads {
		taken[upstreamName(j)] = true
	}
	fits := func(lead, j Job) bool {
		return j.ServiceID == lead.ServiceID && j.Family == lead.Family && j.Address == lead.Address &&
			j.Username == lead.Username && (c.Joins == nil || c.Joins(lead, j))
	}
	var ids, reqs, moved, into []int64
	for i, lead := range leads {
		if room[lead.ID] == 0 || lead.Request != lead.ID {
			continue
		}
		for _, j := range cands {
			if room[lead.ID] == 0 {
				break
			}
			n := upstreamName(j)
			if taken[n] || !fits(lead, j) {
				continue
			}
			taken[n] = true
			room[lead.ID]--
			ids, reqs = append(ids, j.ID), append(reqs, lead.ID)
		}
		for k := i + 1; k < len(leads) && room[lead.ID] > 0; k++ {
			if j := leads[k]; j.Request == j.ID && room[j.ID] > 0 && fits(lead, j) {
				leads[k].Request = lead.ID
				room[lead.ID]--
				moved, into = append(moved, j.ID), append(into, lead.ID)
			}
		}
	}
	if len(moved) > 0 {
		if _, err := q.db.Exec(ctx, `UPDATE deliveries d SET request_id = v.q FROM unnest($1::bigint[], $2::bigint[]) AS v(id, q)
			WHERE d.id = v.id`, moved, into); err != nil {
			return nil, mapErr("claim deliveries: requests", err)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err = q.db.Query(ctx, claimJoiners, c.Lease, c.Worker, ids, reqs)
	return collect("claim deliveries: requests", rows, err, scanJob)
}

func scanJob(row rowScanner) (Job, error) {
	var j Job
	err := row.Scan(&j.ID, &j.RecordID, &j.HostID, &j.Family, &j.Address, &j.Attempts, &j.Reason, &j.FQDN, &j.Username,
		&j.Password, &j.PasswordKey, &j.ServiceID, &j.Protocol, &j.Settings, &j.Credentials, &j.CredKey, &j.Other, &j.Delivered, &j.KeepOthers, &j.Request, &j.Shared, &j.SharedDelivered)
	return j, err
}

// ExtendLeases keeps a worker's running jobs leased while it still works on them.
func (q *Queries) ExtendLeases(ctx context.Context, worker string, ids []int64, lease time.Duration) error {
	_, err := q.db.Exec(ctx, `UPDATE deliveries SET lease_until = now() + $3::interval
		WHERE leased_by = $1 AND state = 'running' AND id = ANY($2)`, worker, ids, lease)
	return mapErr("extend leases", err)
}

// Finish is the result of one attempt.
type Finish struct {
	Outcome Outcome
	Message string
	// Advice is what the user can do about it (provider.Outcome.Advice).
	Advice string
	// NextAttempt is when a retried or blocked job runs again.
	NextAttempt time.Time
	// Event is appended to the history in the same transaction.
	Event *Event
}

// FinishDelivery records the outcome of a job the worker still holds and
// updates the record's state and history. It reports false when the lease
// was lost (the job was reclaimed after it expired): the outcome is dropped.
func (s *Store) FinishDelivery(ctx context.Context, j Job, worker string, f Finish) (bool, error) {
	held, err := s.FinishDeliveries(ctx, worker, []Job{j}, []Finish{f})
	if err != nil {
		return false, err
	}
	return held[0], nil
}

// FinishDeliveries records the outcomes of the jobs of one request (fs[i]
// is jobs[i]'s) in one transaction, each as FinishDelivery would: held[i]
// is false when jobs[i]'s lease was lost, and its outcome is dropped. One
// transaction for a request of 20 names keeps the recording from costing
// more than the request.
func (s *Store) FinishDeliveries(ctx context.Context, worker string, jobs []Job, fs []Finish) ([]bool, error) {
	held := make([]bool, len(jobs))
	recs, fams, ids := make([]int64, len(jobs)), make([]int16, len(jobs)), make([]int64, len(jobs))
	for i, j := range jobs {
		recs[i], fams[i], ids[i] = j.RecordID, int16(j.Family), j.ID
	}
	err := s.InTx(ctx, func(q *Queries) error {
		clear(held)
		// One statement locks the records' states (in Desire's order) and
		// reads whether this worker still holds each job and whether a
		// newer one waits. A deleted record's row is gone, and its jobs
		// with it: not held.
		rows, err := q.db.Query(ctx, `SELECT v.i,
				EXISTS (SELECT 1 FROM deliveries WHERE id = v.id AND state = 'running' AND leased_by = $4),
				EXISTS (SELECT 1 FROM deliveries WHERE record_id = v.r AND family = v.f AND state = 'pending')
			FROM record_states s JOIN unnest($1::bigint[], $2::smallint[], $3::bigint[]) WITH ORDINALITY AS v(r, f, id, i)
				ON s.record_id = v.r AND s.family = v.f
			ORDER BY s.record_id, s.family FOR UPDATE OF s`, recs, fams, ids, worker)
		if err != nil {
			return err
		}
		newer := make([]bool, len(jobs))
		for rows.Next() {
			var i int
			var h, n bool
			if err := rows.Scan(&i, &h, &n); err != nil {
				rows.Close()
				return err
			}
			held[i-1], newer[i-1] = h, n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		b := &pgx.Batch{}
		// An outcome lost with the database (a crash before the WAL reached
		// the disk) leaves the job running until its lease ends, when it is
		// sent again, as after a crash of the worker: it need not wait
		// for the disk, which doubled the time a job holds its worker.
		b.Queue(`SELECT set_config('synchronous_commit', 'off', true)`)
		for i, j := range jobs {
			if !held[i] {
				continue
			}
			f := fs[i]
			if err := finish(b, j, f, newer[i]); err != nil {
				return err
			}
			if e := f.Event; e != nil {
				if e.Data == nil {
					e.Data = json.RawMessage(`{}`)
				}
				b.Queue(insertEvent, e.Kind, e.HostID, e.RecordID, e.ServiceID, e.Actor, e.Message, e.Data)
			}
		}
		if b.Len() == 1 {
			return nil
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
			updated_at = now(), result = $2, advice = $3 WHERE id = $1`, j.ID, msg, f.Advice)
		b.Queue(`UPDATE record_states SET delivered = $3, last_success_at = now(), last_attempt_at = now(),
			message = $4, advice = $6, updated_at = now(),
			state = CASE WHEN $5 THEN state WHEN desired IS NOT DISTINCT FROM $3 THEN 'delivered' ELSE state END,
			attempts = CASE WHEN $5 THEN attempts ELSE 0 END,
			next_attempt_at = CASE WHEN $5 THEN next_attempt_at ELSE NULL END
			WHERE record_id = $1 AND family = $2`, j.RecordID, j.Family, j.Address, msg, newer, f.Advice)
	case OutcomeRetry, OutcomeBlocked:
		state := SyncRetrying
		if f.Outcome == OutcomeBlocked {
			state = SyncBlocked
		}
		switch {
		case newer && f.Outcome == OutcomeBlocked:
			// The newer job inherits the block: the provider asked for a pause.
			b.Queue(`UPDATE deliveries SET state = 'superseded', lease_until = NULL, finished_at = now(),
				updated_at = now(), result = $2, advice = $3 WHERE id = $1`, j.ID, msg, f.Advice)
			b.Queue(`UPDATE deliveries SET next_attempt_at = greatest(next_attempt_at, $3)
				WHERE record_id = $1 AND family = $2 AND state = 'pending'`, j.RecordID, j.Family, f.NextAttempt)
		case newer:
			b.Queue(`UPDATE deliveries SET state = 'superseded', lease_until = NULL, finished_at = now(),
				updated_at = now(), result = $2, advice = $3 WHERE id = $1`, j.ID, msg, f.Advice)
			state = SyncPending
		default:
			b.Queue(`UPDATE deliveries SET state = 'pending', lease_until = NULL, leased_by = NULL,
				service_id = (SELECT service_id FROM records WHERE id = $4),
				next_attempt_at = $2, updated_at = now(), result = $3, advice = $5 WHERE id = $1`, j.ID, f.NextAttempt, msg, j.RecordID, f.Advice)
		}
		b.Queue(`UPDATE record_states SET state = $3, attempts = $4, next_attempt_at = $5,
			last_attempt_at = now(), message = $6, advice = $7, updated_at = now() WHERE record_id = $1 AND family = $2`,
			j.RecordID, j.Family, state, j.Attempts, f.NextAttempt, msg, f.Advice)
	case OutcomeFailed:
		b.Queue(`UPDATE deliveries SET state = 'failed', lease_until = NULL, finished_at = now(),
			updated_at = now(), result = $2, advice = $3 WHERE id = $1`, j.ID, msg, f.Advice)
		b.Queue(`UPDATE record_states SET state = CASE WHEN $3 THEN 'pending' ELSE 'failed' END,
			attempts = $4, next_attempt_at = NULL, last_attempt_at = now(), message = $5, advice = $6, updated_at = now()
			WHERE record_id = $1 AND family = $2`, j.RecordID, j.Family, newer, j.Attempts, msg, f.Advice)
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
			service_id = (SELECT r.service_id FROM records r WHERE r.id = d.record_id),
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

// NextDue tells when the earliest job that is not due yet becomes due (zero
// when none waits). Jobs due already that a claim left waiting start when
// a running job ends, which wakes the dispatcher that ran it.
func (q *Queries) NextDue(ctx context.Context) (time.Time, error) {
	var t *time.Time
	err := q.db.QueryRow(ctx, `SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending' AND next_attempt_at > now()`).Scan(&t)
	if err != nil || t == nil {
		return time.Time{}, mapErr("next due", err)
	}
	return *t, nil
}

// Delivery is one row of a record's delivery history.
type Delivery struct {
	ID            int64
	RecordID      int64
	Family        netcalc.Family
	Address       netip.Addr
	Reason        Reason
	State         DeliveryState
	Attempts      int
	NextAttemptAt time.Time
	Result        string
	// Advice is what the user can do about the result; empty when nothing.
	Advice     string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
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
