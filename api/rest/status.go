package rest

import (
	"context"
	"fmt"
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

// defaultStatusLimit is the size of the status's first pages.
const defaultStatusLimit = 10

// GetStatus tells what the dashboard shows: the store's tallies, and the
// first page of each list the dashboard links to, read through the
// listings themselves so that their cursors continue there.
func (s *Server) GetStatus(ctx context.Context, req GetStatusRequestObject) (GetStatusResponseObject, error) {
	limit := deref(req.Params.Limit, defaultStatusLimit)
	st, err := s.db(ctx).Status(ctx, s.staleRule())
	if err != nil {
		return nil, err
	}
	out := Status{Version: s.version}
	out.Hosts.Total, out.Hosts.Enabled, out.Hosts.Stale = st.Hosts, st.EnabledHosts, st.StaleHosts
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
	out.ServicesInTrouble = mapSlice(st.Troubled, func(t store.ServiceTrouble) ServiceTrouble {
		return ServiceTrouble{ServiceId: t.ServiceID, Name: t.Name, Failed: t.Failed, Retrying: t.Retrying, Blocked: t.Blocked}
	})
	out.DeliveriesPerMinute = perMinute(st.Now, st.Minutes)

	// The records of a state in it only: there are few, and the listing
	// reads them from one range of an index, however many records exist.
	for state, dst := range map[SyncState]*RecordList{SyncStateFailed: &out.Problems.Failed,
		SyncStateRetrying: &out.Problems.Retrying, SyncStateBlocked: &out.Problems.Blocked} {
		if st.States[string(state)] == 0 {
			dst.Items = []Record{}
			continue
		}
		res, err := s.ListRecords(ctx, ListRecordsRequestObject{Params: ListRecordsParams{Status: &state, Limit: &limit}})
		if err != nil {
			return nil, err
		}
		page, ok := res.(ListRecords200JSONResponse)
		if !ok {
			return nil, fmt.Errorf("status: the %s records answered %T", state, res)
		}
		*dst = RecordList(page)
	}
	out.StaleHosts.Items = []Host{}
	if st.StaleHosts > 0 {
		stale := true
		res, err := s.ListHosts(ctx, ListHostsRequestObject{Params: ListHostsParams{Stale: &stale, Limit: &limit}})
		if err != nil {
			return nil, err
		}
		page, ok := res.(ListHosts200JSONResponse)
		if !ok {
			return nil, fmt.Errorf("status: the stale hosts answered %T", res)
		}
		out.StaleHosts = HostList(page)
	}
	return GetStatus200JSONResponse(out), nil
}

// perMinute spreads the minutes that saw attempts over the day's buckets,
// the last of which is now's minute.
func perMinute(now time.Time, minutes []store.MinuteCount) DeliveryMinutes {
	start := now.Add(-(store.DayMinutes - 1) * time.Minute)
	out := DeliveryMinutes{Start: start.UTC(), Delivered: make([]int, store.DayMinutes), Failed: make([]int, store.DayMinutes)}
	for _, m := range minutes {
		i := int(m.Minute.Sub(start) / time.Minute)
		if i < 0 || i >= store.DayMinutes {
			continue
		}
		out.Delivered[i] += m.Delivered
		out.Failed[i] += m.Failed
	}
	return out
}
