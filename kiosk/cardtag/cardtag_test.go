package cardtag

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestTag: stable for one key, different for another, never the unkeyed
// SHA-256 prefix anyone with the roster could compute (issue 13 item 8).
func TestTag(t *testing.T) {
	cards := []string{"em:0400D8B2A5", "14a:04A1B2C3", "em:00DEADBEEF"}
	k1, k2 := NewKey(), NewKey()
	if bytes.Equal(k1, k2) || len(k1) != KeySize {
		t.Fatalf("NewKey made %x and %x", k1, k2)
	}
	a, err := New(k1)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := New(append([]byte(nil), k1...)) // the key as read back from the store
	b, _ := New(k2)
	for _, c := range cards {
		unkeyed := sha256.Sum256([]byte(c))
		tag := a.Tag(c)
		switch {
		case len(tag) != 8:
			t.Errorf("%s: tag %q, want 8 hex digits", c, tag)
		case again.Tag(c) != tag:
			t.Errorf("%s: %s, then %s with the same key", c, tag, again.Tag(c))
		case b.Tag(c) == tag:
			t.Errorf("%s: the same tag %s under two keys", c, tag)
		case tag == hex.EncodeToString(unkeyed[:4]):
			t.Errorf("%s: tag %s is the unkeyed SHA-256 prefix", c, tag)
		}
	}
	if _, err := New(k1[:16]); err == nil {
		t.Error("a 16-byte key accepted")
	}
}
