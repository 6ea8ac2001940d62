package ledger

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

func TestPurgeCutoff(t *testing.T) {
	tests := []struct {
		now    time.Time
		months int
		want   string
	}{
		{time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), 1, "2026-10"},
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), 1, "2026-10"},
		{time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC), 1, "2026-09"},
		{time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), 24, "2024-02"},
		{time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), 0, "2025-12"},
	}
	for _, tt := range tests {
		if got := PurgeCutoff(tt.now, tt.months); got != tt.want {
			t.Errorf("PurgeCutoff(%v, %d) = %s, want %s", tt.now, tt.months, got, tt.want)
		}
	}
}

// TestRetentionApply: a month past its facility's retention period loses
// its personal fields (card ids, inmate ids, blocks, number ids; in the
// records, the conflicting versions and the facts) while every chain
// verifies as before, resends of the originals are still duplicates, the
// month's report gives the same counts and minutes and says it was
// purged, and months inside the period and other facilities are left as
// they were. On both backends.
func TestRetentionApply(t *testing.T) {
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			raw := s.(*sqlStore)
			raw.now = func() time.Time { return time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC) }
			defer func() { raw.now = time.Now }()
			for _, f := range []string{"lp", "other"} {
				staffed(t, s, f)
			}
			b := &booth{device: "lp/b01", chain: record.NewChainID()}
			b.call("W-1", "2026-09", 3*time.Minute)
			b.call("W-2", "2026-09", 4*time.Minute)
			b.officer("grant", "W-1", "2026-09", 5*time.Minute)
			b.add(record.KindDenial, record.Denial{At: time.Date(2026, 9, 3, 2, 0, 0, 0, time.UTC), Card: "em:W-3", Inmate: "W-3", Reason: "outside_hours"})
			b.add(record.KindCall, record.Call{CallID: 9, Card: "em:W-1", Inmate: "W-1", Block: "A", Period: "2026-09", NumberID: 7,
				AuthorisedAt: t0, MaxMs: 600000, TalkedMs: 61000, ChargedMs: 60000, EndReason: "hangup"})
			b.add(record.KindCall, record.Call{Card: "em:W-9", Inmate: "W-9", Period: "2026-09", ChargedMs: -5}) // unreadable: out of bounds
			b.call("W-1", "2026-11", 2*time.Minute)                                                              // inside the period
			edited := edit(b.recs[1], `"charged_ms":240000`, `"charged_ms":250000`)
			o := &booth{device: "other/b01"}
			o.call("W-1", "2026-09", time.Minute)
			for _, batch := range [][]record.Record{b.recs, {edited}} {
				if _, err := s.Ingest(ctx, b.device, batch); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Ingest(ctx, o.device, o.recs); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, s, "lp", "2026-09")
			verifyBefore, err := s.VerifyChains(ctx, b.device)
			if err != nil {
				t.Fatal(err)
			}
			otherBefore := payloads(t, raw, o.device)

			if err := s.SetRetention(ctx, "lp", 1, now); err != nil {
				t.Fatal(err)
			}
			purges, err := s.ApplyRetention(ctx, now, testRunner)
			if err != nil {
				t.Fatal(err)
			}
			if len(purges) != 2 || purges[0].Month != "2026-09" || purges[0].Records != 5 || purges[1].Month != "2026-10" || purges[1].Records != 1 {
				t.Fatalf("purges %+v, want 2026-09 with 5 records and 2026-10 with the unreadable one, received then", purges)
			}

			// The chain verifies exactly as before: whole but for the edited version's seq, which is not in records.
			verifyAfter, err := s.VerifyChains(ctx, b.device)
			if err != nil {
				t.Fatal(err)
			}
			if len(verifyBefore) != 0 || len(verifyAfter) != 0 {
				t.Errorf("verify before %+v, after %+v: want a whole chain both times", verifyBefore, verifyAfter)
			}
			// No personal field left in the purged month's payloads.
			for i, p := range payloads(t, raw, b.device) {
				switch {
				case i < 5: // September: purged
					for _, id := range []string{"W-1", "W-2", "W-3", "em:", `"block":"A"`, `"number_id"`} {
						if bytes.Contains(p, []byte(id)) {
							t.Errorf("record #%d after the purge still holds %s: %s", i+1, id, p)
						}
					}
					if !bytes.Contains(p, []byte(`"purged":true`)) || !bytes.Contains(p, []byte(`"purged-`)) {
						t.Errorf("record #%d not marked purged, or its inmate not a pseudonym: %s", i+1, p)
					}
				case i == 6: // November: kept
					if !bytes.Contains(p, []byte(`"W-1"`)) {
						t.Errorf("record #%d inside the period was purged: %s", i+1, p)
					}
				}
			}
			var versions [][]byte
			rows, err := raw.db.Query(`SELECT payload FROM conflicts`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var p []byte
				rows.Scan(&p)
				versions = append(versions, p)
			}
			rows.Close()
			if len(versions) != 1 || bytes.Contains(versions[0], []byte("W-2")) {
				t.Errorf("conflicting versions after the purge: %q", versions)
			}
			if got := payloads(t, raw, o.device); !slices.EqualFunc(got, otherBefore, bytes.Equal) {
				t.Errorf("another facility's records changed: %q", got)
			}

			// The report: the same counts and minutes, pseudonyms, "purged on".
			after := snapshot(t, s, "lp", "2026-09")
			if after.calls != before.calls || after.charged != before.charged || after.credit != before.credit || after.inmates != before.inmates {
				t.Errorf("report after the purge %+v, before %+v", after, before)
			}
			if slices.Contains(after.ids, "W-1") || !strings.HasPrefix(after.ids[0], pseudonymPrefix) {
				t.Errorf("inmates after the purge %q, want pseudonyms", after.ids)
			}
			a, err := s.MonthActivity(ctx, "lp", "2026-09")
			if err != nil {
				t.Fatal(err)
			}
			if !a.Purged.Equal(now) || len(a.Officers) != 1 || a.Officers[0].Credit != 5*time.Minute || a.Officers[0].Inmates != 1 {
				t.Errorf("activity after the purge %+v", a)
			}
			if nov := snapshot(t, s, "lp", "2026-11"); !slices.Equal(nov.ids, []string{"W-1"}) {
				t.Errorf("November inside the period: %+v", nov)
			}
			if bal, _, _ := s.Balance(ctx, "lp", "W-1", "2026-11"); bal != 2*time.Minute {
				t.Errorf("November balance %v", bal)
			}

			// Resending the originals: duplicates, no new flag.
			flags := openFlags(t, s, b.device)
			res, err := s.Ingest(ctx, b.device, b.recs)
			if err != nil {
				t.Fatal(err)
			}
			if res.Count(Duplicate) != len(b.recs) {
				t.Errorf("resend after the purge: %+v, want all duplicates", res.Records)
			}
			if got := openFlags(t, s, b.device); !slices.Equal(got, flags) {
				t.Errorf("flags after the resend %v, before %v", got, flags)
			}
			// Again: nothing more to do.
			if again, err := s.ApplyRetention(ctx, now, testRunner); err != nil || len(again) != 0 {
				t.Errorf("second run %+v %v, want nothing", again, err)
			}
			ps, err := s.Purges(ctx, "lp")
			if err != nil || len(ps) != 2 || ps[0].Records != 5 || !ps[0].At.Equal(now) {
				t.Errorf("purges %+v %v", ps, err)
			}
			if p := payloads(t, raw, b.device)[5]; bytes.Contains(p, []byte("W-9")) || !bytes.Contains(p, []byte(`"purged":true`)) {
				t.Errorf("unreadable record after its purge: %s", p)
			}
			// A month later November goes too.
			more, err := s.ApplyRetention(ctx, now.AddDate(0, 1, 0), testRunner)
			if err != nil || len(more) != 1 || more[0].Month != "2026-11" || more[0].Records != 1 {
				t.Errorf("a month later %+v %v, want 2026-11", more, err)
			}
			if v, err := s.VerifyChains(ctx, b.device); err != nil || len(v) != 0 {
				t.Errorf("verify after the second purge %+v %v", v, err)
			}
		})
	}
}

