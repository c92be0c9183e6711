package rest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// toNotifier shows a channel without its destination URL: the scheme and
// server of a Shoutrrr channel, the scheme and host of a webhook.
func toNotifier(w store.Webhook) Notifier {
	events := make([]NotifierEvent, 0, len(w.Events))
	for _, e := range w.Events {
		events = append(events, NotifierEvent(e))
	}
	n := Notifier{Id: w.ID, Name: w.Name, Kind: NotifierKindShoutrrr, Destination: w.DestinationShown, Events: events,
		Enabled: w.Enabled, LastAttemptAt: utcPtr(w.LastAttemptAt), LastSuccessAt: utcPtr(w.LastSuccessAt),
		LastError: w.LastError, CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC()}
	if w.Destination == nil {
		n.Kind = NotifierKindWebhook
		n.Destination = notify.ShownURL(w.URL)
	}
	return n
}

// notifierEvents stores a subscription in the order of notify.Events.
func notifierEvents(in []NotifierEvent) []string {
	var out []string
	for _, e := range notify.Events() {
		if slices.Contains(in, NotifierEvent(e)) {
			out = append(out, e)
		}
	}
	return out
}

// sealDestination checks a Shoutrrr URL and seals it; the error names the
// field and never quotes the URL.
func (s *Server) sealDestination(raw string) (sealed []byte, key, shown string, err error) {
	shown, err = notify.CheckDestination(raw)
	if err != nil {
		return nil, "", "", invalid(fieldError("url", "%s", err.Error()))
	}
	sealed, key = s.box.Seal(raw)
	return sealed, key, shown, nil
}

// ListNotifiers lists every channel, webhooks included, by name.
func (s *Server) ListNotifiers(ctx context.Context, req ListNotifiersRequestObject) (ListNotifiersResponseObject, error) {
	rows, next, err := s.webhooksPage(ctx, req.Params.Cursor, req.Params.Limit, false)
	if err != nil {
		return nil, err
	}
	return ListNotifiers200JSONResponse{Items: mapSlice(rows, toNotifier), NextCursor: next}, nil
}

// CreateNotifier adds a Shoutrrr channel; its URL is sealed like upstream
// credentials.
func (s *Server) CreateNotifier(ctx context.Context, req CreateNotifierRequestObject) (CreateNotifierResponseObject, error) {
	b := req.Body
	if err := notHostScoped(ctx, "notification channels"); err != nil {
		return nil, err
	}
	if b.Url == nil {
		return nil, invalid(fieldError("url", "is required: the destination in Shoutrrr's URL format"))
	}
	// Owned by its creator: a user's channel hears of the user's own
	// objects only (notify.queue), an admin's of everything.
	n := store.NewWebhook{Name: b.Name, Events: notify.WebhookEvents(), Enabled: deref(b.Enabled, true), OwnerID: principal(ctx).UserID}
	var err error
	if n.Destination, n.DestinationKey, n.DestinationShown, err = s.sealDestination(*b.Url); err != nil {
		return nil, err
	}
	if b.Events != nil {
		n.Events = notifierEvents(*b.Events)
	}
	var w store.Webhook
	err = s.tx(ctx, func(q *store.Queries) error {
		var err error
		if w, err = q.CreateWebhook(ctx, n); err != nil {
			return err
		}
		return event(ctx, q, store.Event{OwnerID: w.OwnerID, Kind: store.EventWebhookCreated,
			Message: fmt.Sprintf("notification channel %s (%s) created", w.Name, w.DestinationShown)},
			map[string]any{"webhook_id": w.ID, "events": w.Events})
	})
	if err != nil {
		return nil, err
	}
	return CreateNotifier201JSONResponse(toNotifier(w)), nil
}

// GetNotifier reads a channel.
func (s *Server) GetNotifier(ctx context.Context, req GetNotifierRequestObject) (GetNotifierResponseObject, error) {
	w, err := s.db(ctx).Webhook(ctx, req.Id)
	if err != nil {
		return nil, orNotFound(err, "notifier", req.Id)
	}
	return GetNotifier200JSONResponse(toNotifier(w)), nil
}

