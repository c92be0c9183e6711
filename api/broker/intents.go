package broker

import (
	"context"
	"net/netip"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// The broker is the only one to decide what is sent: the REST handlers,
// the import and the drift check say what happened through these intents
// (and a router's report through Update, an admin's address edit through
// SetAddresses), and the broker queues what that means. Each runs inside
// the caller's transaction, after the change, and returns how many
// deliveries it queued. Only this package calls store.Queries.Desire.

// RecordCreated: a new record goes out with its host's addresses, whatever
// the upstream may hold already.
func (b *Broker) RecordCreated(ctx context.Context, q *store.Queries, hostID, recordID int64) (int, error) {
	return b.reconcileHost(ctx, q, hostID, []int64{recordID}, store.ReasonConfig, true)
}

// RecordEdited: a record's configuration changed. resend says the
// upstream must be told again although the address may be the same (its
// name, service or credentials changed); otherwise only a changed address
// (netmask, host identifier, a family turned on or off) goes out.
func (b *Broker) RecordEdited(ctx context.Context, q *store.Queries, hostID, recordID int64, resend bool) (int, error) {
	return b.reconcileHost(ctx, q, hostID, []int64{recordID}, store.ReasonConfig, resend)
}

// HostEdited: an admin turned a host's families on or off; its records'
// addresses follow.
func (b *Broker) HostEdited(ctx context.Context, q *store.Queries, hostID int64) (int, error) {
	return b.reconcileHost(ctx, q, hostID, nil, store.ReasonConfig, false)
}

// ServiceChanged: what a service sends, or where, changed (settings,
// credential): every record of it is sent again.
func (b *Broker) ServiceChanged(ctx context.Context, q *store.Queries, serviceID int64) (int, error) {
	refs, err := q.ServiceRecords(ctx, serviceID)
	if err != nil {
		return 0, err
	}
	return b.resendRefs(ctx, q, refs, store.ReasonConfig)
}

// HostStale: the stale check reported hostID stale. Its records with
// drop_when_stale leave their shared names, so the other hosts' records of
// those names are sent again, now without its address.
func (b *Broker) HostStale(ctx context.Context, q *store.Queries, hostID int64) (int, error) {
	refs, err := q.SharedNameRecords(ctx, hostID, false)
	if err != nil {
		return 0, err
	}
	return b.resendRefs(ctx, q, refs, store.ReasonUpdate)
}

// HostBack: a host reported stale reported again. Its records with
// drop_when_stale rejoin their shared names: they are sent again, with the
// other hosts' addresses, even when its address did not change.
func (b *Broker) HostBack(ctx context.Context, q *store.Queries, hostID int64) (int, error) {
	refs, err := q.SharedNameRecords(ctx, hostID, true)
	if err != nil {
		return 0, err
	}
	return b.resendRefs(ctx, q, refs, store.ReasonUpdate)
}

// resendRefs sends records again, host by host.
func (b *Broker) resendRefs(ctx context.Context, q *store.Queries, refs []store.RecordRef, reason store.Reason) (int, error) {
	byHost := map[int64][]int64{}
	var hosts []int64
	for _, r := range refs {
		if byHost[r.HostID] == nil {
			hosts = append(hosts, r.HostID)
		}
		byHost[r.HostID] = append(byHost[r.HostID], r.ID)
	}
	queued := 0
	for _, h := range hosts {
		n, err := b.reconcileHost(ctx, q, h, byHost[h], reason, true)
		if err != nil {
			return queued, err
		}
		queued += n
	}
	return queued, nil
}

// ResyncRequested: an admin asked to send a host's records (recordIDs nil)
// or some of them again, even what the upstream holds already, failed and
// blocked ones included.
func (b *Broker) ResyncRequested(ctx context.Context, q *store.Queries, hostID int64, recordIDs []int64) (int, error) {
	return b.reconcileHost(ctx, q, hostID, recordIDs, store.ReasonResync, true)
}

// DriftFound: DNS publishes something else than address, which the
// upstream confirmed for (record, family): the address is sent again.
// Nothing is queued (false) when a newer address came meanwhile: its own
// delivery is on its way.
func (b *Broker) DriftFound(ctx context.Context, q *store.Queries, recordID int64, family netcalc.Family, address netip.Addr) (int, bool, error) {
	ok, err := q.LockDelivered(ctx, recordID, family, address)
	if err != nil || !ok {
		return 0, false, err
	}
	n, err := q.Desire(ctx, []store.Desire{{RecordID: recordID, Family: family, Address: address, Reason: store.ReasonDrift, Force: true}})
	return n, err == nil, err
}

// RecordImported: an import stored r on h with what the original had
// delivered as its state; what the broker derives differently goes out,
// what the upstream already holds does not.
func (b *Broker) RecordImported(ctx context.Context, q *store.Queries, h store.Host, r store.Record) (int, error) {
	return q.Desire(ctx, desires(h, []store.Record{r}, nil, store.ReasonImport, false))
}
