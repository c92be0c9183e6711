package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/notify"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

func toWebhook(w store.Webhook) Webhook {
	events := make([]WebhookEvent, 0, len(w.Events))
	for _, e := range w.Events {
		events = append(events, WebhookEvent(e))
	}
	return Webhook{Id: w.ID, Name: w.Name, Url: w.URL, SecretSet: w.Secret != nil, Events: events, Enabled: w.Enabled,
		LastAttemptAt: utcPtr(w.LastAttemptAt), LastSuccessAt: utcPtr(w.LastSuccessAt), LastStatusCode: w.LastStatusCode,
		LastError: w.LastError, CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC(), OwnerId: w.OwnerID}
}

// webhookEvents stores a subscription in the order of notify.Events.
func webhookEvents(in []WebhookEvent) []string {
	var out []string
	for _, e := range notify.Events() {
		if slices.Contains(in, WebhookEvent(e)) {
			out = append(out, e)
		}
	}
	return out
}

// checkWebhookURL accepts an absolute http(s) URL without credentials:
// the URL is stored and shown in clear, and the secret is what proves a
// notification's origin. Messages never quote the URL (it may hold a token).
func checkWebhookURL(s string) *FieldError {
	err := egress.CheckURL(s)
	if err == nil {
		return nil
	}
	msg := err.Error()
	if errors.Is(err, egress.ErrURLUserinfo) {
		msg += "; give the webhook a secret to sign its notifications"
	}
	return &FieldError{Field: "url", Message: msg}
}

// webhook reads a channel of the webhook form: the others (Shoutrrr
// URLs) are /notifiers' alone, /webhooks does not know them.
func (s *Server) webhook(ctx context.Context, q *store.Queries, id int64) (store.Webhook, error) {
	w, err := q.Webhook(ctx, id)
	if err == nil && w.Destination != nil {
		err = store.ErrNotFound
	}
	if err != nil {
		return w, orNotFound(err, "webhook", id)
	}
	return w, nil
}

// webhooksPage is one page by name of the caller's webhooks (webhooksOnly)
// or of every channel, webhooks included: the two lists share one table.
func (s *Server) webhooksPage(ctx context.Context, cursor *string, size *int, webhooksOnly bool) ([]store.Webhook, *string, error) {
	var afterName string
	var afterID int64
	if err := decodeCursor(cursor, &afterName, &afterID); err != nil {
		return nil, nil, err
	}
	limit := pageLimit(size)
	rows, err := s.db(ctx).WebhooksPage(ctx, afterName, afterID, limit+1, webhooksOnly)
	if err != nil {
		return nil, nil, err
	}
	rows, next := page(rows, limit, func(w store.Webhook) []any { return []any{w.Name, w.ID} })
	return rows, next, nil
}

// ListWebhooks lists webhooks by name.
func (s *Server) ListWebhooks(ctx context.Context, req ListWebhooksRequestObject) (ListWebhooksResponseObject, error) {
	rows, next, err := s.webhooksPage(ctx, req.Params.Cursor, req.Params.Limit, true)
	if err != nil {
		return nil, err
	}
	return ListWebhooks200JSONResponse{Items: mapSlice(rows, toWebhook), NextCursor: next}, nil
}

// CreateWebhook adds a webhook; its secret is sealed like upstream credentials.
func (s *Server) CreateWebhook(ctx context.Context, req CreateWebhookRequestObject) (CreateWebhookResponseObject, error) {
	b := req.Body
	if err := notHostScoped(ctx, "webhooks"); err != nil {
		return nil, err
	}
	if fe := checkWebhookURL(b.Url); fe != nil {
		return nil, invalid(*fe)
	}
	n := store.NewWebhook{Name: b.Name, URL: b.Url, Events: notify.WebhookEvents(), Enabled: deref(b.Enabled, true), OwnerID: principal(ctx).UserID}
	if b.Events != nil {
		n.Events = webhookEvents(*b.Events)
	}
	if b.Secret != nil {
		n.Secret, n.SecretKey = s.box.Seal(*b.Secret)
	}
	var w store.Webhook
	err := s.tx(ctx, func(q *store.Queries) error {
		var err error
		if w, err = q.CreateWebhook(ctx, n); err != nil {
			return err
		}
		return event(ctx, q, store.Event{OwnerID: w.OwnerID, Kind: store.EventWebhookCreated, Message: fmt.Sprintf("webhook %s created", w.Name)},
			map[string]any{"webhook_id": w.ID, "events": w.Events})
	})
	if err != nil {
		return nil, err
	}
	return CreateWebhook201JSONResponse(toWebhook(w)), nil
}

// GetWebhook reads a webhook.
func (s *Server) GetWebhook(ctx context.Context, req GetWebhookRequestObject) (GetWebhookResponseObject, error) {
	w, err := s.webhook(ctx, s.db(ctx), req.Id)
	if err != nil {
		return nil, err
	}
	return GetWebhook200JSONResponse(toWebhook(w)), nil
}

