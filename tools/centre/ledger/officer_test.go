package ledger

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// An officer record credits only when its officer card is an officer card
// of that officer in the facility's roster at the version the booth held,
// or later; otherwise it is flagged officer, kept as evidence, and credits
// nothing (issue 12 item 5).
func TestIngestOfficerVerified(t *testing.T) {
	roster := []record.CardInfo{
		{Card: "em:P1", Role: record.RoleOfficer, Person: "P-1"},
		{Card: "em:W1", Role: record.RoleInmate, Person: "W-1"},
		{Card: "em:P9", Role: record.RoleOfficer, Person: "P-9"},
	}
	cases := []struct {
		name          string
		officer, card string
		version       int64 // the booth's roster version: 0 … v (after setup)
		credited      bool
	}{
		{"officer of the roster", "P-1", "em:P1", 2, true},
		{"a booth from before roster_version", "P-1", "em:P1", 0, true},
		{"NOBODY", "NOBODY", "em:P1", 2, false},
		{"unknown card", "P-1", "em:FFFF", 2, false},
		{"an inmate card as officer card", "W-1", "em:W1", 2, false},
		{"another officer's card", "P-1", "em:P9", 2, false},
		{"card deleted before the booth's version", "P-9", "em:P9", 5, false},
		{"card valid at the booth's version, deleted since", "P-9", "em:P9", 4, true},
		{"card blocked at the booth's version", "P-1", "em:P1", 6, false},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					facility := fmt.Sprintf("o%d", i)
					// v1: the roster (its officer cards pending); v2, v3: P-1's and P-9's approved;
					// v4: policy; v5: P-9's card deleted; v6: P-1's blocked; v7: unblocked.
					if _, err := s.UpsertCards(ctx, facility, "operator", roster); err != nil {
						t.Fatal(err)
					}
					approveOfficers(t, s, facility)
					s.SetPolicy(ctx, facility, []byte(`{"allowance_ms":600000,"period":"month","zone":"Asia/Jakarta"}`))
					s.DeleteCard(ctx, facility, "em:P9")
					s.BlockCard(ctx, facility, "em:P1", true)
					s.BlockCard(ctx, facility, "em:P1", false)
					if tc.name == "card blocked at the booth's version" {
						s.BlockCard(ctx, facility, "em:P1", true) // v8: blocked for good
						tc.version = 8
					}
					b := &booth{device: facility + "/b01"}
					b.add(record.KindOfficer, record.Officer{At: t0, Officer: tc.officer, OfficerCard: tc.card, Action: "grant",
						Inmate: "W-1", Period: "2026-11", CreditMs: 600000, RosterVersion: tc.version})
					if _, err := s.Ingest(ctx, b.device, b.recs); err != nil {
						t.Fatal(err)
					}
					_, credit, err := s.Balance(ctx, facility, "W-1", "2026-11")
					if err != nil {
						t.Fatal(err)
					}
					flags := openFlags(t, s, b.device)
					if tc.credited {
						if credit != 10*time.Minute || len(flags) != 0 {
							t.Errorf("credit %v flags %v, want 10m0s and none", credit, flags)
						}
						return
					}
					if credit != 0 || !slices.Equal(flags, []string{"officer@1"}) {
						t.Errorf("credit %v flags %v, want 0 and officer@1", credit, flags)
					}
					errs, _ := s.ChainErrors(ctx, b.device)
					if len(errs) == 0 || !strings.Contains(errs[0].Detail, tc.card) {
						t.Errorf("flag detail %+v should name the card", errs)
					}
					// The record stays as evidence, and in the report.
					rows, _ := s.MonthlyReport(ctx, facility, "2026-11")
					if len(rows) != 1 || rows[0].OfficerActions != 1 || rows[0].Credit != 0 {
						t.Errorf("report %+v, want one uncredited officer action", rows)
					}
				})
			}
		})
	}
}

