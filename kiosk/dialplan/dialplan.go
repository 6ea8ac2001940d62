// Package dialplan reads telephone numbers as people write them (an
// operator registering a number at the centre, an inmate keying one at the
// booth) into E.164 ("+6281234567890"), and tells whether a number keyed
// matches a registered one. The booth and the gateway both use it, so a
// number registered as "0812-3456-7890" and one keyed as "6281234567890"
// are the same number on both sides (docs/dial.md).
//
// What it accepts: an Indonesian national number ("0812…", "021…"), the
// same with the country code ("62812…", "+62812…"), or an international
// number written with its "+" ("+61…"). Spaces, dashes, dots and
// parentheses between digits are ignored. Short codes (emergency, operator
// services), letters and numbers longer than E.164's 15 digits are refused.
package dialplan

import (
	"errors"
	"fmt"
	"strings"
)

// Country is Indonesia's country code: national numbers are read in it.
const Country = "62"

// Limits of a number, in digits after the "+".
const (
	// MaxDigits is E.164's longest number.
	MaxDigits = 15
	// MinDigits is the shortest number accepted: anything shorter is a
	// short code (112, 110, 14045, an operator's service number), which a
	// booth never dials.
	MinDigits = 8
	// minNational is the shortest Indonesian number after "62": an area
	// code and a subscriber (e.g. 21 and 5 digits), or a mobile 8xx.
	minNational = 7
)

// Problems with a number; Parse wraps them with the text it was given.
var (
	ErrEmpty    = errors.New("no number was given")
	ErrLetters  = errors.New("a telephone number has digits only")
	ErrShort    = fmt.Errorf("too short for a telephone number (fewer than %d digits): short codes and service numbers are not allowed", MinDigits)
	ErrLong     = fmt.Errorf("too long: a telephone number has at most %d digits with its country code", MaxDigits)
	ErrPrefix   = errors.New("write an Indonesian number starting with 0 (0812…) or 62, or an international number with + and its country code (+61…)")
	ErrTrunk    = errors.New("a 0 after the country code: write +62812…, not +620812…")
	ErrBadPlus  = errors.New("a + goes only at the start of the number")
	ErrZeroCode = errors.New("a country code never starts with 0")
)

// Parse reads a number as a person wrote it and returns it in E.164
// ("+6281234567890"). The error names the text and what to write instead.
func Parse(s string) (string, error) {
	e, err := parse(s)
	if err != nil {
		return "", fmt.Errorf("telephone number %q: %w", s, err)
	}
	return e, nil
}

func parse(s string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", ErrEmpty
	}
	plus := false
	var d strings.Builder
	for i, r := range t {
		switch {
		case r >= '0' && r <= '9':
			d.WriteRune(r)
		case r == '+':
			if i != 0 {
				return "", ErrBadPlus
			}
			plus = true
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
			// separators people write between groups of digits
		default:
			return "", fmt.Errorf("%w: %q is not one", ErrLetters, r)
		}
	}
	digits := d.String()
	if digits == "" {
		return "", ErrEmpty
	}
	var e164 string
	switch {
	case plus:
		if digits[0] == '0' {
			return "", ErrZeroCode
		}
		e164 = digits
	case strings.HasPrefix(digits, "00"):
		// International prefixes differ by carrier in Indonesia (001, 007,
		// 008, 01017): guessing would dial the wrong country.
		return "", ErrPrefix
	case digits[0] == '0':
		e164 = Country + digits[1:]
	case strings.HasPrefix(digits, Country):
		e164 = digits
	default:
		if len(digits) < MinDigits {
			return "", ErrShort
		}
		return "", ErrPrefix
	}
	if strings.HasPrefix(e164, Country) {
		national := e164[len(Country):]
		if strings.HasPrefix(national, "0") {
			return "", ErrTrunk
		}
		if len(national) < minNational {
			return "", ErrShort
		}
	}
	switch {
	case len(e164) < MinDigits:
		return "", ErrShort
	case len(e164) > MaxDigits:
		return "", ErrLong
	}
	return "+" + e164, nil
}

// Valid reports whether e is a number in the form Parse returns.
func Valid(e string) bool {
	n, err := parse(e)
	return err == nil && n == e
}

// Match reports whether typed (as keyed at the booth or written by a
// person) is the registered number (in E.164, or as a person wrote it).
// Two numbers that do not parse never match.
func Match(typed, registered string) bool {
	a, err := parse(typed)
	if err != nil {
		return false
	}
	b, err := parse(registered)
	return err == nil && a == b
}