// UpdateWebhook changes a webhook.
func (s *Server) UpdateWebhook(ctx context.Context, req UpdateWebhookRequestObject) (UpdateWebhookResponseObject, error) {
	b := req.Body
	p := store.WebhookPatch{Name: b.Name, URL: b.Url, Enabled: b.Enabled}
	if b.Url != nil {
		if fe := checkWebhookURL(*b.Url); fe != nil {
			return nil, invalid(*fe)
		}
	}
	if b.Events != nil {
		p.Events = webhookEvents(*b.Events)
	}
	if b.Secret != nil {
		switch {
		case *b.Secret == "":
			p.ClearSecret = true
		case len(*b.Secret) < 8:
			return nil, invalid(fieldError("secret", "must be at least 8 characters long, or empty to remove the secret"))
		default:
			p.Secret, p.SecretKey = s.box.Seal(*b.Secret)
		}
	}
	var w store.Webhook
	err := s.tx(ctx, func(q *store.Queries) error {
		old, err := s.webhook(ctx, q, req.Id)
		if err != nil {
			return err
		}
		if w, err = q.UpdateWebhook(ctx, req.Id, p); err != nil {
			return err
		}
		var changed []string
		for _, f := range []struct {
			name string
			diff bool
		}{{"name", old.Name != w.Name}, {"url", old.URL != w.URL}, {"secret", p.Secret != nil || (p.ClearSecret && old.Secret != nil)},
			{"events", !slices.Equal(old.Events, w.Events)}, {"enabled", old.Enabled != w.Enabled}} {
			if f.diff {
				changed = append(changed, f.name)
			}
		}
		if len(changed) == 0 {
			return nil
		}
		return event(ctx, q, store.Event{OwnerID: w.OwnerID, Kind: store.EventWebhookUpdated, Message: fmt.Sprintf("webhook %s changed", w.Name)},
			map[string]any{"webhook_id": w.ID, "fields": changed})
	})
	if err != nil {
		return nil, err
	}
	return UpdateWebhook200JSONResponse(toWebhook(w)), nil
}

// DeleteWebhook removes a webhook and what it had not sent.
func (s *Server) DeleteWebhook(ctx context.Context, req DeleteWebhookRequestObject) (DeleteWebhookResponseObject, error) {
	err := s.tx(ctx, func(q *store.Queries) error {
		w, err := s.webhook(ctx, q, req.Id)
		if err != nil {
			return err
		}
		if err := q.DeleteWebhook(ctx, w.ID); err != nil {
			return err
		}
		return event(ctx, q, store.Event{OwnerID: w.OwnerID, Kind: store.EventWebhookDeleted, Message: fmt.Sprintf("webhook %s deleted", w.Name)},
			map[string]any{"webhook_id": w.ID, "name": w.Name})
	})
	if err != nil {
		return nil, err
	}
	return DeleteWebhook204Response{}, nil
}

// TestWebhook sends a test notification and waits for the answer, so the
// admin sees at once whether the receiver is reachable and accepts it: the
// status code and a short reason, not what the receiver answered.
func (s *Server) TestWebhook(ctx context.Context, req TestWebhookRequestObject) (TestWebhookResponseObject, error) {
	w, err := s.webhook(ctx, s.db(ctx), req.Id)
	if err != nil {
		return nil, err
	}
	body := notify.TestPayload(time.Now())
	out := WebhookTestResult{}
	if err := json.Unmarshal(body, &out.Payload); err != nil {
		return nil, err
	}
	secret := ""
	if w.Secret != nil {
		if secret, err = s.box.Open(w.Secret, w.SecretKey); err != nil {
			out.Error = "the webhook's secret cannot be decrypted (was the server's secret key changed?); set it again"
			return TestWebhook200JSONResponse(out), nil
		}
	}
	// The receiver may take up to notify.Timeout, longer than the request's
	// deadline for database work: the POST and the write after it get their
	// own (the client leaving no longer cuts them short; both are bounded).
	detached := context.WithoutCancel(ctx)
	sendCtx, cancel := context.WithTimeout(detached, notify.Timeout)
	defer cancel()
	res := s.webhooks.Send(sendCtx, notify.Request{URL: w.URL, Secret: secret, Event: notify.Test,
		ID: "test-" + strconv.FormatInt(time.Now().UnixNano(), 36), Body: body})
	var status *int
	if res.Status != 0 {
		status = &res.Status
	}
	recordCtx, cancel := context.WithTimeout(detached, requestTimeout)
	defer cancel()
	// The reason only, never the receiver's words: anyone who may write a
	// webhook could otherwise read any local page through it.
	if err := s.store.RecordWebhookAttempt(recordCtx, w.ID, res.Delivered, status, res.Reason); err != nil {
		return nil, err
	}
	out.Delivered, out.StatusCode, out.Error, out.DurationMs = res.Delivered, status, res.Reason, int(res.Duration.Milliseconds())
	return TestWebhook200JSONResponse(out), nil
}