// TestVerifyChainsAfterPurgeStillFinds: a record edited in the database
// after it was stored is found by the check before a purge and after it;
// a purge does not launder an edit. A retention of 0 removes the setting.
func TestVerifyChainsAfterPurgeStillFinds(t *testing.T) {
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			raw := s.(*sqlStore)
			staffed(t, s, "lp")
			b := &booth{device: "lp/b01"}
			b.call("W-1", "2026-08", time.Minute)
			b.call("W-1", "2026-08", time.Minute)
			b.call("W-1", "2026-08", time.Minute)
			if _, err := s.Ingest(ctx, b.device, b.recs); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.db.Exec(raw.q(`UPDATE records SET payload = ? WHERE device = ? AND seq = 2`), []byte(edit(b.recs[1], `"charged_ms":60000`, `"charged_ms":1`).Payload), b.device); err != nil {
				t.Fatal(err)
			}
			want := []string{"hash@2"}
			got := func() []string {
				v, err := s.VerifyChains(ctx, b.device)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, e := range v {
					out = append(out, e.Kind+"@"+itoa(e.Seq))
				}
				return out
			}
			if g := got(); !slices.Equal(g, want) {
				t.Fatalf("before the purge %v, want %v", g, want)
			}
			if err := s.SetRetention(ctx, "lp", 2, now); err != nil {
				t.Fatal(err)
			}
			if ps, err := s.ApplyRetention(ctx, now, testRunner); err != nil || len(ps) != 1 {
				t.Fatalf("purge %+v %v", ps, err)
			}
			if g := got(); !slices.Equal(g, want) {
				t.Errorf("after the purge %v, want %v", g, want)
			}
			if err := s.SetRetention(ctx, "lp", 0, now); err != nil {
				t.Fatal(err)
			}
			if ps, err := s.RetentionPeriods(ctx); err != nil || len(ps) != 0 {
				t.Errorf("periods after setting 0: %+v %v", ps, err)
			}
			for _, bad := range []int{-1, MaxRetentionMonths + 1} {
				if err := s.SetRetention(ctx, "lp", bad, now); err == nil {
					t.Errorf("retention %d accepted", bad)
				}
			}
		})
	}
}

