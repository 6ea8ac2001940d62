package store

import (
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"wartelsuspas/kiosk/cardtag"
)

// tagKeyMeta is the meta key of the booth's card-tag key (kiosk/cardtag):
// made at the store's first start, kept with the store so tags stay the
// same across restarts, and never logged.
const tagKeyMeta = "card_tag_key"

// claimTagKey makes the card-tag key of a store that has none.
func (s *Store) claimTagKey() error {
	var v string
	err := s.db.QueryRow(`SELECT value FROM meta WHERE key = ?`, tagKeyMeta).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		key := cardtag.NewKey()
		if _, err := s.db.Exec(`INSERT INTO meta(key, value) VALUES(?, ?)`, tagKeyMeta, hex.EncodeToString(key)); err != nil {
			return s.wrap("make the card-tag key", err)
		}
		s.tagKey = key
		return nil
	case err != nil:
		return s.wrap("read the card-tag key", err)
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) < cardtag.KeySize {
		return fmt.Errorf("store %s: open: the card-tag key in meta is damaged (%d bytes): delete the meta row %q and restart; card tags in older logs will no longer match", s.path, len(key), tagKeyMeta)
	}
	s.tagKey = key
	return nil
}

// CardTags returns the booth's card tagger: every tag the booth shows (logs,
// errors, the status document) is made with it.
func (s *Store) CardTags() cardtag.Tagger {
	t, err := cardtag.New(s.tagKey)
	if err != nil { // claimTagKey let no short key through
		panic(err)
	}
	return t
}
