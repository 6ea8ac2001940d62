package console

import (
	"strings"
	"testing"
	"time"
)

// cheap keeps the tests fast; the encoding is the same at any cost.
var cheap = Argon2Params{Time: 1, Memory: 64, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestPasswordEncodeVerify(t *testing.T) {
	h, err := HashPassword("correct horse battery", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q is not a PHC argon2id string with its parameters", h)
	}
	h2, _ := HashPassword("correct horse battery", cheap)
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, tc := range []struct {
		password, hash string
		ok             bool
		bad            bool
	}{
		{"correct horse battery", h, true, false},
		{"correct horse batterY", h, false, false},
		{"", h, false, false},
		{"correct horse battery", strings.Replace(h, "argon2id", "argon2i", 1), false, true},
		{"correct horse battery", strings.Replace(h, "t=1", "t=0", 1), false, true},
		{"correct horse battery", strings.Replace(h, "m=64", "m=99999999", 1), false, true},
		{"correct horse battery", h[:len(h)-4], false, false}, // a shorter key never matches
		{"x", "plain", false, true},
	} {
		ok, err := VerifyPassword(tc.password, tc.hash)
		if ok != tc.ok || (err != nil) != tc.bad {
			t.Errorf("VerifyPassword(%q, %q) = %v, %v; want %v, error %v", tc.password, tc.hash, ok, err, tc.ok, tc.bad)
		}
	}
	// The default parameters encode as documented (docs/console.md).
	d, err := HashPassword("p", DefaultArgon2)
	if err != nil || !strings.HasPrefix(d, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("default hash %q (%v)", d, err)
	}
}

func TestTOTPWindow(t *testing.T) {
	secret, url, err := NewTOTP("siti")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "otpauth://totp/Wartelsuspas:siti?") {
		t.Errorf("url %q", url)
	}
	now := time.Unix(1_800_000_015, 0) // 15 s into a step
	step := now.Unix() / 30
	code := func(at time.Time) string {
		c, err := TOTPCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name string
		at   time.Duration // when the code was made, relative to now
		ok   bool
		step int64
	}{
		{"now", 0, true, step},
		{"previous step", -30 * time.Second, true, step - 1},
		{"next step (phone ahead)", 30 * time.Second, true, step + 1},
		{"two steps ago", -60 * time.Second, false, 0},
		{"two steps ahead", 60 * time.Second, false, 0},
	} {
		got, ok := CheckTOTP(secret, code(now.Add(tc.at)), now)
		if ok != tc.ok || got != tc.step {
			t.Errorf("%s: CheckTOTP = step %d, %v; want %d, %v", tc.name, got, ok, tc.step, tc.ok)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := CheckTOTP(secret, bad, now); ok {
			t.Errorf("CheckTOTP(%q) accepted", bad)
		}
	}
}
