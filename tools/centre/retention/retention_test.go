package retention

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/testbed/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type run struct {
	purged []ledger.Purge
	err    error
}

// TestRunOnSchedule: a run at start, then one per interval of the
// injected clock, each purging what is due at the clock's instant: the
// October calls at the start on 2 December, November's once the clock
// passes 1 January.
func TestRunOnSchedule(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := ledger.OpenSQLite(filepath.Join(t.TempDir(), "ledger.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		onSchedule(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := ledger.OpenPostgres(context.Background(), pgtest.DB(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		onSchedule(t, s)
	})
}

func onSchedule(t *testing.T, s ledger.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var recs []record.Record
	for i, period := range []string{"2026-10", "2026-11"} {
		p, _ := json.Marshal(record.Call{CallID: int64(i), Card: "em:W1", Inmate: "W-1", Period: period, ChargedMs: 60000, TalkedMs: 60000, MaxMs: 60000})
		r := record.Record{Device: "lp/b01", Seq: uint64(i + 1), Kind: record.KindCall, Payload: p}
		var prev *record.Record
		if i > 0 {
			prev = &recs[i-1]
		}
		r.Seal(prev)
		recs = append(recs, r)
	}
	if _, err := s.Ingest(ctx, "lp/b01", recs); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	if err := s.SetRetention(ctx, "lp", 1, start); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(start)
	runs := make(chan run, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Store: s, Clock: clk, Every: DefaultEvery, Ran: func(p []ledger.Purge, err error) { runs <- run{p, err} }})
	}()
	next := func() run {
		t.Helper()
		select {
		case r := <-runs:
			return r
		case <-time.After(30 * time.Second): // bounds a hang only
			t.Fatal("no retention run")
			return run{}
		}
	}
	if r := next(); r.err != nil || len(r.purged) != 1 || r.purged[0].Month != "2026-10" {
		t.Fatalf("run at start: %+v, want October purged", r)
	}
	// Daily runs through December purge nothing more; the one on 1 January does.
	for day := 1; day <= 30; day++ {
		clk.WaitTimers(1)
		clk.Advance(DefaultEvery)
		r := next()
		if r.err != nil {
			t.Fatal(r.err)
		}
		now := start.Add(time.Duration(day) * DefaultEvery)
		want := 0
		if now.Month() == time.January && now.Day() == 1 {
			want = 1
		}
		if len(r.purged) != want {
			t.Fatalf("run on %v purged %+v, want %d month(s)", now, r.purged, want)
		}
		if want == 1 && r.purged[0].Month != "2026-11" {
			t.Fatalf("run on %v purged %+v, want November", now, r.purged)
		}
	}
	ps, err := s.Purges(ctx, "lp")
	if err != nil || len(ps) != 2 || !ps[1].At.Equal(time.Date(2027, 1, 1, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("purges %+v %v", ps, err)
	}
	// Each month purged is in the audit trail, by the schedule, at the
	// run's instant on the injected clock.
	trail, err := s.AuditLog(ctx, ledger.AuditQuery{Facilities: []string{"lp"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range trail {
		got = append(got, strings.Join([]string{e.Actor, e.Via, e.Action, e.Target, e.At.UTC().Format(time.RFC3339), e.Before}, " "))
		if !strings.Contains(e.After, `"Records":1`) {
			t.Errorf("entry %d's after: %s", e.Seq, e.After)
		}
	}
	want := []string{"system:retention serve retention.apply 2026-11 2027-01-01T01:00:00Z ", "system:retention serve retention.apply 2026-10 2026-12-02T01:00:00Z "}
	if !slices.Equal(got, want) {
		t.Errorf("audit trail, newest first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
	clk.WaitTimers(1)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}

func TestRunRefusesNoInterval(t *testing.T) {
	if err := Run(context.Background(), Options{Clock: clock.NewFake(time.Time{})}); err == nil {
		t.Error("Run without a store and an interval started")
	}
}
