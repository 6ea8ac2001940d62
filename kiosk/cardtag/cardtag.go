// Package cardtag makes the short tag that stands for a card id in a booth's
// info-level logs, its errors and its status document: 8 hex digits of
// HMAC-SHA256 of the card id, keyed with a secret of that booth (kept in its
// store, made at the store's first start, never logged). A tag is stable on
// one booth, so a technician can follow a card through its log, and means
// nothing elsewhere: without the booth's key, hashing a roster does not map
// tags back to cards, as it did with the unkeyed SHA-256 prefix.
package cardtag

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// KeySize is the size of a key NewKey makes; New accepts no shorter.
const KeySize = 32

// Tagger tags card ids with one booth's key. The zero Tagger is not
// usable: make one with New or Random.
type Tagger struct{ key []byte }

// NewKey returns a fresh random key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k) // never fails since Go 1.24
	return k
}

// New returns the Tagger of key, which must be KeySize bytes or more.
func New(key []byte) (Tagger, error) {
	if len(key) < KeySize {
		return Tagger{}, fmt.Errorf("cardtag: a %d-byte key, want at least %d", len(key), KeySize)
	}
	return Tagger{key: append([]byte(nil), key...)}, nil
}

// Random returns a Tagger with a key of its own, for a caller without a
// booth's key (an engine in a test): its tags last as long as it does.
func Random() Tagger { return Tagger{key: NewKey()} }

// Zero reports the zero Tagger, which has no key.
func (t Tagger) Zero() bool { return len(t.key) == 0 }

// Tag returns card's tag: 8 lower-case hex digits.
func (t Tagger) Tag(card string) string {
	if len(t.key) == 0 {
		panic("cardtag: Tag on a zero Tagger; make it with New or Random")
	}
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte(card))
	return hex.EncodeToString(m.Sum(nil)[:4])
}