// monthSnapshot is what a report says of a month.
type monthSnapshot struct {
	calls           int64
	charged, credit time.Duration
	inmates         int
	ids             []string
}

func snapshot(t *testing.T, s Store, facility, month string) monthSnapshot {
	t.Helper()
	rows, err := s.MonthlyReport(ctx, facility, month)
	if err != nil {
		t.Fatal(err)
	}
	var m monthSnapshot
	for _, r := range rows {
		m.calls += r.Calls
		m.charged += r.Charged
		m.credit += r.Credit
		if r.Inmate != "" {
			m.inmates++
			m.ids = append(m.ids, r.Inmate)
		}
	}
	return m
}

func payloads(t *testing.T, s *sqlStore, device string) [][]byte {
	t.Helper()
	rows, err := s.db.Query(s.q(`SELECT payload FROM records WHERE device = ? ORDER BY chain, seq`), device)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var p []byte
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestRetentionReplicas: two gateways over one database run retention at
// the same moment, in chunks of 7 records: the month is purged once (its
// records counted once), its distinct inmates still count right, and its
// chain verifies.
func TestRetentionReplicas(t *testing.T) {
	defer func(n int) { purgeChunk = n }(purgeChunk)
	purgeChunk = 7
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			ss := be.open(t, 2)
			b := &booth{device: "lp/b01", chain: record.NewChainID()}
			for i := range 60 {
				b.call([]string{"W-1", "W-2", "W-3"}[i%3], "2026-08", time.Minute)
			}
			if _, err := ss[0].Ingest(ctx, b.device, b.recs); err != nil {
				t.Fatal(err)
			}
			if err := ss[0].SetRetention(ctx, "lp", 1, now); err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 2)
			for _, s := range ss {
				go func() {
					_, err := s.ApplyRetention(ctx, now, testRunner)
					errs <- err
				}()
			}
			for range ss {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			ps, err := ss[1].Purges(ctx, "lp")
			if err != nil || len(ps) != 1 || ps[0].Records != 60 {
				t.Errorf("purges %+v %v, want 60 records once", ps, err)
			}
			if m := snapshot(t, ss[1], "lp", "2026-08"); m.inmates != 3 || m.calls != 60 {
				t.Errorf("report after two replicas purged: %+v, want 3 inmates, 60 calls", m)
			}
			if v, err := ss[1].VerifyChains(ctx, b.device); err != nil || len(v) != 0 {
				t.Errorf("verify %+v %v", v, err)
			}
		})
	}
}

