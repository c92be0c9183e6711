package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/auth"
	"github.com/ddnsbroker/ddnsbroker/api/feed"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// StreamPath is the live stream's route: it runs without the API's request
// timeout (see requestInfo).
const StreamPath = BasePath + "/events/stream"

// Live stream tuning. KeepAlive is a variable so that tests can wait less.
var (
	// KeepAlive is the silence after which a comment line is sent: proxies
	// and browsers close connections that stay quiet for a minute.
	KeepAlive = 15 * time.Second
	// streamLifetime ends a stream when an access token would have expired,
	// so that a revoked credential stops receiving; the client reconnects
	// with Last-Event-ID and loses nothing.
	streamLifetime = auth.AccessTokenTTL
)

// streamBatch is how many events one read of the stream takes.
const streamBatch = 200

// StreamEvents answers with the live stream; see the spec's streamEvents.
func (s *Server) StreamEvents(ctx context.Context, req StreamEventsRequestObject) (StreamEventsResponseObject, error) {
	if s.feed == nil {
		return nil, &apiError{status: http.StatusServiceUnavailable, detail: "live updates are not available on this server"}
	}
	f := req.Params
	var after store.StreamCursor
	if f.LastEventID != nil {
		c, ok := parseStreamID(*f.LastEventID)
		if !ok {
			return nil, invalid(FieldError{Field: "Last-Event-ID", Message: "must be the id of a message of this stream, such as 812-4711"})
		}
		after = c
	}
	sub := s.feed.Subscribe()
	// Known from here on: every horizon move rings sub. Read the horizon
	// after subscribing so that none falls between.
	qctx, cancel := context.WithTimeout(ctx, requestTimeout)
	horizon, seen, err := s.store.StreamStart(qctx)
	cancel()
	if err != nil {
		sub.Close()
		return nil, err
	}
	if after.XID == "" {
		// Only what commits from now on: after the horizon, less what
		// was committed by the transactions still younger than it.
		after.XID = horizon
	} else {
		seen = ""
	}
	return &eventStream{server: s, db: s.db(ctx), ctx: ctx, sub: sub, horizon: horizon, seen: seen, page: store.EventPage{HostID: deref(f.HostId, 0),
		RecordID: deref(f.RecordId, 0), ServiceID: deref(f.ServiceId, 0), Kind: deref(f.Kind, ""), Limit: streamBatch},
		after: after}, nil
}

// parseStreamID reads a message id: the cursor's xid and event id.
func parseStreamID(id string) (store.StreamCursor, bool) {
	x, e, ok := strings.Cut(id, "-")
	if !ok {
		return store.StreamCursor{}, false
	}
	xid, err1 := strconv.ParseUint(x, 10, 64)
	eid, err2 := strconv.ParseInt(e, 10, 64)
	if err1 != nil || err2 != nil || eid < 0 {
		return store.StreamCursor{}, false
	}
	return store.StreamCursor{XID: strconv.FormatUint(xid, 10), EventID: eid}, true
}

// eventStream writes the stream once the response starts.
type eventStream struct {
	server *Server
	// db reads as the caller: their own objects' events only, like
	// listEvents.
	db      *store.Queries
	ctx     context.Context
	sub     *feed.Subscription
	horizon string
	// seen is the snapshot at opening for a new stream (StreamWindow.Seen).
	seen  string
	page  store.EventPage
	after store.StreamCursor
}

func (es *eventStream) VisitStreamEventsResponse(w http.ResponseWriter) error {
	defer es.sub.Close()
	rc := http.NewResponseController(w)
	// The server's write timeout is for ordinary answers, not this one.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	w.WriteHeader(http.StatusOK)
	// Start with a retry hint and a comment, so that the client knows the
	// stream is open before the first event.
	if _, err := fmt.Fprint(w, "retry: 2000\n: connected\n\n"); err != nil {
		return nil
	}
	if err := rc.Flush(); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(es.ctx, streamLifetime)
	defer cancel()
	quiet := time.NewTimer(KeepAlive)
	defer quiet.Stop()
	for {
		n, err := es.send(ctx, w)
		if err != nil {
			if ctx.Err() == nil {
				es.server.log.Warn("the live stream stopped", "err", err)
			}
			return nil // the response has started: nothing else to say
		}
		if n > 0 {
			if err := rc.Flush(); err != nil {
				return nil
			}
			quiet.Reset(KeepAlive)
			if n == streamBatch {
				continue // more may be waiting
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-es.sub.Wake():
			if hz := es.server.feed.Horizon(); xidAfter(hz, es.horizon) {
				es.horizon = strconv.FormatUint(hz, 10)
			}
		case <-quiet.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
			quiet.Reset(KeepAlive)
		}
	}
}

// send writes the events that became final since the last call.
func (es *eventStream) send(ctx context.Context, w http.ResponseWriter) (int, error) {
	p := es.page
	p.Stream = &store.StreamWindow{After: es.after, Horizon: es.horizon, Seen: es.seen}
	qctx, cancel := context.WithTimeout(ctx, requestTimeout)
	rows, err := es.db.EventsPage(qctx, p)
	cancel()
	if err != nil {
		return 0, err
	}
	for _, e := range rows {
		b, err := json.Marshal(es.server.toEvent(e))
		if err != nil {
			return 0, err
		}
		if _, err := fmt.Fprintf(w, "id: %s-%d\ndata: %s\n\n", e.XID, e.ID, b); err != nil {
			return 0, err
		}
		es.after = store.StreamCursor{XID: e.XID, EventID: e.ID}
	}
	return len(rows), nil
}

// xidAfter tells whether the horizon hz is later than the xid x (text).
func xidAfter(hz uint64, x string) bool {
	v, err := strconv.ParseUint(x, 10, 64)
	return err != nil || hz > v
}
