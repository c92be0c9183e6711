package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP as every authenticator app speaks it (RFC 6238): SHA-1, six digits,
// 30-second steps. A code of the step before or after is accepted too, for
// clocks a little off.
const (
	otpPeriod = 30
	otpSkew   = 1
	// RecoveryCodes is how many single-use recovery codes an enrolment gives.
	RecoveryCodes = 10
)

// OTPEnrolment is a new TOTP secret as the user's app takes it.
type OTPEnrolment struct {
	Secret string // base32, to type in
	URI    string // otpauth://totp/…, what the QR code holds
	// QRCode is a PNG of the URI as a data: URL, for an <img>.
	QRCode string
}

// NewOTP makes a TOTP secret for account, labelled issuer in the app.
func NewOTP(issuer, account string) (OTPEnrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: otpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return OTPEnrolment{}, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return OTPEnrolment{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return OTPEnrolment{}, err
	}
	return OTPEnrolment{Secret: key.Secret(), URI: key.URL(),
		QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// CheckOTP tells whether code is the TOTP code of secret at now, one step
// either side, and the time step it belongs to: the caller accepts each
// step once, so that a code seen over a shoulder cannot be used again.
func CheckOTP(secret, code string, now time.Time) (step int64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	opts := totp.ValidateOpts{Period: otpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	for skew := -otpSkew; skew <= otpSkew; skew++ {
		t := now.Add(time.Duration(skew*otpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, opts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / otpPeriod, true
		}
	}
	return 0, false
}

// NewRecoveryCodes returns RecoveryCodes codes (80 random bits each, as
// xxxx-xxxx-xxxx-xxxx in lowercase base32) and their hashes to store.
func NewRecoveryCodes() (codes []string, hashes [][]byte) {
	for range RecoveryCodes {
		t := strings.ToLower(rand.Text()[:16])
		c := t[0:4] + "-" + t[4:8] + "-" + t[8:12] + "-" + t[12:16]
		codes, hashes = append(codes, c), append(hashes, RecoveryCodeHash(c))
	}
	return codes, hashes
}

// RecoveryCodeHash is how a recovery code is stored and looked up: case,
// spaces and dashes do not matter.
func RecoveryCodeHash(code string) []byte {
	c := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	return TokenHash(c)
}

// IsRecoveryCode tells a recovery code from a TOTP code.
func IsRecoveryCode(code string) bool {
	return len(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code))) == 16
}
