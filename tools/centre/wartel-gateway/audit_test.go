package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/ledger"
)

// TestAuditCLI runs every command that changes something and finds each in
// the audit trail under the name given with -by; then edits an entry in the
// database and requires audit verify to name it.
func TestAuditCLI(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "state")
	mustGW(t, "init", "-state", st)
	roster := filepath.Join(dir, "roster.csv")
	if err := os.WriteFile(roster, []byte("role,person,name,block,card,allowance_min,blocked\ninmate,budi,Budi,A,em:0400D8B2A5,30,\ninmate,ani,Ani,A,em:0400D8B2A6,30,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	roster2 := filepath.Join(dir, "roster2.csv")
	if err := os.WriteFile(roster2, []byte("role,person,name,block,card,allowance_min,blocked\ninmate,budi,Budi,A,em:0400D8B2A5,30,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	policy := writeFile(t, dir, "policy.json", testPolicy)
	by := []string{"-state", st, "-by", "wayan"}
	var want []string
	// Officer cards added by another account than the one deciding them
	// (straight into the ledger: an import would audit that account).
	seedOfficers := func() {
		s, err := ledger.OpenSQLite(filepath.Join(st, "gateway.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.UpsertCards(t.Context(), "lapas-a", "operator", []record.CardInfo{
			{Card: "em:0A00000001", Role: record.RoleOfficer, Person: "p1"}, {Card: "em:0A00000002", Role: record.RoleOfficer, Person: "p2"},
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args   []string
		action string
		before func()
	}{
		{[]string{"enroll", "-facility", "lapas-a", "-booth", "b01", "-out", filepath.Join(dir, "b01")}, "booth.enroll", nil},
		{[]string{"roster", "import", "-facility", "lapas-a", roster}, "roster.import", nil},
		{[]string{"roster", "import", "-facility", "lapas-a", "-replace", roster2}, "roster.replace", nil},
		{[]string{"roster", "block", "-facility", "lapas-a", "-card", "em:0400D8B2A5"}, "roster.block", nil},
		{[]string{"roster", "block", "-facility", "lapas-a", "-card", "em:0400D8B2A5", "-unblock"}, "roster.unblock", nil},
		{[]string{"roster", "officers", "approve", "-facility", "lapas-a", "-person", "p1", "em:0A00000001"}, "officers.approve", seedOfficers},
		{[]string{"roster", "officers", "reject", "-facility", "lapas-a", "-person", "p2", "-reason", "not of this facility", "em:0A00000002"}, "officers.reject", nil},
		{[]string{"policy", "set", "-facility", "lapas-a", policy}, "policy.set", nil},
		{[]string{"numbers", "add", "-facility", "lapas-a", "-person", "budi", "-number", "081234567890", "-slot", "1", "-label", "ibu"}, "numbers.add", nil},
		{[]string{"numbers", "block", "-facility", "lapas-a", "-reason", "victim", "08111111111"}, "numbers.block", nil},
		{[]string{"numbers", "unblock", "-facility", "lapas-a", "08111111111"}, "numbers.unblock", nil},
		{[]string{"account", "add", "-name", "siti", "-role", "operator", "-facility", "lapas-a"}, "account.add", nil},
		{[]string{"account", "reset-totp", "-name", "siti"}, "account.reset-totp", nil},
		{[]string{"account", "disable", "-name", "siti"}, "account.disable", nil},
		{[]string{"revoke", "lapas-a/b01"}, "booth.revoke", nil},
	} {
		if tc.before != nil {
			tc.before()
		}
		var args []string
		if tc.args[1] == "officers" {
			args = append(append(append([]string{}, tc.args[:3]...), by...), tc.args[3:]...)
		} else if tc.args[0] == "roster" || tc.args[0] == "account" || tc.args[0] == "policy" || tc.args[0] == "numbers" {
			// flags follow the subcommand
			args = append(append([]string{tc.args[0], tc.args[1]}, by...), tc.args[2:]...)
		} else {
			args = append(append([]string{tc.args[0]}, by...), tc.args[1:]...)
		}
		mustGW(t, args...)
		want = append(want, tc.action)
		if tc.action == "roster.replace" {
			want = append(want, "roster.import") // newest first: the import, then its deletions
			want[len(want)-1], want[len(want)-2] = want[len(want)-2], want[len(want)-1]
		}
	}
	// Newest first, each by host:wayan through the CLI.
	out := mustGW(t, "audit", "list", "-state", st, "-n", "0")
	row := regexp.MustCompile(`(?m)^(\d+)\s+\S+\s+(\S+)\s+(\S+)\s+(\S+)\s`)
	var got []string
	for _, m := range row.FindAllStringSubmatch(out, -1) {
		if m[2] != "host:wayan" || m[3] != "cli" {
			t.Errorf("entry %s: by %s via %s, want host:wayan via cli", m[1], m[2], m[3])
		}
		got = append([]string{m[4]}, got...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit trail, oldest first:\n%v\nwant\n%v\n%s", got, want, out)
	}
	// A failing command that changed nothing adds nothing.
	if _, _, err := gw(t, "roster", "block", "-state", st, "-facility", "lapas-a", "-card", "not-a-card"); err == nil {
		t.Fatal("a bad card was blocked")
	}
	if out := mustGW(t, "audit", "verify", "-state", st); !strings.Contains(out, fmt.Sprintf("audit trail ok: %d entries", len(want))) {
		t.Errorf("verify: %s (want %d entries: a refused command is not audited)", out, len(want))
	}
	// Someone with the database edits who blocked the card.
	db, err := sql.Open("sqlite", filepath.Join(st, "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_log SET actor = 'host:nobody' WHERE action = 'roster.block'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, errOut, err := gw(t, "audit", "verify", "-state", st)
	block := slices.Index(want, "roster.block") + 1
	if err == nil || !strings.Contains(errOut, fmt.Sprintf("BROKEN at entry %d ", block)) {
		t.Errorf("verify after an edit of entry %d: %v\n%s", block, err, errOut)
	}
}

// TestCLIChangeWithoutItsAuditIsNotMade: with the audit trail refusing
// entries (a trigger here; a full disk or a broken chain there), a host
// command that changes the ledger fails and changes nothing, and prints
// nothing that says it did: the change and its entry are one transaction
// (globals.atomic).
func TestCLIChangeWithoutItsAuditIsNotMade(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "state")
	mustGW(t, "init", "-state", st)
	f := []string{"-state", st, "-facility", "lapas-uji", "-by", "wayan"}
	mustGW(t, append([]string{"roster", "import"}, append(f, writeFile(t, dir, "roster.csv", "role,person,name,block,card,allowance_min,blocked\ninmate,w1,Budi,A,em:0400D8B2A5,,\n"))...)...)
	mustGW(t, "enroll", "-state", st, "-by", "wayan", "-facility", "lapas-uji", "-booth", "b01", "-out", filepath.Join(dir, "b01"))
	b01, err := bundle.Read(filepath.Join(dir, "b01"))
	if err != nil {
		t.Fatal(err)
	}
	revokedFile := filepath.Join(st, "ca", ca.RevokedFile)
	revokedBefore, _ := os.ReadFile(revokedFile)
	db, err := sql.Open("sqlite", filepath.Join(st, "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit trail refused (test)'); END`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, c := range [][]string{
		append([]string{"numbers", "add"}, append(f, "-person", "w1", "-number", "081234567890", "-slot", "1")...),
		append([]string{"policy", "set"}, append(f, writeFile(t, dir, "policy.json", testPolicy))...),
		append([]string{"roster", "block"}, append(f, "-card", "em:0400D8B2A5")...),
		{"account", "add", "-state", st, "-by", "wayan", "-name", "siti", "-role", "operator", "-facility", "lapas-uji"},
		append([]string{"retention", "set"}, append(f, "-months", "24")...),
		// A booth's key must not reach the disk unaudited: the CA's
		// certificate alone admits it.
		{"enroll", "-state", st, "-by", "wayan", "-facility", "lapas-uji", "-booth", "b02", "-out", filepath.Join(dir, "b02")},
		{"revoke", "-state", st, "-by", "wayan", "lapas-uji/b01"},
		{"revoke", "-state", st, "-by", "wayan", "-serial", b01.Serial},
	} {
		out, errOut, err := gw(t, c...)
		if err == nil || !strings.Contains(errOut, "audit entry could not be written") || out != "" {
			t.Errorf("wartel-gateway %s with the audit trail refusing: %v, stdout %q, stderr %q; want a failure saying so and nothing printed", strings.Join(c[:2], " "), err, out, errOut)
		}
	}
	s, err := ledger.OpenSQLite(filepath.Join(st, "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if ns, err := s.Numbers(ctx, "lapas-uji", "w1"); err != nil || len(ns) != 0 {
		t.Errorf("numbers %v (%v): registered without an audit entry", ns, err)
	}
	full, err := s.RosterSince(ctx, "lapas-uji", 0)
	if err != nil || full.Policy != nil || len(full.Upserts) != 1 || full.Upserts[0].Blocked {
		t.Errorf("roster after the refused commands: policy %s, cards %+v (%v): changed without an audit entry", full.Policy, full.Upserts, err)
	}
	if _, err := s.Account(ctx, "siti"); err == nil {
		t.Error("account siti added without an audit entry")
	}
	if r, err := retentionOf(ctx, s, "lapas-uji"); err != nil || r["months"] != 0 {
		t.Errorf("retention %v (%v): set without an audit entry", r, err)
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "b02")); err == nil || !os.IsNotExist(err) {
		t.Errorf("enroll of b02 left %d files in its bundle directory (%v): a booth's key written without an audit entry", len(ents), err)
	}
	if ds, err := s.Devices(ctx, "lapas-uji"); err != nil || len(ds) != 1 || ds[0].Device != "lapas-uji/b01" {
		t.Errorf("devices %+v (%v): want b01 alone, b02 registered without an audit entry", ds, err)
	}
	if revoked, err := s.CertificateRevoked(ctx, "lapas-uji/b01", b01.Serial); err != nil || revoked {
		t.Errorf("b01's certificate revoked %v (%v) in the database without an audit entry", revoked, err)
	}
	if after, _ := os.ReadFile(revokedFile); !bytes.Equal(after, revokedBefore) {
		t.Errorf("the CA's %s changed without an audit entry:\n%s", ca.RevokedFile, after)
	}
}

// TestRosterImportAuditNamesCards: an import's audit entry names each card
// it adds or changes, as it was and as the file has it, and leaves out the
// cards the file repeats unchanged and the block an import cannot lift; an
// operator who moves a card to another person through a file is named by
// the card, not hidden in a count.
func TestRosterImportAuditNamesCards(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "state")
	mustGW(t, "init", "-state", st)
	const header = "role,person,name,block,card,allowance_min,blocked\n"
	imp := func(name, rows string) {
		t.Helper()
		mustGW(t, "roster", "import", "-state", st, "-by", "wayan", "-facility", "lapas-a", writeFile(t, dir, name, header+rows))
	}
	last := func() (before, after string) {
		t.Helper()
		s, err := ledger.OpenSQLite(filepath.Join(st, "gateway.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		es, err := s.AuditLog(t.Context(), ledger.AuditQuery{Limit: 1})
		if err != nil || len(es) != 1 || es[0].Action != "roster.import" {
			t.Fatalf("newest audit entry: %+v, %v; want a roster.import", es, err)
		}
		return es[0].Before, es[0].After
	}
	imp("one.csv", "inmate,budi,Budi,A,em:0400D8B2A5,30,\ninmate,ani,Ani,A,em:0400D8B2A6,30,\n")
	before, after := last()
	if !strings.Contains(before, `"changed":[]`) {
		t.Errorf("first import, before: %s; want no card changed", before)
	}
	for _, want := range []string{`{"card":"em:0400D8B2A5","role":"inmate","person":"budi","name":"Budi","block":"A","allowance_min":30}`, `"card":"em:0400D8B2A6"`} {
		if !strings.Contains(after, want) {
			t.Errorf("first import, after: %s; want %s", after, want)
		}
	}
	// Budi's card now goes to Ani's person: the card that would spend
	// another inmate's minutes. Ani's own card is repeated unchanged.
	imp("two.csv", "inmate,ani,Budi,A,em:0400D8B2A5,30,\ninmate,ani,Ani,A,em:0400D8B2A6,30,\ninmate,dewi,Dewi,B,em:0400D8B2A7,20,\n")
	before, after = last()
	if want := `"changed":[{"card":"em:0400D8B2A5","role":"inmate","person":"budi",`; !strings.Contains(before, want) {
		t.Errorf("second import, before: %s; want %s", before, want)
	}
	for _, want := range []string{`{"card":"em:0400D8B2A5","role":"inmate","person":"ani",`, `"card":"em:0400D8B2A7"`} {
		if !strings.Contains(after, want) {
			t.Errorf("second import, after: %s; want %s", after, want)
		}
	}
	if strings.Contains(before+after, "em:0400D8B2A6") {
		t.Errorf("second import: the card repeated unchanged is named: before %s, after %s", before, after)
	}
	// A card blocked by hand, and a file that does not block it: the
	// block stands, so nothing changed.
	mustGW(t, "roster", "block", "-state", st, "-by", "wayan", "-facility", "lapas-a", "-card", "em:0400D8B2A7")
	imp("three.csv", "inmate,dewi,Dewi,B,em:0400D8B2A7,20,\n")
	if before, after = last(); !strings.Contains(before, `"changed":[]`) || !strings.Contains(after, `"changed":[]`) {
		t.Errorf("import over a block by hand: before %s, after %s; want nothing changed", before, after)
	}
}
