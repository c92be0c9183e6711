// Package secretbox encrypts upstream credentials at rest. They must be sent
// in clear to the provider, so they cannot be hashed; AES-256-GCM with a key
// derived from the server's secret key keeps a database dump useless alone.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// DeriveKey derives a 32-byte key for one purpose from the server's secret,
// so that the encryption key, the JWT key and the cache HMAC key are unrelated.
func DeriveKey(secret []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, secret, []byte("ddnsbroker"), "ddnsbroker "+purpose, 32)
	if err != nil {
		panic("secretbox: hkdf: " + err.Error()) // only for lengths > 255*32, never here
	}
	return k
}

// Box seals and opens values with one current key; the id of the key is
// stored beside each ciphertext so that keys can be rotated later.
type Box struct {
	id   string
	aead cipher.AEAD
}

// New derives the box from the server's secret key.
func New(secret []byte) *Box {
	key := DeriveKey(secret, "credentials v1")
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("secretbox: " + err.Error()) // 32-byte key always valid
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("secretbox: " + err.Error())
	}
	sum := sha256.Sum256(key)
	return &Box{id: "k1:" + hex.EncodeToString(sum[:4]), aead: aead}
}

// KeyID names the key new values are sealed with.
func (b *Box) KeyID() string { return b.id }

// ErrWrongKey means a value was sealed with a key this server does not hold
// (the secret key changed).
var ErrWrongKey = errors.New("secretbox: sealed with another key; set the credential again")

// Seal encrypts plaintext; the result is nonce || ciphertext.
func (b *Box) Seal(plaintext string) (ciphertext []byte, keyID string) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("secretbox: no randomness: " + err.Error())
	}
	return b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(b.id)), b.id
}

// Open decrypts a value sealed by Seal with the key named keyID.
func (b *Box) Open(ciphertext []byte, keyID string) (string, error) {
	if keyID != b.id {
		return "", ErrWrongKey
	}
	n := b.aead.NonceSize()
	if len(ciphertext) < n+b.aead.Overhead() {
		return "", fmt.Errorf("secretbox: ciphertext too short")
	}
	pt, err := b.aead.Open(nil, ciphertext[:n], ciphertext[n:], []byte(b.id))
	if err != nil {
		return "", fmt.Errorf("secretbox: %w", ErrWrongKey)
	}
	return string(pt), nil
}
