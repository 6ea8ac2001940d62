package console

import (
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Issuer names the console in an authenticator app.
const Issuer = "Wartelsuspas"

// totpOpts are RFC 6238's defaults, which every authenticator app uses:
// 30 s steps, 6 digits, HMAC-SHA1.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPSkew is how many steps either side of now a code is accepted at: one
// (±30 s) for a phone whose clock is a little off.
const TOTPSkew = 1

// NewTOTP makes a second-factor secret for account and returns the base32
// secret and the otpauth:// URL an authenticator app scans or is given.
func NewTOTP(account string) (secret, url string, err error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: account, Period: totpOpts.Period, Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
	if err != nil {
		return "", "", fmt.Errorf("console: second-factor secret for %s: %w", account, err)
	}
	return k.Secret(), k.URL(), nil
}

// TOTPCode is the code of secret at t (the demo prints it; tests type it).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}

// CheckTOTP reports whether code is secret's code within TOTPSkew steps of
// now, and which step it is (the caller refuses a step already used, so a
// code seen over a shoulder cannot be replayed).
func CheckTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	if len(code) != int(totpOpts.Digits) {
		return 0, false
	}
	period := int64(totpOpts.Period)
	base := now.Unix() / period
	for d := int64(-TOTPSkew); d <= TOTPSkew; d++ {
		s := base + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*period, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}
