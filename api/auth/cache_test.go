package auth

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for the now fields, so expiry and refill are
// tested without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestCache(size int, ttl time.Duration) (*CredentialCache, *fakeClock) {
	clock := newFakeClock()
	c := NewCredentialCache([]byte("test key"), size, ttl)
	c.now = clock.Now
	return c, clock
}

// consistent checks the three indexes of c agree and returns the entry count.
func (c *CredentialCache) consistent(t *testing.T) int {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	inHosts := 0
	for host, set := range c.hosts {
		if len(set) == 0 {
			t.Errorf("empty host set for %q kept", host)
		}
		inHosts += len(set)
	}
	if n := c.lru.Len(); n != len(c.entries) || n != inHosts {
		t.Fatalf("indexes disagree: lru %d, entries %d, hosts %d", n, len(c.entries), inHosts)
	}
	return c.lru.Len()
}

func TestCredentialCacheHitAndMiss(t *testing.T) {
	c, _ := newTestCache(10, time.Minute)
	if c.Check("a.example", "s1") {
		t.Fatal("hit on empty cache")
	}
	c.Put("a.example", "s1")
	if !c.Check("a.example", "s1") {
		t.Fatal("miss after Put")
	}
	for _, tc := range [][2]string{
		{"a.example", "s2"},
		{"a.example", "S1"},
		{"b.example", "s1"},
		{"a.exampl", "es1"}, // same concatenation without the separator
		{"a.example\x00", "s1"},
	} {
		if c.Check(tc[0], tc[1]) {
			t.Errorf("hit for %q/%q", tc[0], tc[1])
		}
	}
}

func TestCredentialCacheDoesNotStoreSecret(t *testing.T) {
	c, _ := newTestCache(10, time.Minute)
	c.Put("a.example", "very-secret")
	for _, el := range c.entries {
		if e := el.Value.(*cacheEntry); strings.Contains(fmt.Sprintf("%+v %s", *e, e.mac[:]), "very-secret") {
			t.Fatalf("entry holds the secret: %+v", *e)
		}
	}
	// Another key gives other MACs: entries are useless without the key.
	other := NewCredentialCache([]byte("other key"), 10, time.Minute)
	if other.mac("a.example", "very-secret") == c.mac("a.example", "very-secret") {
		t.Fatal("MAC does not depend on the key")
	}
	random1, random2 := NewCredentialCache(nil, 1, time.Minute), NewCredentialCache(nil, 1, time.Minute)
	if random1.mac("h", "s") == random2.mac("h", "s") {
		t.Fatal("nil key is not replaced by a random key")
	}
}

func TestCredentialCacheExpiry(t *testing.T) {
	c, clock := newTestCache(10, time.Minute)
	c.Put("a", "s")
	clock.Advance(59 * time.Second)
	if !c.Check("a", "s") {
		t.Fatal("expired before ttl")
	}
	// A hit extends the entry: a router updating more often than ttl stays.
	for range 10 {
		clock.Advance(50 * time.Second)
		if !c.Check("a", "s") {
			t.Fatal("expired although used within ttl")
		}
	}
	// Unused for ttl, it is gone.
	clock.Advance(time.Minute)
	if c.Check("a", "s") {
		t.Fatal("still valid ttl after the last use")
	}
	if n := c.consistent(t); n != 0 {
		t.Fatalf("expired entry kept: %d entries", n)
	}
	// However often used, it is verified again after MaxVerifiedAge.
	c.Put("a", "s")
	elapsed := time.Duration(0)
	for ; elapsed+50*time.Second < MaxVerifiedAge; elapsed += 50 * time.Second {
		clock.Advance(50 * time.Second)
		if !c.Check("a", "s") {
			t.Fatalf("expired after %s although used", elapsed)
		}
	}
	clock.Advance(MaxVerifiedAge - elapsed) // less than ttl after the last use
	if c.Check("a", "s") {
		t.Fatal("still valid MaxVerifiedAge after the verification")
	}
	c.Put("a", "s")
	clock.Advance(50 * time.Second)
	c.Put("a", "s") // a fresh verification restarts both clocks
	clock.Advance(50 * time.Second)
	if !c.Check("a", "s") {
		t.Fatal("Put did not refresh the entry")
	}
}

func TestCredentialCacheForget(t *testing.T) {
	c, _ := newTestCache(10, time.Minute)
	c.Put("a", "old")
	c.Put("a", "new")
	c.Put("b", "old")
	c.Forget("a")
	if c.Check("a", "old") || c.Check("a", "new") {
		t.Fatal("entry of forgotten host still hits")
	}
	if !c.Check("b", "old") {
		t.Fatal("Forget dropped another host")
	}
	c.Forget("unknown")
	if n := c.consistent(t); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
}

func TestCredentialCacheBound(t *testing.T) {
	c, _ := newTestCache(3, time.Minute)
	c.Put("h1", "s")
	c.Put("h2", "s")
	c.Put("h3", "s")
	c.Check("h1", "s") // h1 is now the most recently used, h2 the least
	c.Put("h4", "s")
	if n := c.consistent(t); n != 3 {
		t.Fatalf("%d entries, want 3", n)
	}
	if c.Check("h2", "s") {
		t.Fatal("least recently used entry not evicted")
	}
	for _, h := range []string{"h1", "h3", "h4"} {
		if !c.Check(h, "s") {
			t.Errorf("%s evicted", h)
		}
	}
	for i := range 100 {
		c.Put(fmt.Sprint("x", i), "s")
	}
	if n := c.consistent(t); n != 3 {
		t.Fatalf("%d entries, want 3", n)
	}
}

func TestCredentialCacheDisabled(t *testing.T) {
	for _, c := range []*CredentialCache{
		NewCredentialCache([]byte("k"), 0, time.Minute),
		NewCredentialCache([]byte("k"), 10, 0),
	} {
		c.Put("a", "s")
		if c.Check("a", "s") {
			t.Fatal("disabled cache hit")
		}
		c.Forget("a")
	}
}

func TestCredentialCacheConcurrent(t *testing.T) {
	c, clock := newTestCache(50, time.Minute)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				host := fmt.Sprint("h", (g*7+i)%80)
				switch i % 5 {
				case 0:
					c.Forget(host)
				case 1:
					clock.Advance(time.Second)
				default:
					c.Put(host, "s")
					c.Check(host, "s")
				}
			}
		})
	}
	wg.Wait()
	if n := c.consistent(t); n > 50 {
		t.Fatalf("%d entries, bound is 50", n)
	}
}
