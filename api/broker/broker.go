// Package broker applies address updates: it stores a host's new addresses,
// derives every record's effective addresses and queues the deliveries that
// make the upstreams agree, all in one transaction, so that an update that
// was answered "good" is never lost.
package broker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/worker"
)

// Broker applies updates to hosts and records.
type Broker struct {
	store *store.Store
	log   *slog.Logger
	seen  seenBatch
	// heavy holds a token per update of a host with heavyRecords records
	// or more running now: such updates take turns, so that however many
	// big hosts update at once, the database keeps room for the others.
	heavy chan struct{}
	sizes sync.Map // host id → its records at its last update, for heavy hosts
}

// heavyRecords is how many records make a host's update heavy; one of the
// limit's size (DDNSBROKER_MAX_RECORDS_PER_HOST, 500) takes some 50 ms.
const heavyRecords = 100

// New returns a broker; call Run to write batched last-seen times.
func New(s *store.Store, log *slog.Logger) *Broker {
	return &Broker{store: s, log: log, seen: seenBatch{pending: map[int64]time.Time{}},
		heavy: make(chan struct{}, max(2, runtime.NumCPU()/2))}
}

// Addresses are a host's addresses; zero values mean none (or, in an
// update, "keep as it is").
type Addresses struct {
	IPv4   netip.Addr
	IPv6   netip.Addr
	Prefix netip.Prefix
}

func (a Addresses) merge(u Addresses) Addresses {
	if u.IPv4.IsValid() {
		a.IPv4 = u.IPv4
	}
	if u.IPv6.IsValid() {
		a.IPv6 = u.IPv6
	}
	if u.Prefix.IsValid() {
		a.Prefix = u.Prefix
	}
	return a
}

func hostAddresses(h store.Host) Addresses {
	return Addresses{IPv4: h.IPv4, IPv6: h.IPv6, Prefix: h.Prefix}
}

// Result is a host's state after an update.
type Result struct {
	Changed bool
	Addresses
	Queued int // deliveries queued
}