// TestRetentionAuditedInItsTransaction: a month's purge and its audit
// entry are one: with the audit trail refusing entries, no record is
// purged; then, purged in chunks of 2, the month has one entry, naming
// who ran it. Before, the entry was appended by the caller after the
// purge, and a purge whose entry failed stood unaudited.
func TestRetentionAuditedInItsTransaction(t *testing.T) {
	defer func(n int) { purgeChunk = n }(purgeChunk)
	purgeChunk = 2
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	refuse := map[string][2]string{
		"sqlite": {`CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit trail refused (test)'); END`,
			`DROP TRIGGER no_audit`},
		"postgres": {`CREATE FUNCTION no_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit trail refused (test)'; END $$ LANGUAGE plpgsql;
			CREATE TRIGGER no_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION no_audit()`,
			`DROP TRIGGER no_audit ON audit_log; DROP FUNCTION no_audit()`},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			raw := s.(*sqlStore)
			b := &booth{device: "lp/b01", chain: record.NewChainID()}
			for i := range 5 {
				b.call([]string{"W-1", "W-2"}[i%2], "2026-09", time.Minute)
			}
			if _, err := s.Ingest(ctx, b.device, b.recs); err != nil {
				t.Fatal(err)
			}
			if err := s.SetRetention(ctx, "lp", 1, now); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.db.Exec(refuse[be.name][0]); err != nil {
				t.Fatal(err)
			}
			if ps, err := s.ApplyRetention(ctx, now, testRunner); err == nil || !strings.Contains(err.Error(), "audit trail refused") || len(ps) != 0 {
				t.Errorf("retention with the audit trail refusing: %+v, %v; want it to fail, naming the audit trail", ps, err)
			}
			if ps, err := s.Purges(ctx, "lp"); err != nil || len(ps) != 1 || ps[0].Records != 0 {
				t.Errorf("purges after the refused run: %+v (%v), want the month claimed, no record purged", ps, err)
			}
			for i, p := range payloads(t, raw, b.device) {
				if !strings.Contains(string(p), `"inmate":"W-`) {
					t.Errorf("record %d purged without an audit entry: %s", i+1, p)
				}
			}
			if _, err := raw.db.Exec(refuse[be.name][1]); err != nil {
				t.Fatal(err)
			}
			// The refused run's claim lapses (claimFor, on the store's
			// clock) before another run takes the month.
			raw.now = func() time.Time { return time.Now().Add(claimFor + time.Minute) }
			defer func() { raw.now = time.Now }()
			ps, err := s.ApplyRetention(ctx, now, testRunner)
			if err != nil || len(ps) != 1 || ps[0].Records != 5 {
				t.Fatalf("retention after: %+v, %v; want the month's 5 records", ps, err)
			}
			trail, err := s.AuditLog(ctx, AuditQuery{Facilities: []string{"lp"}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range trail {
				if e.Action == "retention.apply" {
					got = append(got, e.Actor+" "+e.Via+" "+e.Target+" "+e.After)
				}
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], "system:test test 2026-09 ") || !strings.Contains(got[0], `"Records":5`) {
				t.Errorf("retention entries %q, want one for 2026-09 by system:test, 5 records", got)
			}
		})
	}
}

