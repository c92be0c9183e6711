// Package notify tells the admins' channels (webhooks, and chats, push
// services and mail through Shoutrrr URLs, see channel.go) when a delivery
// failed, was blocked or recovered, when a host went silent or came back,
// changed its address, when drift was found and when logins keep failing;
// and pings the uptime monitors' heartbeats (heartbeat.go).
//
// It reads those facts from the history rather than being called by the
// dispatcher: the events table is already written in the same transaction
// as each delivery's outcome, so nothing can be lost between an outcome and
// its notification (a crash, a restart, another replica), and the DNS path
// carries no webhook code at all. The notifier follows the history by
// writing transaction (see migration 000004), turns each relevant event into
// one queued notification per subscribed webhook (webhook_deliveries, in the
// feed's transaction) and sends those from its own goroutines with retries,
// so a receiver that hangs or fails costs the dispatcher nothing.
//
// The webhook outbox (webhook_deliveries, ClaimWebhookDeliveries) is a
// second engine beside the delivery outbox (deliveries, ClaimDeliveries,
// package delivery) on purpose. Both lease due rows with SKIP LOCKED, retry
// by retry.Backoff and let an expired lease hand a row to another worker,
// but DNS deliveries need rules notifications must not have: one request at
// a time per (service, name) and the families of a record in order,
// per-service caps and turns across replicas (an advisory lock), newer
// addresses superseding queued ones, leases renewed while a slow provider
// answers, and a pause after a provider answered abuse. Notifications are
// independent messages: any order, none supersedes another, one fixed
// lease. One engine would carry those DNS rules in every webhook claim or
// a switch for each; two small ones keep each claim a single readable query.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/egress"
	"github.com/ddnsbroker/ddnsbroker/api/netcalc"
	"github.com/ddnsbroker/ddnsbroker/api/retry"
	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/worker"
)

// The events a channel can subscribe to.
const (
	DeliveryFailed    = string(store.EventDeliveryFailed)    // a permanent answer; the record waits for a change or a resync
	DeliveryBlocked   = string(store.EventDeliveryBlocked)   // the provider answered abuse; the record is paused
	DeliveryRecovered = string(store.EventDeliveryRecovered) // delivered after failing, retrying or being blocked
	HostStale         = string(store.EventHostStale)         // not seen for longer than stale-after; once per episode
	HostBack          = string(store.EventHostBack)          // a stale host reported again
	AddressChanged    = string(store.EventAddressChanged)    // a host reported a new address
	DriftDetected     = string(store.EventDriftDetected)     // a provider held another address than was delivered
	LoginFailed       = string(store.EventAuthLoginFailed)   // failed logins reached Config.LoginFailures in one row of the history
	// Test is the event of the API's "send test" action.
	Test = string(store.EventWebhookTest)
)

// Events lists what a channel can subscribe to.
func Events() []string {
	return []string{DeliveryFailed, DeliveryBlocked, DeliveryRecovered, HostStale, HostBack, AddressChanged, DriftDetected, LoginFailed}
}

// WebhookEvents are the events a webhook subscribes to when it names none:
// those webhooks had before channels existed.
func WebhookEvents() []string {
	return []string{DeliveryFailed, DeliveryBlocked, DeliveryRecovered, HostStale}
}

// Config tunes a notifier.
type Config struct {
	Workers     int           // notifications sent at once by this process
	Poll        time.Duration // how often the history and the outbox are read
	StaleAfter  time.Duration // a host not seen for this long is stale
	StaleEvery  time.Duration // how often stale hosts are looked for
	RetryBase   time.Duration // first retry delay, doubled per attempt
	RetryMax    time.Duration // cap of the retry delay
	MaxAttempts int           // attempts before a notification is given up
	Lease       time.Duration // how long a claimed notification stays with its sender
	// DigestAfter is how long a failure waits for others at the same
	// service before it is sent: those that come meanwhile join it and
	// restart the wait (at most 10 DigestAfter in all), one message for
	// all. Negative: no wait (failures merge only while one is queued).
	DigestAfter time.Duration
	// LoginFailures is how many failed logins in one row of the history
	// (see package auth: one per account, reason and minute) make an
	// auth.login_failed notification.
	LoginFailures int
	// HeartbeatEvery is how often heartbeats are looked at (each has its
	// own interval; a failure is told at the next look).
	HeartbeatEvery time.Duration
}

