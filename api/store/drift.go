package store

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
)

// DriftTarget is one (record, family) whose address the upstream holds, as
// the drift check compares it with what DNS publishes.
type DriftTarget struct {
	RecordID int64
	HostID   int64
	FQDN     string
	Family   netcalc.Family
	Address  netip.Addr // the delivered address
}

// DriftTargets lists the (record, family) pairs of a service that are
// delivered and in sync (nothing waits to be sent), of enabled hosts and
// families, by name. Pairs delivered after settledBefore are left out:
// the provider may not publish them yet.
func (q *Queries) DriftTargets(ctx context.Context, serviceID int64, settledBefore time.Time) ([]DriftTarget, error) {
	rows, err := q.db.Query(ctx, `SELECT r.id, r.host_id, r.fqdn, s.family, s.delivered
		FROM records r
		JOIN hosts h ON h.id = r.host_id
		JOIN record_states s ON s.record_id = r.id
		WHERE r.service_id = $1 AND h.enabled AND s.state = 'delivered'
			AND s.delivered IS NOT NULL AND s.desired = s.delivered
			AND (s.last_success_at IS NULL OR s.last_success_at <= $2)
			AND ((s.family = 4 AND r.ipv4_enabled AND h.ipv4_enabled) OR (s.family = 6 AND r.ipv6_enabled AND h.ipv6_enabled))
		ORDER BY r.fqdn, r.id, s.family`, serviceID, settledBefore)
	return collect("drift targets", rows, err, func(row rowScanner) (DriftTarget, error) {
		var t DriftTarget
		err := row.Scan(&t.RecordID, &t.HostID, &t.FQDN, &t.Family, &t.Address)
		return t, err
	})
}

// LockDelivered locks the state of (record, family) and reports whether
// the upstream still holds address with nothing waiting: a drift finding
// made before a newer address came is dropped, not sent over it.
func (q *Queries) LockDelivered(ctx context.Context, recordID int64, family netcalc.Family, address netip.Addr) (bool, error) {
	var one int
	err := q.db.QueryRow(ctx, `SELECT 1 FROM record_states WHERE record_id = $1 AND family = $2
		AND state = 'delivered' AND desired = $3 AND delivered = $3 FOR UPDATE`, recordID, family, address).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, mapErr("lock delivered", err)
}
