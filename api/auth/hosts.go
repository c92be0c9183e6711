package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ddnsbroker/ddnsbroker/api/dnsname"
	"github.com/ddnsbroker/ddnsbroker/api/ratelimit"
	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// ErrBadCredentials is the answer for an unknown host and a wrong secret alike.
var ErrBadCredentials = errors.New("auth: bad credentials")

// HostLimits tune host authentication.
type HostLimits struct {
	Params        Params
	CacheSize     int
	CacheTTL      time.Duration
	Verifications int        // argon2id verifications at once
	PerSource     rate.Limit // failed attempts refilled per second, per source group
	SourceBurst   int
	PerPair       rate.Limit // failed attempts refilled per second, per (host, source group)
	PairBurst     int
	PerHost       rate.Limit // failures per second a host takes before its updates slow down
	HostBurst     int
	MaxDelay      time.Duration // longest slow-down of a host under attack
	// Sources group client addresses (IPv6 by prefix).
	Sources SourceGroups
}

// DefaultHostLimits suit a broker with thousands of routers on two cores.
func DefaultHostLimits() HostLimits {
	// argon2id is CPU-bound: more verifications at once than cores only add
	// 19 MiB of memory each.
	return HostLimits{Params: DefaultParams, CacheSize: 100_000, CacheTTL: 15 * time.Minute, Verifications: max(1, runtime.GOMAXPROCS(0)),
		PerSource: rate.Every(30 * time.Second), SourceBurst: 10, PerPair: rate.Every(time.Minute), PairBurst: 5,
		PerHost: rate.Every(time.Minute), HostBurst: 20, MaxDelay: time.Second}
}

// Hosts authenticates routers: an argon2id check (or Django pbkdf2 for
// imported hosts, upgraded on success) behind a verified-credential cache
// and a Guard (failure limits per source group, fair hashing gate), with
// failures aggregated into the history.
type Hosts struct {
	store    *store.Store
	limits   HostLimits
	cache    *CredentialCache
	verifier []byte   // key of persisted verifiers; nil: none
	writing  sync.Map // host id → a verifier write under way
	dir      *HostDirectory
	guard    *Guard
	failures *FailureLog
	log      *slog.Logger
}

// NewHosts builds the authenticator; cacheKey keys the credential cache's
// HMAC and, derived from it, the persisted verifiers (verifier.go), so it
// must be the same on every replica and across restarts (serve derives it
// from the server secret); empty, no verifier is used. failures records
// failed attempts (nil: not recorded).
func NewHosts(s *store.Store, cacheKey []byte, l HostLimits, failures *FailureLog, log *slog.Logger) *Hosts {
	return &Hosts{store: s, limits: l, log: log, failures: failures, verifier: verifierKey(cacheKey),
		cache: NewCredentialCache(cacheKey, l.CacheSize, l.CacheTTL),
		guard: NewGuard(GuardLimits{Params: l.Params, Verifications: l.Verifications,
			PerSource: l.PerSource, SourceBurst: l.SourceBurst, PerPair: l.PerPair, PairBurst: l.PairBurst,
			PerAccount: l.PerHost, AccountBurst: l.HostBurst, MaxDelay: l.MaxDelay}, l.Sources),
	}
}

// UseDirectory makes Authenticate find hosts in d (kept current by d.Run)
// instead of reading them from the database; call it before serving.
func (a *Hosts) UseDirectory(d *HostDirectory) { a.dir = d }

// host finds the host named fqdn: in the directory when it has it and is
// current, in the database otherwise.
func (a *Hosts) host(ctx context.Context, fqdn string) (store.HostAuth, error) {
	if a.dir != nil {
		if h, ok := a.dir.Lookup(fqdn); ok {
			return h, nil
		}
	}
	return a.store.HostForAuth(ctx, fqdn)
}

// Authenticate finds the host named username and checks secret.
func (a *Hosts) Authenticate(ctx context.Context, username, secret string, source netip.Addr) (store.HostAuth, error) {
	fqdn, nameErr := dnsname.Normalize(username)
	var h store.HostAuth
	var err error
	if nameErr == nil {
		h, err = a.host(ctx, fqdn)
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
			if len(h.Verifier) == 0 {
				// Verified before its verifier could be stored.
				a.storeVerifier(h, secret)
			}
			return h, nil
		}
		// The persisted verifier spares a fresh process (a restart, a new
		// replica) the argon2id verification of every router's first
		// update. A hash due for an upgrade is verified in full instead.
		if a.verifies(h, secret) && !NeedsRehash(a.limits.Params, h.SecretHash) {
			a.cache.Put(cacheHost, secret)
			return h, nil
		}
	}
	// Failures are counted per name, existing or not, so that an unknown
	// name is limited (and slowed) exactly like a known one.
	account := fqdn
	if nameErr != nil {
		account = "\x00" + truncate(strings.ToLower(username), 255)
	}
	var rehash bool
	var verr error
	var verify func() bool
	if found {
		verify = func() bool {
			var ok bool
			ok, rehash, verr = VerifyPassword(a.limits.Params, h.SecretHash, secret)
			return ok
		}
	}
	ok, err := a.guard.Check(ctx, account, source, verify)
	var rl *ratelimit.Error
	switch {
	case errors.As(err, &rl):
		a.recordFailure(source, h, found, username, FailureRateLimited)
		return store.HostAuth{}, err
	case err != nil:
		return store.HostAuth{}, err
	}
	if verr != nil {
		a.log.Error("host secret hash is unreadable", "host_id", h.ID, "err", verr)
	}
	if !ok {
		a.recordFailure(source, h, found, username, FailureBadCredentials)
		return store.HostAuth{}, ErrBadCredentials
	}
	if rehash {
		if newHash, err := HashPassword(a.limits.Params, secret); err == nil {
			if err := a.store.RehashHostSecret(ctx, h.ID, h.SecretHash, newHash, a.verifierOf(h.ID, newHash, secret)); err != nil {
				a.log.Warn("upgrading a host secret hash failed", "host_id", h.ID, "err", err)
			} else {
				a.log.Info("host secret hash upgraded to argon2id", "host_id", h.ID)
				h.SecretHash = newHash
				cacheHost = strconv.FormatInt(h.ID, 10) + ":" + newHash
			}
		}
	} else {
		a.storeVerifier(h, secret)
	}
	a.cache.Put(cacheHost, secret)
	return h, nil
}

func (a *Hosts) recordFailure(source netip.Addr, h store.HostAuth, found bool, username, reason string) {
	f := Failure{Kind: KindUpdateAuthFailed, Reason: reason, Source: a.guard.Group(source)}
	if found {
		f.HostID, f.Account = h.ID, h.FQDN
	} else {
		f.Name = username
	}
	a.failures.Add(f)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return string(r)
}
