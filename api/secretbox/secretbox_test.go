package secretbox

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b := New([]byte("0123456789abcdef0123456789abcdef"))
	for _, pt := range []string{"", "hunter2", "S3cr3t!with:colon", "ünïcödé \x00 bytes"} {
		ct, id := b.Seal(pt)
		if bytes.Contains(ct, []byte(pt)) && pt != "" {
			t.Fatalf("ciphertext contains plaintext %q", pt)
		}
		got, err := b.Open(ct, id)
		if err != nil || got != pt {
			t.Fatalf("Open(Seal(%q)) = %q, %v", pt, got, err)
		}
	}
	a1, _ := b.Seal("same")
	a2, _ := b.Seal("same")
	if bytes.Equal(a1, a2) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
}

func TestOpenRefusesOtherKeyAndTampering(t *testing.T) {
	b := New([]byte("0123456789abcdef0123456789abcdef"))
	other := New([]byte("another secret key of enough length!"))
	ct, id := b.Seal("hunter2")
	if other.KeyID() == id {
		t.Fatal("different secrets gave the same key id")
	}
	if _, err := other.Open(ct, id); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with other box: %v", err)
	}
	if _, err := other.Open(ct, other.KeyID()); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("open with other key under its id: %v", err)
	}
	ct[len(ct)-1] ^= 1
	if _, err := b.Open(ct, id); err == nil {
		t.Fatal("tampered ciphertext opened")
	}
	if _, err := b.Open([]byte{1, 2, 3}, id); err == nil {
		t.Fatal("short ciphertext opened")
	}
}

func TestDeriveKeySeparatesPurposes(t *testing.T) {
	s := []byte("0123456789abcdef0123456789abcdef")
	if bytes.Equal(DeriveKey(s, "jwt"), DeriveKey(s, "credentials v1")) {
		t.Fatal("purposes share a key")
	}
	if !bytes.Equal(DeriveKey(s, "jwt"), DeriveKey(s, "jwt")) {
		t.Fatal("derivation is not deterministic")
	}
	if len(DeriveKey(s, "x")) != 32 {
		t.Fatal("key is not 32 bytes")
	}
}
