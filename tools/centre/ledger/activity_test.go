package ledger

import (
	"slices"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// TestMonthActivity: the calls of a month with their local times, and per
// officer the resets, grants, other actions, minutes credited as the
// ledger credits them (an unverified officer card and an edited record
// credit nothing, and count as withheld), and distinct inmates. On both
// backends.
func TestMonthActivity(t *testing.T) {
	jkt, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			f := "lp"
			if _, err := s.UpsertCards(ctx, f, "operator", []record.CardInfo{
				{Card: "em:P1", Role: record.RoleOfficer, Person: "P-1"},
				{Card: "em:P2", Role: record.RoleOfficer, Person: "P-2"},
			}); err != nil {
				t.Fatal(err)
			}
			approveOfficers(t, s, f)
			if _, err := s.SetPolicy(ctx, f, []byte(`{"allowance_ms":600000,"period":"month","zone":"Asia/Jakarta"}`)); err != nil {
				t.Fatal(err)
			}
			at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 15, 0, 0, jkt) }
			b := &booth{device: f + "/b01", chain: record.NewChainID()}
			call := func(inmate string, when time.Time, charged time.Duration) {
				b.add(record.KindCall, record.Call{Card: "em:" + inmate, Inmate: inmate, Period: "2026-11", AuthorisedAt: when,
					MaxMs: 600000, TalkedMs: charged.Milliseconds() + 500, ChargedMs: charged.Milliseconds(), EndReason: "hangup"})
			}
			act := func(officer, card, action, inmate string, credit time.Duration) record.Record {
				return b.add(record.KindOfficer, record.Officer{At: at(3, 9), Officer: officer, OfficerCard: card, Action: record.OfficerAction(action),
					Inmate: inmate, Period: "2026-11", CreditMs: credit.Milliseconds()})
			}
			call("W-1", at(2, 8), 3*time.Minute)
			call("W-2", at(2, 23), 4*time.Minute) // 16:15 UTC: still the 2nd in Jakarta
			call("W-1", at(5, 13), time.Minute)
			act("P-1", "em:P1", "reset", "W-1", 4*time.Minute)
			act("P-1", "em:P1", "grant", "W-2", 5*time.Minute)
			act("P-1", "em:P1", "end_call", "W-2", 0)
			act("P-2", "em:P1", "grant", "W-1", 9*time.Minute) // another officer's card: no credit
			edited := act("P-2", "em:P2", "grant", "W-3", time.Minute)
			if _, err := s.Ingest(ctx, b.device, b.recs); err != nil {
				t.Fatal(err)
			}
			// The same seq again, edited: a conflict withdraws its credit.
			if _, err := s.Ingest(ctx, b.device, []record.Record{edit(edited, `"credit_ms":60000`, `"credit_ms":600000`)}); err != nil {
				t.Fatal(err)
			}
			a, err := s.MonthActivity(ctx, f, "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			if a.Zone.String() != "Asia/Jakarta" || a.ZoneProblem != "" || !a.Purged.IsZero() {
				t.Errorf("zone %v (%q), purged %v", a.Zone, a.ZoneProblem, a.Purged)
			}
			var got []string
			for _, c := range a.Calls {
				got = append(got, c.At.Format("02 15:04")+" "+c.Charged.String()+" "+c.Talked.String())
			}
			if want := []string{"02 08:15 3m0s 3m0.5s", "02 23:15 4m0s 4m0.5s", "05 13:15 1m0s 1m0.5s"}; !slices.Equal(got, want) {
				t.Errorf("calls %q, want %q", got, want)
			}
			want := []OfficerRow{
				{Officer: "P-1", Resets: 1, Grants: 1, Other: 1, Credit: 9 * time.Minute, Inmates: 2},
				{Officer: "P-2", Grants: 2, Inmates: 2, Withheld: 2},
			}
			if !slices.Equal(a.Officers, want) {
				t.Errorf("officers\n%+v, want\n%+v", a.Officers, want)
			}
			// The same figures as the monthly report.
			rows, err := s.MonthlyReport(ctx, f, "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			var credit, charged time.Duration
			var calls int64
			for _, r := range rows {
				credit += r.Credit
				charged += r.Charged
				calls += r.Calls
			}
			if credit != 9*time.Minute || charged != 8*time.Minute || calls != int64(len(a.Calls)) {
				t.Errorf("report: credit %v charged %v calls %d", credit, charged, calls)
			}
			if _, err := s.MonthActivity(ctx, f, "November"); err == nil {
				t.Error("a month not YYYY-MM accepted")
			}
		})
	}
}
