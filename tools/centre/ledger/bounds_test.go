package ledger

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
)

// Values a booth sends are bounded at ingest: a call longer than any
// policy allows, or a credit larger than an officer may give, is flagged
// payload and kept out of the ledger, and one bad record never breaks the
// balance or the report of anyone (issue 12 item 4).
func TestIngestBounds(t *testing.T) {
	call := func(talked, charged, maxMs int64) any {
		return record.Call{CallID: 1, Card: "em:W1", Inmate: "W-1", Period: "2026-11", AuthorisedAt: t0,
			MaxMs: maxMs, TalkedMs: talked, ChargedMs: charged, EndReason: "hangup"}
	}
	grant := func(credit int64) any {
		return record.Officer{At: t0, Officer: "P-1", OfficerCard: "em:P1", Action: "grant", Inmate: "W-1", Period: "2026-11", CreditMs: credit}
	}
	limit := policy.MaxCall.Milliseconds()
	cases := []struct {
		name     string
		kind     record.Kind
		payloads []any
		used     time.Duration // W-1's balance in 2026-11 after them
		credit   time.Duration
		flagged  int // records flagged payload
	}{
		{"charged 9.3e12 ms (290 years)", record.KindCall, []any{call(60000, 9.3e12, 600000)}, 0, 0, 1},
		{"two of MaxInt64", record.KindCall, []any{call(math.MaxInt64, math.MaxInt64, math.MaxInt64), call(math.MaxInt64, math.MaxInt64, math.MaxInt64)}, 0, 0, 2},
		{"talked over the bound", record.KindCall, []any{call(limit+1, 60000, 600000)}, 0, 0, 1},
		{"max over the bound", record.KindCall, []any{call(60000, 60000, limit+1)}, 0, 0, 1},
		{"negative charge", record.KindCall, []any{call(60000, -60000, 600000)}, 0, 0, 1},
		{"at the bound is a call", record.KindCall, []any{call(limit, limit, limit)}, policy.MaxCall, 0, 0},
		{"credit 9.3e12 ms", record.KindOfficer, []any{grant(9.3e12)}, 0, 0, 1},
		{"credit MaxInt64", record.KindOfficer, []any{grant(math.MaxInt64), grant(math.MaxInt64)}, 0, 0, 2},
		{"negative credit", record.KindOfficer, []any{grant(-1)}, 0, 0, 1},
		{"credit at the bound", record.KindOfficer, []any{grant(policy.MaxCredit.Milliseconds())}, 0, policy.MaxCredit, 0},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					facility := fmt.Sprintf("b%d", i)
					staffed(t, s, facility)
					b := &booth{device: facility + "/b01"}
					b.call("W-2", "2026-11", time.Minute) // another inmate, sane
					for _, p := range tc.payloads {
						b.add(tc.kind, p)
					}
					res, err := s.Ingest(ctx, b.device, b.recs)
					if err != nil {
						t.Fatal(err)
					}
					if res.Count(Stored) != len(b.recs) {
						t.Errorf("stored %d of %d: the raw records are kept whatever their values", res.Count(Stored), len(b.recs))
					}
					flagged := 0
					for _, f := range openFlags(t, s, b.device) {
						if strings.HasPrefix(f, FlagPayload+"@") {
							flagged++
						}
					}
					if flagged != tc.flagged {
						t.Errorf("%d records flagged payload (%v), want %d", flagged, openFlags(t, s, b.device), tc.flagged)
					}
					used, credit, err := s.Balance(ctx, facility, "W-1", "2026-11")
					if err != nil || used != tc.used || credit != tc.credit {
						t.Errorf("W-1 balance used %v credit %v (%v), want %v %v", used, credit, err, tc.used, tc.credit)
					}
					if used, _, err := s.Balance(ctx, facility, "W-2", "2026-11"); err != nil || used != time.Minute {
						t.Errorf("W-2 balance used %v (%v), want 1m0s", used, err)
					}
					rows, err := s.MonthlyReport(ctx, facility, "2026-11")
					if err != nil {
						t.Fatalf("monthly report: %v", err)
					}
					if i := slices.IndexFunc(rows, func(r ReportRow) bool { return r.Inmate == "W-2" }); i < 0 || rows[i].Charged != time.Minute {
						t.Errorf("report %+v: W-2 should be charged 1m0s", rows)
					}
				})
			}
		})
	}
}

// Sums never fail on overflow, in SQL or in Go: facts written before the
// bounds existed (two of MaxInt64) saturate the balance and the report
// instead of making them fail with "integer overflow".
func TestSumsSaturate(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			db := s.(*sqlStore)
			for seq, v := range []int64{math.MaxInt64, math.MaxInt64, 9.3e12} {
				if _, err := db.db.ExecContext(ctx, db.q(`INSERT INTO facts (device, chain, seq, facility, kind, inmate, period, month, action, talked_ms, charged_ms, credit_ms, hash)
					VALUES (?, '', ?, 'old', 'call', 'W-1', '2026-11', '2026-11', '', ?, ?, ?, '')`), "old/b01", seq+1, v, v, v); err != nil {
					t.Fatal(err)
				}
			}
			used, credit, err := s.Balance(ctx, "old", "W-1", "2026-11")
			if err != nil {
				t.Fatalf("balance: %v", err)
			}
			if used != math.MaxInt64 || credit != math.MaxInt64 {
				t.Errorf("balance used %v credit %v, want both saturated at %v", used, credit, time.Duration(math.MaxInt64))
			}
			rows, err := s.MonthlyReport(ctx, "old", "2026-11")
			if err != nil {
				t.Fatalf("report: %v", err)
			}
			if len(rows) != 1 || rows[0].Charged != math.MaxInt64 || rows[0].Talked != math.MaxInt64 || rows[0].Calls != 3 {
				t.Errorf("report %+v, want one row, saturated", rows)
			}
		})
	}
}

// A roster value that cannot be a real allowance is refused, not stored
// wrapped round to a negative number.
func TestUpsertCardsBounds(t *testing.T) {
	cases := []struct {
		name  string
		cards []record.CardInfo
		ok    bool
	}{
		{"over the longest call", []record.CardInfo{{Card: "em:1", Role: record.RoleInmate, Person: "W-1", Allowance: policy.MaxCall + time.Minute}}, false},
		{"negative", []record.CardInfo{{Card: "em:1", Role: record.RoleInmate, Person: "W-1", Allowance: -time.Minute}}, false},
		{"the longest call", []record.CardInfo{{Card: "em:1", Role: record.RoleInmate, Person: "W-1", Allowance: policy.MaxCall}}, true},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			for _, tc := range cases {
				_, err := s.UpsertCards(ctx, "lp", "operator", tc.cards)
				if (err == nil) != tc.ok {
					t.Errorf("%s: error %v, want ok %v", tc.name, err, tc.ok)
				}
			}
			d, _ := s.RosterSince(ctx, "lp", 0)
			for _, c := range d.Upserts {
				if c.Allowance < 0 {
					t.Errorf("card %s stored with allowance %v", c.Card, c.Allowance)
				}
			}
		})
	}
}
