package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store"
	"github.com/ddnsbroker/ddnsbroker/api/worker"
)

// Reasons of a Failure.
const (
	// FailureBadCredentials is a wrong secret or password, or an unknown
	// account (the history may tell them apart; the client never can).
	FailureBadCredentials = "bad_credentials"
	// FailureRateLimited is an attempt refused unverified because its
	// source group kept failing.
	FailureRateLimited = "rate_limited"
)

// Event kinds of failed authentications.
const (
	KindUpdateAuthFailed = store.EventAuthFailed      // dyndns2 updates
	KindLoginFailed      = store.EventAuthLoginFailed // logins and password confirmations
)

// Failure is one failed authentication, for the history.
type Failure struct {
	Kind    store.EventKind // KindUpdateAuthFailed or KindLoginFailed
	HostID  int64           // the host the update was for; 0 for none
	Account string          // the existing account ("h.example.com", "admin"); "" when the name is unknown
	Name    string          // the name sent, kept (truncated) only when it is unknown
	Reason  string          // FailureBadCredentials or FailureRateLimited
	Source  string          // the source group
}

// FailureLog aggregates failed authentications into the history: at most
// one event per (kind, account or "unknown", reason) and flush, a minute
// apart, carrying how many there were and from which source groups. So a
// flood from one source or from many writes a few rows a minute, not one
// per attempt, and every attempt is still counted. Text chosen by the
// attacker (an unknown name) is truncated and quoted.
//
// Counts live in memory until the next flush: a crash loses at most a
// minute of them (Run flushes on a clean stop). Safe for concurrent use.
type FailureLog struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	windows map[failureKey]*failureWindow
}

type failureKey struct {
	kind            store.EventKind
	account, reason string
	hostID          int64
}

type failureWindow struct {
	first, last time.Time
	count       int
	sources     map[string]int // at most maxFailureSources, space-saving counts
	names       []string       // a few unknown names tried, truncated
}

const (
	// maxFailureWindows bounds the accounts told apart in one flush;
	// beyond it, failures count towards one row for "other" accounts.
	maxFailureWindows = 1000
	// maxFailureSources source groups are counted per row (the heaviest
	// ones stay, approximately; the total is exact).
	maxFailureSources = 16
	// shownFailureSources are listed in a row's message.
	shownFailureSources = 5
	maxFailureNames     = 5
	maxFailureNameRunes = 64
	// otherAccounts stands for the accounts past maxFailureWindows.
	otherAccounts = "\x00other"
)

// FailureFlushInterval is how often Run writes the aggregated rows.
const FailureFlushInterval = time.Minute

// NewFailureLog writes to s; log reports rows that could not be written.
func NewFailureLog(s *store.Store, log *slog.Logger) *FailureLog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FailureLog{store: s, log: log, now: time.Now, windows: map[failureKey]*failureWindow{}}
}

// Add counts one failure.
func (l *FailureLog) Add(f Failure) {
	if l == nil {
		return
	}
	now := l.now()
	k := failureKey{kind: f.Kind, account: f.Account, reason: f.Reason, hostID: f.HostID}
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[k]
	if w == nil {
		if len(l.windows) >= maxFailureWindows {
			k = failureKey{kind: f.Kind, account: otherAccounts, reason: f.Reason}
			w = l.windows[k]
		}
		if w == nil {
			w = &failureWindow{first: now, sources: map[string]int{}}
			l.windows[k] = w
		}
	}
	w.count++
	w.last = now
	w.addSource(f.Source, 1)
	if f.Account == "" && f.Name != "" {
		w.addName(f.Name)
	}
}

// addSource counts n failures of src with the space-saving rule: a new
// source when the table is full takes over the smallest counter, so the
// counters always add up to the window's count.
func (w *failureWindow) addSource(src string, n int) {
	if _, ok := w.sources[src]; ok || len(w.sources) < maxFailureSources {
		w.sources[src] += n
		return
	}
	minKey, minN := "", 0
	for k, c := range w.sources {
		if minKey == "" || c < minN || c == minN && k < minKey {
			minKey, minN = k, c
		}
	}
	delete(w.sources, minKey)
	w.sources[src] = minN + n
}

func (w *failureWindow) addName(name string) {
	name = truncate(strings.ToValidUTF8(name, "\uFFFD"), maxFailureNameRunes)
	if len(w.names) < maxFailureNames && !slices.Contains(w.names, name) {
		w.names = append(w.names, name)
	}
}