// Update applies the addresses a router reported. host is the row read when
// the request was authenticated: when the update changes nothing compared to
// it, the only cost is a batched last-seen write (the nochg path). Otherwise
// the host row is locked and re-read, so concurrent updates of one host apply
// one after the other. host.RecordCount, when known, says how heavy the
// update is; heavy updates wait for their turn (at most until ctx ends).
func (b *Broker) Update(ctx context.Context, host store.Host, u Addresses, actor string) (Result, error) {
	if next := hostAddresses(host).merge(u); next == hostAddresses(host) {
		b.seen.mark(host.ID)
		return Result{Addresses: next}, nil
	}
	if b.isHeavy(host) {
		select {
		case b.heavy <- struct{}{}:
			defer func() { <-b.heavy }()
		case <-ctx.Done():
			return Result{}, fmt.Errorf("broker: update host %d: waiting for the turn of hosts with many records: %w", host.ID, ctx.Err())
		}
	}
	var res Result
	err := b.store.InTx(ctx, func(q *store.Queries) error {
		h, err := q.LockHost(ctx, host.ID)
		if err != nil {
			return err
		}
		res, err = b.apply(ctx, q, h, hostAddresses(h).merge(u), actor)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("broker: update host %d: %w", host.ID, err)
	}
	if !res.Changed {
		b.seen.mark(host.ID)
	}
	return res, nil
}

// SetAddresses replaces a host's addresses (an admin's manual edit: zero
// values clear). Run it inside the caller's transaction.
func (b *Broker) SetAddresses(ctx context.Context, q *store.Queries, hostID int64, a Addresses, actor string) (Result, error) {
	h, err := q.LockHost(ctx, hostID)
	if err != nil {
		return Result{}, err
	}
	return b.apply(ctx, q, h, a, actor)
}

func (b *Broker) apply(ctx context.Context, q *store.Queries, h store.Host, next Addresses, actor string) (Result, error) {
	prev := hostAddresses(h)
	if next == prev {
		return Result{Addresses: next}, nil
	}
	if err := q.SetHostAddresses(ctx, h.ID, store.HostAddresses(next)); err != nil {
		return Result{}, err
	}
	h.IPv4, h.IPv6, h.Prefix = next.IPv4, next.IPv6, next.Prefix
	queued, err := b.reconcile(ctx, q, h, nil, store.ReasonUpdate, false)
	if err != nil {
		return Result{}, err
	}
	data, _ := json.Marshal(map[string]string{
		"old_ipv4": addrText(prev.IPv4), "new_ipv4": addrText(next.IPv4),
		"old_ipv6": addrText(prev.IPv6), "new_ipv6": addrText(next.IPv6),
		"old_prefix": prefixText(prev.Prefix), "new_prefix": prefixText(next.Prefix),
	})
	hid := h.ID
	err = q.AddEvent(ctx, store.Event{Kind: store.EventAddressChanged, HostID: &hid, Actor: actor,
		Message: fmt.Sprintf("%s: %s (%d deliveries queued)", h.FQDN, describeChange(prev, next), queued), Data: data})
	return Result{Changed: true, Addresses: next, Queued: queued}, err
}

// reconcileHost recomputes the effective addresses of a host's records (all of
// them, or those in recordIDs) and queues what differs. force re-sends even
// what the upstream already holds: a resync, or a change of a record's
// configuration (name, service, credentials) that the upstream cannot know.
// Run it inside the caller's transaction after the change. The intents
// (intents.go) are what other packages call.
func (b *Broker) reconcileHost(ctx context.Context, q *store.Queries, hostID int64, recordIDs []int64, reason store.Reason, force bool) (int, error) {
	h, err := q.LockHost(ctx, hostID)
	if err != nil {
		return 0, err
	}
	return b.reconcile(ctx, q, h, recordIDs, reason, force)
}

// isHeavy tells whether an update of host has many records to go through,
// from what the caller knows and what the host had at its last update.
func (b *Broker) isHeavy(host store.Host) bool {
	n := host.RecordCount
	if last, ok := b.sizes.Load(host.ID); ok {
		n = max(n, last.(int))
	}
	return n >= heavyRecords
}

func (b *Broker) reconcile(ctx context.Context, q *store.Queries, h store.Host, recordIDs []int64, reason store.Reason, force bool) (int, error) {
	records, err := q.HostRecords(ctx, h.ID)
	if err != nil {
		return 0, err
	}
	if len(records) >= heavyRecords {
		b.sizes.Store(h.ID, len(records))
	} else {
		b.sizes.Delete(h.ID)
	}
	return q.Desire(ctx, desires(h, records, recordIDs, reason, force))
}

// desires are the deliveries records of h need: each family whose
// effective address differs from the one wanted last, or every family with
// force. recordIDs, when not nil, limits them to those records.
func desires(h store.Host, records []store.Record, recordIDs []int64, reason store.Reason, force bool) []store.Desire {
	var out []store.Desire
	for i := range records {
		r := &records[i]
		if recordIDs != nil && !contains(recordIDs, r.ID) {
			continue
		}
		for _, fam := range netcalc.Families() {
			eff := Effective(h, *r, fam)
			st := r.State(fam)
			if !force && eff == st.Desired {
				continue
			}
			out = append(out, store.Desire{RecordID: r.ID, Family: fam, Address: eff, Reason: reason, Force: force})
		}
	}
	return out
}

// Effective is what a record should point to for a family, or the zero
// address when the host or the record has the family off or no base.
func Effective(h store.Host, r store.Record, family netcalc.Family) netip.Addr {
	if family == netcalc.V4 {
		if !h.IPv4Enabled || !r.IPv4Enabled {
			return netip.Addr{}
		}
		a, _ := netcalc.Effective4(h.IPv4, r.IPv4Netmask, r.IPv4HostIdentifier)
		return a
	}
	if !h.IPv6Enabled || !r.IPv6Enabled {
		return netip.Addr{}
	}
	a, _ := netcalc.Effective6(h.IPv6, h.Prefix, r.IPv6Netmask, r.IPv6HostIdentifier)
	return a
}

func contains(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func describeChange(prev, next Addresses) string {
	var parts []string
	if prev.IPv4 != next.IPv4 {
		parts = append(parts, fmt.Sprintf("IPv4 %s → %s", addrOrNone(prev.IPv4), addrOrNone(next.IPv4)))
	}
	if prev.IPv6 != next.IPv6 {
		parts = append(parts, fmt.Sprintf("IPv6 %s → %s", addrOrNone(prev.IPv6), addrOrNone(next.IPv6)))
	}
	if prev.Prefix != next.Prefix {
		parts = append(parts, fmt.Sprintf("prefix %s → %s", prefixOrNone(prev.Prefix), prefixOrNone(next.Prefix)))
	}
	return strings.Join(parts, ", ")
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func prefixText(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}

func addrOrNone(a netip.Addr) string {
	if s := addrText(a); s != "" {
		return s
	}
	return "none"
}

func prefixOrNone(p netip.Prefix) string {
	if s := prefixText(p); s != "" {
		return s
	}
	return "none"
}

// seenBatch collects last-seen times of nochg updates, written together.
type seenBatch struct {
	mu      sync.Mutex
	pending map[int64]time.Time
}

func (s *seenBatch) mark(id int64) {
	s.mu.Lock()
	s.pending[id] = time.Now()
	s.mu.Unlock()
}

func (s *seenBatch) take() ([]int64, []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(s.pending))
	at := make([]time.Time, 0, len(s.pending))
	for id, t := range s.pending {
		ids = append(ids, id)
		at = append(at, t)
	}
	clear(s.pending)
	return ids, at
}

// FlushSeen writes the collected last-seen times now.
func (b *Broker) FlushSeen(ctx context.Context) error {
	ids, at := b.seen.take()
	if len(ids) == 0 {
		return nil
	}
	if err := b.store.TouchHostsSeen(ctx, ids, at); err != nil {
		// Put them back: a later flush may succeed.
		b.seen.mu.Lock()
		for i, id := range ids {
			if t, ok := b.seen.pending[id]; !ok || t.Before(at[i]) {
				b.seen.pending[id] = at[i]
			}
		}
		b.seen.mu.Unlock()
		return err
	}
	return nil
}

// Run flushes last-seen times every interval until ctx ends, then once more.
func (b *Broker) Run(ctx context.Context, interval time.Duration) {
	worker.Loop{What: "last-seen flush", Every: interval, Step: b.FlushSeen, Stop: b.FlushSeen, Log: b.log}.Run(ctx)
}
