package boothrig

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
)

// TestRigOfficerCardNeedsApproval: an officer card an operator adds, and
// the demo officer's card given to another person (the crony's card), are
// refused at a real booth until a supervisor approves them; the booth that
// honoured the demo officer's card stops honouring it at its next sync.
// Approved, both are honoured (issue 16).
func TestRigOfficerCardNeedsApproval(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*hang)
	defer cancel()
	r := startRig(ctx, t, Options{})
	defer r.Close()
	b := r.Booths[0]
	officerMode := func(a Activity) bool { return a.Kind == session.ActivityOfficerMode }
	tap := func(c cardid.ID, ok func(Activity) bool) Activity {
		t.Helper()
		s, err := b.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Tap(c); err != nil {
			t.Fatal(err)
		}
		a, err := b.WaitActivity(ctx, s.LastSeq(), func(a Activity) bool {
			return a.Kind == session.ActivityDenied || a.Kind == session.ActivityOfficerMode || a.Kind == session.ActivityOfficerLeft
		})
		if err != nil {
			t.Fatal(err)
		}
		if !ok(a) {
			t.Fatalf("tap of %s: %+v", c, a)
		}
		return a
	}
	agus := card("agus")
	// The rig's roster, approved by the demo supervisor: agus is an officer.
	tap(agus, officerMode)
	if err := b.Resync(ctx); err != nil { // leaves officer mode: a fresh start
		t.Fatal(err)
	}

	const crony = cardid.ID("em:1A2B3C4D60")
	csv := filepath.Join(r.Gateway.Dir, "officers.csv")
	if err := os.WriteFile(csv, []byte(rosterCSV([]record.CardInfo{
		{Card: string(crony), Role: record.RoleOfficer, Person: "PTG-0002", Name: "Pak Baru"},
		{Card: string(agus), Role: record.RoleOfficer, Person: "PTG-0099", Name: "Pak Agus (petugas)"},
	})), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Gateway.Run(ctx, "roster", "import", "-facility", r.Facility(), "-by", DemoOperator, csv); err != nil {
		t.Fatal(err)
	}
	if err := b.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	denied := func(a Activity) bool { return a.Kind == session.ActivityDenied }
	if a := tap(crony, denied); a.Denial == "" {
		t.Errorf("the pending officer card: %+v, want a denial with its reason", a)
	}
	tap(agus, denied) // its person changed: pending, withdrawn from the booth

	// The operator cannot approve what it added; the supervisor can.
	if err := r.Gateway.Run(ctx, "roster", "officers", "approve", "-facility", r.Facility(), "-by", DemoOperator, "-person", "PTG-0002", string(crony)); err == nil {
		t.Fatal("the operator approved the officer card it added")
	}
	for c, person := range map[cardid.ID]string{crony: "PTG-0002", agus: "PTG-0099"} {
		if err := r.Gateway.Run(ctx, "roster", "officers", "approve", "-facility", r.Facility(), "-by", DemoSupervisor, "-person", person, string(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	if a := tap(crony, officerMode); a.Officer != "PTG-0002" {
		t.Errorf("the approved card: %+v, want officer mode of PTG-0002", a)
	}
	// Another officer card ends officer mode, so agus's card is honoured
	// as an officer's again, of its new person.
	if a := tap(agus, func(a Activity) bool { return a.Kind == session.ActivityOfficerLeft }); a.Officer != "PTG-0099" {
		t.Errorf("agus's card approved for its new person: %+v, want officer mode left by PTG-0099", a)
	}
}
