package auth

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// CredentialCache remembers successful verifications for a short time, so a
// router that updates every minute does not pay for argon2id each time.
//
// Entries are keyed by HMAC-SHA256(key, host + "\x00" + secret): the secret is
// never stored, and without the key a memory dump does not even allow an
// offline guess. An entry expires ttl after its last use, and at the latest
// MaxVerifiedAge after its verification (so hashes are re-verified, and
// upgraded to new parameters, at least daily); at most size entries are
// kept, evicting the least recently used. Safe for concurrent use.
//
// A hit extends the entry because a router that keeps updating must keep
// getting through without a verification: while it is cached, failures of
// others against its host (which lock the host's verifications out for a
// while) do not touch it. That is safe when host names the stored secret as
// well as the host (Hosts uses "id:hash"), so that a new secret misses.
// Forget must be called with the same host key.
type CredentialCache struct {
	key  []byte
	size int
	ttl  time.Duration
	now  func() time.Time // replaced in tests

	mu      sync.Mutex
	lru     *list.List // of *cacheEntry, most recently used at the front
	entries map[[sha256.Size]byte]*list.Element
	hosts   map[string]map[*list.Element]struct{} // so Forget needs no scan
}

// MaxVerifiedAge bounds how long a cache entry lives however often it is
// used.
const MaxVerifiedAge = 24 * time.Hour

type cacheEntry struct {
	mac      [sha256.Size]byte
	host     string
	expires  time.Time // ttl after the last use
	verified time.Time
}

// NewCredentialCache returns a cache keyed by key, which should be random and
// live only in memory (a nil or empty key is replaced by 32 random bytes). A
// size or ttl of zero or less disables caching: Check always misses.
func NewCredentialCache(key []byte, size int, ttl time.Duration) *CredentialCache {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // never fails since Go 1.24
	}
	return &CredentialCache{
		key:     append([]byte(nil), key...),
		size:    size,
		ttl:     ttl,
		now:     time.Now,
		lru:     list.New(),
		entries: make(map[[sha256.Size]byte]*list.Element),
		hosts:   make(map[string]map[*list.Element]struct{}),
	}
}

func (c *CredentialCache) disabled() bool { return c.size <= 0 || c.ttl <= 0 }

func (c *CredentialCache) mac(host, secret string) [sha256.Size]byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(host))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// Check reports whether this host and secret were verified and used since
// within ttl (and verified within MaxVerifiedAge); a hit extends the entry.
func (c *CredentialCache) Check(host, secret string) bool {
	if c.disabled() {
		return false
	}
	mac := c.mac(host, secret)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[mac]
	if !ok {
		return false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) || !now.Before(e.verified.Add(max(MaxVerifiedAge, c.ttl))) {
		c.remove(el)
		return false
	}
	e.expires = now.Add(c.ttl)
	c.lru.MoveToFront(el)
	return true
}

// Put records a successful verification of secret for host; call it only
// after VerifyPassword returned ok.
func (c *CredentialCache) Put(host, secret string) {
	if c.disabled() {
		return
	}
	mac := c.mac(host, secret)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[mac]; ok {
		e := el.Value.(*cacheEntry)
		e.expires, e.verified = now.Add(c.ttl), now
		c.lru.MoveToFront(el)
		return
	}
	for c.lru.Len() >= c.size {
		c.remove(c.lru.Back())
	}
	el := c.lru.PushFront(&cacheEntry{mac: mac, host: host, expires: now.Add(c.ttl), verified: now})
	c.entries[mac] = el
	set := c.hosts[host]
	if set == nil {
		set = make(map[*list.Element]struct{})
		c.hosts[host] = set
	}
	set[el] = struct{}{}
}

// Forget drops every entry of host, so that a changed secret or a deleted or
// disabled host stops authenticating at once rather than after ttl.
func (c *CredentialCache) Forget(host string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := range c.hosts[host] {
		c.remove(el)
	}
}

// remove deletes el from all three indexes; c.mu must be held.
func (c *CredentialCache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.entries, e.mac)
	if set := c.hosts[e.host]; set != nil {
		delete(set, el)
		if len(set) == 0 {
			delete(c.hosts, e.host)
		}
	}
}
