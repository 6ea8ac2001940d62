package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wartelsuspas/tools/testbed/pgtest"
)

// startCountry builds wartel-gateway and starts two replicas over a
// throwaway PostgreSQL for t.
func startCountry(t *testing.T) *Country {
	t.Helper()
	if os.Getenv(pgtest.SkipEnv) == "1" {
		t.Skip("PostgreSQL tests skipped: " + pgtest.SkipEnv + "=1")
	}
	if _, err := pgtest.Bin(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The build comes before the run's bound: on a loaded machine it is
	// the slow part.
	bin := filepath.Join(dir, "wartel-gateway")
	if err := buildGateway(context.Background(), bin); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Config{Dir: dir, GatewayBin: bin, Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// The short form of the country: 50 booths over two replicas for a few
// seconds, at a tap rate far above the busy hour's so that every path runs
// many times. Every request is answered, and the ledger holds every record
// the booths wrote, once; a returning region's backlog is all stored; a
// facility's roster reaches each booth whole. No figure is asserted: they
// belong to make bench.
func TestShortCountry(t *testing.T) {
	c := startCountry(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	l := Load{TapEvery: 300 * time.Millisecond, Heartbeat: time.Second, Spread: 500 * time.Millisecond, DrainAfter: 200 * time.Millisecond, Batch: DefaultBatch}

	ramp, err := c.RunRamp(ctx, Ramp{Start: 50, Max: 50, Factor: 2, Step: 3 * time.Second}, l)
	if err != nil {
		t.Fatal(err)
	}
	if len(ramp.Steps) != 1 {
		t.Fatalf("ramp of one step made %d", len(ramp.Steps))
	}
	s := ramp.Steps[0]
	if s.Taps == 0 || s.Heartbeats == 0 || s.Uploads == 0 {
		t.Errorf("50 booths in 3 s: %d taps, %d heartbeats, %d uploads; want some of each", s.Taps, s.Heartbeats, s.Uploads)
	}
	if s.Errors != 0 {
		t.Errorf("%d requests failed, the first: %s", s.Errors, s.FirstError)
	}
	if ramp.Records == 0 || ramp.Stored != ramp.Records {
		t.Errorf("booths wrote %d records, the ledger holds %d", ramp.Records, ramp.Stored)
	}

	out, err := c.RunOutage(ctx, Outage{Booths: 5, Days: 2, PerDay: 100, Online: 10, Limit: time.Minute}, l)
	if err != nil {
		t.Fatal(err)
	}
	if out.Records != 5*200 || out.Errors != 0 {
		t.Errorf("outage: %d records (want 1000), %d authorise errors (%s)", out.Records, out.Errors, out.FirstError)
	}

	roster, err := c.RunRosterSync(ctx, RosterSync{Cards: 2500, Booths: 3, PageCards: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if roster.Pages != 3 {
		t.Errorf("2500 cards in pages of 1000 took %d pages, want 3", roster.Pages)
	}

	if n, err := c.conflicts(ctx); err != nil || n != 0 {
		t.Errorf("the ledger holds %d conflicting records (%v)", n, err)
	}
	if n := c.duplicates(); n != 0 {
		t.Errorf("%d records were answered duplicate or conflict, not stored: sent twice", n)
	}
}