// UpdateNotifier changes a channel.
func (s *Server) UpdateNotifier(ctx context.Context, req UpdateNotifierRequestObject) (UpdateNotifierResponseObject, error) {
	b := req.Body
	p := store.WebhookPatch{Name: b.Name, Enabled: b.Enabled}
	if b.Events != nil {
		p.Events = notifierEvents(*b.Events)
	}
	var w store.Webhook
	err := s.tx(ctx, func(q *store.Queries) error {
		old, err := q.Webhook(ctx, req.Id)
		if err != nil {
			return orNotFound(err, "notifier", req.Id)
		}
		if b.Url != nil {
			if old.Destination == nil {
				return invalid(fieldError("url", "this channel is a webhook: change its URL at /webhooks/%d", old.ID))
			}
			if p.Destination, p.DestinationKey, p.DestinationShown, err = s.sealDestination(*b.Url); err != nil {
				return err
			}
		}
		if w, err = q.UpdateWebhook(ctx, req.Id, p); err != nil {
			return err
		}
		var changed []string
		for _, f := range []struct {
			name string
			diff bool
		}{{"name", old.Name != w.Name}, {"url", b.Url != nil}, {"events", !slices.Equal(old.Events, w.Events)},
			{"enabled", old.Enabled != w.Enabled}} {
			if f.diff {
				changed = append(changed, f.name)
			}
		}
		if len(changed) == 0 {
			return nil
		}
		return event(ctx, q, store.Event{OwnerID: w.OwnerID, Kind: store.EventWebhookUpdated, Message: fmt.Sprintf("notification channel %s changed", w.Name)},
			map[string]any{"webhook_id": w.ID, "fields": changed})
	})
	if err != nil {
		return nil, err
	}
	return UpdateNotifier200JSONResponse(toNotifier(w)), nil
}

// DeleteNotifier removes a channel and what it had not sent.
func (s *Server) DeleteNotifier(ctx context.Context, req DeleteNotifierRequestObject) (DeleteNotifierResponseObject, error) {
	err := s.tx(ctx, func(q *store.Queries) error {
		w, err := q.Webhook(ctx, req.Id)
		if err != nil {
			return orNotFound(err, "notifier", req.Id)
		}
		if err := q.DeleteWebhook(ctx, w.ID); err != nil {
			return err
		}
		return event(ctx, q, store.Event{OwnerID: w.OwnerID, Kind: store.EventWebhookDeleted, Message: fmt.Sprintf("notification channel %s deleted", w.Name)},
			map[string]any{"webhook_id": w.ID, "name": w.Name})
	})
	if err != nil {
		return nil, err
	}
	return DeleteNotifier204Response{}, nil
}

// TestNotifier sends a test message and waits for the outcome.
func (s *Server) TestNotifier(ctx context.Context, req TestNotifierRequestObject) (TestNotifierResponseObject, error) {
	w, err := s.db(ctx).Webhook(ctx, req.Id)
	if err != nil {
		return nil, orNotFound(err, "notifier", req.Id)
	}
	body := notify.TestPayload(time.Now())
	detached := context.WithoutCancel(ctx)
	sendCtx, cancel := context.WithTimeout(detached, notify.Timeout)
	defer cancel()
	id := "test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	var res notify.Result
	switch {
	case w.Destination != nil:
		dest, err := s.box.Open(w.Destination, w.DestinationKey)
		if err != nil {
			res.Reason = "the channel's destination cannot be decrypted (was the server's secret key changed?); set it again"
			break
		}
		res = s.channels.Send(sendCtx, dest, notify.Test, id, body, notify.Render(notify.Payload{Event: notify.Test}))
	default:
		secret := ""
		if w.Secret != nil {
			if secret, err = s.box.Open(w.Secret, w.SecretKey); err != nil {
				res.Reason = "the webhook's secret cannot be decrypted (was the server's secret key changed?); set it again"
				break
			}
		}
		res = s.webhooks.Send(sendCtx, notify.Request{URL: w.URL, Secret: secret, Event: notify.Test, ID: id, Body: body})
	}
	var status *int
	if res.Status != 0 {
		status = &res.Status
	}
	recordCtx, cancel := context.WithTimeout(detached, requestTimeout)
	defer cancel()
	if err := s.store.RecordWebhookAttempt(recordCtx, w.ID, res.Delivered, status, res.Reason); err != nil {
		return nil, err
	}
	return TestNotifier200JSONResponse{Delivered: res.Delivered, Error: res.Reason, DurationMs: int(res.Duration.Milliseconds())}, nil
}

// Heartbeats.

func toHeartbeat(b store.Heartbeat) Heartbeat {
	return Heartbeat{Url: b.URLShown, FailUrlSet: b.FailURL != nil, EverySeconds: int(b.Every / time.Second),
		LastState: b.LastState, LastPingAt: utcPtr(b.LastPingAt), LastError: b.LastError}
}

// heartbeatOwner checks the caller may reach the heartbeat of a host (the
// host's owner, an admin, a token of that host: another's host is 404) or
// the broker's (admins only).
func heartbeatOwner(ctx context.Context, q *store.Queries, hostID *int64) error {
	if hostID == nil {
		return requireAdmin(ctx, "manages the broker's heartbeat")
	}
	if _, err := q.Host(ctx, *hostID); err != nil {
		return orNotFound(err, "host", *hostID)
	}
	return nil
}

