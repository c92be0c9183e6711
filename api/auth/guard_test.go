package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/ratelimit"
	"golang.org/x/time/rate"
)

func TestSourceGroups(t *testing.T) {
	for _, c := range []struct {
		bits int
		addr string
		want string
	}{
		{0, "198.51.100.7", "198.51.100.7"},
		{0, "::ffff:198.51.100.7", "198.51.100.7"},
		{0, "2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{0, "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{0, "fe80::1%eth0", "fe80::/64"},
		{56, "2001:db8:1:2ff::1", "2001:db8:1:200::/56"},
		{128, "2001:db8::1", "2001:db8::1/128"},
		{0, "", "unknown"},
	} {
		var a netip.Addr
		if c.addr != "" {
			a = netip.MustParseAddr(c.addr)
		}
		if got := (SourceGroups{IPv6Prefix: c.bits}).Of(a); got != c.want {
			t.Errorf("/%d %s: %q, want %q", c.bits, c.addr, got, c.want)
		}
	}
}

func TestKeyedLimiterChargeNeverRefusesAndMeasuresExcess(t *testing.T) {
	l, clock := newTestLimiter(rate.Every(time.Minute), 3, 100)
	for i := range 3 {
		if ex := l.Charge("admin"); ex != 0 {
			t.Fatalf("charge %d within the burst: excess %s", i+1, ex)
		}
	}
	if ex := l.Charge("admin"); ex != time.Minute {
		t.Fatalf("fourth charge: excess %s, want 1m", ex)
	}
	l.Charge("admin")
	if ex := l.Excess("admin"); ex != 2*time.Minute {
		t.Fatalf("excess %s, want 2m", ex)
	}
	clock.Advance(90 * time.Second)
	if ex := l.Excess("admin"); ex != 30*time.Second {
		t.Fatalf("excess after 90 s %s, want 30s", ex)
	}
	// Capped: an attack long over is forgotten in bounded time.
	for range 10_000 {
		l.Charge("flooded")
	}
	if ex := l.Excess("flooded"); ex > 300*time.Minute {
		t.Fatalf("excess of a flooded key %s, want at most 100 bursts", ex)
	}
	if l.Excess("nobody") != 0 {
		t.Fatal("an unknown key has an excess")
	}
}

func testGuard(l GuardLimits) *Guard {
	if l.Verifications == 0 {
		l.Verifications = 2
	}
	l.Params = TestParams
	g := NewGuard(l, SourceGroups{})
	g.sleep = func(context.Context, time.Duration) error { return nil }
	return g
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// The rule of issue 14: failures of others never refuse a right password
// from a source that has not been failing. The source that fails is
// refused, before anything is verified for it.
func TestGuardNeverRefusesACleanSource(t *testing.T) {
	g := testGuard(GuardLimits{PerSource: rate.Every(time.Hour), SourceBurst: 10, PerPair: rate.Every(time.Hour), PairBurst: 5,
		PerAccount: rate.Every(time.Hour), AccountBurst: 10, MaxDelay: time.Second})
	ctx := context.Background()
	wrong := func() bool { return false }
	right := func() bool { return true }
	verified := 0
	counting := func() bool { verified++; return false }

	// One attacker address: 5 guesses at admin are verified, then it is refused.
	for i := range 100 {
		ok, err := g.Check(ctx, "admin", addr("203.0.113.66"), counting)
		var rl *ratelimit.Error
		switch {
		case i < 5 && (ok || err != nil):
			t.Fatalf("guess %d: ok %v, err %v; want a verified failure", i, ok, err)
		case i >= 5 && !errors.As(err, &rl):
			t.Fatalf("guess %d: %v, want refused", i, err)
		case i >= 5 && rl.RetryAfter <= 0:
			t.Fatalf("guess %d refused without a Retry-After", i)
		}
	}
	if verified != 5 {
		t.Fatalf("%d guesses verified, want 5 (the pair's burst)", verified)
	}
	// Many attacker addresses, each failing a few times.
	for i := range 200 {
		for range 3 {
			_, _ = g.Check(ctx, "admin", addr(fmt.Sprintf("192.0.2.%d", i)), wrong)
		}
	}
	// The owner from a clean address is let in every time.
	for i := range 20 {
		if ok, err := g.Check(ctx, "admin", addr("198.51.100.1"), right); !ok || err != nil {
			t.Fatalf("right password from a clean source, try %d: ok %v, err %v", i, ok, err)
		}
	}
	// The attacker's address stays refused even with the right password.
	if _, err := g.Check(ctx, "admin", addr("203.0.113.66"), right); err == nil {
		t.Fatal("the failing source was let in")
	}
}

// Every address of one IPv6 /64 is one source: 64 of them share one budget.
func TestGuardIPv6PrefixSharesOneBudget(t *testing.T) {
	g := testGuard(GuardLimits{PerSource: rate.Every(time.Hour), SourceBurst: 10, PerPair: rate.Every(time.Hour), PairBurst: 100,
		PerAccount: rate.Every(time.Hour), AccountBurst: 1000})
	verified := 0
	for i := range 64 {
		a := addr(fmt.Sprintf("2001:db8:1:2:%x::%x", i*977, i+1))
		_, err := g.Check(context.Background(), fmt.Sprint("user", i), a, func() bool { verified++; return false })
		if err != nil && !errors.As(err, new(*ratelimit.Error)) {
			t.Fatal(err)
		}
	}
	if verified != 10 {
		t.Fatalf("%d verified from 64 addresses of one /64, want 10 (one budget)", verified)
	}
	if ok, err := g.Check(context.Background(), "user0", addr("2001:db8:1:3::1"), func() bool { return true }); !ok || err != nil {
		t.Fatalf("the next /64 is another source: %v %v", ok, err)
	}
}

// An account guessed at from many sources is slowed down, more the more
// it is guessed at, up to MaxDelay; it is never refused.
func TestGuardSlowsAnAccountUnderAttack(t *testing.T) {
	g := testGuard(GuardLimits{PerSource: rate.Every(time.Hour), SourceBurst: 10, PerPair: rate.Every(time.Hour), PairBurst: 10,
		PerAccount: rate.Every(time.Hour), AccountBurst: 10, MaxDelay: time.Second})
	var mu sync.Mutex
	var delays []time.Duration
	g.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		delays = append(delays, d)
		mu.Unlock()
		return nil
	}
	for i := range 100 {
		_, _ = g.Check(context.Background(), "admin", addr(fmt.Sprintf("192.0.2.%d", i)), func() bool { return false })
	}
	if len(delays) != 89 { // the first 11 attempts find the account within its burst
		t.Fatalf("%d attempts slowed down, want 89", len(delays))
	}
	for i := 1; i < len(delays); i++ {
		if delays[i] < delays[i-1] {
			t.Fatalf("delays shrink: %v", delays)
		}
	}
	if delays[0] < slowDownBase || delays[len(delays)-1] != time.Second {
		t.Fatalf("delays from %s to %s, want from %s growing to the 1 s cap", delays[0], delays[len(delays)-1], slowDownBase)
	}
	// Other accounts are not slowed.
	n := len(delays)
	if ok, _ := g.Check(context.Background(), "other", addr("198.51.100.1"), func() bool { return true }); !ok || len(delays) != n {
		t.Fatal("another account was slowed down")
	}
	// The owner still gets in, slowed.
	if ok, err := g.Check(context.Background(), "admin", addr("198.51.100.1"), func() bool { return true }); !ok || err != nil {
		t.Fatalf("owner of the attacked account: %v %v", ok, err)
	}
}

// An unknown account's check is emulated: no hash, the same limits.
func TestGuardEmulatesUnknownAccounts(t *testing.T) {
	g := testGuard(GuardLimits{PerSource: rate.Every(time.Hour), SourceBurst: 3, PerPair: rate.Every(time.Hour), PairBurst: 3,
		PerAccount: rate.Every(time.Hour), AccountBurst: 100})
	for i := range 5 {
		ok, err := g.Check(context.Background(), fmt.Sprint("nobody", i), addr("192.0.2.1"), nil)
		if ok || i < 3 && err != nil || i >= 3 && !errors.As(err, new(*ratelimit.Error)) {
			t.Fatalf("unknown account %d: ok %v, err %v", i, ok, err)
		}
	}
}

// Alone, a source group may use every slot; a slot that frees goes to the
// waiting group holding the fewest, so one flooding the gate delays a
// newcomer by one verification and the slots even out between floods.
func TestGateSharesSlotsBetweenGroups(t *testing.T) {
	g := NewGate(4)
	var mu sync.Mutex
	var order []string
	active := map[string]int{}
	done := map[string][]chan struct{}{} // per group, the calls holding a slot
	var wg sync.WaitGroup
	call := func(group string) {
		wg.Go(func() {
			_ = g.Do(context.Background(), group, Clean, func() {
				end := make(chan struct{})
				mu.Lock()
				active[group]++
				order = append(order, group)
				done[group] = append(done[group], end)
				mu.Unlock()
				<-end
				mu.Lock()
				active[group]--
				mu.Unlock()
			})
		})
	}
	finish := func(group string) { // ends one call of group holding a slot
		mu.Lock()
		end := done[group][0]
		done[group] = done[group][1:]
		mu.Unlock()
		close(end)
	}
	waiting := func(group string, n int) func() bool {
		return func() bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			return g.groups[group] != nil && len(g.groups[group].waiters[Clean]) == n
		}
	}
	holding := func(want map[string]int) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			for k, n := range want {
				if active[k] != n || len(done[k]) != n {
					return false
				}
			}
			return true
		}
	}
	for range 20 {
		call("flood")
	}
	waitFor(t, waiting("flood", 16))
	waitFor(t, holding(map[string]int{"flood": 4})) // alone: every slot

	call("router")
	waitFor(t, waiting("router", 1))
	finish("flood") // the slot freed is the router's
	waitFor(t, holding(map[string]int{"flood": 3, "router": 1}))
	mu.Lock()
	if order[4] != "router" {
		t.Errorf("order %v: the router did not get the freed slot", order)
	}
	mu.Unlock()

	for range 10 {
		call("other")
	}
	waitFor(t, waiting("other", 10))
	finish("router")
	waitFor(t, holding(map[string]int{"flood": 3, "other": 1}))
	finish("flood") // "other" holds fewer: it gets the slot
	waitFor(t, holding(map[string]int{"flood": 2, "other": 2}))
	finish("flood") // now "flood" holds fewer
	waitFor(t, holding(map[string]int{"flood": 2, "other": 2}))
	finish("other")
	finish("other")
	waitFor(t, holding(map[string]int{"flood": 2, "other": 2}))

	// Drain.
	for {
		mu.Lock()
		var group string
		for k, ends := range done {
			if len(ends) > 0 {
				group = k
			}
		}
		mu.Unlock()
		if group == "" {
			g.mu.Lock()
			idle := g.busy == 0 && len(g.groups) == 0
			g.mu.Unlock()
			if idle {
				break
			}
			time.Sleep(time.Millisecond)
			continue
		}
		finish(group)
	}
	wg.Wait()
	if len(g.groups) != 0 || len(g.turns[Clean])+len(g.turns[Failing]) != 0 || g.busy != 0 {
		t.Errorf("state left behind: %d groups, %v turns, %d busy", len(g.groups), g.turns, g.busy)
	}
}