// merge adds o's counts to w (a flush that failed puts its rows back).
func (w *failureWindow) merge(o *failureWindow) {
	w.first = minTime(w.first, o.first)
	if o.last.After(w.last) {
		w.last = o.last
	}
	w.count += o.count
	for _, src := range slices.Sorted(maps.Keys(o.sources)) {
		w.addSource(src, o.sources[src])
	}
	for _, n := range o.names {
		w.addName(n)
	}
}

// Pending tells how many failures wait for the next flush (tests, metrics).
func (l *FailureLog) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, w := range l.windows {
		n += w.count
	}
	return n
}

// Flush writes one event per aggregated row. Rows it could not write are
// kept for the next flush.
func (l *FailureLog) Flush(ctx context.Context) error {
	l.mu.Lock()
	windows := l.windows
	l.windows = map[failureKey]*failureWindow{}
	l.mu.Unlock()
	if len(windows) == 0 {
		return nil
	}
	keys := slices.SortedFunc(maps.Keys(windows), func(a, b failureKey) int {
		return strings.Compare(string(a.kind)+"\x00"+a.account+"\x00"+a.reason, string(b.kind)+"\x00"+b.account+"\x00"+b.reason)
	})
	err := l.store.InTx(ctx, func(q *store.Queries) error {
		for _, k := range keys {
			if err := q.AddEvent(ctx, failureEvent(k, windows[k])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		l.mu.Lock()
		for k, w := range windows {
			if cur := l.windows[k]; cur != nil {
				cur.merge(w)
			} else {
				l.windows[k] = w
			}
		}
		l.mu.Unlock()
		return fmt.Errorf("record failed authentications: %w", err)
	}
	return nil
}

// Run flushes every interval until ctx ends, then once more.
func (l *FailureLog) Run(ctx context.Context, interval time.Duration) {
	worker.Loop{What: "recording failed authentications", Every: interval, Step: l.Flush, Stop: l.Flush, Log: l.log}.Run(ctx)
}

// failureTexts phrase each kind's rows.
var failureTexts = map[store.EventKind]struct{ failed, refused, unknown, prep string }{
	KindUpdateAuthFailed: {"failed update authentications", "update authentications refused (too many failures)", "unknown hosts", "for"},
	KindLoginFailed:      {"failed logins", "logins refused (too many failures)", "unknown users", "as"},
}

func failureEvent(k failureKey, w *failureWindow) store.Event {
	texts, ok := failureTexts[k.kind]
	if !ok {
		texts = failureTexts[KindUpdateAuthFailed]
	}
	what := texts.failed
	if k.reason == FailureRateLimited {
		what = texts.refused
	}
	subject := k.account
	switch k.account {
	case "":
		subject = texts.unknown
	case otherAccounts:
		subject = "other accounts (too many to list)"
	}
	type sourceCount struct {
		Source string `json:"source"`
		Count  int    `json:"count"`
	}
	srcs := make([]sourceCount, 0, len(w.sources))
	for s, n := range w.sources {
		srcs = append(srcs, sourceCount{s, n})
	}
	slices.SortFunc(srcs, func(a, b sourceCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Source, b.Source)
	})
	shown := srcs[:min(len(srcs), shownFailureSources)]
	listed := 0
	parts := make([]string, 0, len(shown)+1)
	for _, s := range shown {
		parts = append(parts, fmt.Sprintf("%s (%d)", s.Source, s.Count))
		listed += s.Count
	}
	if rest := w.count - listed; rest > 0 {
		parts = append(parts, fmt.Sprintf("others (%d)", rest))
	}
	msg := fmt.Sprintf("%d %s %s %s from %s", w.count, what, texts.prep, subject, strings.Join(parts, ", "))
	if len(w.names) > 0 {
		quoted := make([]string, len(w.names))
		for i, n := range w.names {
			quoted[i] = fmt.Sprintf("%q", n)
		}
		msg += "; names tried include " + strings.Join(quoted, ", ")
	}
	data := map[string]any{"count": w.count, "reason": k.reason, "sources": shown,
		"other_sources_count": w.count - listed, "first_at": w.first.UTC(), "last_at": w.last.UTC()}
	if len(w.names) > 0 {
		data["names"] = w.names
	}
	if k.account != "" && k.account != otherAccounts {
		data["account"] = k.account
	}
	raw, _ := json.Marshal(data) // plain values: cannot fail
	e := store.Event{Kind: k.kind, Actor: "unauthenticated", Message: msg, Data: raw}
	if k.hostID != 0 {
		id := k.hostID
		e.HostID = &id
	}
	return e
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
