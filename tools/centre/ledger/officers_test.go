package ledger

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// officerOf is the facility's officer card as OfficerCards lists it.
func officerOf(t testing.TB, s Store, facility, card string) OfficerCard {
	t.Helper()
	all, err := s.OfficerCards(ctx, facility)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range all {
		if o.Card == card {
			return o
		}
	}
	t.Fatalf("officer card %s not listed in %v", card, all)
	return OfficerCard{}
}

// sent is what a sync from since gives a booth: the cards upserted (by id,
// with their person) and the ids deleted.
func sent(t testing.TB, s Store, facility string, since int64) (upserts map[string]string, deletes []string) {
	t.Helper()
	d, err := s.RosterSince(ctx, facility, since)
	if err != nil {
		t.Fatal(err)
	}
	upserts = map[string]string{}
	for _, c := range d.Upserts {
		upserts[c.Card] = c.Person
	}
	return upserts, d.Deletes
}

// credited is the credit an officer record of officer with card at roster
// version gives W-1 (a fresh booth each time), and whether it was flagged.
func credited(t testing.TB, s Store, facility, device, officer, card string, version int64) (time.Duration, []string) {
	t.Helper()
	b := &booth{device: facility + "/" + device}
	b.add(record.KindOfficer, record.Officer{At: t0, Officer: officer, OfficerCard: card, Action: "grant",
		Inmate: "W-1", Period: "2026-11", CreditMs: 60000, RosterVersion: version})
	_, before, err := s.Balance(ctx, facility, "W-1", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, b.device, b.recs); err != nil {
		t.Fatal(err)
	}
	_, after, err := s.Balance(ctx, facility, "W-1", "2026-11")
	if err != nil {
		t.Fatal(err)
	}
	return after - before, openFlags(t, s, b.device)
}

