// Package drift is the drift check: for services that ask for it, it
// resolves each delivered record's name at a configured resolver and,
// when DNS publishes something other than what was delivered (someone
// edited the zone, the provider lost the record), queues the delivery
// again. Findings are events: drift.detected per record, drift.error at
// most once per service and check.
package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/ddnsbroker/ddnsbroker/api/broker"
	"github.com/ddnsbroker/ddnsbroker/api/provider"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/worker"
)

// lockKey names the advisory lock that lets one replica check at a time.
const lockKey = 0x6464647269667421 // "dddrift!"

// Defaults of a Checker.
const (
	DefaultTimeout     = 3 * time.Second
	DefaultConcurrency = 8
	// DefaultSettle is how long after a delivery a record is left alone:
	// providers take a while to publish, and a resolver caches.
	DefaultSettle = 5 * time.Minute
	// Tick is how often Run looks for services whose interval has elapsed.
	Tick = time.Minute
)

// Event kinds.
const (
	KindDetected = store.EventDriftDetected
	KindError    = store.EventDriftError
)

// Checker runs drift checks. The time of each service's last check is
// kept in memory: a restart checks every service again at once.
type Checker struct {
	Store *store.Store
	// Broker decides what a difference sends (DriftFound).
	Broker *broker.Broker
	Log    *slog.Logger
	// Timeout bounds one DNS query; 0 means 3 s.
	Timeout time.Duration
	// Concurrency bounds the queries in flight per service; 0 means 8.
	Concurrency int
	// Settle is how long after its last delivery a record is not checked;
	// 0 means 5 minutes.
	Settle time.Duration

	mu   sync.Mutex
	last map[int64]time.Time // service id → start of its last check
}

// New returns a Checker with the default timeout and concurrency that
// tells b what it finds.
func New(st *store.Store, b *broker.Broker, log *slog.Logger) *Checker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Checker{Store: st, Broker: b, Log: log}
}

// Result counts what one pass did.
type Result struct {
	Services int // services checked
	Queries  int // names resolved (per family)
	Drifted  int // (record, family) pairs found drifted
	Queued   int // deliveries queued
	Errors   int // services whose resolver failed at least once
	Skipped  bool
}

// Run checks once at start and then every minute until ctx ends.
func (c *Checker) Run(ctx context.Context) {
	worker.Loop{What: "drift check", Every: Tick, Eager: true, Log: c.log(), Step: func(ctx context.Context) error {
		res, err := c.Check(ctx, time.Now())
		if err == nil && res.Drifted > 0 {
			c.log().Info("drift check found drifted records", "services", res.Services, "drifted", res.Drifted, "queued", res.Queued)
		}
		return err
	}}.Run(ctx)
}

func (c *Checker) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

