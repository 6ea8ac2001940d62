package ledger

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"wartelsuspas/kiosk/record"
)

// numbersFacility seeds a facility with two inmates (two cards for A-1)
// and an officer, and returns its version.
func numbersFacility(t interface{ Fatal(...any) }, s Store, facility string) int64 {
	v, err := s.UpsertCards(ctx, facility, "operator", []record.CardInfo{
		{Card: "em:A1", Role: record.RoleInmate, Person: "A-1"},
		{Card: "em:A1B", Role: record.RoleInmate, Person: "A-1"},
		{Card: "em:B2", Role: record.RoleInmate, Person: "B-2"},
		{Card: "em:OF", Role: record.RoleOfficer, Person: "P-9"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DecideOfficer(ctx, facility, "em:OF", "P-9", "supervisor", true, ""); err != nil {
		t.Fatal(err)
	}
	return v + 1 // the officer card approved
}

func register(t testing.TB, s Store, facility, person, e164 string, slot int) NumberEntry {
	t.Helper()
	n, err := s.RegisterNumber(ctx, facility, NumberEntry{Person: person, E164: e164, Slot: slot, Label: "ibu", RegisteredBy: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// sentNumbers is what a full sync gives each card: card → E.164 numbers.
func sentNumbers(t testing.TB, s Store, facility string) map[string][]string {
	t.Helper()
	d, err := s.RosterSince(ctx, facility, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, c := range d.Upserts {
		for _, n := range c.Numbers {
			if n.Person != c.Person {
				t.Fatalf("card %s of %s carries a number of %s", c.Card, c.Person, n.Person)
			}
			out[c.Card] = append(out[c.Card], n.E164)
		}
	}
	return out
}

func TestNumberRules(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := open1(t, b)
			const f = "lapas-n"
			v0 := numbersFacility(t, s, f)

			n := register(t, s, f, "A-1", "0812-3456-7890", 1)
			if n.E164 != "+6281234567890" || n.Status != NumberPending || n.ID == 0 || n.RegisteredAt.IsZero() {
				t.Fatalf("registered %+v", n)
			}
			if got := sentNumbers(t, s, f); len(got) != 0 {
				t.Fatalf("a pending number was sent: %v", got)
			}

			// Refusals at registration.
			for _, c := range []struct {
				name string
				n    NumberEntry
				want string
				err  error
			}{
				{"letters", NumberEntry{Person: "A-1", E164: "08abc", RegisteredBy: "op"}, "digits only", nil},
				{"short code", NumberEntry{Person: "A-1", E164: "112", RegisteredBy: "op"}, "short", nil},
				{"slot clash", NumberEntry{Person: "A-1", E164: "081111111111", Slot: 1, RegisteredBy: "op"}, "", ErrSlotTaken},
				{"same number", NumberEntry{Person: "A-1", E164: "+6281234567890", Slot: 2, RegisteredBy: "op"}, "already registered", nil},
				{"slot 10", NumberEntry{Person: "A-1", E164: "081111111111", Slot: 10, RegisteredBy: "op"}, "digit 1 to 9", nil},
				{"no account", NumberEntry{Person: "A-1", E164: "081111111111", Slot: 2}, "no account", nil},
				{"officer", NumberEntry{Person: "P-9", E164: "081111111111", Slot: 2, RegisteredBy: "op"}, "no inmate card", nil},
				{"unknown person", NumberEntry{Person: "Z-0", E164: "081111111111", Slot: 2, RegisteredBy: "op"}, "no inmate card", nil},
				{"until before from", NumberEntry{Person: "A-1", E164: "081111111111", Slot: 2, RegisteredBy: "op",
					ValidFrom: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), ValidUntil: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, "not after", nil},
			} {
				_, err := s.RegisterNumber(ctx, f, c.n)
				if err == nil || c.err != nil && !errors.Is(err, c.err) || c.want != "" && !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: err %v, want %q %v", c.name, err, c.want, c.err)
				}
			}
			// Another inmate may use the same slot and number.
			other := register(t, s, f, "B-2", "081234567890", 1)

			// Approver ≠ registrar.
			if _, err := s.DecideNumber(ctx, f, n.ID, "operator", true, ""); !errors.Is(err, ErrSameAccount) {
				t.Fatalf("self-approval: %v", err)
			}
			if _, err := s.DecideNumber(ctx, f, n.ID, "", true, ""); err == nil {
				t.Fatal("approval by no account")
			}
			if _, err := s.DecideNumber(ctx, "lapas-other", n.ID, "supervisor", true, ""); !errors.Is(err, ErrUnknownNumber) {
				t.Fatalf("decided from another facility: %v", err)
			}
			a, err := s.DecideNumber(ctx, f, n.ID, "supervisor", true, "")
			if err != nil || a.Status != NumberApproved || a.DecidedBy != "supervisor" {
				t.Fatalf("approve: %+v, %v", a, err)
			}
			if _, err := s.DecideNumber(ctx, f, n.ID, "supervisor2", true, ""); !errors.Is(err, ErrState) {
				t.Fatalf("approved twice: %v", err)
			}
			// Every card of the person carries it; the delta since before
			// holds both cards again.
			if got := sentNumbers(t, s, f); !slices.Equal(got["em:A1"], []string{"+6281234567890"}) || !slices.Equal(got["em:A1B"], []string{"+6281234567890"}) || len(got["em:B2"]) != 0 {
				t.Fatalf("sent %v", got)
			}
			d, err := s.RosterSince(ctx, f, v0)
			if err != nil || d.Version <= v0 || len(d.Upserts) != 2 {
				t.Fatalf("delta after approval: %+v, %v", d, err)
			}
			if got := d.Upserts[0].Numbers; len(got) != 1 || got[0].ApprovedBy != "supervisor" || got[0].RegisteredBy != "operator" || got[0].Slot != 1 || got[0].Label != "ibu" {
				t.Fatalf("number sent %+v", got)
			}

			// Blocked overrides: the approved number of A-1 leaves, B-2's
			// pending one cannot be approved; the list goes with the version.
			before := d.Version
			if err := s.BlockNumber(ctx, f, BlockedNumber{E164: "6281234567890", Reason: "victim", AddedBy: "supervisor"}); err != nil {
				t.Fatal(err)
			}
			if err := s.BlockNumber(ctx, f, BlockedNumber{E164: "+6281234567890", Reason: "again", AddedBy: "supervisor"}); err == nil || !strings.Contains(err.Error(), "already blocked") {
				t.Fatalf("blocked twice: %v", err)
			}
			if err := s.BlockNumber(ctx, f, BlockedNumber{E164: "+6281999999999", AddedBy: "supervisor"}); err == nil || !strings.Contains(err.Error(), "no reason") {
				t.Fatalf("blocked with no reason: %v", err)
			}
			d, err = s.RosterSince(ctx, f, before)
			if err != nil || !d.BlockedSent || !slices.Equal(d.Blocked, []string{"+6281234567890"}) || len(d.Upserts) != 2 || len(d.Upserts[0].Numbers) != 0 {
				t.Fatalf("delta after block: %+v, %v", d, err)
			}
			if d2, _ := s.RosterSince(ctx, f, d.Version); d2.BlockedSent || len(d2.Upserts) != 0 {
				t.Fatalf("an unchanged list sent again: %+v", d2)
			}
			if _, err := s.DecideNumber(ctx, f, other.ID, "supervisor", true, ""); !errors.Is(err, ErrNumberBlocked) {
				t.Fatalf("approved a blocked number: %v", err)
			}
			if _, err := s.RegisterNumber(ctx, f, NumberEntry{Person: "B-2", E164: "081234567890", Slot: 5, RegisteredBy: "op"}); err == nil {
				t.Fatal("registered a blocked number")
			}
			if list, err := s.BlockedNumbers(ctx, f); err != nil || len(list) != 1 || list[0].Reason != "victim" || list[0].AddedBy != "supervisor" {
				t.Fatalf("blocked list %+v, %v", list, err)
			}
			if err := s.UnblockNumber(ctx, f, "081234567890", "supervisor"); err != nil {
				t.Fatal(err)
			}
			if err := s.UnblockNumber(ctx, f, "081234567890", "supervisor"); err == nil {
				t.Fatal("unblocked twice")
			}
			d, err = s.RosterSince(ctx, f, d.Version)
			if err != nil || !d.BlockedSent || len(d.Blocked) != 0 || d.Blocked == nil || len(d.Upserts) != 2 || len(d.Upserts[0].Numbers) != 1 {
				t.Fatalf("delta after unblock: %+v, %v", d, err)
			}

			// Rejection needs a reason and another account; a rejected
			// number frees its slot.
			if _, err := s.DecideNumber(ctx, f, other.ID, "supervisor", false, ""); err == nil {
				t.Fatal("rejected with no reason")
			}
			r, err := s.DecideNumber(ctx, f, other.ID, "supervisor", false, "not family")
			if err != nil || r.Status != NumberRejected || r.Reason != "not family" {
				t.Fatalf("reject: %+v, %v", r, err)
			}
			register(t, s, f, "B-2", "081200000001", 1)

			// Revoked: never sent again, its slot free.
			if _, err := s.RevokeNumber(ctx, f, n.ID, "supervisor", ""); err == nil {
				t.Fatal("revoked with no reason")
			}
			rv, err := s.RevokeNumber(ctx, f, n.ID, "supervisor", "moved")
			if err != nil || rv.Status != NumberRevoked {
				t.Fatalf("revoke: %+v, %v", rv, err)
			}
			if _, err := s.RevokeNumber(ctx, f, n.ID, "supervisor", "moved"); !errors.Is(err, ErrState) {
				t.Fatalf("revoked twice: %v", err)
			}
			if got := sentNumbers(t, s, f); len(got) != 0 {
				t.Fatalf("sent after revocation: %v", got)
			}
			register(t, s, f, "A-1", "081234567890", 1)

			all, err := s.Numbers(ctx, f, "")
			if err != nil || len(all) != 4 {
				t.Fatalf("numbers of the facility: %+v, %v", all, err)
			}
			mine, err := s.Numbers(ctx, f, "A-1")
			if err != nil || len(mine) != 2 || mine[0].Status != NumberRevoked || mine[0].Reason != "moved" || mine[0].DecidedAt.IsZero() {
				t.Fatalf("numbers of A-1: %+v, %v", mine, err)
			}
		})
	}
}

func TestNumberLimit(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := open1(t, b)
			const f = "lapas-l"
			numbersFacility(t, s, f)
			if _, err := s.SetPolicy(ctx, f, []byte(`{"allowance_ms":1800000,"period":"day","zone":"Asia/Jakarta","max_numbers_per_inmate":2}`)); err != nil {
				t.Fatal(err)
			}
			first := register(t, s, f, "A-1", "081200000001", 1)
			register(t, s, f, "A-1", "081200000002", 0)
			if _, err := s.RegisterNumber(ctx, f, NumberEntry{Person: "A-1", E164: "081200000003", RegisteredBy: "op"}); !errors.Is(err, ErrNumberLimit) {
				t.Fatalf("a third number under a limit of 2: %v", err)
			}
			register(t, s, f, "B-2", "081200000003", 0) // the limit is per inmate
			if _, err := s.RevokeNumber(ctx, f, first.ID, "supervisor", "wrong"); err != nil {
				t.Fatal(err)
			}
			register(t, s, f, "A-1", "081200000003", 0) // revoked numbers do not count
		})
	}
}