// Credits beyond the policy's caps are flagged cap and only what fits is
// credited; the excess is never counted.
func TestIngestOfficerCaps(t *testing.T) {
	grant := func(b *booth, officer, card, inmate string, at time.Time, credit time.Duration) {
		b.add(record.KindOfficer, record.Officer{At: at, Officer: officer, OfficerCard: card, Action: "grant", Inmate: inmate, Period: "2026-11",
			CreditMs: credit.Milliseconds(), RosterVersion: 1})
	}
	type g struct {
		officer, card, inmate string
		at                    time.Time
		credit                time.Duration
	}
	day2 := t0.Add(24 * time.Hour)
	cases := []struct {
		name   string
		policy string
		grants []g
		credit map[string]time.Duration // by inmate
		flags  []string
	}{
		{"no caps", `{"allowance_ms":600000,"period":"month","zone":"Asia/Jakarta"}`,
			[]g{{"P-1", "em:P1", "W-1", t0, time.Hour}, {"P-1", "em:P1", "W-1", t0, time.Hour}},
			map[string]time.Duration{"W-1": 2 * time.Hour}, nil},
		{"inmate per period", `{"allowance_ms":600000,"period":"month","zone":"Asia/Jakarta","inmate_credit_per_period_ms":1800000}`,
			[]g{{"P-1", "em:P1", "W-1", t0, 20 * time.Minute}, {"P-2", "em:P2", "W-1", day2, 20 * time.Minute}, {"P-2", "em:P2", "W-1", day2, 5 * time.Minute}, {"P-1", "em:P1", "W-2", t0, 20 * time.Minute}},
			map[string]time.Duration{"W-1": 30 * time.Minute, "W-2": 20 * time.Minute}, []string{"cap@2", "cap@3"}},
		{"officer per day", `{"allowance_ms":600000,"period":"month","zone":"Asia/Jakarta","officer_credit_per_day_ms":1800000}`,
			[]g{{"P-1", "em:P1", "W-1", t0, 20 * time.Minute}, {"P-1", "em:P1", "W-2", t0, 20 * time.Minute}, {"P-2", "em:P2", "W-2", t0, 20 * time.Minute}, {"P-1", "em:P1", "W-2", day2, 20 * time.Minute}},
			map[string]time.Duration{"W-1": 20 * time.Minute, "W-2": 50 * time.Minute}, []string{"cap@2"}},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					facility := fmt.Sprintf("c%d", i)
					if _, err := s.UpsertCards(ctx, facility, "operator", []record.CardInfo{
						{Card: "em:P1", Role: record.RoleOfficer, Person: "P-1"}, {Card: "em:P2", Role: record.RoleOfficer, Person: "P-2"},
					}); err != nil {
						t.Fatal(err)
					}
					approveOfficers(t, s, facility)
					if _, err := s.SetPolicy(ctx, facility, []byte(tc.policy)); err != nil {
						t.Fatal(err)
					}
					b := &booth{device: facility + "/b01"}
					for _, x := range tc.grants {
						grant(b, x.officer, x.card, x.inmate, x.at, x.credit)
					}
					if _, err := s.Ingest(ctx, b.device, b.recs); err != nil {
						t.Fatal(err)
					}
					for inmate, want := range tc.credit {
						if _, credit, err := s.Balance(ctx, facility, inmate, "2026-11"); err != nil || credit != want {
							t.Errorf("%s credited %v (%v), want %v", inmate, credit, err, want)
						}
					}
					if got := openFlags(t, s, b.device); !slices.Equal(got, tc.flags) {
						t.Errorf("flags %v, want %v", got, tc.flags)
					}
				})
			}
		})
	}
}

// One person may not hold both an officer card and an inmate card: in one
// batch, or against the roster as it stands.
func TestUpsertCardsOnePersonOneRole(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			both := []record.CardInfo{{Card: "em:1", Role: record.RoleInmate, Person: "X"}, {Card: "em:2", Role: record.RoleOfficer, Person: "X"}}
			if _, err := s.UpsertCards(ctx, "lp", "operator", both); err == nil || !strings.Contains(err.Error(), `"X"`) {
				t.Errorf("both roles in one batch: %v", err)
			}
			if _, err := s.UpsertCards(ctx, "lp", "operator", both[:1]); err != nil {
				t.Fatal(err)
			}
			_, err := s.UpsertCards(ctx, "lp", "operator", both[1:])
			if err == nil || !strings.Contains(err.Error(), "em:1") || !strings.Contains(err.Error(), "em:2") {
				t.Errorf("officer card for a person holding an inmate card: %v", err)
			}
			// Turning the inmate card itself into an officer card is one
			// person with one role.
			if _, err := s.UpsertCards(ctx, "lp", "operator", []record.CardInfo{{Card: "em:1", Role: record.RoleOfficer, Person: "X"}}); err != nil {
				t.Errorf("re-role of the only card: %v", err)
			}
			// Once the other card is deleted, the person may take the role.
			s.UpsertCards(ctx, "lp", "operator", []record.CardInfo{{Card: "em:3", Role: record.RoleInmate, Person: "Y"}})
			s.DeleteCard(ctx, "lp", "em:3")
			if _, err := s.UpsertCards(ctx, "lp", "operator", []record.CardInfo{{Card: "em:4", Role: record.RoleOfficer, Person: "Y"}}); err != nil {
				t.Errorf("officer card after the inmate card was deleted: %v", err)
			}
		})
	}
}