// Check runs one pass: every service with a drift resolver whose interval
// has elapsed at now is checked. Another replica holding the lock makes
// it pass over this round (the result says Skipped). The pass is one transaction, so the lock
// holds until its findings are stored.
func (c *Checker) Check(ctx context.Context, now time.Time) (Result, error) {
	var (
		res     Result
		checked []int64
	)
	err := c.Store.InTx(ctx, func(q *store.Queries) error {
		res, checked = Result{}, nil
		ok, err := q.TryLock(ctx, lockKey)
		if err != nil {
			return err
		}
		if !ok {
			res.Skipped = true
			return nil
		}
		services, err := q.Services(ctx)
		if err != nil {
			return err
		}
		// Resolve everything first, then write: the rows a finding locks
		// stay locked only for the writing, not while other services'
		// resolvers are asked.
		var found []finding
		var errEvents []store.Event
		for _, svc := range services {
			d, err := provider.ParseDrift(svc.Settings)
			if err != nil || d.Resolver == "" || !c.due(svc.ID, d.Interval, now) {
				continue
			}
			f, e, err := c.checkService(ctx, q, svc, d, now, &res)
			if err != nil {
				return err
			}
			found = append(found, f...)
			if e != nil {
				errEvents = append(errEvents, *e)
			}
			checked = append(checked, svc.ID)
		}
		for _, f := range found {
			n, ok, err := c.Broker.DriftFound(ctx, q, f.desire.RecordID, f.desire.Family, f.desire.Address)
			if err != nil {
				return err
			}
			if !ok {
				continue // a newer address came meanwhile
			}
			res.Queued += n
			if err := q.AddEvent(ctx, f.event); err != nil {
				return err
			}
		}
		for _, e := range errEvents {
			if err := q.AddEvent(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		for _, id := range checked {
			c.mark(id, now)
		}
	}
	return res, err
}

// finding is a drifted (record, family): the delivery to queue and the
// event that says why.
type finding struct {
	desire store.Desire
	event  store.Event
}

func (c *Checker) due(serviceID int64, interval time.Duration, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	last, ok := c.last[serviceID]
	return !ok || now.Sub(last) >= interval
}

func (c *Checker) mark(serviceID int64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[int64]time.Time{}
	}
	c.last[serviceID] = now
}

// answer is what the resolver said about one (record, family).
type answer struct {
	published []netip.Addr
	err       error
}

// checkService resolves the service's delivered records and returns what
// drifted and, when the resolver failed, the one drift.error event.
func (c *Checker) checkService(ctx context.Context, q *store.Queries, svc store.Service, d provider.Drift, now time.Time,
	res *Result) ([]finding, *store.Event, error) {
	settle := c.Settle
	if settle <= 0 {
		settle = DefaultSettle
	}
	targets, err := q.DriftTargets(ctx, svc.ID, now.Add(-settle))
	if err != nil {
		return nil, nil, err
	}
	res.Services++
	if len(targets) == 0 {
		return nil, nil, nil
	}
	answers := c.resolveAll(ctx, d.Resolver, targets)
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	serviceID := svc.ID
	var firstErr error
	failed := 0
	var found []finding
	for i, t := range targets {
		a := answers[i]
		if a.err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s %s: %w", t.FQDN, t.Family.RecordType(), a.err)
			}
			failed++
			continue
		}
		res.Queries++
		if slices.Contains(a.published, t.Address) {
			continue
		}
		res.Drifted++
		published := make([]string, len(a.published))
		for j, p := range a.published {
			published[j] = p.String()
		}
		shown := strings.Join(published, ", ")
		if shown == "" {
			shown = "nothing"
		}
		data, _ := json.Marshal(map[string]any{"name": t.FQDN, "family": t.Family, "expected": t.Address.String(),
			"published": published, "resolver": d.Resolver})
		recordID, hostID := t.RecordID, t.HostID
		found = append(found, finding{
			desire: store.Desire{RecordID: t.RecordID, Family: t.Family, Address: t.Address, Reason: store.ReasonDrift, Force: true},
			event: store.Event{Kind: KindDetected, HostID: &hostID, RecordID: &recordID, ServiceID: &serviceID,
				Actor: "drift check", Data: data,
				Message: fmt.Sprintf("%s %s: %s publishes %s, %s was delivered; delivering again", t.FQDN, t.Family.RecordType(),
					d.Resolver, shown, t.Address)},
		})
	}
	if firstErr == nil {
		return found, nil, nil
	}
	res.Errors++
	data, _ := json.Marshal(map[string]any{"resolver": d.Resolver, "failed": failed, "checked": len(targets), "error": firstErr.Error()})
	return found, &store.Event{Kind: KindError, ServiceID: &serviceID, Actor: "drift check", Data: data,
		Message: fmt.Sprintf("drift check of service %s: %d of %d lookups at %s failed; first: %v", svc.Name, failed, len(targets),
			d.Resolver, firstErr)}, nil
}

// resolveAll asks the resolver about each target, at most Concurrency at
// a time. Once the resolver does not answer at all (timeout, refused
// connection), the remaining lookups of this service are not sent: they
// would only wait for the same timeout.
func (c *Checker) resolveAll(ctx context.Context, resolver string, targets []store.DriftTarget) []answer {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	workers := c.Concurrency
	if workers <= 0 {
		workers = DefaultConcurrency
	}
	client := &dns.Client{Net: "udp", Timeout: timeout}
	out := make([]answer, len(targets))
	var (
		mu   sync.Mutex
		down error
	)
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, t := range targets {
		mu.Lock()
		d := down
		mu.Unlock()
		if d != nil {
			out[i] = answer{err: fmt.Errorf("not asked: %w", d)}
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			out[i] = answer{err: ctx.Err()}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			a, transport := resolve(ctx, client, resolver, t)
			out[i] = a
			if transport {
				mu.Lock()
				if down == nil {
					down = a.err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

// resolve asks for the A or AAAA records of t's name. transport is true
// when no answer came at all. NXDOMAIN and an empty answer are answers:
// the name publishes nothing.
func resolve(ctx context.Context, c *dns.Client, resolver string, t store.DriftTarget) (answer, bool) {
	qtype := dns.TypeA
	if t.Family == 6 {
		qtype = dns.TypeAAAA
	}
	name := dns.Fqdn(strings.ToLower(t.FQDN))
	if _, ok := dns.IsDomainName(name); !ok {
		return answer{err: errors.New("invalid name")}, false
	}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	qctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	r, _, err := c.ExchangeContext(qctx, m, resolver)
	if err == nil && r != nil && r.Truncated {
		tcp := *c
		tcp.Net = "tcp"
		r, _, err = tcp.ExchangeContext(qctx, m, resolver)
	}
	if err != nil || r == nil {
		if err == nil {
			err = errors.New("no answer")
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			err = errors.New("timeout: no answer within " + c.Timeout.String())
		}
		return answer{err: err}, true
	}
	if r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		return answer{err: errors.New(dns.RcodeToString[r.Rcode])}, false
	}
	var a answer
	for _, rr := range r.Answer {
		var ip net.IP
		switch v := rr.(type) {
		case *dns.A:
			if qtype == dns.TypeA {
				ip = v.A
			}
		case *dns.AAAA:
			if qtype == dns.TypeAAAA {
				ip = v.AAAA
			}
		}
		if addr, ok := netip.AddrFromSlice(ip); ok {
			a.published = append(a.published, addr.Unmap())
		}
	}
	return a, false
}
