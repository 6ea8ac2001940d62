package store_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/kiosk/store"
)

var _ session.Numbers = (*store.Store)(nil)

func num(id int64, person, e164 string, slot int) record.Number {
	return record.Number{ID: id, Person: person, E164: e164, Slot: slot, Label: "ibu", RegisteredBy: "op", ApprovedBy: "sup"}
}

func withNumbers(ci record.CardInfo, ns ...record.Number) record.CardInfo {
	ci.Numbers = ns
	return ci
}

func numbersOf(t *testing.T, s *store.Store, person string) []string {
	t.Helper()
	ns, err := s.Numbers(person)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range ns {
		out = append(out, n.E164)
	}
	return out
}

func blockedHeld(t *testing.T, s *store.Store) []string {
	t.Helper()
	b, err := s.BlockedNumbers()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNumbersApply: the numbers an inmate's card carries become its
// person's, in slot order, replaced whole by the next card of the person
// and gone with the person's last card; the blocked list is replaced when
// a delta carries it and kept when it does not.
func TestNumbersApply(t *testing.T) {
	s, _ := newStore(t)
	until := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	n3 := num(3, "W-1", "+6281200000003", 0)
	n3.ValidUntil = until
	a := withNumbers(stageCard("em:A", "W-1"), num(2, "W-1", "+6281200000002", 2), num(1, "W-1", "+6281200000001", 1), n3)
	a2 := withNumbers(stageCard("em:A2", "W-1"), a.Numbers...)
	b := stageCard("em:B", "W-2")
	if err := s.ApplyRosterBlocked(3, []record.CardInfo{a, a2, b}, nil, []string{"+6281999999999"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Numbers("W-1")
	if err != nil {
		t.Fatal(err)
	}
	want := []record.Number{a.Numbers[1], a.Numbers[0], n3}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("numbers of W-1:\n got %+v\nwant %+v", got, want)
	}
	if got := numbersOf(t, s, "W-2"); len(got) != 0 {
		t.Fatalf("numbers of W-2: %v", got)
	}
	if ok, err := s.NumberBlocked("+6281999999999"); !ok || err != nil {
		t.Fatalf("blocked number not held: %v", err)
	}
	if ok, _ := s.NumberBlocked("+6281200000001"); ok {
		t.Fatal("a registered number reads as blocked")
	}

	// A delta with one card of the person carries the person's numbers as
	// they now stand (a revocation); no blocked list: the held one stays.
	if err := s.ApplyRosterBlocked(4, []record.CardInfo{withNumbers(a, a.Numbers[0])}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := numbersOf(t, s, "W-1"); !slices.Equal(got, []string{"+6281200000002"}) {
		t.Fatalf("after a revocation: %v", got)
	}
	if got := blockedHeld(t, s); !slices.Equal(got, []string{"+6281999999999"}) {
		t.Fatalf("blocked list without a new one: %v", got)
	}
	// An empty list empties it; deleting one card keeps the person's
	// numbers, deleting the last drops them.
	if err := s.ApplyRosterBlocked(5, nil, []string{"em:A"}, []string{}); err != nil {
		t.Fatal(err)
	}
	if got := blockedHeld(t, s); len(got) != 0 {
		t.Fatalf("emptied blocked list: %v", got)
	}
	if got := numbersOf(t, s, "W-1"); len(got) != 1 {
		t.Fatalf("after one card of two deleted: %v", got)
	}
	if err := s.ApplyRoster(6, nil, []string{"em:A2"}); err != nil {
		t.Fatal(err)
	}
	if got := numbersOf(t, s, "W-1"); len(got) != 0 {
		t.Fatalf("numbers of a person with no card: %v", got)
	}

	// Refused whole, changing nothing.
	for _, c := range []struct {
		name    string
		card    record.CardInfo
		blocked []string
		want    string
	}{
		{"officer", withNumbers(record.CardInfo{Card: "em:O", Role: record.RoleOfficer, Person: "P-1"}, num(9, "P-1", "+6281200000009", 1)), nil, "only inmates"},
		{"not E.164", withNumbers(b, num(9, "W-2", "081200000009", 1)), nil, "not an E.164"},
		{"shared slot", withNumbers(b, num(9, "W-2", "+6281200000009", 1), num(10, "W-2", "+6281200000010", 1)), nil, "share slot"},
		{"slot 10", withNumbers(b, num(9, "W-2", "+6281200000009", 10)), nil, "not a digit"},
		{"another's", withNumbers(b, num(9, "W-1", "+6281200000009", 1)), nil, "registered for W-1"},
		{"no id", withNumbers(b, num(0, "W-2", "+6281200000009", 1)), nil, "id 0"},
		{"twice", withNumbers(b, num(9, "W-2", "+6281200000009", 1), num(9, "W-2", "+6281200000010", 2)), nil, "twice"},
		{"bad blocked", b, []string{"112"}, "blocked list"},
	} {
		err := s.ApplyRosterBlocked(7, []record.CardInfo{c.card}, nil, c.blocked)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one containing %q", c.name, err, c.want)
		}
	}
	if v, _ := s.RosterVersion(); v != 6 {
		t.Fatalf("a refused delta changed the version to %d", v)
	}
}

// TestNumbersStaged: numbers and the blocked list of a paged sync change
// nothing until the version is applied, then all at once; a full stage
// drops the numbers of persons it does not list.
func TestNumbersStaged(t *testing.T) {
	s, path := newStore(t)
	a := withNumbers(stageCard("em:A", "W-1"), num(1, "W-1", "+6281200000001", 1))
	b := withNumbers(stageCard("em:B", "W-2"), num(2, "W-2", "+6281200000002", 1))
	if err := s.ApplyRosterBlocked(2, []record.CardInfo{a, b}, nil, []string{"+6281999999999"}); err != nil {
		t.Fatal(err)
	}
	a2 := withNumbers(a, num(1, "W-1", "+6281200000001", 1), num(3, "W-1", "+6281200000003", 2))
	c := withNumbers(stageCard("em:C", "W-3"), num(4, "W-3", "+6281200000004", 0))
	st := record.RosterStage{From: 2, Since: 0, Full: true, Pages: 1, Version: 5, Cursor: "em:A", Blocked: []string{"+6281888888888"}, BlockedSent: true}
	if err := s.StageRoster(st, []record.CardInfo{a2}, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path) // a restart between pages
	st.Pages, st.Cursor = 2, ""
	st.Blocked, st.BlockedSent = nil, false // only the first page carries it: the stage kept it
	if old, _, _ := s.RosterStage(); old.BlockedSent {
		st.Blocked, st.BlockedSent = old.Blocked, old.BlockedSent
	}
	if err := s.StageRoster(st, []record.CardInfo{c}, nil); err != nil {
		t.Fatal(err)
	}
	if got := numbersOf(t, s, "W-1"); len(got) != 1 {
		t.Fatalf("staged numbers seen before the apply: %v", got)
	}
	if got := blockedHeld(t, s); !slices.Equal(got, []string{"+6281999999999"}) {
		t.Fatalf("staged blocked list seen before the apply: %v", got)
	}
	if err := s.ApplyStaged(5); err != nil {
		t.Fatal(err)
	}
	if got := numbersOf(t, s, "W-1"); !slices.Equal(got, []string{"+6281200000001", "+6281200000003"}) {
		t.Fatalf("W-1 after the apply: %v", got)
	}
	if got := numbersOf(t, s, "W-3"); !slices.Equal(got, []string{"+6281200000004"}) {
		t.Fatalf("W-3 after the apply: %v", got)
	}
	if got := numbersOf(t, s, "W-2"); len(got) != 0 {
		t.Fatalf("W-2, not in the full roster, kept %v", got)
	}
	if got := blockedHeld(t, s); !slices.Equal(got, []string{"+6281888888888"}) {
		t.Fatalf("blocked list after the apply: %v", got)
	}
	if err := s.StageRoster(record.RosterStage{From: 5, Since: 5, Pages: 1, Version: 6, Blocked: []string{"0812"}, BlockedSent: true}, nil, nil); err == nil {
		t.Fatal("a bad blocked list was staged")
	}
}
