package store

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"wartelsuspas/kiosk/record"
)

// A store made afresh gets a random chain identity that every record
// carries and the hash covers; a store migrated from schema 2 with records
// keeps the legacy chain "", so the centre sees it go on unbroken; a file
// truncated to nothing (`: > booth.db`) is a new store with a new chain.
func TestChainIdentity(t *testing.T) {
	dir := t.TempDir()
	legacyPath := filepath.Join(dir, "legacy.db")
	db, err := sql.Open("sqlite", dsn(legacyPath, 5000))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(db, 2); err != nil {
		t.Fatal(err)
	}
	old := record.Record{Device: "d", Seq: 1, Kind: record.KindEvent, Payload: []byte(`{}`)}
	old.Seal(nil) // the hash as schema-2 firmware wrote it: no chain
	for _, q := range []string{
		`INSERT INTO meta(key, value) VALUES ('device', 'd')`,
		`INSERT INTO outbox(seq, kind, payload, prev, hash, created) VALUES (1, 'event', x'7b7d', '` + old.Prev + `', '` + old.Hash + `', 0)`,
		`UPDATE chain SET seq = 1, hash = '` + old.Hash + `' WHERE name = 'head'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	// Schema 2 without a record yet: nothing of it is at the centre.
	unusedPath := filepath.Join(dir, "unused.db")
	db, _ = sql.Open("sqlite", dsn(unusedPath, 5000))
	if err := migrate(db, 2); err != nil {
		t.Fatal(err)
	}
	db.Close()

	openAt := func(path string) *Store {
		t.Helper()
		s, err := Open(path, Options{Device: "d"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	fresh := openAt(filepath.Join(dir, "fresh.db"))
	other := openAt(filepath.Join(dir, "other.db"))
	legacy := openAt(legacyPath)
	unused := openAt(unusedPath)
	for _, tc := range []struct {
		name   string
		s      *Store
		legacy bool
	}{{"fresh", fresh, false}, {"another fresh", other, false}, {"migrated with records", legacy, true}, {"migrated, never wrote", unused, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.s.Chain()
			if tc.legacy != (c == "") || !record.ValidChainID(c) {
				t.Fatalf("chain %q; want legacy %v", c, tc.legacy)
			}
			r, err := tc.s.Event(record.Event{Event: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Chain != c {
				t.Fatalf("record carries chain %q, the store's is %q", r.Chain, c)
			}
			if r.Hash != r.ComputeHash() {
				t.Fatal("record's hash does not verify")
			}
			forged := r
			forged.Chain = record.NewChainID()
			if c != "" && forged.ComputeHash() == r.Hash {
				t.Fatal("the hash does not cover the chain")
			}
			pend, err := tc.s.Pending(0)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pend {
				if p.Chain != c {
					t.Fatalf("pending #%d carries chain %q, want %q", p.Seq, p.Chain, c)
				}
			}
			if err := record.VerifyChain(nil, pend); err != nil {
				t.Fatalf("pending chain: %v", err)
			}
			hc, hs, hh := tc.s.ChainHead()
			if hc != c || hs != r.Seq || hh != r.Hash {
				t.Fatalf("ChainHead %q #%d %s, want %q #%d %s", hc, hs, hh, c, r.Seq, r.Hash)
			}
		})
	}
	if fresh.Chain() == other.Chain() {
		t.Fatalf("two new stores share chain %q", fresh.Chain())
	}

	// Reopened: the same chain. Truncated to nothing: a new one.
	c := fresh.Chain()
	fresh.Close()
	legacy.Close()
	if again := openAt(filepath.Join(dir, "fresh.db")); again.Chain() != c {
		t.Fatalf("reopened store has chain %q, was %q", again.Chain(), c)
	} else {
		again.Close()
	}
	if again := openAt(legacyPath); again.Chain() != "" {
		t.Fatalf("reopened legacy store has chain %q", again.Chain())
	} else {
		again.Close()
	}
	if err := os.Truncate(filepath.Join(dir, "fresh.db"), 0); err != nil {
		t.Fatal(err)
	}
	wiped := openAt(filepath.Join(dir, "fresh.db"))
	defer wiped.Close()
	if wiped.Chain() == c || wiped.Chain() == "" {
		t.Fatalf("truncated store kept chain %q (was %q)", wiped.Chain(), c)
	}
	if seq, _ := wiped.Head(); seq != 0 {
		t.Fatalf("truncated store's head at #%d", seq)
	}
	other.Close()
	unused.Close()
}
