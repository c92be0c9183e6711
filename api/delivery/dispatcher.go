package delivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/retry"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/worker"
)

// Config tunes a dispatcher.
type Config struct {
	// Workers is how many requests this process has in flight at once.
	// A service with work takes at most its share of them (Workers divided
	// by one more than the services with work), so that another service's
	// delivery always finds a free one.
	Workers int
	// PerService is how many requests one service has in flight at once,
	// counted over every dispatcher on the database.
	PerService int
	Lease      time.Duration // how long a claim holds without renewal
	Poll       time.Duration // safety poll when no notification arrives
	RetryBase  time.Duration // first retry delay, doubled per attempt
	RetryMax   time.Duration // cap of the retry delay
	BlockFor   time.Duration // pause after a provider answered abuse
	// Observe, when set, is told every attempt's protocol, result and duration (metrics).
	Observe func(protocol string, r provider.Result, d time.Duration)
}

// The dispatcher's defaults, declared once: DefaultConfig and the serve
// options' defaults (api/config) are these.
const (
	DefaultWorkers    = 64
	DefaultPerService = 32
	DefaultLease      = time.Minute
	DefaultPoll       = 5 * time.Second
	DefaultBlockFor   = 6 * time.Hour
)

// DefaultConfig is what `serve` uses unless its options say otherwise.
func DefaultConfig() Config {
	return Config{Workers: DefaultWorkers, PerService: DefaultPerService, Lease: DefaultLease, Poll: DefaultPoll,
		RetryBase: retry.DefaultBase, RetryMax: retry.DefaultMax, BlockFor: DefaultBlockFor}
}

// Providers finds the provider of a protocol by its stored name: the
// registry of api/provider, which the dispatcher knows only through it.
type Providers interface {
	Provider(name string) (provider.Provider, bool)
}

// Dispatcher claims due deliveries from the outbox and sends them. Several
// dispatchers (one per replica) can share one database.
type Dispatcher struct {
	store     *store.Store
	box       *secretbox.Box
	providers Providers
	cfg       Config
	log       *slog.Logger
	worker    string

	wake  chan struct{} // new work may be due: claim now
	freed chan struct{} // a request ended: claim soon

	mu       sync.Mutex
	inFlight int                // requests (units) running here
	running  map[int64]struct{} // their jobs, whose leases are renewed
	wg       sync.WaitGroup
}

// NewDispatcher builds a dispatcher that sends through providers.
func NewDispatcher(s *store.Store, box *secretbox.Box, providers Providers, cfg Config, log *slog.Logger) *Dispatcher {
	var b [4]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	return &Dispatcher{store: s, box: box, providers: providers, cfg: cfg, log: log,
		worker: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:])),
		wake:   make(chan struct{}, 1), freed: make(chan struct{}, 1), running: map[int64]struct{}{}}
}

// Worker is the name this dispatcher leases jobs under.
func (d *Dispatcher) Worker() string { return d.worker }

// Wake makes the dispatcher look for due jobs now.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// batchWait is how long a freed worker waits for others before claiming,
// while most workers are busy: claiming for one worker at a time would make
// the claims, not the upstreams, the limit of the delivery rate.
const batchWait = 20 * time.Millisecond

// Run dispatches until ctx ends. Jobs in flight then are abandoned with
// their lease: another dispatcher (or this one after a restart) takes them
// over when it expires, so nothing is lost. Its claim loop is not a
// worker.Loop (as the lease renewal is): it wakes on notifications, freed
// workers and the reclaim tick alike, with a wait that depends on what runs.
func (d *Dispatcher) Run(ctx context.Context) {
	go d.listen(ctx)
	go d.renewLeases(ctx)
	reclaim := time.NewTicker(max(d.cfg.Lease/2, time.Second))
	defer reclaim.Stop()
	timer := time.NewTimer(0)
	defer timer.Stop()
	batch := max(1, d.cfg.Workers/8)
	now := true           // claim at the next turn, whatever is free
	var claimBy time.Time // when a freed worker stops waiting for others
	for {
		next := d.cfg.Poll
		free, busy := d.free()
		switch {
		case free == 0:
			// A running request wakes the loop when it ends.
		case now || free >= batch || busy == 0 || (!claimBy.IsZero() && !time.Now().Before(claimBy)):
			claimBy = time.Time{}
			claimed, err := d.claim(ctx, free)
			switch {
			case err != nil && ctx.Err() == nil:
				d.log.Warn("claiming deliveries failed", "err", err)
			case err == nil && claimed < free:
				// Nothing more can start now; wait for what becomes due.
				if due, err := d.store.NextDue(ctx); err == nil && !due.IsZero() {
					next = min(next, max(time.Until(due), 10*time.Millisecond))
				}
			}
		default:
			if claimBy.IsZero() {
				claimBy = time.Now().Add(batchWait)
			}
			next = min(next, time.Until(claimBy))
		}
		now = false
		timer.Reset(next)
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return
		case <-d.wake:
			now = true
		case <-d.freed:
		case <-timer.C:
			now = true
		case <-reclaim.C:
			if n, err := d.store.ReclaimExpired(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("reclaiming expired leases failed", "err", err)
			} else if n > 0 {
				d.log.Info("reclaimed deliveries whose worker stopped", "count", n)
			}
		}
	}
}

