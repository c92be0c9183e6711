package auth

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// Hashes exported by the original Django DDnsBroker
// (/work/shared/fixtures/ddnsbroker-dumpdata.json), copied literally so the
// test does not depend on files outside the module.
const (
	djangoLoc01  = "pbkdf2_sha256$260000$7EYn4rLTWHQB2IAKODcNvi$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004UE="
	djangoHome   = "pbkdf2_sha256$260000$kjN3kSyBSEtBdGhMQ133QA$x27CDuvoylntchwEoD3FudVo+eIjApY7qWZnOnFiaWo="
	djangoOffice = "pbkdf2_sha256$260000$PUb8IOEGNrm9J207DciaC5$7kLhGmPyy/QnYWGOn0l6Ov7Sayl7oNoUjw4Vkz99JWU="
)

func mustHash(t testing.TB, p Params, secret string) string {
	t.Helper()
	h, err := HashPassword(p, secret)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	return h
}

func TestHashPasswordFormat(t *testing.T) {
	h := mustHash(t, DefaultParams, "s3cret")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected prefix: %s", h)
	}
	parts := strings.Split(h, "$")
	if len(parts) != 6 || len(parts[4]) != 22 || len(parts[5]) != 43 { // 16 and 32 bytes unpadded
		t.Fatalf("unexpected shape: %s", h)
	}
	if h2 := mustHash(t, DefaultParams, "s3cret"); h2 == h {
		t.Fatal("two hashes of the same secret are equal: salt is not random")
	}
}