// TestUpsertCardsLargeImport: a facility's roster imported again whole, as
// a nightly import does, with a person's clash far into the batch (past
// the first query's persons) still found and named, and a card listed
// twice taking its last line, on both databases.
func TestUpsertCardsLargeImport(t *testing.T) {
	const n = 1200
	roster := func(prefix string) []record.CardInfo {
		cards := make([]record.CardInfo, n)
		for i := range cards {
			cards[i] = record.CardInfo{Card: fmt.Sprintf("em:%s%05d", prefix, i), Role: record.RoleInmate, Person: fmt.Sprintf("W-%04d", i)}
		}
		return cards
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			v1, err := s.UpsertCards(ctx, "lp", "operator", roster("A"))
			if err != nil {
				t.Fatal(err)
			}
			v2, err := s.UpsertCards(ctx, "lp", "operator", roster("A"))
			if err != nil {
				t.Fatalf("the same roster again: %v", err)
			}
			// Unchanged, it sends the booths nothing: no card is rewritten.
			if up, del := sent(t, s, "lp", v1); len(up) != 0 || len(del) != 0 || v2 != v1+1 {
				t.Errorf("after the same roster again (v%d → v%d) a booth at v%d gets %d cards and %d deletes, want none", v1, v2, v1, len(up), len(del))
			}
			// A card changed, and one deleted meanwhile, are sent again.
			vd, err := s.DeleteCard(ctx, "lp", "em:A00005")
			if err != nil {
				t.Fatal(err)
			}
			again := roster("A")
			again[700].Name = "renamed"
			v2, err = s.UpsertCards(ctx, "lp", "operator", again)
			if err != nil {
				t.Fatal(err)
			}
			if up, del := sent(t, s, "lp", vd); len(up) != 2 || up["em:A00700"] != "W-0700" || up["em:A00005"] != "W-0005" || len(del) != 0 {
				t.Errorf("after a roster with one card renamed and one deleted before it, a booth at v%d gets %v and deletes %v; want those two cards", vd, up, del)
			}

			clash := roster("B")
			clash[1100] = record.CardInfo{Card: "em:O1100", Role: record.RoleOfficer, Person: "W-1100"}
			_, err = s.UpsertCards(ctx, "lp", "operator", clash)
			if err == nil || !strings.Contains(err.Error(), `"W-1100"`) || !strings.Contains(err.Error(), "em:A01100") {
				t.Errorf("an officer card for W-1100, who holds inmate card em:A01100: %v; want refused, naming both", err)
			}
			if up, _ := sent(t, s, "lp", v2); len(up) != 0 {
				t.Errorf("a refused import changed %d cards", len(up))
			}

			twice := []record.CardInfo{
				{Card: "em:T", Role: record.RoleInmate, Person: "W-T1", Name: "first"},
				{Card: "em:U", Role: record.RoleInmate, Person: "W-U"},
				{Card: "em:V", Role: record.RoleInmate, Person: "W-V"},
				{Card: "em:T", Role: record.RoleInmate, Person: "W-T2", Name: "last"},
			} // four lines: one statement's rows, were they all sent

			v3, err := s.UpsertCards(ctx, "lp", "operator", twice)
			if err != nil {
				t.Fatalf("a card listed twice: %v", err)
			}
			if up, _ := sent(t, s, "lp", v2); len(up) != 3 || up["em:T"] != "W-T2" || up["em:U"] != "W-U" || up["em:V"] != "W-V" {
				t.Errorf("a card listed twice, at v%d: %v; want em:T as its last line (W-T2), em:U and em:V", v3, up)
			}
		})
	}
}

// TestCardsOfPersonsPlan: the role check reads a person's cards through
// cards_by_person, not by walking every card of the facility (quadratic:
// re-importing 20,000 cards took 82 s on SQLite, its one writer held).
func TestCardsOfPersonsPlan(t *testing.T) {
	s := open1(t, backends()[0]).(*sqlStore)
	rows, err := s.db.Query(`EXPLAIN QUERY PLAN `+cardsOfPersonsSQLite(3), "lp", "W-1", "W-2", "W-3")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if got := strings.Join(plan, "; "); !strings.Contains(got, "USING INDEX cards_by_person (facility=? AND person=?)") {
		t.Errorf("plan of the role check: %s; want a search of cards_by_person", got)
	}
}