func (s *Server) setHeartbeat(ctx context.Context, hostID *int64, in *HeartbeatPut) (Heartbeat, error) {
	if err := heartbeatOwner(ctx, s.db(ctx), hostID); err != nil {
		return Heartbeat{}, err
	}
	if in.Url == nil {
		return Heartbeat{}, invalid(fieldError("url", "is required"))
	}
	b := store.Heartbeat{HostID: hostID, Every: time.Duration(deref(in.EverySeconds, 300)) * time.Second}
	shown, err := notify.CheckHeartbeatURL(*in.Url)
	if err != nil {
		return Heartbeat{}, invalid(fieldError("url", "%s", err.Error()))
	}
	b.URLShown = shown
	b.URL, b.URLKey = s.box.Seal(*in.Url)
	if f := deref(in.FailUrl, ""); f != "" {
		if _, err := notify.CheckHeartbeatURL(f); err != nil {
			return Heartbeat{}, invalid(fieldError("fail_url", "%s", err.Error()))
		}
		b.FailURL, b.FailURLKey = s.box.Seal(f)
	}
	var out store.Heartbeat
	err = s.tx(ctx, func(q *store.Queries) error {
		if err := heartbeatOwner(ctx, q, hostID); err != nil {
			return err
		}
		var err error
		out, err = q.SetHeartbeat(ctx, b)
		return err
	})
	return toHeartbeat(out), err
}

func heartbeatNotFound(err error, hostID *int64) error {
	if errors.Is(err, store.ErrNotFound) {
		if hostID == nil {
			return notFound("the broker has no heartbeat")
		}
		return notFound("host %d has no heartbeat", *hostID)
	}
	return err
}

// heartbeat reads the heartbeat of a host the caller reaches (nil: the
// broker's, admins only).
func (s *Server) heartbeat(ctx context.Context, hostID *int64) (store.Heartbeat, error) {
	q := s.db(ctx)
	if err := heartbeatOwner(ctx, q, hostID); err != nil {
		return store.Heartbeat{}, err
	}
	b, err := q.HeartbeatOf(ctx, hostID)
	if err != nil {
		return b, heartbeatNotFound(err, hostID)
	}
	return b, nil
}

// deleteHeartbeat stops the heartbeat of a host the caller reaches (nil:
// the broker's, admins only).
func (s *Server) deleteHeartbeat(ctx context.Context, hostID *int64) error {
	return s.tx(ctx, func(q *store.Queries) error {
		if err := heartbeatOwner(ctx, q, hostID); err != nil {
			return err
		}
		return heartbeatNotFound(q.DeleteHeartbeat(ctx, hostID), hostID)
	})
}

// GetHeartbeat reads the broker's heartbeat.
func (s *Server) GetHeartbeat(ctx context.Context, _ GetHeartbeatRequestObject) (GetHeartbeatResponseObject, error) {
	b, err := s.heartbeat(ctx, nil)
	if err != nil {
		return nil, err
	}
	return GetHeartbeat200JSONResponse(toHeartbeat(b)), nil
}

// SetHeartbeat sets the broker's heartbeat.
func (s *Server) SetHeartbeat(ctx context.Context, req SetHeartbeatRequestObject) (SetHeartbeatResponseObject, error) {
	b, err := s.setHeartbeat(ctx, nil, req.Body)
	if err != nil {
		return nil, err
	}
	return SetHeartbeat200JSONResponse(b), nil
}

// DeleteHeartbeat stops the broker's heartbeat.
func (s *Server) DeleteHeartbeat(ctx context.Context, _ DeleteHeartbeatRequestObject) (DeleteHeartbeatResponseObject, error) {
	if err := s.deleteHeartbeat(ctx, nil); err != nil {
		return nil, err
	}
	return DeleteHeartbeat204Response{}, nil
}

// GetHostHeartbeat reads a host's heartbeat.
func (s *Server) GetHostHeartbeat(ctx context.Context, req GetHostHeartbeatRequestObject) (GetHostHeartbeatResponseObject, error) {
	b, err := s.heartbeat(ctx, &req.Id)
	if err != nil {
		return nil, err
	}
	return GetHostHeartbeat200JSONResponse(toHeartbeat(b)), nil
}

// SetHostHeartbeat sets a host's heartbeat.
func (s *Server) SetHostHeartbeat(ctx context.Context, req SetHostHeartbeatRequestObject) (SetHostHeartbeatResponseObject, error) {
	b, err := s.setHeartbeat(ctx, &req.Id, req.Body)
	if err != nil {
		return nil, err
	}
	return SetHostHeartbeat200JSONResponse(b), nil
}

// DeleteHostHeartbeat stops a host's heartbeat.
func (s *Server) DeleteHostHeartbeat(ctx context.Context, req DeleteHostHeartbeatRequestObject) (DeleteHostHeartbeatResponseObject, error) {
	if err := s.deleteHeartbeat(ctx, &req.Id); err != nil {
		return nil, err
	}
	return DeleteHostHeartbeat204Response{}, nil
}
