package inert

import (
	"strings"
	"testing"
	"unicode"
)

func TestText(t *testing.T) {
	for _, c := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "v1.4.2 (abc123)", 0, "v1.4.2 (abc123)"},
		{"forged row", "v1\nlapas-x/b09  online  0", 0, `v1\nlapas-x/b09  online  0`},
		{"escape codes", "\x1b[2J\x1b[31mOK", 0, `\x1b[2J\x1b[31mOK`},
		{"carriage return", "bad\rgood", 0, `bad\rgood`},
		{"bidi override", "abc\u202edcb", 0, `abc\u202edcb`},
		{"invalid utf-8", "a\xffb", 0, `a\xffb`},
		{"backslash stays readable", `C:\x`, 0, `C:\\x`},
		{"indonesian text", "Pintu panel terbuka — periksa", 0, "Pintu panel terbuka — periksa"},
		{"cut", strings.Repeat("x", 100), 10, strings.Repeat("x", 10) + "…"},
		{"not cut at the limit", "abc", 3, "abc"},
	} {
		if got := Text(c.in, c.max); got != c.want {
			t.Errorf("%s: Text(%q, %d) = %q, want %q", c.name, c.in, c.max, got, c.want)
		}
	}
}

// Whatever goes in, nothing that a terminal acts on comes out.
func FuzzText(f *testing.F) {
	f.Add("v1\n\x1b[2J\u202e\xff", 8)
	f.Fuzz(func(t *testing.T, s string, max int) {
		out := Text(s, max%64)
		for _, r := range out {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' || r == '\uFFFD' && !strings.ContainsRune(s, '\uFFFD') {
				t.Fatalf("Text(%q) = %q keeps %U", s, out, r)
			}
		}
	})
}
