package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"strconv"
	"time"

	"github.com/ddnsbroker/ddnsbroker/api/store"
)

// A persisted verifier is HMAC-SHA256(key, id NUL secret_hash NUL secret),
// stored beside a host's argon2id hash once the secret has been verified.
// After a restart, or on a new replica, the credential cache is empty and
// every router's next update would need an argon2id verification (some 30 ms
// of a core and 19 MiB each: 2,000 routers took 33 s on two cores); the
// verifier checks the secret in a microsecond instead.
//
// The trade-off: the key is derived from the server secret and never stored
// in the database, so the verifiers alone (a leaked dump or backup) allow no
// guessing at all. Whoever holds both the database and the server secret can
// test guesses at HMAC speed instead of argon2id speed; for the secrets the
// broker generates (128 random bits) that changes nothing, for a weak secret
// imported from elsewhere it does. The hash names the secret it belongs to,
// so a new secret voids the old verifier even where it was not cleared.

// verifierKey derives the verifier key from the cache key, nil when there
// is none.
func verifierKey(cacheKey []byte) []byte {
	if len(cacheKey) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, cacheKey)
	m.Write([]byte("ddnsbroker persisted host secret verifier"))
	return m.Sum(nil)
}

// verifierOf is the verifier of secret for the host id with hash; nil
// without a key.
func (a *Hosts) verifierOf(id int64, hash, secret string) []byte {
	if a.verifier == nil {
		return nil
	}
	m := hmac.New(sha256.New, a.verifier)
	m.Write([]byte(strconv.FormatInt(id, 10)))
	m.Write([]byte{0})
	m.Write([]byte(hash))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// verifies reports whether h has a verifier and secret matches it.
func (a *Hosts) verifies(h store.HostAuth, secret string) bool {
	if a.verifier == nil || len(h.Verifier) == 0 {
		return false
	}
	return hmac.Equal(h.Verifier, a.verifierOf(h.ID, h.SecretHash, secret))
}

// verifierWriteTimeout bounds one write of a verifier.
const verifierWriteTimeout = 10 * time.Second

// storeVerifier persists the verifier of secret, just verified, unless h
// has it already. The write runs on its own, one per host at a time, so
// that it neither delays the answer nor fails with a request that has
// used up its time waiting for argon2id (as a restart storm's do); a
// failure only costs a later fresh process one verification.
func (a *Hosts) storeVerifier(h store.HostAuth, secret string) {
	v := a.verifierOf(h.ID, h.SecretHash, secret)
	if v == nil || hmac.Equal(v, h.Verifier) {
		return
	}
	if _, busy := a.writing.LoadOrStore(h.ID, true); busy {
		return
	}
	go func() {
		defer a.writing.Delete(h.ID)
		ctx, cancel := context.WithTimeout(context.Background(), verifierWriteTimeout)
		defer cancel()
		if err := a.store.SetHostVerifier(ctx, h.ID, h.SecretHash, v); err != nil {
			a.log.Warn("storing a host secret verifier failed", "host_id", h.ID, "err", err)
		}
	}()
}
