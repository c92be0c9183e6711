package auth

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters. They are stored inside every hash, so
// changing them affects only new hashes; VerifyPassword reports old ones for
// rehashing.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams is the OWASP minimum recommendation for argon2id (19 MiB,
// 2 passes, 1 lane): strong enough for secrets that are mostly random, cheap
// enough to verify tens per second on a small server.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// TestParams make argon2id almost free so that tests of code paths which hash
// do not spend seconds; never use them in production.
var TestParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on parameters, both when hashing and when reading a stored hash, so
// that a corrupted or hostile row cannot make the server allocate gigabytes or
// spin for minutes, and a truncated one cannot verify against a tiny tag.
const (
	maxMemory           = 1 << 20 // KiB, 1 GiB
	maxTime             = 100
	minSaltLen          = 8
	maxSaltLen          = 64
	minKeyLen           = 16
	maxKeyLen           = 64
	maxPBKDF2Iterations = 10_000_000

	argon2idPrefix = "$argon2id$"
	djangoPrefix   = "pbkdf2_sha256$"
)

var (
	// ErrMalformedHash means a stored hash is in a known format but cannot be
	// parsed or has parameters out of bounds; the row needs attention.
	ErrMalformedHash = errors.New("malformed hash")
	// ErrUnsupportedHash means a stored hash is in no format we verify.
	ErrUnsupportedHash = errors.New("unsupported hash format")
	// ErrInvalidParams means argon2id parameters are out of the accepted bounds.
	ErrInvalidParams = errors.New("invalid argon2id parameters")
)

// b64 is the PHC string encoding: standard alphabet, no padding. Strict makes
// any altered trailing bits an error instead of silently decoding.
var b64 = base64.RawStdEncoding.Strict()

// validate keeps hashing and parsing within the same bounds, so that we never
// write a hash we would refuse to read.
func (p Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("%w: time %d not in [1, %d]", ErrInvalidParams, p.Time, maxTime)
	case p.Threads < 1:
		return fmt.Errorf("%w: threads must be at least 1", ErrInvalidParams)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("%w: memory %d KiB not in [8*threads, %d]", ErrInvalidParams, p.Memory, maxMemory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("%w: salt length %d not in [%d, %d]", ErrInvalidParams, p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: key length %d not in [%d, %d]", ErrInvalidParams, p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// weakerThan reports whether a hash made with p falls short of want in any
// parameter, which is when a successful login should replace it.
func (p Params) weakerThan(want Params) bool {
	return p.Memory < want.Memory || p.Time < want.Time || p.Threads < want.Threads ||
		p.SaltLen < want.SaltLen || p.KeyLen < want.KeyLen
}

// HashPassword returns a PHC-format argon2id string
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash) so that the parameters travel with
// the hash and can be raised later without breaking existing secrets.
func HashPassword(p Params, secret string) (string, error) {
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(secret), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodeArgon2id(p, salt, key), nil
}

func encodeArgon2id(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword checks secret against an encoded hash: our argon2id PHC
// strings, or Django's pbkdf2_sha256$<iterations>$<salt>$<base64 hash> so that
// hosts imported from the original Django DDnsBroker keep working.
//
// needsRehash is true when ok and the hash is not argon2id with parameters at
// least p; the caller should then store HashPassword(p, secret). The
// comparison is constant time. A malformed or unknown hash is an error, whose
// text never contains any part of the hash or the secret, so it is safe to log.
func VerifyPassword(p Params, encoded, secret string) (ok, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, argon2idPrefix):
		stored, salt, key, err := parseArgon2id(encoded)
		if err != nil {
			return false, false, fmt.Errorf("verify password: %w", err)
		}
		got := argon2.IDKey([]byte(secret), salt, stored.Time, stored.Memory, stored.Threads, stored.KeyLen)
		ok = subtle.ConstantTimeCompare(got, key) == 1
		return ok, ok && stored.weakerThan(p), nil
	case strings.HasPrefix(encoded, djangoPrefix):
		ok, err := verifyDjangoPBKDF2(encoded, secret)
		if err != nil {
			return false, false, fmt.Errorf("verify password: %w", err)
		}
		return ok, ok, nil
	default:
		return false, false, fmt.Errorf("verify password: %w", ErrUnsupportedHash)
	}
}

// parseArgon2id reads $argon2id$v=19$m=M,t=T,p=P$salt$key strictly: the PHC
// format allows more (optional keyid/data fields), but nothing we write uses
// it, so anything else is more likely corruption than a feature.
func parseArgon2id(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id needs 5 fields", ErrMalformedHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id version", ErrMalformedHash)
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id parameters", ErrMalformedHash)
	}
	m, errM := parseParam(fields[0], "m=", 32)
	t, errT := parseParam(fields[1], "t=", 32)
	threads, errP := parseParam(fields[2], "p=", 8)
	if err := errors.Join(errM, errT, errP); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id parameters", ErrMalformedHash)
	}
	if salt, err = decodeCanonical(b64, parts[4]); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id salt encoding", ErrMalformedHash)
	}
	if key, err = decodeCanonical(b64, parts[5]); err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: argon2id key encoding", ErrMalformedHash)
	}
	p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(threads), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.validate(); err != nil {
		// The wrapped ErrInvalidParams text holds only numbers, never hash bytes.
		return Params{}, nil, nil, fmt.Errorf("%w: %w", ErrMalformedHash, err)
	}
	return p, salt, key, nil
}

