package ledger

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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

// A roster replaced by a file deletes the cards the file leaves out in
// one version, past a statement's chunk of rows; a card that is not live
// fails the whole deletion, named, with nothing deleted.
func TestDeleteCards(t *testing.T) {
	const n = 300 // past two statements of batchRows
	cards := make([]record.CardInfo, n)
	ids := make([]string, n)
	for i := range cards {
		ids[i] = fmt.Sprintf("em:D%05d", i)
		cards[i] = record.CardInfo{Card: ids[i], Role: record.RoleInmate, Person: fmt.Sprintf("W-%05d", i)}
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			if _, err := s.UpsertCards(ctx, "lp", "operator", cards); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DeleteCard(ctx, "lp", ids[0]); err != nil {
				t.Fatal(err)
			}
			before, err := s.RosterSince(ctx, "lp", 0)
			if err != nil {
				t.Fatal(err)
			}
			// The last card of the third statement is deleted already: all or nothing.
			if _, err := s.DeleteCards(ctx, "lp", append(slices.Clone(ids[1:n-10]), ids[0])); err == nil || !strings.Contains(err.Error(), ids[0]) {
				t.Errorf("deleting a card deleted already: %v, want an error naming %s", err, ids[0])
			}
			if _, err := s.DeleteCards(ctx, "lp", []string{ids[5], "em:NOPE"}); err == nil || !strings.Contains(err.Error(), "em:NOPE") {
				t.Errorf("deleting an unknown card: %v, want an error naming em:NOPE", err)
			}
			if after, _ := s.RosterSince(ctx, "lp", 0); after.Version != before.Version || len(after.Upserts) != len(before.Upserts) {
				t.Fatalf("a refused deletion changed the roster: version %d → %d, %d → %d cards", before.Version, after.Version, len(before.Upserts), len(after.Upserts))
			}
			// Listed twice, a card is deleted once.
			v, err := s.DeleteCards(ctx, "lp", append(slices.Clone(ids[1:n-10]), ids[1]))
			if err != nil {
				t.Fatal(err)
			}
			if v != before.Version+1 {
				t.Errorf("version %d after deleting %d cards at %d, want one version", v, n-11, before.Version)
			}
			up, del := sent(t, s, "lp", before.Version)
			if len(up) != 0 || len(del) != n-11 {
				t.Errorf("a booth at the version before gets %d cards and %d deletes, want 0 and %d", len(up), len(del), n-11)
			}
			if up, _ := sent(t, s, "lp", 0); len(up) != 10 {
				t.Errorf("%d cards left, want 10", len(up))
			}
			// Each deletion is in the card's history, at its version.
			var hist int
			db := s.(*sqlStore)
			if err := db.db.QueryRow(db.q(`SELECT COUNT(*) FROM card_history WHERE facility = ? AND version = ? AND deleted = 1`), "lp", v).Scan(&hist); err != nil || hist != n-11 {
				t.Errorf("card_history has %d deletions at version %d (%v), want %d", hist, v, err, n-11)
			}
		})
	}
}