// A call from a group that has not been failing goes before those of
// groups that have, however many of them wait.
func TestGateServesCleanGroupsFirst(t *testing.T) {
	g := NewGate(2)
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	run := func(group string, prio int) {
		_ = g.Do(context.Background(), group, prio, func() {
			mu.Lock()
			order = append(order, group)
			mu.Unlock()
			<-release
		})
	}
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { run(fmt.Sprint("busy", i), Clean) })
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 2 })
	for i := range 10 {
		wg.Go(func() { run(fmt.Sprint("attacker", i), Failing) })
	}
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.turns[Failing]) == 10 })
	wg.Go(func() { run("router", Clean) })
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.turns[Clean]) == 1 })
	release <- struct{}{}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 3 })
	mu.Lock()
	if order[2] != "router" {
		t.Errorf("served %v: the clean group waited behind failing ones", order)
	}
	mu.Unlock()
	close(release)
	wg.Wait()
}

// Emulate takes its turn like Do and holds its group's share for the
// time, but not a slot: a real verification of another group runs while
// it lasts, and the group's next calls wait as they would for real ones.
func TestGateEmulateHoldsTheGroupNotTheSlot(t *testing.T) {
	g := NewGate(2)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := g.Emulate(context.Background(), "unknown", Clean, 300*time.Millisecond); err != nil {
				t.Error(err)
			}
		})
	}
	state := func() (active, waiting, busy int) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if gg := g.groups["unknown"]; gg != nil {
			active, waiting = gg.active, len(gg.waiters[Clean])
		}
		return active, waiting, g.busy
	}
	// Alone, the group takes both slots' worth of turns, as it would
	// with real verifications; the third waits.
	waitFor(t, func() bool { a, w, _ := state(); return a == 2 && w == 1 })
	if _, _, busy := state(); busy != 0 {
		t.Fatalf("an emulation holds %d slots", busy)
	}
	var during int
	if err := g.Do(context.Background(), "router", Clean, func() { during, _, _ = state() }); err != nil {
		t.Fatal(err)
	}
	if during == 0 {
		t.Fatal("the real verification did not run while the emulations lasted")
	}
	wg.Wait()
	if a, w, busy := state(); a != 0 || w != 0 || busy != 0 {
		t.Fatalf("left behind: active %d, waiting %d, busy %d", a, w, busy)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
	}
}
