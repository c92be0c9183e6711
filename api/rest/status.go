package rest

import (
	"context"
	"time"
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
	out.Records.States = StateCounts{Idle: st.States["idle"], Pending: st.States["pending"], Delivered: st.States["delivered"],
		Retrying: st.States["retrying"], Failed: st.States["failed"], Blocked: st.States["blocked"]}
	d := st.Deliveries
	out.Deliveries.Pending, out.Deliveries.Running, out.Deliveries.Delivered = d["pending"], d["running"], d["delivered"]
	out.Deliveries.Failed, out.Deliveries.Blocked = d["failed"], d["blocked"]
	out.Deliveries.Superseded, out.Deliveries.Cancelled = d["superseded"], d["cancelled"]
	if st.OldestPending != nil {
		out.OldestPendingAgeSeconds = ptr(st.OldestPending.Seconds())
	}
	if st.OldestDue != nil {
		out.OldestDueAgeSeconds = ptr(st.OldestDue.Seconds())
	}
	return GetStatus200JSONResponse(out), nil
}