func TestNumberDefaultLimit(t *testing.T) {
	s := open1(t, backends()[0])
	const f = "lapas-d"
	numbersFacility(t, s, f)
	for i := range 10 {
		register(t, s, f, "A-1", "08120000000"+string(rune('0'+i)), 0)
	}
	if _, err := s.RegisterNumber(ctx, f, NumberEntry{Person: "A-1", E164: "081300000000", RegisteredBy: "op"}); !errors.Is(err, ErrNumberLimit) {
		t.Fatalf("an 11th number with no policy: %v", err)
	}
}

func TestNumberExpiredNotSent(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := open1(t, b)
			clock := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
			s.(*sqlStore).now = func() time.Time { return clock }
			const f = "lapas-x"
			numbersFacility(t, s, f)
			n, err := s.RegisterNumber(ctx, f, NumberEntry{Person: "A-1", E164: "081200000001", Slot: 1, RegisteredBy: "op",
				ValidUntil: clock.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.DecideNumber(ctx, f, n.ID, "sup", true, ""); err != nil {
				t.Fatal(err)
			}
			got, _ := s.RosterSince(ctx, f, 0)
			if len(got.Upserts[0].Numbers) != 1 || !got.Upserts[0].Numbers[0].ValidUntil.Equal(clock.Add(time.Hour)) {
				t.Fatalf("valid number: %+v", got.Upserts[0])
			}
			clock = clock.Add(time.Hour)
			if got := sentNumbers(t, s, f); len(got) != 0 {
				t.Fatalf("an expired number was sent: %v", got)
			}
		})
	}
}

