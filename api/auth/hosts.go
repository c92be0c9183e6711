package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// ErrBadCredentials is the answer for an unknown host and a wrong secret alike.
var ErrBadCredentials = errors.New("auth: bad credentials")

// RateLimitedError means too many failed attempts from a source or for a host.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("auth: too many failed attempts, retry after %s", e.RetryAfter.Round(time.Second))
}

// HostLimits tune host authentication.
type HostLimits struct {
	Params        Params
	CacheSize     int
	CacheTTL      time.Duration
	Verifications int        // argon2id verifications at once
	PerSource     rate.Limit // failed attempts refilled per second, per source address
	SourceBurst   int
	PerHost       rate.Limit // failed attempts refilled per second, per host
	HostBurst     int
}

// DefaultHostLimits suit a broker with thousands of routers on two cores.
func DefaultHostLimits() HostLimits {
	// argon2id is CPU-bound: more verifications at once than cores only add
	// 19 MiB of memory each.
	return HostLimits{Params: DefaultParams, CacheSize: 100_000, CacheTTL: 15 * time.Minute, Verifications: max(1, runtime.GOMAXPROCS(0)),
		PerSource: rate.Every(30 * time.Second), SourceBurst: 10, PerHost: rate.Every(time.Minute), HostBurst: 20}
}

// Hosts authenticates routers: an argon2id check (or Django pbkdf2 for
// imported hosts, upgraded on success) behind a verified-credential cache, a
// concurrency gate and failure rate limits.
type Hosts struct {
	store     *store.Store
	limits    HostLimits
	cache     *CredentialCache
	gate      *Gate
	perSource *AttemptLimiter
	perHost   *AttemptLimiter
	audit     *KeyedLimiter
	auditAll  *KeyedLimiter
	log       *slog.Logger
}

// NewHosts builds the authenticator; cacheKey keys the credential cache's HMAC.
func NewHosts(s *store.Store, cacheKey []byte, l HostLimits, log *slog.Logger) *Hosts {
	return &Hosts{store: s, limits: l, log: log,
		cache:     NewCredentialCache(cacheKey, l.CacheSize, l.CacheTTL),
		gate:      NewGate(l.Verifications),
		perSource: NewAttemptLimiter(NewKeyedLimiter(l.PerSource, l.SourceBurst, 100_000)),
		perHost:   NewAttemptLimiter(NewKeyedLimiter(l.PerHost, l.HostBurst, 100_000)),
		// At most one audit line per source every 10 s and 5 per second in
		// all, so a flood of bad logins cannot fill the events table.
		audit:    NewKeyedLimiter(rate.Every(10*time.Second), 3, 10_000),
		auditAll: NewKeyedLimiter(5, 20, 1),
	}
}

// Authenticate finds the host named username and checks secret.
func (a *Hosts) Authenticate(ctx context.Context, username, secret string, source netip.Addr) (store.HostAuth, error) {
	fqdn, nameErr := dnsname.Normalize(username)
	var h store.HostAuth
	var err error
	if nameErr == nil {
		h, err = a.store.HostForAuth(ctx, fqdn)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.HostAuth{}, err
		}
	}
	found := nameErr == nil && err == nil
	// The cache key includes the stored hash: a rotated secret (on any
	// replica) no longer matches, without any invalidation message.
	var cacheHost string
	if found {
		cacheHost = strconv.FormatInt(h.ID, 10) + ":" + h.SecretHash
		if a.cache.Check(cacheHost, secret) {
			return h, nil
		}
	}
	// Each verification reserves its failure tokens before the slow hash
	// and gives them back if it succeeds. Checking first and charging after
	// the hash would let every concurrent attempt through while the first
	// ones are still hashing (16 parallel tries from one address got 25
	// verifications instead of 10, and locked the host out for everyone).
	src := source.String()
	keys := []AttemptKey{{a.perSource, src}}
	if found {
		keys = append(keys, AttemptKey{a.perHost, fqdn})
	}
	release, err := ReserveAttempt(ctx, keys...)
	if err != nil {
		return store.HostAuth{}, err
	}
	var ok, rehash bool
	var verr error
	if gerr := a.gate.Do(ctx, func() {
		if found {
			ok, rehash, verr = VerifyPassword(a.limits.Params, h.SecretHash, secret)
		} else {
			DummyVerify(a.limits.Params, secret) // an unknown host costs what a wrong secret costs
		}
	}); gerr != nil {
		release(false)
		return store.HostAuth{}, gerr
	}
	release(!ok)
	if verr != nil {
		a.log.Error("host secret hash is unreadable", "host_id", h.ID, "err", verr)
	}
	if !ok {
		a.auditFailure(ctx, src, h, found, username)
		return store.HostAuth{}, ErrBadCredentials
	}
	if rehash {
		if newHash, err := HashPassword(a.limits.Params, secret); err == nil {
			if err := a.store.RehashHostSecret(ctx, h.ID, h.SecretHash, newHash); err != nil {
				a.log.Warn("upgrading a host secret hash failed", "host_id", h.ID, "err", err)
			} else {
				a.log.Info("host secret hash upgraded to argon2id", "host_id", h.ID)
				h.SecretHash = newHash
				cacheHost = strconv.FormatInt(h.ID, 10) + ":" + newHash
			}
		}
	}
	a.cache.Put(cacheHost, secret)
	return h, nil
}

func (a *Hosts) auditFailure(ctx context.Context, src string, h store.HostAuth, found bool, username string) {
	if ok, _ := a.audit.Allow(src); !ok {
		return
	}
	if ok, _ := a.auditAll.Allow(""); !ok {
		return
	}
	e := store.Event{Kind: "auth.failed", Actor: "router " + src}
	if found {
		id := h.ID
		e.HostID = &id
		e.Message = fmt.Sprintf("failed update authentication for %s from %s", h.FQDN, src)
	} else {
		e.Message = fmt.Sprintf("update authentication for unknown host %q from %s", truncate(username, 80), src)
	}
	if err := a.store.AddEvent(ctx, e); err != nil {
		a.log.Warn("recording a failed authentication failed", "err", err)
	}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return string(r)
}
