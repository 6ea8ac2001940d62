package dialplan

import (
	"errors"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in, want string
		err      error
	}{
		{"081234567890", "+6281234567890", nil},
		{"0812-3456-7890", "+6281234567890", nil},
		{" 0812 3456 7890 ", "+6281234567890", nil},
		{"6281234567890", "+6281234567890", nil},
		{"+6281234567890", "+6281234567890", nil},
		{"+62 812 3456 7890", "+6281234567890", nil},
		{"(021) 555-1234", "+62215551234", nil},
		{"021.5551234", "+62215551234", nil},
		{"+61 2 9374 4000", "+61293744000", nil},
		{"+14155550100", "+14155550100", nil},
		{"+123456789012345", "+123456789012345", nil},
		{"", "", ErrEmpty},
		{"   ", "", ErrEmpty},
		{"--", "", ErrEmpty},
		{"0812abc4567", "", ErrLetters},
		{"0812345678#", "", ErrLetters},
		{"112", "", ErrShort},
		{"110", "", ErrShort},
		{"14045", "", ErrShort},
		{"021123", "", ErrShort},
		{"+6221", "", ErrShort},
		{"+1234567", "", ErrShort},
		{"+1234567890123456", "", ErrLong},
		{"0812345678901234", "", ErrLong},
		{"0012345678901", "", ErrPrefix},
		{"81234567890", "", ErrPrefix},
		{"+62081234567890", "", ErrTrunk},
		{"62081234567890", "", ErrTrunk},
		{"0812+34567890", "", ErrBadPlus},
		{"++6281234567890", "", ErrBadPlus},
		{"+0812345678", "", ErrZeroCode},
	} {
		got, err := Parse(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("Parse(%q) = %q, %v; want error %v", c.in, got, err, c.err)
			} else if !strings.Contains(err.Error(), "telephone number") {
				t.Errorf("Parse(%q): error %q does not say what it read", c.in, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if !Valid(got) {
			t.Errorf("Valid(%q) = false for Parse's own result", got)
		}
	}
}

func TestValid(t *testing.T) {
	for in, want := range map[string]bool{
		"+6281234567890": true, "081234567890": false, "6281234567890": false, "+62 812": false, "": false,
	} {
		if got := Valid(in); got != want {
			t.Errorf("Valid(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		typed, reg string
		want       bool
	}{
		{"081234567890", "+6281234567890", true},
		{"6281234567890", "+6281234567890", true},
		{"+6281234567890", "+6281234567890", true},
		{"0812-3456-7890", "081234567890", true},
		{"081234567891", "+6281234567890", false},
		{"08123456789", "+6281234567890", false}, // a prefix is not the number
		{"", "+6281234567890", false},
		{"112", "112", false},                 // short codes never match, even themselves
		{"abc", "abc", false},                 //
		{"+61293744000", "0293744000", false}, // Australia's number is not Jakarta's
	} {
		if got := Match(c.typed, c.reg); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.typed, c.reg, got, c.want)
		}
	}
}

// Every Indonesian mobile number, however it is written, parses to one
// E.164 number that is valid, parses to itself and matches every writing.
func TestWritingsAgree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sub := rapid.StringMatching(`8[1-9][0-9]{6,10}`).Draw(t, "subscriber")
		want := "+62" + sub
		for _, w := range []string{"0" + sub, "62" + sub, "+62" + sub, "+62 " + sub[:3] + "-" + sub[3:], "(0" + sub[:3] + ") " + sub[3:]} {
			got, err := Parse(w)
			if err != nil || got != want {
				t.Fatalf("Parse(%q) = %q, %v; want %q", w, got, err, want)
			}
			if !Match(w, want) || !Match(want, w) {
				t.Fatalf("Match(%q, %q) is false", w, want)
			}
		}
		if again, err := Parse(want); err != nil || again != want {
			t.Fatalf("Parse(%q) = %q, %v: not a fixed point", want, again, err)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"081234567890", "+6281234567890", "6281234567890", "(021) 555-1234", "+61 2 9374 4000", "112", "", "+", "00", "0812abc", "٠٨١٢٣٤٥٦٧٨٩"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			if e != "" {
				t.Fatalf("Parse(%q) = %q with error %v", s, e, err)
			}
			if Match(s, s) {
				t.Fatalf("Match(%q, itself) with a parse error", s)
			}
			return
		}
		if !Valid(e) {
			t.Fatalf("Parse(%q) = %q, which is not Valid", s, e)
		}
		digits := e[1:]
		if len(digits) < MinDigits || len(digits) > MaxDigits || strings.Trim(digits, "0123456789") != "" || digits[0] == '0' {
			t.Fatalf("Parse(%q) = %q: not E.164", s, e)
		}
		if !Match(s, e) {
			t.Fatalf("Match(%q, %q) false", s, e)
		}
	})
}
