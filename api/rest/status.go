package rest

import (
	"context"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// GetSetup tells the web app the broker's address as routers reach it.
func (s *Server) GetSetup(context.Context, GetSetupRequestObject) (GetSetupResponseObject, error) {
	out := Setup{}
	if s.publicURL != "" {
		out.PublicUrl = &s.publicURL
	}
	return GetSetup200JSONResponse(out), nil
}

// GetStatus counts hosts, records and deliveries.
func (s *Server) GetStatus(ctx context.Context, _ GetStatusRequestObject) (GetStatusResponseObject, error) {
	st, err := s.store.Status(ctx)
	if err != nil {
		return nil, err
	}
	stale, err := s.store.CountStaleHosts(ctx, time.Now().Add(-s.staleAfter))
	if err != nil {
		return nil, err
	}
	out := Status{Version: s.version}
	out.Hosts.Total, out.Hosts.Enabled, out.Hosts.Stale = st.Hosts, st.EnabledHosts, stale
	out.Records.Total = st.Records
	r := func(s store.SyncState) int { return st.States[string(s)] }
	out.Records.States = StateCounts{Idle: r(store.SyncIdle), Pending: r(store.SyncPending), Delivered: r(store.SyncDelivered),
		Retrying: r(store.SyncRetrying), Failed: r(store.SyncFailed), Blocked: r(store.SyncBlocked)}
	d := func(s store.DeliveryState) int { return st.Deliveries[string(s)] }
	out.Deliveries.Pending, out.Deliveries.Running, out.Deliveries.Delivered = d(store.DeliveryPending), d(store.DeliveryRunning), d(store.DeliveryDelivered)
	out.Deliveries.Failed, out.Deliveries.Blocked = d(store.DeliveryFailed), d(store.DeliveryBlocked)
	out.Deliveries.Superseded, out.Deliveries.Cancelled = d(store.DeliverySuperseded), d(store.DeliveryCancelled)
	if st.OldestPending != nil {
		out.OldestPendingAgeSeconds = ptr(st.OldestPending.Seconds())
	}
	if st.OldestDue != nil {
		out.OldestDueAgeSeconds = ptr(st.OldestDue.Seconds())
	}
	return GetStatus200JSONResponse(out), nil
}