// TestImportRenewsStatistics: after a bulk import PostgreSQL plans the
// booths' page queries from statistics that count the new cards, not from
// an empty table's (autovacuum renews them only a while later).
func TestImportRenewsStatistics(t *testing.T) {
	s := open1(t, backends()[1]).(*sqlStore) // PostgreSQL
	cards := make([]record.CardInfo, analyzeAfter)
	for i := range cards {
		cards[i] = record.CardInfo{Card: fmt.Sprintf("em:%08X", i), Role: record.RoleInmate, Person: fmt.Sprintf("W-%d", i)}
	}
	if _, err := s.UpsertCards(ctx, "lp", "operator", cards); err != nil {
		t.Fatal(err)
	}
	var tuples float64
	if err := s.db.QueryRow(`SELECT reltuples FROM pg_class WHERE oid = 'cards'::regclass`).Scan(&tuples); err != nil {
		t.Fatal(err)
	}
	if tuples < analyzeAfter {
		t.Errorf("after importing %d cards PostgreSQL estimates %v rows in cards: its statistics are not renewed", analyzeAfter, tuples)
	}
	// As wartel-gateway roster import does: in an Atomic call, whose
	// transaction alone sees its new cards until it commits.
	for i := range cards {
		cards[i].Card, cards[i].Person = fmt.Sprintf("em:B%07X", i), fmt.Sprintf("B-%d", i)
	}
	if err := s.Atomic(ctx, func(ctx context.Context) error {
		_, err := s.UpsertCards(ctx, "lp-b", "operator", cards)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRow(`SELECT reltuples FROM pg_class WHERE oid = 'cards'::regclass`).Scan(&tuples); err != nil {
		t.Fatal(err)
	}
	if tuples < 2*analyzeAfter {
		t.Errorf("after importing %d more cards in an Atomic call PostgreSQL estimates %v rows in cards, want %d", analyzeAfter, tuples, 2*analyzeAfter)
	}
}

// TestOfficerCapsTwoBoothsAtOnce: two booths' grants to one inmate are
// ingested at once through two handles on one PostgreSQL (two replicas,
// or two upload slots): the second waits for the first's credits, and
// the inmate is credited the cap, not twice it. Before, each ingest
// summed the credits committed before it, and neither saw the other's.
func TestOfficerCapsTwoBoothsAtOnce(t *testing.T) {
	for _, be := range backends() {
		if be.name != "postgres" {
			continue // SQLite's one writer orders ingests already
		}
		t.Run(be.name, func(t *testing.T) {
			ss := be.open(t, 2)
			const facility = "cr"
			if _, err := ss[0].UpsertCards(ctx, facility, "operator", []record.CardInfo{{Card: "em:P1", Role: record.RoleOfficer, Person: "P-1"}}); err != nil {
				t.Fatal(err)
			}
			approveOfficers(t, ss[0], facility)
			if _, err := ss[0].SetPolicy(ctx, facility, []byte(`{"allowance_ms":600000,"period":"month","zone":"Asia/Jakarta","inmate_credit_per_period_ms":1800000,"officer_credit_per_day_ms":1800000}`)); err != nil {
				t.Fatal(err)
			}
			grant := func(device string) []record.Record {
				b := &booth{device: device, chain: record.NewChainID()}
				b.add(record.KindOfficer, record.Officer{At: t0, Officer: "P-1", OfficerCard: "em:P1", Action: "grant", Inmate: "W-1", Period: "2026-11",
					CreditMs: (30 * time.Minute).Milliseconds(), RosterVersion: 2})
				return b.recs
			}
			raw := ss[0].(*sqlStore)
			second := make(chan error, 1)
			err := ss[0].Atomic(ctx, func(c1 context.Context) error {
				if _, err := ss[0].Ingest(c1, facility+"/b01", grant(facility+"/b01")); err != nil {
					return err
				}
				go func() {
					_, err := ss[1].Ingest(ctx, facility+"/b02", grant(facility+"/b02"))
					second <- err
				}()
				// Until the second ingest waits for this one's lock (or,
				// without it, has gone through).
				return untilWaiting(raw, second)
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := <-second; err != nil {
				t.Fatal(err)
			}
			if _, credit, err := ss[0].Balance(ctx, facility, "W-1", "2026-11"); err != nil || credit != 30*time.Minute {
				t.Errorf("W-1 credited %v (%v) by two booths' grants of 30m at once, with caps of 30m; want 30m", credit, err)
			}
		})
	}
}
