package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/ledger/ledgertest"
)

// TestReportsAndRetentionCLI: `report -officers` writes the ledger's own
// per-officer figures with the outlier marked, `report -days` a row per
// day; `retention set/show/apply` purges a month past its period, whose
// report then says so on stderr and still gives the same counts and
// minutes, and whose chain still verifies.
func TestReportsAndRetentionCLI(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	mustGW(t, "init", "-state", state)
	s, err := ledger.OpenSQLite(filepath.Join(state, "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Three months ago: past a retention of one month whatever today is.
	old := time.Now().UTC().AddDate(0, -3, 0)
	month := old.Format("2006-01")
	at := time.Date(old.Year(), old.Month(), 10, 3, 0, 0, 0, time.UTC)
	var cards []record.CardInfo
	for i := 1; i <= 5; i++ {
		cards = append(cards, record.CardInfo{Card: fmt.Sprintf("em:P%d", i), Role: record.RoleOfficer, Person: fmt.Sprintf("P-%d", i)})
	}
	if _, err := s.UpsertCards(ctx, "lp", "operator", cards); err != nil {
		t.Fatal(err)
	}
	ledgertest.ApproveOfficers(t, s, "lp", "supervisor")
	var recs []record.Record
	add := func(kind record.Kind, payload any) {
		p, _ := json.Marshal(payload)
		r := record.Record{Device: "lp/b01", Seq: uint64(len(recs) + 1), Kind: kind, Payload: p}
		var prev *record.Record
		if len(recs) > 0 {
			prev = &recs[len(recs)-1]
		}
		r.Seal(prev)
		recs = append(recs, r)
	}
	for i := range 4 {
		add(record.KindCall, record.Call{CallID: int64(i), Card: "em:W1", Inmate: fmt.Sprintf("W-%d", i%2), Period: month, AuthorisedAt: at.AddDate(0, 0, i),
			MaxMs: 600000, TalkedMs: 120500, ChargedMs: 120000, EndReason: "hangup"})
	}
	for i := 1; i <= 5; i++ {
		n := 1
		if i == 5 {
			n = 8 // P-5 resets far more often than the others
		}
		for j := range n {
			add(record.KindOfficer, record.Officer{At: at, Officer: fmt.Sprintf("P-%d", i), OfficerCard: fmt.Sprintf("em:P%d", i), Action: "reset",
				Inmate: fmt.Sprintf("W-%d", j), Period: month, CreditMs: 300000})
		}
	}
	if _, err := s.Ingest(ctx, "lp/b01", recs); err != nil {
		t.Fatal(err)
	}
	activity, err := s.MonthActivity(ctx, "lp", month)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	readCSV := func(out string) [][]string {
		t.Helper()
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return rows
	}
	offs := readCSV(mustGW(t, "report", "-state", state, "-facility", "lp", "-month", month, "-officers"))
	if len(offs) != 1+len(activity.Officers) || offs[0][0] != "officer" {
		t.Fatalf("officers csv %q, ledger %+v", offs, activity.Officers)
	}
	for i, o := range activity.Officers {
		row := offs[1+i]
		want := []string{o.Officer, strconv.FormatInt(o.Resets, 10), strconv.FormatInt(o.Grants, 10), strconv.FormatInt(o.Other, 10),
			strconv.FormatInt(int64(o.Credit/time.Second), 10), strconv.FormatInt(o.Inmates, 10), strconv.FormatInt(o.Withheld, 10)}
		if strings.Join(row[:7], ",") != strings.Join(want, ",") {
			t.Errorf("officer row %q, the ledger's %q", row, want)
		}
		if (row[9] == "yes") != (o.Officer == "P-5") {
			t.Errorf("officer %s marked %q", o.Officer, row[9])
		}
	}
	days := readCSV(mustGW(t, "report", "-state", state, "-facility", "lp", "-month", month, "-days"))
	if len(days) < 29 || days[10][0] != month+"-10" || days[10][1] != "1" || days[10][3] != "120" {
		t.Errorf("days csv: %d rows, row 10 %q", len(days), days[10])
	}
	if _, errOut, err := gw(t, "report", "-state", state, "-facility", "lp", "-month", month, "-days", "-officers"); err == nil || !strings.Contains(errOut, "one at a time") {
		t.Errorf("-days with -officers: %v %q", err, errOut)
	}
	before := readCSV(mustGW(t, "report", "-state", state, "-facility", "lp", "-month", month))

	if _, errOut, err := gw(t, "retention", "set", "-state", state, "-facility", "lp", "-months", "soon"); err == nil || !strings.Contains(errOut, "-months") {
		t.Errorf("retention set -months soon: %v %q", err, errOut)
	}
	mustGW(t, "retention", "set", "-state", state, "-facility", "lp", "-months", "1", "-by", "wayan")
	if out := mustGW(t, "retention", "show", "-state", state); !strings.Contains(out, "lp") || !strings.Contains(out, " 1 ") {
		t.Errorf("retention show:\n%s", out)
	}
	t.Setenv("USER", "ketut") // apply names who ran it from $USER
	out := mustGW(t, "retention", "apply", "-state", state)
	if !strings.Contains(out, fmt.Sprintf("lp %s: personal fields of %d records purged", month, len(recs))) {
		t.Errorf("retention apply:\n%s", out)
	}
	if out := mustGW(t, "retention", "apply", "-state", state); !strings.Contains(out, "nothing due") {
		t.Errorf("retention apply again:\n%s", out)
	}
	// Both are in the audit trail (the run that purged nothing changed
	// nothing: no entry), who and what before and after.
	s, err = ledger.OpenSQLite(filepath.Join(state, "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	trail, err := s.AuditLog(ctx, ledger.AuditQuery{Facilities: []string{"lp"}})
	if err != nil {
		t.Fatal(err)
	}
	var audited []string
	for _, e := range trail {
		if strings.HasPrefix(e.Action, "retention.") {
			audited = append(audited, strings.Join([]string{e.Action, e.Actor, e.Via, e.Target, e.Before, e.After}, " "))
		}
	}
	wantTrail := []string{
		fmt.Sprintf(`retention.apply host:ketut cli %s  {"Facility":"lp","Month":"%s",`, month, month),
		`retention.set host:wayan cli lp {"months":0} {"months":1}`,
	}
	if len(audited) != 2 || !strings.HasPrefix(audited[0], wantTrail[0]) || !strings.Contains(audited[0], fmt.Sprintf(`"Records":%d`, len(recs))) || audited[1] != wantTrail[1] {
		t.Errorf("retention's audit entries, newest first:\n%s\nwant\n%s", strings.Join(audited, "\n"), strings.Join(wantTrail, "\n"))
	}
	stdout, stderr, err := gw(t, "report", "-state", state, "-facility", "lp", "-month", month)
	if err != nil || !strings.Contains(stderr, "purged on") {
		t.Fatalf("report of the purged month: %v, stderr %q", err, stderr)
	}
	after := readCSV(stdout)
	sum := func(rows [][]string, col int) (n int) {
		for _, r := range rows[1:] {
			v, _ := strconv.Atoi(r[col])
			n += v
		}
		return n
	}
	for col := 1; col < len(ledger.ReportHeader); col++ {
		if sum(after, col) != sum(before, col) {
			t.Errorf("column %s: %d after the purge, %d before", ledger.ReportHeader[col], sum(after, col), sum(before, col))
		}
	}
	for _, r := range after[1:] {
		if strings.HasPrefix(r[0], "W-") {
			t.Errorf("an inmate id in a purged month's report: %q", r)
		}
	}
	s, err = ledger.OpenSQLite(filepath.Join(state, "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.VerifyChains(ctx, "lp/b01"); err != nil || len(v) != 0 {
		t.Errorf("chain after the purge: %+v %v", v, err)
	}
}
