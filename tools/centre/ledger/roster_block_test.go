package ledger

import (
	"errors"
	"slices"
	"testing"

	"wartelsuspas/kiosk/record"
)

// An officer's block outlasts the nightly import: the file speaks for its
// own block only, and an officer's block by hand stands until an officer
// lifts it. Before migration 15 the import wrote blocked from the file, so
// a card blocked at the console for misuse was open again the next morning.
func TestBlockByHandOutlastsImport(t *testing.T) {
	line := func(id string, blocked bool) record.CardInfo {
		return record.CardInfo{Card: id, Role: record.RoleInmate, Person: "W-" + id, Name: "N", Block: "A", Blocked: blocked}
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			blocked := func(id string) bool {
				t.Helper()
				d, err := s.RosterSince(ctx, "lp", 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range d.Upserts {
					if c.Card == id {
						return c.Blocked
					}
				}
				t.Fatalf("card %s is not in the roster", id)
				return false
			}
			imp := func(cards ...record.CardInfo) int64 {
				t.Helper()
				v, err := s.UpsertCards(ctx, "lp", "operator", cards)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			// The nightly file: em:H open, em:F blocked by the facility's system.
			night := []record.CardInfo{line("em:H", false), line("em:F", true), line("em:O", false)}
			imp(night...)
			vBlock, err := s.BlockCard(ctx, "lp", "em:H", true)
			if err != nil {
				t.Fatal(err)
			}
			// The same file again: em:H stays blocked, and, its line being
			// unchanged, the booths are sent nothing.
			imp(night...)
			if !blocked("em:H") {
				t.Fatal("an import whose file does not block em:H lifted the officer's block")
			}
			if d, err := s.RosterSince(ctx, "lp", vBlock); err != nil || len(d.Upserts) != 0 {
				t.Errorf("the same file again sent %d cards (%v), want none", len(d.Upserts), err)
			}
			// The file blocks it, then no longer: still blocked by hand.
			imp(line("em:H", true))
			imp(line("em:H", false))
			if !blocked("em:H") {
				t.Error("the file blocking em:H, then not, lifted the officer's block")
			}
			if got, err := s.BlockedByHand(ctx, "lp"); err != nil || !slices.Equal(got, []string{"em:H"}) {
				t.Errorf("BlockedByHand = %v, %v; want [em:H]", got, err)
			}
			// The file's own block is the file's: lifted by the file.
			if !blocked("em:F") {
				t.Fatal("em:F, blocked in the file, is not blocked")
			}
			if _, err := s.BlockCard(ctx, "lp", "em:F", false); !errors.Is(err, ErrBlockedInFile) {
				t.Errorf("unblocking by hand a card the file blocks: %v, want ErrBlockedInFile", err)
			}
			if !blocked("em:F") {
				t.Error("an unblock by hand of a card the file blocks lifted it")
			}
			imp(line("em:F", false))
			if blocked("em:F") {
				t.Error("the file no longer blocking em:F left it blocked")
			}
			// An officer lifts their block: the card follows the file again.
			if _, err := s.BlockCard(ctx, "lp", "em:H", false); err != nil {
				t.Fatal(err)
			}
			if blocked("em:H") {
				t.Error("unblocked by hand, em:H is still blocked")
			}
			imp(line("em:H", true))
			if !blocked("em:H") {
				t.Error("after the block by hand was lifted, the file's block of em:H did not take")
			}
			// Blocked both ways: lifting the hand's block is refused while
			// the file blocks it, and a deleted card is listed no more.
			if _, err := s.BlockCard(ctx, "lp", "em:O", true); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DeleteCard(ctx, "lp", "em:O"); err != nil {
				t.Fatal(err)
			}
			if got, err := s.BlockedByHand(ctx, "lp"); err != nil || len(got) != 0 {
				t.Errorf("BlockedByHand after the lift and a delete = %v, %v; want none", got, err)
			}
			// Re-added, the deleted card keeps the officer's block.
			imp(line("em:O", false))
			if !blocked("em:O") {
				t.Error("a card blocked by hand, deleted and imported again, is open")
			}
		})
	}
}

// Cards blocked before migration 15 count as blocked by hand: which of
// the file and an officer blocked them is not known, and an import must
// not open a card an officer closed.
func TestBlockMigrationKeepsBlocks(t *testing.T) {
	for _, o := range reopeners {
		t.Run(o.name, func(t *testing.T) {
			open := o.open(t)
			old := openAtSchema(t, open, 14,
				`INSERT INTO facilities (facility, version, horizon, policy_version) VALUES ('lp', 1, 0, 0)`,
				`INSERT INTO cards (facility, card, role, person, name, block, allowance_ms, blocked, deleted, version) VALUES ('lp', 'em:B', 'inmate', 'W-1', '', '', 0, 1, 0, 1)`,
				`INSERT INTO cards (facility, card, role, person, name, block, allowance_ms, blocked, deleted, version) VALUES ('lp', 'em:A', 'inmate', 'W-2', '', '', 0, 0, 0, 1)`)
			old.Close()
			s, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got, err := s.BlockedByHand(ctx, "lp"); err != nil || !slices.Equal(got, []string{"em:B"}) {
				t.Fatalf("after the upgrade BlockedByHand = %v, %v; want [em:B]", got, err)
			}
			if _, err := s.UpsertCards(ctx, "lp", "operator", []record.CardInfo{{Card: "em:B", Role: record.RoleInmate, Person: "W-1"}}); err != nil {
				t.Fatal(err)
			}
			d, err := s.RosterSince(ctx, "lp", 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range d.Upserts {
				if want := c.Card == "em:B"; c.Blocked != want {
					t.Errorf("card %s blocked %v after the upgrade and an import that blocks nothing, want %v", c.Card, c.Blocked, want)
				}
			}
			// An officer can lift it: the file does not block it.
			if _, err := s.BlockCard(ctx, "lp", "em:B", false); err != nil {
				t.Errorf("unblocking a migrated block by hand: %v", err)
			}
		})
	}
}