// TestRetentionPurgesConflictCharges: the inmate a conflicting version
// names, charged beside its seq's fact (migration 16), loses its id with
// the month as the fact's inmate does.
func TestRetentionPurgesConflictCharges(t *testing.T) {
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			raw := s.(*sqlStore)
			chain := record.NewChainID()
			b := &booth{device: "lp/b01", chain: chain}
			b.call("W-1", "2026-09", time.Minute)
			o := &booth{device: "lp/b01", chain: chain}
			o.call("CRONY", "2026-09", time.Hour)
			for _, recs := range [][]record.Record{b.recs, o.recs} {
				if _, err := s.Ingest(ctx, b.device, recs); err != nil {
					t.Fatal(err)
				}
			}
			if used, _, err := s.Balance(ctx, "lp", "CRONY", "2026-09"); err != nil || used != time.Hour {
				t.Fatalf("CRONY used %v (%v) before the purge, want 1h", used, err)
			}
			if err := s.SetRetention(ctx, "lp", 1, now); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ApplyRetention(ctx, now, testRunner); err != nil {
				t.Fatal(err)
			}
			var inmate string
			if err := raw.db.QueryRow(`SELECT inmate FROM conflict_charges`).Scan(&inmate); err != nil || !strings.HasPrefix(inmate, pseudonymPrefix) {
				t.Errorf("the conflicting charge's inmate after the purge: %q (%v), want a pseudonym", inmate, err)
			}
		})
	}
}

// TestRetentionKeepsTheCurrentWeek: in a facility billed by the week, a
// booth whose clock is months behind files this week's call under the
// week's own month, never under its clock's: a retention run leaves the
// inmate's usage of this week as it is. Before, the call's month came from
// the booth's clock, retention purged it as a month long past, and the
// inmate's week started again at its whole allowance. On both backends.
func TestRetentionKeepsTheCurrentWeek(t *testing.T) {
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC) // in 2026-W49
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			if _, err := s.SetPolicy(ctx, "lp", []byte(`{"allowance_ms":600000,"period":"week","zone":"Asia/Jakarta"}`)); err != nil {
				t.Fatal(err)
			}
			b := &booth{device: "lp/b01", chain: record.NewChainID()}
			behind := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) // the booth's clock, 9 months behind
			b.add(record.KindCall, record.Call{CallID: 1, Card: "em:W-1", Inmate: "W-1", Period: "2026-W49",
				AuthorisedAt: behind, MaxMs: 600000, TalkedMs: 600000, ChargedMs: 600000, EndReason: "quota"})
			if _, err := s.Ingest(ctx, b.device, b.recs); err != nil {
				t.Fatal(err)
			}
			if err := s.SetRetention(ctx, "lp", 3, now); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ApplyRetention(ctx, now, testRunner); err != nil {
				t.Fatal(err)
			}
			if used, _, err := s.Balance(ctx, "lp", "W-1", "2026-W49"); err != nil || used != 10*time.Minute {
				t.Errorf("after a retention run, W-1's usage of this week: %v, %v; want 10m0s", used, err)
			}
		})
	}
}

// TestWeekMonth: a week key's month is its Thursday's, across year ends.
func TestWeekMonth(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"2026-W49", "2026-12"}, {"2026-W01", "2026-01"}, {"2026-W53", "2026-12"}, // 2026 has 53 weeks
		{"2025-W01", "2025-01"}, // Monday 30 Dec 2024, Thursday 2 Jan 2025
		{"2020-W53", "2020-12"}, {"2027-W52", "2027-12"},
		{"2027-W53", ""}, {"2026-W00", ""}, {"2026-W5x", ""}, {"2026-11", ""}, {"", ""},
	} {
		got, ok := weekMonth(tc.key)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("weekMonth(%q) = %q, %v; want %q", tc.key, got, ok, tc.want)
		}
	}
}