func TestHashPasswordRejectsInvalidParams(t *testing.T) {
	for name, p := range map[string]Params{
		"zero":         {},
		"no time":      {Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		"no threads":   {Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		"tiny memory":  {Memory: 15, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		"huge memory":  {Memory: maxMemory + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"short salt":   {Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		"short key":    {Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
		"huge key":     {Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 1 << 30},
		"many passes":  {Memory: 64, Time: maxTime + 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"huge salt":    {Memory: 64, Time: 1, Threads: 1, SaltLen: 1 << 30, KeyLen: 32},
		"memory < 8*p": {Memory: 64, Time: 1, Threads: 9, SaltLen: 16, KeyLen: 32},
	} {
		if _, err := HashPassword(p, "x"); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s: got %v, want ErrInvalidParams", name, err)
		}
	}
}

func TestVerifyArgon2idRoundTrip(t *testing.T) {
	for _, secret := range []string{"s3cret", "", "ünïcödé ✓", strings.Repeat("x", 1000)} {
		h := mustHash(t, TestParams, secret)
		ok, rehash, err := VerifyPassword(TestParams, h, secret)
		if err != nil || !ok || rehash {
			t.Errorf("%q: ok=%v rehash=%v err=%v, want true false nil", secret, ok, rehash, err)
		}
		ok, rehash, err = VerifyPassword(TestParams, h, secret+"!")
		if err != nil || ok || rehash {
			t.Errorf("%q+!: ok=%v rehash=%v err=%v, want false false nil", secret, ok, rehash, err)
		}
	}
}

func TestVerifyArgon2idDefaultParams(t *testing.T) {
	h := mustHash(t, DefaultParams, "correct")
	if ok, rehash, err := VerifyPassword(DefaultParams, h, "correct"); err != nil || !ok || rehash {
		t.Fatalf("ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	if ok, _, err := VerifyPassword(DefaultParams, h, "Correct"); err != nil || ok {
		t.Fatalf("wrong secret: ok=%v err=%v", ok, err)
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	base := Params{Memory: 128, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}
	h := mustHash(t, base, "pw")
	for name, tc := range map[string]struct {
		want   Params
		rehash bool
	}{
		"same":           {base, false},
		"weaker wanted":  {TestParams, false},
		"more memory":    {Params{Memory: 256, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}, true},
		"more time":      {Params{Memory: 128, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}, true},
		"more threads":   {Params{Memory: 128, Time: 2, Threads: 4, SaltLen: 16, KeyLen: 32}, true},
		"longer salt":    {Params{Memory: 128, Time: 2, Threads: 2, SaltLen: 32, KeyLen: 32}, true},
		"longer key":     {Params{Memory: 128, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 64}, true},
		"default params": {DefaultParams, true},
	} {
		ok, rehash, err := VerifyPassword(tc.want, h, "pw")
		if err != nil || !ok || rehash != tc.rehash {
			t.Errorf("%s: ok=%v rehash=%v err=%v, want rehash=%v", name, ok, rehash, err, tc.rehash)
		}
		// A failed verification never asks for a rehash: there is no secret to hash.
		if _, rehash, _ := VerifyPassword(tc.want, h, "wrong"); rehash {
			t.Errorf("%s: rehash on wrong secret", name)
		}
	}
}

func TestVerifyTamperedArgon2id(t *testing.T) {
	h := mustHash(t, TestParams, "pw")
	parts := strings.Split(h, "$")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tampered := map[string]string{
		"key first char":  strings.Join(append(parts[:5:5], flip(parts[5], 0)), "$"),
		"salt first char": strings.Join(append(parts[:4:4], flip(parts[4], 0), parts[5]), "$"),
		"time":            strings.Replace(h, "t=1,", "t=2,", 1),
		"memory":          strings.Replace(h, "m=64,", "m=72,", 1),
		"other hash's key": strings.Join(append(parts[:5:5],
			strings.Split(mustHash(t, TestParams, "pw"), "$")[5]), "$"),
	}
	for name, enc := range tampered {
		if enc == h {
			t.Fatalf("%s: tampering changed nothing", name)
		}
		ok, _, err := VerifyPassword(TestParams, enc, "pw")
		if ok {
			t.Errorf("%s: tampered hash verified", name)
		}
		if err != nil && !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%s: unexpected error %v", name, err)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	good := mustHash(t, TestParams, "pw")
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	malformed := []string{
		"$argon2id$",
		"$argon2id$v=19",
		"$argon2id$v=19$m=64,t=1,p=1",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=64,t=1,p=1$$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$extra",
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1,k=2$" + salt + "$" + key,
		"$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=0x40,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=99999999999,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=4294967295,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "=$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "=",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:len(key)-2], // 41 characters cannot be base64
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:8],
		"$argon2id$v=19$m=64,t=1,p=1$" + salt[:4] + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + key + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("!", len(key)),
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key[:10] + "\n" + key[10:],
		"pbkdf2_sha256$",
		"pbkdf2_sha256$260000",
		"pbkdf2_sha256$260000$salt",
		"pbkdf2_sha256$260000$salt$",
		"pbkdf2_sha256$260000$$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004UE=",
		"pbkdf2_sha256$$salt$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004UE=",
		"pbkdf2_sha256$0$salt$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004UE=",
		"pbkdf2_sha256$-1$salt$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004UE=",
		"pbkdf2_sha256$abc$salt$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004UE=",
		"pbkdf2_sha256$99999999999999999999$salt$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004UE=",
		"pbkdf2_sha256$1000000000$salt$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004UE=",
		"pbkdf2_sha256$1000$salt$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004UE",
		"pbkdf2_sha256$1000$salt$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004U=",
		"pbkdf2_sha256$1000$salt$bm90IGEgaGFzaA==",
		"pbkdf2_sha256$1000$salt$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004UE=$x",
		"pbkdf2_sha256$1000$salt$!!!!",
	}
	unsupported := []string{
		"",
		"$",
		"$$$$$",
		"1AM4S3CR3T", // a plaintext secret, e.g. a bad import
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2d$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"argon2$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"pbkdf2_sha1$260000$salt$abc=",
		"bcrypt$$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"!unusable",
		" $argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$ARGON2ID$v=19$m=64,t=1,p=1$" + salt + "$" + key,
	}
	check := func(enc string, want error) {
		t.Helper()
		ok, rehash, err := VerifyPassword(TestParams, enc, "pw")
		if ok || rehash || !errors.Is(err, want) {
			t.Errorf("%q: ok=%v rehash=%v err=%v, want %v", enc, ok, rehash, err, want)
		}
		if err != nil && len(enc) > 12 && strings.Contains(err.Error(), enc[len(enc)-12:]) {
			t.Errorf("%q: error text leaks hash material: %v", enc, err)
		}
	}
	for _, enc := range malformed {
		check(enc, ErrMalformedHash)
	}
	for _, enc := range unsupported {
		check(enc, ErrUnsupportedHash)
	}
	if _, _, err := VerifyPassword(TestParams, "1AM4S3CR3T", "pw"); strings.Contains(err.Error(), "1AM4S3CR3T") {
		t.Errorf("error text leaks a plaintext stored by mistake: %v", err)
	}
}

// TestVerifyNeverPanics feeds every prefix and many single-byte mutations of
// valid hashes; each must give a clean answer.
func TestVerifyNeverPanics(t *testing.T) {
	seeds := []string{mustHash(t, TestParams, "pw"), "pbkdf2_sha256$10$saltsalt$lLiktyula3q+uZ96++yssqj/PUDWONH8D53N4d004UE="}
	replacements := []byte{'$', ',', '=', '0', '9', 'A', '/', '+', 0, 0xff, '-'}
	for _, seed := range seeds {
		var inputs []string
		for i := range len(seed) + 1 {
			inputs = append(inputs, seed[:i])
		}
		for i := range len(seed) {
			for _, r := range replacements {
				b := []byte(seed)
				b[i] = r
				inputs = append(inputs, string(b))
			}
			inputs = append(inputs, seed[:i]+seed[i+1:])
		}
		for _, enc := range inputs {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic on %q: %v", enc, r)
					}
				}()
				ok, _, err := VerifyPassword(TestParams, enc, "pw")
				if ok && err != nil {
					t.Fatalf("%q: ok with error %v", enc, err)
				}
			}()
		}
	}
}

func TestVerifyDjangoFixtures(t *testing.T) {
	cases := []struct{ host, hash, secret string }{
		{"loc01.example.com", djangoLoc01, "1AM4S3CR3T"},
		{"home.example.org", djangoHome, "correct-horse-battery-staple"},
		{"office.example.net", djangoOffice, "S3cr3t!with:colon"},
	}
	for i, tc := range cases {
		// Each pbkdf2 run costs 260000 HMACs, which is slow under -race:
		// run hosts in parallel and try two wrong secrets, another host's
		// and one differing in the last byte.
		other := cases[(i+1)%len(cases)].secret
		t.Run(tc.host, func(t *testing.T) {
			t.Parallel()
			ok, rehash, err := VerifyPassword(DefaultParams, tc.hash, tc.secret)
			if err != nil || !ok || !rehash {
				t.Errorf("ok=%v rehash=%v err=%v, want true true nil", ok, rehash, err)
			}
			for _, wrong := range []string{other, tc.secret[:len(tc.secret)-1] + "?"} {
				ok, rehash, err := VerifyPassword(DefaultParams, tc.hash, wrong)
				if err != nil || ok || rehash {
					t.Errorf("with %q: ok=%v rehash=%v err=%v, want false false nil", wrong, ok, rehash, err)
				}
			}
		})
	}
}

// TestDjangoRehashRoundTrip follows what the caller does on an imported host:
// verify the Django hash, store the argon2id replacement, verify that.
func TestDjangoRehashRoundTrip(t *testing.T) {
	t.Parallel()
	ok, rehash, err := VerifyPassword(TestParams, djangoHome, "correct-horse-battery-staple")
	if err != nil || !ok || !rehash {
		t.Fatalf("ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	h := mustHash(t, TestParams, "correct-horse-battery-staple")
	if ok, rehash, err := VerifyPassword(TestParams, h, "correct-horse-battery-staple"); err != nil || !ok || rehash {
		t.Fatalf("after rehash: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
}

func TestDummyVerify(t *testing.T) {
	for _, p := range []Params{TestParams, DefaultParams, {Memory: 256, Time: 3, Threads: 2, SaltLen: 32, KeyLen: 64}} {
		enc := dummyHash(p)
		// The dummy must take the full argon2id path with exactly p, not fail
		// early as malformed (which would make unknown hosts fast).
		stored, _, _, err := parseArgon2id(enc)
		if err != nil {
			t.Fatalf("%+v: dummy hash does not parse: %v", p, err)
		}
		if stored != p {
			t.Fatalf("dummy hash has params %+v, want %+v", stored, p)
		}
		if ok, _, err := VerifyPassword(p, enc, ""); ok || err != nil {
			t.Fatalf("%+v: dummy verify ok=%v err=%v", p, ok, err)
		}
		DummyVerify(p, "anything")
	}
	if stored, _, _, err := parseArgon2id(dummyHash(Params{})); err != nil || stored != DefaultParams {
		t.Fatalf("invalid params: got %+v, %v; want DefaultParams", stored, err)
	}
}

// TestDummyVerifyCost guards the point of DummyVerify: it must not return
// early. The bound is loose (a third) so a busy machine does not fail it.
func TestDummyVerifyCost(t *testing.T) {
	h := mustHash(t, DefaultParams, "pw")
	fastest := func(f func()) time.Duration {
		best := time.Duration(math.MaxInt64)
		for range 3 {
			start := time.Now()
			f()
			best = min(best, time.Since(start))
		}
		return best
	}
	verify := fastest(func() { _, _, _ = VerifyPassword(DefaultParams, h, "wrong") })
	dummy := fastest(func() { DummyVerify(DefaultParams, "wrong") })
	if dummy < verify/3 {
		t.Fatalf("DummyVerify took %v, VerifyPassword %v", dummy, verify)
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h := mustHash(b, DefaultParams, "benchmark-secret")
	for b.Loop() {
		if ok, _, err := VerifyPassword(DefaultParams, h, "benchmark-secret"); !ok || err != nil {
			b.Fatal("verification failed")
		}
	}
}

// BenchmarkDummyVerifyDefault should match BenchmarkVerifyDefault: that is
// the point of DummyVerify.
func BenchmarkDummyVerifyDefault(b *testing.B) {
	for b.Loop() {
		DummyVerify(DefaultParams, "benchmark-secret")
	}
}

func BenchmarkVerifyDjango(b *testing.B) {
	for b.Loop() {
		if ok, _, err := VerifyPassword(DefaultParams, djangoLoc01, "1AM4S3CR3T"); !ok || err != nil {
			b.Fatal("verification failed")
		}
	}
}
