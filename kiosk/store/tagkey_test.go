package store_test

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"testing"
)

// TestCardTagsKept: the card-tag key is made at the store's first start
// and kept, so tags are the same after a restart, differ between two
// booths, and are not the unkeyed SHA-256 prefix (issue 13 item 8).
func TestCardTagsKept(t *testing.T) {
	const card = "em:0400D8B2A5"
	s1, path := newStore(t)
	tag := s1.CardTags().Tag(card)
	s1.Close()
	again := open(t, path)
	if got := again.CardTags().Tag(card); got != tag {
		t.Errorf("tag %s after a restart, %s before", got, tag)
	}
	other := open(t, filepath.Join(t.TempDir(), "other.db"))
	if got := other.CardTags().Tag(card); got == tag {
		t.Errorf("two booths tag %s alike: %s", card, got)
	}
	if h := sha256.Sum256([]byte(card)); tag == hex.EncodeToString(h[:4]) {
		t.Errorf("tag %s is the unkeyed SHA-256 prefix", tag)
	}
}
