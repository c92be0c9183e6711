package manifest

import (
	"crypto/rand"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"

	"github.com/ddnsbroker/ddnsbroker/api/secretbox"
)

// Sealing says how the file's secrets are sealed: AES-256-GCM (secretbox)
// under a key derived from the passphrase with argon2id and Salt. Check
// is a known value sealed the same way, so that a wrong passphrase is
// told at once rather than as an unreadable first secret.
type Sealing struct {
	KDF   string `yaml:"kdf"`
	Salt  string `yaml:"salt"`
	Check string `yaml:"check"`
}

const (
	kdfName    = "argon2id-t3-m65536-p4"
	checkValue = "ddnsbroker manifest"
	// MinPassphrase is the shortest passphrase accepted for sealing.
	MinPassphrase = 12
)

// ErrPassphrase means the passphrase does not open the file's secrets.
var ErrPassphrase = errors.New("the passphrase does not open this file's secrets")

// sealer seals and opens the file's secrets.
type sealer struct {
	box *secretbox.Box
}

func passphraseKey(passphrase string, salt []byte) []byte {
	return argon2.IDKey([]byte(passphrase), salt, 3, 64*1024, 4, 32)
}

// newSealing starts sealing with a fresh salt.
func newSealing(passphrase string) (*Sealing, *sealer, error) {
	if len(passphrase) < MinPassphrase {
		return nil, nil, fmt.Errorf("the passphrase must have %d characters or more", MinPassphrase)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, nil, err
	}
	s := &sealer{box: secretbox.New(passphraseKey(passphrase, salt))}
	return &Sealing{KDF: kdfName, Salt: b64.EncodeToString(salt), Check: s.seal(checkValue)}, s, nil
}

// open checks the passphrase against the file's sealing.
func (g *Sealing) open(passphrase string) (*sealer, error) {
	if g.KDF != kdfName {
		return nil, fmt.Errorf("secrets.kdf: %q is not one this binary knows (%s)", g.KDF, kdfName)
	}
	salt, err := b64.DecodeString(g.Salt)
	if err != nil || len(salt) < 16 {
		return nil, errors.New("secrets.salt: not 16 or more bytes of base64")
	}
	s := &sealer{box: secretbox.New(passphraseKey(passphrase, salt))}
	if v, err := s.open(g.Check); err != nil || v != checkValue {
		return nil, ErrPassphrase
	}
	return s, nil
}

func (s *sealer) seal(plaintext string) string {
	ct, _ := s.box.Seal(plaintext)
	return b64.EncodeToString(ct)
}

func (s *sealer) open(sealed string) (string, error) {
	ct, err := b64.DecodeString(sealed)
	if err != nil {
		return "", errors.New("not base64")
	}
	v, err := s.box.Open(ct, s.box.KeyID())
	if err != nil {
		return "", ErrPassphrase
	}
	return v, nil
}