// DefaultConfig is what `serve` uses: with these, a notification is
// attempted 8 times over about two hours.
func DefaultConfig() Config {
	return Config{Workers: 4, Poll: 2 * time.Second, StaleAfter: 24 * time.Hour, StaleEvery: time.Minute,
		RetryBase: 30 * time.Second, RetryMax: time.Hour, MaxAttempts: 8, Lease: time.Minute,
		DigestAfter: 30 * time.Second, LoginFailures: 10, HeartbeatEvery: 10 * time.Second}
}

// Notifier feeds and sends notifications. Several (one per replica) can
// share a database: one at a time reads the history, all of them send.
type Notifier struct {
	store    *store.Store
	box      *secretbox.Box
	sender   *Sender
	channels *Channels
	hosts    HostWatcher
	cfg      Config
	log      *slog.Logger
	slots    chan struct{}
	wg       sync.WaitGroup
}

// New builds a notifier; a zero field of cfg takes DefaultConfig's value.
// sender POSTs to webhooks and generic:// endpoints; Shoutrrr channels are
// sent under the default egress policy unless WithChannels says otherwise.
func New(st *store.Store, box *secretbox.Box, sender *Sender, cfg Config, log *slog.Logger) *Notifier {
	def := DefaultConfig()
	for _, f := range []struct{ v, d *time.Duration }{{&cfg.Poll, &def.Poll}, {&cfg.StaleAfter, &def.StaleAfter},
		{&cfg.StaleEvery, &def.StaleEvery}, {&cfg.HeartbeatEvery, &def.HeartbeatEvery}, {&cfg.RetryBase, &def.RetryBase}, {&cfg.RetryMax, &def.RetryMax}, {&cfg.Lease, &def.Lease}} {
		if *f.v <= 0 {
			*f.v = *f.d
		}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = def.Workers
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = def.MaxAttempts
	}
	if cfg.DigestAfter == 0 {
		cfg.DigestAfter = def.DigestAfter
	}
	if cfg.LoginFailures <= 0 {
		cfg.LoginFailures = def.LoginFailures
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Notifier{store: st, box: box, sender: sender, channels: NewChannels(egress.DefaultPolicy(), sender), cfg: cfg, log: log,
		slots: make(chan struct{}, cfg.Workers)}
}

// WithChannels sets how Shoutrrr channels are sent (serve: under its
// egress policy) and returns n.
func (n *Notifier) WithChannels(c *Channels) *Notifier {
	n.channels = c
	return n
}

// HostWatcher is told, inside the stale check's transaction, when a host
// goes stale and when it reports again (the broker: a record with
// drop_when_stale leaves and rejoins its shared name then).
type HostWatcher interface {
	HostStale(ctx context.Context, q *store.Queries, hostID int64) (int, error)
	HostBack(ctx context.Context, q *store.Queries, hostID int64) (int, error)
}

// WithHostWatcher sets who hears of hosts going stale and coming back and
// returns n.
func (n *Notifier) WithHostWatcher(w HostWatcher) *Notifier {
	n.hosts = w
	return n
}

// Run feeds and sends until ctx ends. Notifications in flight then are
// left to their lease: a notifier takes them over when it runs out.
func (n *Notifier) Run(ctx context.Context) {
	defer n.wg.Wait()
	// Three worker loops, so that slow heartbeat pings or a slow stale
	// check never hold back the feed and the sends, nor the other way round.
	var wg sync.WaitGroup
	for _, l := range []worker.Loop{
		{What: "looking for stale hosts", Every: n.cfg.StaleEvery, Eager: true, Log: n.log,
			Step: func(ctx context.Context) error { _, err := n.CheckStale(ctx, time.Now()); return err }},
		{What: "pinging heartbeats", Every: n.cfg.HeartbeatEvery, Eager: true, Log: n.log,
			Step: func(ctx context.Context) error { _, err := n.Heartbeats(ctx, time.Now()); return err }},
		{What: "reading events and sending notifications", Every: n.cfg.Poll, Eager: true, Log: n.log,
			Step: func(ctx context.Context) error {
				_, ferr := n.Feed(ctx)
				return errors.Join(ferr, n.dispatch(ctx))
			}},
	} {
		wg.Go(func() { l.Run(ctx) })
	}
	wg.Wait()
}

// feedBatch and feedBatches bound one feed transaction.
const (
	feedBatch   = 500
	feedBatches = 20
)

// Feed turns the history written since the last feed into queued
// notifications, in one transaction with the cursor's move, so each event
// is queued exactly once. It returns how many notifications it queued.
func (n *Notifier) Feed(ctx context.Context) (queued int, err error) {
	err = n.store.InTx(ctx, func(q *store.Queries) error {
		queued = 0
		horizon, err := q.NotifierHorizon(ctx)
		if err != nil {
			return err
		}
		cur, ok, err := q.LockNotifierCursor(ctx)
		if err != nil || !ok {
			return err // another replica is reading
		}
		hooks, err := q.EnabledWebhooks(ctx)
		if err != nil {
			return err
		}
		if len(hooks) == 0 { // nobody to tell: skip what happened meanwhile
			return q.SetNotifierCursor(ctx, store.NotifierCursor{XID: horizon})
		}
		for range feedBatches {
			events, err := q.NotifiableEvents(ctx, cur, horizon, feedBatch)
			if err != nil {
				return err
			}
			for _, e := range events {
				n, err := n.queue(ctx, q, hooks, e)
				if err != nil {
					return err
				}
				queued += n
				cur = store.NotifierCursor{XID: e.XID, EventID: e.ID}
			}
			if len(events) < feedBatch {
				cur = store.NotifierCursor{XID: horizon} // everything before the horizon is handled
				break
			}
		}
		return q.SetNotifierCursor(ctx, cur)
	})
	return queued, err
}

// queue classifies one event and queues its notification for each
// webhook subscribed to its kind. A failure joins the failures at the same
// service still waiting to be sent to that channel (one digest message),
// or waits DigestAfter for others to join it.
func (n *Notifier) queue(ctx context.Context, q *store.Queries, hooks []store.Webhook, e store.FeedEvent) (int, error) {
	kind, err := classify(ctx, q, e, n.cfg.LoginFailures)
	if err != nil || kind == "" {
		return 0, err
	}
	p := payloadOf(kind, e)
	body, err := json.Marshal(p)
	if err != nil {
		return 0, err
	}
	digestKey := ""
	if kind == DeliveryFailed && e.ServiceID != nil {
		digestKey = kind + " service " + strconv.FormatInt(*e.ServiceID, 10)
	}
	xid, err := strconv.ParseUint(e.XID, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("event %d has transaction id %q: %w", e.ID, e.XID, err)
	}
	queued := 0
	for _, w := range hooks {
		// A webhook added while the feed lagged behind is not told about
		// what happened before it existed.
		if !slices.Contains(w.Events, kind) || xid < w.SinceXID {
			continue
		}
		// A user's webhook hears of the user's own objects only.
		if !w.OwnerAdmin && (e.OwnerID == nil || w.OwnerID == nil || *e.OwnerID != *w.OwnerID) {
			continue
		}
		id := e.ID
		if digestKey == "" {
			if err := q.QueueWebhookDelivery(ctx, w.ID, kind, &id, body); err != nil {
				return 0, err
			}
			queued++
			continue
		}
		waiting, ok, err := q.LockWaitingDigest(ctx, w.ID, digestKey)
		if err != nil {
			return 0, err
		}
		if ok {
			var d Payload
			if err := json.Unmarshal(waiting.Payload, &d); err != nil {
				return 0, fmt.Errorf("notification %d: %w", waiting.ID, err)
			}
			d.join(p)
			merged, err := json.Marshal(d)
			if err != nil {
				return 0, err
			}
			due := time.Now().Add(max(n.cfg.DigestAfter, 0))
			if err := q.SetDigestPayload(ctx, waiting.ID, merged, due, digestMaxWaits*max(n.cfg.DigestAfter, 0)); err != nil {
				return 0, err
			}
			continue
		}
		if err := q.QueueDigestDelivery(ctx, w.ID, kind, &id, body, digestKey, time.Now().Add(max(n.cfg.DigestAfter, 0))); err != nil {
			return 0, err
		}
		queued++
	}
	return queued, nil
}

// classify names what an event means to a webhook, or "" when nothing:
// a delivery is worth telling about when its state changes, not when the
// dispatcher repeats it (a block resumed and blocked again is one block).
func classify(ctx context.Context, q *store.Queries, e store.FeedEvent, loginFailures int) (string, error) {
	previous := func() (store.EventKind, error) {
		var d struct {
			Family netcalc.Family `json:"family"`
		}
		if e.RecordID == nil || json.Unmarshal(e.Data, &d) != nil {
			return "", nil
		}
		return q.PreviousDeliveryEvent(ctx, *e.RecordID, d.Family, e.ID)
	}
	switch e.Kind {
	case store.EventDeliveryFailed:
		return DeliveryFailed, nil
	case store.EventDeliveryBlocked:
		prev, err := previous()
		if err != nil || prev == store.EventDeliveryBlocked {
			return "", err
		}
		return DeliveryBlocked, nil
	case store.EventDeliveryDelivered:
		prev, err := previous()
		if err != nil {
			return "", err
		}
		switch prev {
		case store.EventDeliveryFailed, store.EventDeliveryBlocked, store.EventDeliveryRetry:
			return DeliveryRecovered, nil
		}
		return "", nil
	case store.EventHostStale:
		return HostStale, nil
	case store.EventHostBack:
		return HostBack, nil
	case store.EventAddressChanged:
		return AddressChanged, nil
	case store.EventDriftDetected:
		return DriftDetected, nil
	case store.EventAuthLoginFailed:
		var d struct {
			Count int `json:"count"`
		}
		if json.Unmarshal(e.Data, &d) != nil || d.Count < loginFailures {
			return "", nil
		}
		return LoginFailed, nil
	}
	return "", nil
}

// Payload is the JSON body of a notification.
type Payload struct {
	Event   string    `json:"event"`
	At      time.Time `json:"at"`
	Message string    `json:"message"`
	// EventID is the history line behind the notification (0 for a test).
	EventID  int64       `json:"event_id"`
	Host     *NamedRef   `json:"host"`
	Record   *NamedRef   `json:"record"`
	Service  *ServiceRef `json:"service"`
	Delivery *Delivery   `json:"delivery,omitempty"`
	// Digest lists the failures merged into this one (it included); nil
	// for a notification about one thing.
	Digest *Digest `json:"digest,omitempty"`
	// Data is the history line's details (addresses of an address change,
	// counts of failed logins, …).
	Data json.RawMessage `json:"data,omitempty"`
}

// Digest is a group of failures at one service sent as one message.
type Digest struct {
	Count int `json:"count"`
	// Records are the first digestShown of them.
	Records []NamedRef `json:"records"`
}

// digestMaxWaits bounds how long failures that keep coming hold a digest
// back: this many DigestAfter after the first.
const digestMaxWaits = 10

// digestShown bounds the records a digest names.
const digestShown = 10

// join merges the failure o into the digest p.
func (p *Payload) join(o Payload) {
	if p.Digest == nil {
		p.Digest = &Digest{Count: 1}
		if p.Record != nil {
			p.Digest.Records = []NamedRef{*p.Record}
		}
	}
	p.Digest.Count++
	if o.Record != nil && len(p.Digest.Records) < digestShown {
		p.Digest.Records = append(p.Digest.Records, *o.Record)
	}
	p.At = o.At
}

// NamedRef is a host or record by id and FQDN (empty when it was deleted
// since).
type NamedRef struct {
	ID   int64  `json:"id"`
	FQDN string `json:"fqdn"`
}

// ServiceRef is a service by id and name (empty when it was deleted since).
type ServiceRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Delivery is the delivery attempt a delivery event is about.
type Delivery struct {
	ID      int64          `json:"id"`
	Family  netcalc.Family `json:"family"`
	Address string         `json:"address"`
	Attempt int            `json:"attempt"`
	Outcome string         `json:"outcome"`
}

func payloadOf(kind string, e store.FeedEvent) Payload {
	p := Payload{Event: kind, At: e.At.UTC(), Message: e.Message, EventID: e.ID,
		Host: named(e.HostID, e.HostFQDN), Record: named(e.RecordID, e.RecordFQDN)}
	if len(e.Data) > 0 && e.RecordID == nil {
		p.Data = e.Data
	}
	if e.ServiceID != nil {
		p.Service = &ServiceRef{ID: *e.ServiceID, Name: deref(e.ServiceName)}
	}
	if kind == DeliveryRecovered {
		p.Message = "recovered: " + p.Message
	}
	var d struct {
		ID      int64          `json:"delivery_id"`
		Family  netcalc.Family `json:"family"`
		Address string         `json:"address"`
		Attempt int            `json:"attempt"`
		Outcome string         `json:"outcome"`
	}
	if e.RecordID != nil && json.Unmarshal(e.Data, &d) == nil && d.Family != 0 {
		p.Delivery = &Delivery{ID: d.ID, Family: d.Family, Address: d.Address, Attempt: d.Attempt, Outcome: d.Outcome}
	}
	return p
}

func named(id *int64, fqdn *string) *NamedRef {
	if id == nil {
		return nil
	}
	return &NamedRef{ID: *id, FQDN: deref(fqdn)}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestPayload is the body of the API's "send test" action.
func TestPayload(now time.Time) []byte {
	b, _ := json.Marshal(Payload{Event: Test, At: now.UTC(),
		Message: "a test notification from DDnsBroker: this webhook is reachable"})
	return b
}

// staleLockKey names the advisory lock that lets one replica look for
// stale hosts at a time.
const staleLockKey = 0x6464627374616c65 // "ddbstale"

// CheckStale appends a host.stale event for every enabled host that went
// stale and was not reported since it was last seen, so each staleness
// episode is reported once, to the history and through it to webhooks.
// It returns how many hosts it reported.
func (n *Notifier) CheckStale(ctx context.Context, now time.Time) (reported int, err error) {
	err = n.store.InTx(ctx, func(q *store.Queries) error {
		reported = 0
		ok, err := q.TryLock(ctx, staleLockKey)
		if err != nil || !ok {
			return err
		}
		back, err := q.HostsBack(ctx, 1000)
		if err != nil {
			return err
		}
		for _, h := range back {
			msg := fmt.Sprintf("%s reports again after %s of silence", h.FQDN, h.SeenAt.Sub(h.Silent).Round(time.Minute))
			data, _ := json.Marshal(map[string]any{"seen_at": h.SeenAt.UTC(), "silent_since": h.Silent.UTC()})
			id := h.ID
			if err := q.AddEvent(ctx, store.Event{Kind: store.EventHostBack, HostID: &id, Actor: "notifier", Message: msg, Data: data}); err != nil {
				return err
			}
			if err := q.ForgetStaleNotice(ctx, h.ID); err != nil {
				return err
			}
			if n.hosts != nil {
				if _, err := n.hosts.HostBack(ctx, q, h.ID); err != nil {
					return err
				}
			}
		}
		hosts, err := q.UnreportedStaleHosts(ctx, store.StaleRule{Now: now, After: n.cfg.StaleAfter}, 1000)
		if err != nil {
			return err
		}
		for _, h := range hosts {
			ago := now.Sub(h.SeenAt).Round(time.Minute)
			msg := fmt.Sprintf("%s has not been seen for %s (stale after %s)", h.FQDN, ago, h.StaleAfter)
			if !h.Seen {
				msg = fmt.Sprintf("%s has never sent an update since it was added %s ago (stale after %s)", h.FQDN, ago, h.StaleAfter)
			}
			data, _ := json.Marshal(map[string]any{"seen_at": h.SeenAt.UTC(), "ever_seen": h.Seen,
				"stale_after_seconds": int64(h.StaleAfter.Seconds())})
			id := h.ID
			if err := q.AddEvent(ctx, store.Event{Kind: store.EventHostStale, HostID: &id, Actor: "notifier", Message: msg, Data: data}); err != nil {
				return err
			}
			if err := q.NoteStaleHostReported(ctx, h.ID, h.SeenAt); err != nil {
				return err
			}
			if n.hosts != nil {
				if _, err := n.hosts.HostStale(ctx, q, h.ID); err != nil {
					return err
				}
			}
		}
		reported = len(hosts)
		return nil
	})
	return reported, err
}

// dispatch claims as many due notifications as there are free senders and
// sends each in its own goroutine.
func (n *Notifier) dispatch(ctx context.Context) error {
	free := cap(n.slots) - len(n.slots)
	if free == 0 {
		return nil
	}
	jobs, err := n.store.ClaimWebhookDeliveries(ctx, free, n.cfg.Lease)
	for _, j := range jobs {
		n.slots <- struct{}{}
		n.wg.Add(1)
		go func() {
			defer func() { <-n.slots; n.wg.Done() }()
			n.deliver(ctx, j)
		}()
	}
	return err
}

// SendDue sends every notification due now and waits for the outcomes;
// it returns how many it sent. Tests use it; Run sends without waiting.
func (n *Notifier) SendDue(ctx context.Context) (int, error) {
	total := 0
	for {
		jobs, err := n.store.ClaimWebhookDeliveries(ctx, cap(n.slots), n.cfg.Lease)
		if err != nil || len(jobs) == 0 {
			return total, err
		}
		var wg sync.WaitGroup
		for _, j := range jobs {
			wg.Add(1)
			go func() { defer wg.Done(); n.deliver(ctx, j) }()
		}
		wg.Wait()
		total += len(jobs)
	}
}

// deliver sends one notification and records the outcome: delivered, a
// retry after a backoff, or given up after MaxAttempts.
func (n *Notifier) deliver(ctx context.Context, j store.WebhookJob) {
	var res Result
	secret := ""
	if j.Secret != nil {
		s, err := n.box.Open(j.Secret, j.SecretKey)
		if err != nil {
			res.Message = "the webhook's secret cannot be decrypted (was the server's secret key changed?); set it again"
		}
		secret = s
	}
	id := strconv.FormatInt(j.ID, 10)
	switch {
	case res.Message != "":
	case j.Destination != nil:
		dest, err := n.box.Open(j.Destination, j.DestinationKey)
		if err != nil {
			res.Message = "the channel's destination cannot be decrypted (was the server's secret key changed?); set it again"
			break
		}
		var p Payload
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			res.Message = "the notification cannot be read: " + err.Error()
			break
		}
		res = n.channels.Send(ctx, dest, j.Event, id, j.Payload, Render(p))
	default:
		res = n.sender.Send(ctx, Request{URL: j.URL, Secret: secret, Event: j.Event, ID: id, Body: j.Payload})
	}
	if ctx.Err() != nil {
		return // shutting down: the lease brings it back
	}
	var next *time.Time
	msg := res.Message
	if !res.Delivered {
		if j.Attempts < n.cfg.MaxAttempts {
			t := time.Now().Add(n.Backoff(j.Attempts))
			next = &t
		} else {
			msg = fmt.Sprintf("%s (given up after %d attempts)", msg, j.Attempts)
		}
	}
	var status *int
	if res.Status != 0 {
		status = &res.Status
	}
	log := n.log.With("webhook", j.WebhookID, "notification", j.ID, "event", j.Event, "attempt", j.Attempts,
		"duration_ms", res.Duration.Milliseconds())
	if err := n.store.FinishWebhookDelivery(ctx, j, res.Delivered, status, msg, next); err != nil {
		log.Warn("recording a webhook outcome failed; the lease will bring it back", "err", err)
		return
	}
	switch {
	case res.Delivered:
		log.Debug("webhook notified", "status", res.Status)
	case next != nil:
		log.Info("webhook not reached; will retry", "message", msg, "next_attempt", next.UTC())
	default:
		log.Warn("webhook not reached; notification given up", "message", msg)
	}
}

// Backoff is the delay before retry number attempt+1 (retry.Backoff with
// RetryBase and RetryMax).
func (n *Notifier) Backoff(attempt int) time.Duration {
	return retry.Backoff(attempt, n.cfg.RetryBase, n.cfg.RetryMax)
}