// An officer card added by an operator is pending until another account
// approves it: withheld from the booths (sent as deleted), crediting
// nothing; approved, it reaches them. A change of its person pends it
// again and withdraws the booths' copy; a name edit does not (issue 16).
func TestOfficerApproval(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			f := "lp"
			inmate := record.CardInfo{Card: "em:W1", Role: record.RoleInmate, Person: "W-1"}
			officer := record.CardInfo{Card: "em:OA", Role: record.RoleOfficer, Person: "P-A", Name: "Pak A"}
			if _, err := s.UpsertCards(ctx, f, "", []record.CardInfo{inmate, officer}); err == nil || !strings.Contains(err.Error(), "em:OA") {
				t.Errorf("an officer card added by nobody: %v, want refused naming the card", err)
			}
			v1, err := s.UpsertCards(ctx, f, "operator", []record.CardInfo{inmate, officer})
			if err != nil {
				t.Fatal(err)
			}
			o := officerOf(t, s, f, "em:OA")
			if o.Status != OfficerPending || o.AddedBy != "operator" || o.AddedAt.IsZero() || o.Person != "P-A" {
				t.Errorf("added: %+v, want pending, added by operator", o)
			}
			if up, del := sent(t, s, f, 0); up["em:OA"] != "" || !slices.Equal(del, []string{"em:OA"}) || up["em:W1"] != "W-1" {
				t.Errorf("full roster with the officer card pending: upserts %v deletes %v; want only em:W1, em:OA deleted", up, del)
			}
			if d, _ := s.RosterSince(ctx, f, 0); len(d.Withheld) != 1 || d.Withheld[0].Card != officer.Card || d.Withheld[0].Person != officer.Person || d.Withheld[0].Name != officer.Name {
				t.Errorf("the centre's view of the withheld card: %+v, want %+v", d.Withheld, officer)
			}
			if credit, flags := credited(t, s, f, "b01", "P-A", "em:OA", v1); credit != 0 || !slices.Equal(flags, []string{"officer@1"}) {
				t.Errorf("an officer record of the pending card: credit %v flags %v, want none and officer@1", credit, flags)
			}

			if _, err := s.DecideOfficer(ctx, f, "em:OA", "P-A", "operator", true, ""); !errors.Is(err, ErrSameAccount) {
				t.Errorf("approved by the account that added it: %v, want ErrSameAccount", err)
			}
			if _, err := s.DecideOfficer(ctx, f, "em:OA", "P-A", "supervisor", false, " "); err == nil {
				t.Error("rejected without a reason")
			}
			if _, err := s.DecideOfficer(ctx, f, "em:W1", "W-1", "supervisor", true, ""); !errors.Is(err, ErrUnknownOfficer) {
				t.Errorf("an inmate card approved as an officer card: %v, want ErrUnknownOfficer", err)
			}
			if o := officerOf(t, s, f, "em:OA"); o.Status != OfficerPending {
				t.Fatalf("after refused decisions: %+v, want still pending", o)
			}
			o, err = s.DecideOfficer(ctx, f, "em:OA", "P-A", "supervisor", true, "")
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != OfficerApproved || o.DecidedBy != "supervisor" || o.DecidedAt.IsZero() {
				t.Errorf("approved: %+v", o)
			}
			approvedAt, _ := s.RosterSince(ctx, f, 0)
			v2 := approvedAt.Version
			if up, _ := sent(t, s, f, v1); up["em:OA"] != "P-A" {
				t.Errorf("delta after the approval: %v, want em:OA of P-A", up)
			}
			if credit, flags := credited(t, s, f, "b02", "P-A", "em:OA", v2); credit != time.Minute || len(flags) != 0 {
				t.Errorf("an officer record of the approved card: credit %v flags %v, want 1m0s, none", credit, flags)
			}
			if _, err := s.DecideOfficer(ctx, f, "em:OA", "P-A", "other", false, "no"); !errors.Is(err, ErrState) {
				t.Errorf("an approved card decided again: %v, want ErrState", err)
			}

			// Imported again unchanged, or renamed, by anyone: the approval holds.
			renamed := officer
			renamed.Name, renamed.Block = "Pak A (regu 2)", "B"
			for _, c := range []record.CardInfo{officer, renamed} {
				if _, err := s.UpsertCards(ctx, f, "someone", []record.CardInfo{c}); err != nil {
					t.Fatal(err)
				}
				if o := officerOf(t, s, f, "em:OA"); o.Status != OfficerApproved || o.AddedBy != "operator" || o.DecidedBy != "supervisor" {
					t.Errorf("re-imported %+v: %+v, want still approved by supervisor", c, o)
				}
			}
			if up, _ := sent(t, s, f, 0); up["em:OA"] != "P-A" {
				t.Errorf("renamed: full roster %v, want em:OA still sent", up)
			}

			// Its person changes (the crony's card): pending again, and a
			// booth holding P-A's card is told to delete it.
			held, _ := s.RosterSince(ctx, f, 0)
			crony := officer
			crony.Person = "P-CRONY"
			v3, err := s.UpsertCards(ctx, f, "operator2", []record.CardInfo{crony})
			if err != nil {
				t.Fatal(err)
			}
			if o := officerOf(t, s, f, "em:OA"); o.Status != OfficerPending || o.AddedBy != "operator2" || o.DecidedBy != "" || o.Person != "P-CRONY" {
				t.Errorf("person changed: %+v, want pending, added by operator2, undecided", o)
			}
			if up, del := sent(t, s, f, held.Version); up["em:OA"] != "" || !slices.Equal(del, []string{"em:OA"}) {
				t.Errorf("delta after the person changed: upserts %v deletes %v, want em:OA deleted", up, del)
			}
			if credit, flags := credited(t, s, f, "b03", "P-CRONY", "em:OA", v3); credit != 0 || len(flags) != 1 {
				t.Errorf("an officer record of the crony's pending card: credit %v flags %v, want none, flagged", credit, flags)
			}
			if _, err := s.DecideOfficer(ctx, f, "em:OA", "P-CRONY", "operator2", true, ""); !errors.Is(err, ErrSameAccount) {
				t.Errorf("approved by the account that changed it: %v, want ErrSameAccount", err)
			}
			// A supervisor shown P-A's card decides P-A's card, not the
			// crony's it became meanwhile.
			if _, err := s.DecideOfficer(ctx, f, "em:OA", "P-A", "supervisor", true, ""); !errors.Is(err, ErrCardChanged) {
				t.Errorf("approving P-A's card after it became P-CRONY's: %v, want ErrCardChanged", err)
			}
			if o := officerOf(t, s, f, "em:OA"); o.Status != OfficerPending {
				t.Errorf("after the refused approval: %+v, want pending still", o)
			}
			o, err = s.DecideOfficer(ctx, f, "em:OA", "P-CRONY", "supervisor", false, "not an officer of this facility")
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != OfficerRejected || o.Reason != "not an officer of this facility" {
				t.Errorf("rejected: %+v", o)
			}
			// Imported again unchanged, a rejected card stays rejected.
			if _, err := s.UpsertCards(ctx, f, "operator2", []record.CardInfo{crony}); err != nil {
				t.Fatal(err)
			}
			if o := officerOf(t, s, f, "em:OA"); o.Status != OfficerRejected {
				t.Errorf("a rejected card imported again: %+v, want still rejected", o)
			}
			if up, _ := sent(t, s, f, 0); up["em:OA"] != "" {
				t.Errorf("a rejected card in the full roster: %v", up)
			}

			// An inmate card turned officer, and an officer card deleted
			// and added again, are new officer cards.
			if _, err := s.UpsertCards(ctx, f, "operator", []record.CardInfo{{Card: "em:W1", Role: record.RoleOfficer, Person: "W-1"}}); err != nil {
				t.Fatal(err)
			}
			if o := officerOf(t, s, f, "em:W1"); o.Status != OfficerPending {
				t.Errorf("an inmate card turned officer: %+v, want pending", o)
			}
			if _, err := s.DecideOfficer(ctx, f, "em:W1", "W-1", "supervisor", true, ""); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DeleteCard(ctx, f, "em:W1"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.UpsertCards(ctx, f, "operator", []record.CardInfo{{Card: "em:W1", Role: record.RoleOfficer, Person: "W-1"}}); err != nil {
				t.Fatal(err)
			}
			all, err := s.OfficerCards(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, o := range all {
				order = append(order, o.Card+" "+string(o.Status))
			}
			if want := []string{"em:W1 pending", "em:OA rejected"}; !slices.Equal(order, want) {
				t.Errorf("officer cards %v, want %v (pending first)", order, want)
			}
		})
	}
}

