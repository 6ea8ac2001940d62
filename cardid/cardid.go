// Package cardid is a card's identity in text: the technology, a colon and the UID in upper-case
// hex ("em:0F00275624", "14a:04A1B2C3D4E5F6"), the same whichever reader of that technology read
// the card. Readers make ids from bytes (EMCard, ISO14443ACard), the gateway from what people type
// (Parse), and both check them the same way (Valid). Like clock, it is a leaf on the standard
// library beneath every layer, so drivers/rfid, kiosk, firmware and the gateway share one
// definition without the gateway linking a serial library (docs/decisions.md).
package cardid

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// ID is a card's canonical identity: the technology, a colon, and the
// UID in upper-case hex, e.g. "em:0F00275624" or "14a:04A1B2C3D4E5F6". It is
// the same whichever reader of that technology read the card.
type ID string

// Technology prefixes of ID.
const (
	TechEM        = "em"  // 125 kHz EM4100/EM4102: 5 bytes (version/customer + 32-bit id)
	TechISO14443A = "14a" // 13.56 MHz ISO 14443A: 4-, 7- or 10-byte UID
	TechRaw       = "raw" // an ASCII-line reader whose output cannot be mapped to a technology
)

// EMCard returns the canonical id of a 125 kHz EM4100 card.
func EMCard(data [5]byte) ID {
	var b [len(TechEM) + 1 + 10]byte
	n := copy(b[:], TechEM+":")
	hex.Encode(b[n:], data[:])
	for i := n; i < len(b); i++ {
		if b[i] >= 'a' {
			b[i] -= 'a' - 'A'
		}
	}
	return ID(b[:])
}

// ISO14443ACard returns the canonical id of an ISO 14443A card from its UID.
func ISO14443ACard(uid []byte) ID {
	return ID(TechISO14443A + ":" + strings.ToUpper(hex.EncodeToString(uid)))
}

// Tech returns the technology prefix of id.
func (id ID) Tech() string {
	t, _, _ := strings.Cut(string(id), ":")
	return t
}

// UID returns the hex UID part of id.
func (id ID) UID() string {
	_, u, _ := strings.Cut(string(id), ":")
	return u
}

// Valid reports whether id is a plausible card: a known prefix, a non-empty
// even-length hex UID, and not all zeros or all ones (line noise and
// unprogrammed tags produce those; they are never a card).
func (id ID) Valid() bool {
	t, u, ok := strings.Cut(string(id), ":")
	if !ok || u == "" || (t != TechEM && t != TechISO14443A && t != TechRaw) {
		return false
	}
	if t != TechRaw && len(u)%2 != 0 {
		return false
	}
	allZero, allF := true, true
	for i := 0; i < len(u); i++ {
		c := u[i]
		if t != TechRaw && !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
		allZero = allZero && c == '0'
		allF = allF && c == 'F'
	}
	return !allZero && !allF
}

// String returns the canonical form.
func (id ID) String() string { return string(id) }

// Parse reads a card id as a person writes it (a roster file, a command line) and returns it
// in the canonical form the booth's readers produce:
// the technology in lower case, a colon, the UID in upper-case hex. It
// forgives case and the spaces, dashes and colons people type between
// bytes.
func Parse(s string) (ID, error) {
	tech, uid, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return "", fmt.Errorf("%q has no technology prefix; write em:… for a 125 kHz card or 14a:… for a 13.56 MHz card", s)
	}
	tech = strings.ToLower(strings.TrimSpace(tech))
	uid = strings.ToUpper(strings.NewReplacer(" ", "", "-", "", ":", "").Replace(uid))
	id := ID(tech + ":" + uid)
	switch {
	case tech != TechEM && tech != TechISO14443A:
		return "", fmt.Errorf("%q: technology %q is not em or 14a", s, tech)
	case !id.Valid():
		return "", fmt.Errorf("%q is not a card UID (hex digits, whole bytes, not all zeros or all F)", s)
	case tech == TechEM && len(uid) != 10:
		return "", fmt.Errorf("%q: an em card has 5 bytes (10 hex digits), this has %d digits", s, len(uid))
	case tech == TechISO14443A && len(uid) != 8 && len(uid) != 14 && len(uid) != 20:
		return "", fmt.Errorf("%q: a 14a UID has 4, 7 or 10 bytes, this has %d hex digits", s, len(uid))
	}
	return id, nil
}