// decodeCanonical decodes s and insists it is the one encoding of its bytes:
// the base64 decoder silently skips line breaks, and a hash that differs from
// what we wrote has been altered.
func decodeCanonical(enc *base64.Encoding, s string) ([]byte, error) {
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if enc.EncodeToString(b) != s {
		return nil, ErrMalformedHash
	}
	return b, nil
}

func parseParam(field, prefix string, bits int) (uint64, error) {
	digits, found := strings.CutPrefix(field, prefix)
	if !found {
		return 0, ErrMalformedHash
	}
	return strconv.ParseUint(digits, 10, bits)
}

// verifyDjangoPBKDF2 reproduces Django's PBKDF2PasswordHasher: the salt is used
// as its UTF-8 text, the key is 32 bytes of HMAC-SHA256 in padded base64.
func verifyDjangoPBKDF2(encoded, secret string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2_sha256" {
		return false, fmt.Errorf("%w: pbkdf2_sha256 needs 3 fields", ErrMalformedHash)
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > maxPBKDF2Iterations {
		return false, fmt.Errorf("%w: pbkdf2_sha256 iterations", ErrMalformedHash)
	}
	salt := parts[2]
	if salt == "" {
		return false, fmt.Errorf("%w: pbkdf2_sha256 salt", ErrMalformedHash)
	}
	want, err := decodeCanonical(base64.StdEncoding.Strict(), parts[3])
	if err != nil || len(want) != sha256.Size {
		return false, fmt.Errorf("%w: pbkdf2_sha256 key", ErrMalformedHash)
	}
	got, err := pbkdf2.Key(sha256.New, secret, []byte(salt), iter, sha256.Size)
	if err != nil {
		return false, fmt.Errorf("pbkdf2: %w", err)
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// DummyVerify spends the time of VerifyPassword on an argon2id hash of params
// p, so that a request naming an unknown host costs the same as one with a
// wrong secret and does not reveal which hosts exist.
//
// It runs the very same code path on a well-formed hash built from p with an
// all-zero salt and key: argon2id costs the same whatever its input, so no real
// hash has to be computed in advance or kept in package state. Invalid p fall
// back to DefaultParams, since no stored hash can have them.
func DummyVerify(p Params, secret string) {
	_, _, _ = VerifyPassword(p, dummyHash(p), secret)
}

func dummyHash(p Params) string {
	if p.validate() != nil {
		p = DefaultParams
	}
	return encodeArgon2id(p, make([]byte, p.SaltLen), make([]byte, p.KeyLen))
}

// NeedsRehash reports, without verifying anything, whether a secret
// verified against encoded should be rehashed with p: what VerifyPassword
// reports as needsRehash on success.
func NeedsRehash(p Params, encoded string) bool {
	if !strings.HasPrefix(encoded, argon2idPrefix) {
		return true
	}
	stored, _, _, err := parseArgon2id(encoded)
	return err != nil || stored.weakerThan(p)
}