// Officer cards that exist before migration 13 stay approved, by
// "migration": a booth keeps its officers across the upgrade.
func TestOfficerMigrationKeepsApproved(t *testing.T) {
	for _, o := range reopeners {
		t.Run(o.name, func(t *testing.T) {
			open := o.open(t)
			old := openAtSchema(t, open, 12,
				`INSERT INTO facilities (facility, version, horizon, policy_version) VALUES ('lp', 1, 0, 0)`,
				`INSERT INTO cards (facility, card, role, person, name, block, allowance_ms, blocked, deleted, version) VALUES ('lp', 'em:OF', 'officer', 'P-1', 'Pak', '', 0, 0, 0, 1)`,
				`INSERT INTO cards (facility, card, role, person, name, block, allowance_ms, blocked, deleted, version) VALUES ('lp', 'em:W1', 'inmate', 'W-1', 'W', 'A', 0, 0, 0, 1)`,
				`INSERT INTO card_history (facility, card, version, role, person, blocked, deleted) VALUES ('lp', 'em:OF', 1, 'officer', 'P-1', 0, 0)`)
			old.Close()

			s, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if o := officerOf(t, s, "lp", "em:OF"); o.Status != OfficerApproved || o.DecidedBy != "migration" {
				t.Errorf("an officer card from before: %+v, want approved by migration", o)
			}
			if up, del := sent(t, s, "lp", 0); up["em:OF"] != "P-1" || up["em:W1"] != "W-1" || len(del) != 0 {
				t.Errorf("full roster after the upgrade: %v deletes %v, want both cards", up, del)
			}
			if d, err := s.RosterSince(ctx, "lp", 1); err != nil || len(d.Upserts)+len(d.Deletes) != 0 || d.Version != 1 {
				t.Errorf("a booth at version 1 after the upgrade: %+v (%v), want nothing to change", d, err)
			}
			if credit, flags := credited(t, s, "lp", "b01", "P-1", "em:OF", 1); credit != time.Minute || len(flags) != 0 {
				t.Errorf("an officer record of the migrated card: credit %v flags %v, want 1m0s", credit, flags)
			}
			// Imported again unchanged after the upgrade: still approved.
			if _, err := s.UpsertCards(ctx, "lp", "operator", []record.CardInfo{{Card: "em:OF", Role: record.RoleOfficer, Person: "P-1", Name: "Pak"}}); err != nil {
				t.Fatal(err)
			}
			if o := officerOf(t, s, "lp", "em:OF"); o.Status != OfficerApproved || o.DecidedBy != "migration" {
				t.Errorf("re-imported after the upgrade: %+v, want approved by migration still", o)
			}
		})
	}
}