// TestNumbersProperty: after any sequence of registrations, decisions,
// revocations, blocks and unblocks, a booth that follows the deltas holds
// for each card exactly the approved, unblocked numbers of its person at
// the version it applied, and the blocked list at that version.
func TestNumbersProperty(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := open1(t, b)
			n := 0
			rapid.Check(t, func(rt *rapid.T) {
				n++
				f := "lapas-p" + string(rune('a'+n%26)) + strings.Repeat("x", n/26)
				numbersFacility(rt, s, f)
				persons := []string{"A-1", "B-2"}
				phones := []string{"081200000001", "081200000002", "081200000003", "081200000004"}
				booth := map[string][]string{} // card → numbers held
				var blocked []string
				var held int64
				// check: what the booth holds is the approved, unblocked set now.
				check := func() {
					all, _ := s.Numbers(ctx, f, "")
					list, _ := s.BlockedNumbers(ctx, f)
					isBlocked := map[string]bool{}
					var wantBlocked []string
					for _, x := range list {
						isBlocked[x.E164] = true
						wantBlocked = append(wantBlocked, x.E164)
					}
					want := map[string][]string{}
					for _, x := range all {
						if x.Status == NumberApproved && !isBlocked[x.E164] {
							want[x.Person] = append(want[x.Person], x.E164)
						}
						if x.Status == NumberApproved && x.DecidedBy == x.RegisteredBy {
							rt.Fatalf("number %d approved by its registrar", x.ID)
						}
					}
					for _, card := range []string{"em:A1", "em:A1B", "em:B2"} {
						person := map[string]string{"em:A1": "A-1", "em:A1B": "A-1", "em:B2": "B-2"}[card]
						if !slices.Equal(booth[card], want[person]) {
							rt.Fatalf("card %s holds %v, want %v", card, booth[card], want[person])
						}
					}
					if len(booth["em:OF"]) != 0 {
						rt.Fatalf("an officer card carries numbers: %v", booth["em:OF"])
					}
					if !slices.Equal(blocked, wantBlocked) {
						rt.Fatalf("booth's blocked list %v, want %v", blocked, wantBlocked)
					}
				}
				sync := func() {
					d, err := s.RosterSince(ctx, f, held)
					if err != nil {
						rt.Fatal(err)
					}
					if d.Full {
						booth = map[string][]string{}
					}
					for _, id := range d.Deletes {
						delete(booth, id)
					}
					for _, c := range d.Upserts {
						var es []string
						for _, x := range c.Numbers {
							es = append(es, x.E164)
						}
						booth[c.Card] = es
					}
					if d.BlockedSent {
						blocked = d.Blocked
					}
					held = d.Version
					check()
				}
				steps := rapid.IntRange(1, 25).Draw(rt, "steps")
				for range steps {
					all, err := s.Numbers(ctx, f, "")
					if err != nil {
						rt.Fatal(err)
					}
					pick := func() (NumberEntry, bool) {
						if len(all) == 0 {
							return NumberEntry{}, false
						}
						return all[rapid.IntRange(0, len(all)-1).Draw(rt, "which")], true
					}
					switch rapid.IntRange(0, 6).Draw(rt, "op") {
					case 0, 1:
						s.RegisterNumber(ctx, f, NumberEntry{Person: rapid.SampledFrom(persons).Draw(rt, "person"),
							E164: rapid.SampledFrom(phones).Draw(rt, "phone"), Slot: rapid.IntRange(0, 3).Draw(rt, "slot"), RegisteredBy: "op"})
					case 2:
						if x, ok := pick(); ok {
							s.DecideNumber(ctx, f, x.ID, rapid.SampledFrom([]string{"op", "sup"}).Draw(rt, "by"), rapid.Bool().Draw(rt, "approve"), "why")
						}
					case 3:
						if x, ok := pick(); ok {
							s.RevokeNumber(ctx, f, x.ID, "sup", "why")
						}
					case 4:
						s.BlockNumber(ctx, f, BlockedNumber{E164: rapid.SampledFrom(phones).Draw(rt, "phone"), Reason: "victim", AddedBy: "sup"})
					case 5:
						s.UnblockNumber(ctx, f, rapid.SampledFrom(phones).Draw(rt, "phone"), "sup")
					case 6:
						sync()
					}
				}
				sync()
				// Live slots are unique per person.
				all, _ := s.Numbers(ctx, f, "")
				seen := map[string]bool{}
				for _, x := range all {
					if x.Slot > 0 && (x.Status == NumberPending || x.Status == NumberApproved) {
						k := x.Person + string(rune('0'+x.Slot))
						if seen[k] {
							rt.Fatalf("slot %d of %s held twice", x.Slot, x.Person)
						}
						seen[k] = true
					}
				}
			})
		})
	}
}

