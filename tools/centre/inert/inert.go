// Package inert makes text that came from a booth safe to show an operator:
// in a terminal, a table or a log line it can neither forge a row (a
// newline), nor move the cursor or recolour the screen (escape codes), nor
// flood the screen (a megabyte of firmware string). Booths are in prisons;
// their text is an attacker's input.
package inert

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text returns s with every control character, invalid byte and Unicode
// format character (bidi overrides among them) replaced by its Go escape
// (\n, \x1b, \u202e), cut to at most max runes of the original with "…"
// appended when cut. max <= 0 means no cut.
func Text(s string, max int) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		if max > 0 && n == max {
			b.WriteString("…")
			break
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i]), 16))
		case r == '\\':
			b.WriteString(`\\`)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
		i += size
		n++
	}
	return b.String()
}