// listen turns NOTIFY on the delivery channel into wake-ups.
func (d *Dispatcher) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := d.store.Pool.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, "LISTEN "+store.NotifyChannel); err != nil {
				return err
			}
			defer func() {
				// Leave the pooled connection clean.
				uctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, _ = conn.Exec(uctx, "UNLISTEN *")
				cancel()
			}()
			d.Wake() // catch up on what was queued while not listening
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					return err
				}
				d.Wake()
			}
		}()
		if ctx.Err() != nil {
			return
		}
		d.log.Debug("listen for deliveries interrupted", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (d *Dispatcher) renewLeases(ctx context.Context) {
	worker.Loop{What: "renewing leases", Every: max(d.cfg.Lease/3, 100*time.Millisecond), Log: d.log, Step: func(ctx context.Context) error {
		d.mu.Lock()
		ids := make([]int64, 0, len(d.running))
		for id := range d.running {
			ids = append(ids, id)
		}
		d.mu.Unlock()
		if len(ids) == 0 {
			return nil
		}
		return d.store.ExtendLeases(ctx, d.worker, ids, d.cfg.Lease)
	}}.Run(ctx)
}

// free tells how many more requests can start here, and how many run.
func (d *Dispatcher) free() (free, busy int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return max(d.cfg.Workers-d.inFlight, 0), d.inFlight
}

// claim leases what may start now on free workers and starts it.
func (d *Dispatcher) claim(ctx context.Context, free int) (int, error) {
	jobs, err := d.store.ClaimDeliveries(ctx, store.Claim{Worker: d.worker, Lease: d.cfg.Lease, Free: free,
		Workers: d.cfg.Workers, PerService: d.cfg.PerService, Together: d.combines, Batch: d.batch, Joins: d.joins})
	if err != nil {
		return 0, err
	}
	reqs := d.requests(jobs)
	d.mu.Lock()
	d.inFlight += len(reqs)
	for _, j := range jobs {
		d.running[j.ID] = struct{}{}
	}
	d.mu.Unlock()
	for _, req := range reqs {
		d.wg.Add(1)
		go d.run(ctx, req)
	}
	return len(reqs), nil
}

// batch is the most records j's service takes in one request.
func (d *Dispatcher) batch(j store.Job) int {
	p, ok := d.providers.Provider(j.Protocol)
	if !ok {
		return 1
	}
	return p.BatchSize(j.Settings)
}

// joins tells whether j may go in lead's request, beyond what the claim
// compares itself: the same password, compared decrypted (every seal has
// its own nonce, so one password typed into two records gives two
// ciphertexts), and when the service sends both families together, the
// same address of the other family.
func (d *Dispatcher) joins(lead, j store.Job) bool {
	if d.combines(lead) && lead.Other != j.Other {
		return false
	}
	switch {
	case lead.Password == nil || j.Password == nil:
		return lead.Password == nil && j.Password == nil
	case lead.PasswordKey == j.PasswordKey && bytes.Equal(lead.Password, j.Password):
		return true
	}
	a, err := d.box.Open(lead.Password, lead.PasswordKey)
	if err != nil {
		return false
	}
	b, err := d.box.Open(j.Password, j.PasswordKey)
	return err == nil && a == b
}

// requests groups claimed jobs into the requests they go in (Job.Request),
// each a list of units (together), its leading job's unit first.
func (d *Dispatcher) requests(jobs []store.Job) [][][]store.Job {
	at := map[int64]int{}
	var grouped [][]store.Job
	for _, j := range jobs {
		i, ok := at[j.Request]
		if !ok {
			i = len(grouped)
			at[j.Request] = i
			grouped = append(grouped, nil)
		}
		grouped[i] = append(grouped[i], j)
	}
	reqs := make([][][]store.Job, len(grouped))
	for i, g := range grouped {
		reqs[i] = d.together(g)
	}
	return reqs
}

// combines tells whether j's service takes a record's two families in one
// request.
func (d *Dispatcher) combines(j store.Job) bool {
	p, ok := d.providers.Provider(j.Protocol)
	return ok && p.Combines(j.Settings)
}

// together groups claimed jobs into what is sent at once: a record's two
// families in one request when its protocol sends both, every
// other job alone. A claim never holds two jobs of one (record, family).
func (d *Dispatcher) together(jobs []store.Job) [][]store.Job {
	var units [][]store.Job
	single := map[int64]int{} // record → its unit still without a partner
	for _, j := range jobs {
		if d.combines(j) {
			if i, ok := single[j.RecordID]; ok {
				units[i] = append(units[i], j)
				delete(single, j.RecordID)
				continue
			}
			single[j.RecordID] = len(units)
		}
		units = append(units, []store.Job{j})
	}
	return units
}

// run makes one request for its units (each one job, or a record's two
// families together; several records' units when the protocol batches)
// and records the outcome of each job: its unit's.
func (d *Dispatcher) run(ctx context.Context, req [][]store.Job) {
	defer func() {
		d.mu.Lock()
		for _, unit := range req {
			for _, j := range unit {
				delete(d.running, j.ID)
			}
		}
		d.inFlight--
		d.mu.Unlock()
		d.wg.Done()
		select { // a worker is free, and the name may have a job waiting
		case d.freed <- struct{}{}:
		default:
		}
	}()
	start := time.Now()
	outs := d.send(ctx, req)
	if ctx.Err() != nil {
		return // shutting down: the lease brings the jobs back
	}
	var jobs []store.Job
	var fs []store.Finish
	var jobOuts []provider.Outcome
	var pairs []bool
	for i, unit := range req {
		if d.cfg.Observe != nil {
			d.cfg.Observe(unit[0].Protocol, outs[i].Result, time.Since(start))
		}
		for _, j := range unit {
			jobs, fs, jobOuts = append(jobs, j), append(fs, d.finish(j, outs[i])), append(jobOuts, outs[i])
			pairs = append(pairs, len(unit) > 1)
		}
	}
	// Each job ends on its own (its lease, a newer address), all in one
	// transaction.
	held, err := d.store.FinishDeliveries(ctx, d.worker, jobs, fs)
	for i, j := range jobs {
		d.record(j, jobOuts[i], fs[i], err == nil && held[i], err, pairs[i], len(req), start)
	}
}

// record logs the outcome of one job, stored as f (held: the worker still
// held the job; err: storing failed); names is how many records its
// request carried.
func (d *Dispatcher) record(j store.Job, out provider.Outcome, f store.Finish, held bool, err error, together bool, names int, start time.Time) {
	log := d.log.With("delivery", j.ID, "record", j.RecordID, "fqdn", j.FQDN, "family", j.Family,
		"address", j.Address.String(), "service", j.ServiceID, "attempt", j.Attempts, "outcome", out.Result.String(),
		"duration_ms", time.Since(start).Milliseconds())
	if together {
		log = log.With("both_families", true)
	}
	if names > 1 {
		log = log.With("names_in_request", names)
	}
	if out.Answer != "" {
		log = log.With("answer", out.Answer) // more than the API shows, for diagnosis
	}
	if out.Advice != "" {
		log = log.With("advice", out.Advice)
	}
	switch {
	case err != nil:
		log.Warn("recording a delivery outcome failed; the lease will bring it back", "err", err)
	case !held:
		log.Warn("delivery outcome dropped: the lease had expired and the job was taken over")
	case out.Result == provider.Delivered:
		log.Info(out.Result.String(), "message", out.Message) // "delivered", which operators grep for
	case f.NextAttempt.IsZero(): // failed: no further attempt
		log.Warn("delivery not done", "message", out.Message)
	default:
		log.Warn("delivery not done", "message", out.Message, "next_attempt", f.NextAttempt.UTC())
	}
}

// send makes one request for the units of req and returns one outcome per
// unit. A unit whose request cannot be built (a password that does not
// decrypt) gets its own failure and stays out of the request.
func (d *Dispatcher) send(ctx context.Context, req [][]store.Job) []provider.Outcome {
	outs := make([]provider.Outcome, len(req))
	p, ok := d.providers.Provider(req[0][0].Protocol)
	if !ok {
		for i := range outs {
			outs[i] = provider.Outcome{Result: provider.Failed, Message: fmt.Sprintf("protocol %q is not supported by this version", req[0][0].Protocol)}
		}
		return outs
	}
	var rs []provider.Request[json.RawMessage]
	var at []int
	for i, unit := range req {
		r, failed := d.request(unit)
		if failed != nil {
			outs[i] = *failed
			continue
		}
		rs, at = append(rs, r), append(at, i)
	}
	var got []provider.Outcome
	switch len(rs) {
	case 0:
	case 1:
		got = []provider.Outcome{p.Send(ctx, rs[0])}
	default:
		got = p.SendBatch(ctx, rs)
	}
	for k, o := range got {
		outs[at[k]] = o
	}
	return outs
}

// request is what a unit asks of its service: its first job, and with a
// partner, the partner's address as the other family's. It returns the
// outcome instead when a secret does not decrypt.
func (d *Dispatcher) request(unit []store.Job) (provider.Request[json.RawMessage], *provider.Outcome) {
	j := unit[0]
	// Other hosts' records of the name at the service add their addresses:
	// protocols that publish RRsets send the union, the others (which the
	// API keeps from sharing names) the first, the job's own. What those
	// records delivered is the broker's too.
	r := provider.Request[json.RawMessage]{FQDN: j.FQDN, Family: j.Family, Addresses: append([]netip.Addr{j.Address}, j.Shared...),
		Delivered: append(addrs(j.Delivered), j.SharedDelivered...), KeepOthers: j.KeepOthers, Other: addrs(j.Other),
		Username: j.Username, Settings: j.Settings}
	if len(unit) > 1 {
		r.Other = []netip.Addr{unit[1].Address}
	}
	if j.Password != nil {
		pw, err := d.box.Open(j.Password, j.PasswordKey)
		if err != nil {
			return r, &provider.Outcome{Result: provider.Failed, Message: "the record's password cannot be decrypted (was the secret key changed?); set it again"}
		}
		r.Password = pw
	}
	if j.Credentials != nil {
		c, err := d.box.Open(j.Credentials, j.CredKey)
		if err != nil {
			return r, &provider.Outcome{Result: provider.Failed, Message: "the service's credential cannot be decrypted (was the secret key changed?); set it again"}
		}
		r.Credential = c
	}
	return r, nil
}

// addrs is a as a list: empty for the zero Addr.
func addrs(a netip.Addr) []netip.Addr {
	if !a.IsValid() {
		return nil
	}
	return []netip.Addr{a}
}

// finish turns an outcome into the outbox change and its history line.
func (d *Dispatcher) finish(j store.Job, out provider.Outcome) store.Finish {
	f := store.Finish{Message: out.Message, Advice: out.Advice}
	var kind store.EventKind
	switch out.Result {
	case provider.Delivered:
		f.Outcome, kind = store.OutcomeDelivered, store.EventDeliveryDelivered
	case provider.Retry:
		f.Outcome, kind = store.OutcomeRetry, store.EventDeliveryRetry
		f.NextAttempt = time.Now().Add(max(d.Backoff(j.Attempts), out.RetryAfter))
	case provider.Blocked:
		f.Outcome, kind = store.OutcomeBlocked, store.EventDeliveryBlocked
		f.NextAttempt = time.Now().Add(max(d.cfg.BlockFor, out.RetryAfter))
	default:
		f.Outcome, kind = store.OutcomeFailed, store.EventDeliveryFailed
	}
	rid, hid, sid := j.RecordID, j.HostID, j.ServiceID
	fields := map[string]any{"delivery_id": j.ID, "family": j.Family, "address": j.Address.String(),
		"attempt": j.Attempts, "outcome": out.Result.String()}
	if out.Advice != "" {
		fields["advice"] = out.Advice
	}
	data, _ := json.Marshal(fields)
	f.Event = &store.Event{Kind: kind, HostID: &hid, RecordID: &rid, ServiceID: &sid, Actor: "dispatcher",
		Message: fmt.Sprintf("%s %s → %s: %s", j.FQDN, j.Family.RecordType(), j.Address, out.Message), Data: data}
	return f
}

// Backoff is the delay before retry number attempt+1 (retry.Backoff with
// RetryBase and RetryMax).
func (d *Dispatcher) Backoff(attempt int) time.Duration {
	return retry.Backoff(attempt, d.cfg.RetryBase, d.cfg.RetryMax)
}