// TestNumberDecisionsDoNotOverwrite: on PostgreSQL a supervisor revokes a
// number while another approves it: the approval, read while the number
// was pending, is refused once the revocation commits, and the number
// stays revoked. Before, the approval's update waited for the row and
// then overwrote the revocation, and the number reached the booths.
func TestNumberDecisionsDoNotOverwrite(t *testing.T) {
	for _, be := range backends() {
		if be.name != "postgres" {
			continue // SQLite's one writer orders the two already
		}
		t.Run(be.name, func(t *testing.T) {
			ss := be.open(t, 2)
			const f = "lapas-n"
			numbersFacility(t, ss[0], f)
			n := register(t, ss[0], f, "A-1", "0812-3456-7890", 1)
			approved := make(chan error, 1)
			err := ss[0].Atomic(ctx, func(c context.Context) error {
				if _, err := ss[0].RevokeNumber(c, f, n.ID, "sup-b", "a victim's number"); err != nil {
					return err
				}
				go func() {
					_, err := ss[1].DecideNumber(ctx, f, n.ID, "sup-a", true, "")
					approved <- err
				}()
				return untilWaiting(ss[0].(*sqlStore), approved)
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := <-approved; !errors.Is(err, ErrState) {
				t.Errorf("the approval after the revocation committed: %v, want ErrState", err)
			}
			all, err := ss[0].Numbers(ctx, f, "A-1")
			if err != nil || len(all) != 1 || all[0].Status != NumberRevoked {
				t.Errorf("numbers %+v (%v), want the one revoked", all, err)
			}
		})
	}
}
