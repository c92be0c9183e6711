package auth

import (
	"context"
	"math"
	mrand "math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// GuardLimits tune a Guard.
type GuardLimits struct {
	// Params are the argon2id parameters an unknown account's emulated
	// verification is calibrated with.
	Params Params
	// Verifications is how many slow hashes run at once.
	Verifications int
	// PerSource and SourceBurst limit failures per source group, whatever
	// account they are for: beyond them the group is refused (429).
	PerSource   rate.Limit
	SourceBurst int
	// PerPair and PairBurst limit failures of one source group against one
	// account.
	PerPair   rate.Limit
	PairBurst int
	// PerAccount and AccountBurst measure failures against one account
	// from all sources. Beyond the burst the account is under attack and
	// every attempt on it waits before it is verified, longer the more it
	// is guessed at (up to MaxDelay); it is never refused, so that its
	// owner always gets in from a source that has not been failing.
	PerAccount   rate.Limit
	AccountBurst int
	MaxDelay     time.Duration
}

// Guard protects password and secret checks: the failure limits per
// source group and per (account, source group), the slow-down of an
// account under attack, and the fair hashing gate. The rule it enforces: a
// right password from a source group that has not been failing is always
// accepted, whatever others do; a group that keeps failing is refused
// before any hash is computed for it. Safe for concurrent use.
type Guard struct {
	limits    GuardLimits
	groups    SourceGroups
	perSource *AttemptLimiter
	perPair   *AttemptLimiter
	accounts  *KeyedLimiter
	gate      *Gate
	costs     *costSamples
	// sleep waits for the slow-down; replaced in tests.
	sleep func(ctx context.Context, d time.Duration) error
}

// slowDownBase is the first delay of an account under attack; it doubles
// every AccountBurst further failures, up to MaxDelay.
const slowDownBase = 100 * time.Millisecond

// NewGuard builds a guard; groups says how addresses form source groups.
func NewGuard(l GuardLimits, groups SourceGroups) *Guard {
	return &Guard{limits: l, groups: groups,
		perSource: NewAttemptLimiter(NewKeyedLimiter(l.PerSource, l.SourceBurst, 100_000)),
		perPair:   NewAttemptLimiter(NewKeyedLimiter(l.PerPair, l.PairBurst, 100_000)),
		accounts:  NewKeyedLimiter(l.PerAccount, l.AccountBurst, 100_000),
		gate:      NewGate(l.Verifications),
		costs:     &costSamples{},
		sleep:     sleepCtx,
	}
}

// Group is the source group of an address, as failures are counted.
func (g *Guard) Group(a netip.Addr) string { return g.groups.Of(a) }

// Check runs one attempt on account (a normalised name) from source.
// verify is the slow check of the secret, run under the gate; nil means
// the account does not exist, and a verification is emulated, costing the
// attempt the same time and the same limits but no CPU. It returns whether
// verify said yes; a *ratelimit.Error when the source group has used up
// its failures (nothing was verified); or ctx's error.
func (g *Guard) Check(ctx context.Context, account string, source netip.Addr, verify func() bool) (bool, error) {
	group := g.groups.Of(source)
	// Known before this attempt takes its token: has the group been failing?
	prio := Failing
	if g.perSource.lim.Clean(group) {
		prio = Clean
	}
	release, err := ReserveAttempt(ctx, AttemptKey{g.perSource, group}, AttemptKey{g.perPair, account + "\x00" + group})
	if err != nil {
		return false, err
	}
	if d := g.slowDown(account); d > 0 {
		if err := g.sleep(ctx, d); err != nil {
			release(false)
			return false, err
		}
	}
	ok := false
	if verify != nil {
		err = g.gate.Do(ctx, group, prio, func() {
			t0 := time.Now()
			ok = verify()
			g.costs.add(time.Since(t0))
		})
	} else {
		err = g.emulate(ctx, group, prio)
	}
	if err != nil {
		release(false)
		return false, err
	}
	release(!ok)
	if !ok {
		g.accounts.Charge(account)
	}
	return ok, nil
}

// emulate spends what verifying a wrong secret costs, as seen from
// outside: the wait for the group's turn at the gate and the time of a
// hash, drawn from recent real ones. Now and then (and until there are
// enough samples) it hashes for real, to keep the samples true to the
// machine's current load.
func (g *Guard) emulate(ctx context.Context, group string, prio int) error {
	if d, ok := g.costs.sample(); ok {
		return g.gate.Emulate(ctx, group, prio, d)
	}
	return g.gate.Do(ctx, group, prio, func() {
		t0 := time.Now()
		DummyVerify(g.limits.Params, "")
		g.costs.add(time.Since(t0))
	})
}

// slowDown is how long an attempt on account waits before it is verified:
// nothing while the account's failures stay within its burst, then
// slowDownBase doubling every AccountBurst failures, up to MaxDelay.
func (g *Guard) slowDown(account string) time.Duration {
	excess := g.accounts.Excess(account)
	interval := g.accounts.Interval()
	if excess <= 0 || interval <= 0 || g.limits.MaxDelay <= 0 {
		return 0
	}
	n := float64(excess) / float64(interval)
	step := float64(max(g.limits.AccountBurst, 1))
	d := float64(slowDownBase) * math.Pow(2, n/step)
	return time.Duration(min(d, float64(g.limits.MaxDelay)))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// costSamples keeps the durations of the latest real verifications: few,
// so that they follow the machine's load closely.
type costSamples struct {
	mu     sync.Mutex
	d      [16]time.Duration
	n      int       // samples stored, up to len(d)
	next   int       // where the next goes
	lastAt time.Time // of the latest real verification
}

// Fewer samples than minCostSamples, or none for costRefresh, and the next
// emulation hashes for real.
const (
	minCostSamples = 8
	costRefresh    = 10 * time.Second
)

func (c *costSamples) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.d[c.next] = d
	c.next = (c.next + 1) % len(c.d)
	c.n = min(c.n+1, len(c.d))
	c.lastAt = time.Now()
}

// sample draws one of the stored durations, or says a real hash is due.
func (c *costSamples) sample() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n < minCostSamples || time.Since(c.lastAt) > costRefresh {
		c.lastAt = time.Now() // one real hash per refresh, not one per waiting caller
		return 0, false
	}
	return c.d[mrand.IntN(c.n)], true
}
