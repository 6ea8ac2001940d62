package ledger

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// The batch path (batch.go) holds an ingest's rows and writes them in a
// few statements. Each case here uploads its records as one batch and,
// on a second database, one record per batch (the row-by-row order the
// path must be equivalent to), and requires the same statuses, the same
// flags, the same balances and the same contiguous mark from both.
func TestIngestBatchPath(t *testing.T) {
	const facility = "lp"
	capped := `{"allowance_ms":600000,"period":"month","zone":"Asia/Jakarta","inmate_credit_per_period_ms":90000}`
	type upload struct {
		device string
		recs   []record.Record
	}
	tests := []struct {
		name   string
		policy string
		// stored before, then the batch
		before, batch func() []upload
		want          []Status // of the batch, by ascending seq
	}{}

	// A batch holding a duplicate of a stored record, and new ones after it.
	{
		b := &booth{device: "lp/b01", chain: record.NewChainID()}
		for range 6 {
			b.call("W-1", "2026-11", time.Minute)
		}
		tests = append(tests, struct {
			name          string
			policy        string
			before, batch func() []upload
			want          []Status
		}{"duplicate of a stored record", "", func() []upload { return []upload{{b.device, b.recs[:3]}} },
			func() []upload { return []upload{{b.device, b.recs[2:]}} },
			[]Status{Duplicate, Stored, Stored, Stored}})
	}
	// Two claims of one seq in one batch: the larger charges, in either
	// order within the batch.
	for _, larger := range []bool{false, true} {
		b := &booth{device: "lp/b01", chain: record.NewChainID()}
		for range 3 {
			b.call("W-1", "2026-11", time.Minute)
		}
		edited := edit(b.recs[1], `"charged_ms":60000`, `"charged_ms":90000`)
		batch := []record.Record{b.recs[0], b.recs[1], edited, b.recs[2]}
		if larger {
			batch = []record.Record{b.recs[0], edited, b.recs[1], b.recs[2]}
		}
		tests = append(tests, struct {
			name          string
			policy        string
			before, batch func() []upload
			want          []Status
		}{fmt.Sprintf("two claims of one seq in one batch, edited first %v", larger), "", nil,
			func() []upload { return []upload{{b.device, batch}} },
			[]Status{Stored, Stored, Conflict, Stored}})
	}
	// Officer credits under a cap within one batch: the second sees the
	// first (the held rows flush before an officer check).
	{
		b := &booth{device: "lp/b01", chain: record.NewChainID()}
		b.call("W-1", "2026-11", time.Minute)
		b.officer("grant", "W-1", "2026-11", time.Minute)
		b.call("W-1", "2026-11", time.Minute)
		b.officer("grant", "W-1", "2026-11", time.Minute)
		b.officer("grant", "W-1", "2026-11", time.Minute)
		tests = append(tests, struct {
			name          string
			policy        string
			before, batch func() []upload
			want          []Status
		}{"officer credits capped within one batch", capped, nil,
			func() []upload { return []upload{{b.device, b.recs}} },
			[]Status{Stored, Stored, Stored, Stored, Stored}})
	}
	// A late predecessor clears a gap and a bad link is flagged, inside one
	// batch with records around them.
	{
		b := &booth{device: "lp/b01", chain: record.NewChainID()}
		for range 8 {
			b.call("W-1", "2026-11", time.Minute)
		}
		tampered := edit(b.recs[6], `"charged_ms":60000`, `"charged_ms":1000`)
		tests = append(tests, struct {
			name          string
			policy        string
			before, batch func() []upload
			want          []Status
		}{"gap filled, tampered record, in one batch", "", func() []upload { return []upload{{b.device, b.recs[4:5]}} },
			func() []upload {
				return []upload{{b.device, []record.Record{b.recs[0], b.recs[1], b.recs[2], b.recs[3], b.recs[5], tampered, b.recs[7]}}}
			},
			[]Status{Stored, Stored, Stored, Stored, Stored, Stored, Stored}})
	}

	// The head of a chain arrives after its tail: the contiguous mark runs
	// through the batch and on over the records stored before it.
	{
		b := &booth{device: "lp/b01", chain: record.NewChainID()}
		for range 10 {
			b.call("W-1", "2026-11", time.Minute)
		}
		tests = append(tests, struct {
			name          string
			policy        string
			before, batch func() []upload
			want          []Status
		}{"head after its tail", "", func() []upload { return []upload{{b.device, b.recs[4:]}} },
			func() []upload { return []upload{{b.device, b.recs[:4]}} },
			[]Status{Stored, Stored, Stored, Stored}})
	}

	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					type outcome struct {
						statuses   []Status
						flags      []string
						used, cred time.Duration
						contiguous uint64
					}
					run := func(oneByOne bool) outcome {
						s := open1(t, be)
						staffed(t, s, facility)
						if tc.policy != "" {
							if _, err := s.SetPolicy(ctx, facility, []byte(tc.policy)); err != nil {
								t.Fatal(err)
							}
						}
						if tc.before != nil {
							for _, u := range tc.before() {
								if _, err := s.Ingest(ctx, u.device, u.recs); err != nil {
									t.Fatal(err)
								}
							}
						}
						var o outcome
						for _, u := range tc.batch() {
							parts := [][]record.Record{u.recs}
							if oneByOne {
								parts = nil
								// Row by row is in seq order, as Ingest
								// sorts a batch (stable: twins keep theirs).
								sorted := slices.Clone(u.recs)
								slices.SortStableFunc(sorted, func(a, b record.Record) int { return int(a.Seq) - int(b.Seq) })
								for _, r := range sorted {
									parts = append(parts, []record.Record{r})
								}
							}
							for _, p := range parts {
								res, err := s.Ingest(ctx, u.device, p)
								if err != nil {
									t.Fatal(err)
								}
								for _, rr := range res.Records {
									o.statuses = append(o.statuses, rr.Status)
								}
								o.contiguous = res.Contiguous
							}
						}
						errs, err := s.ChainErrors(ctx, "lp/b01")
						if err != nil {
							t.Fatal(err)
						}
						for _, e := range errs {
							o.flags = append(o.flags, fmt.Sprintf("%s@%d cleared=%v", e.Kind, e.Seq, e.Cleared))
						}
						if o.used, o.cred, err = s.Balance(ctx, facility, "W-1", "2026-11"); err != nil {
							t.Fatal(err)
						}
						return o
					}
					batched, rowByRow := run(false), run(true)
					if !reflect.DeepEqual(batched, rowByRow) {
						t.Errorf("one batch: %+v\none record a batch: %+v", batched, rowByRow)
					}
					if !slices.Equal(batched.statuses, tc.want) {
						t.Errorf("statuses %v, want %v", batched.statuses, tc.want)
					}
					switch {
					case strings.HasPrefix(tc.name, "two claims"):
						if batched.used != 3*time.Minute+30*time.Second { // 60 + 90 + 60 s
							t.Errorf("used %v, want 3m30s: the larger claim of #2 charges", batched.used)
						}
					case strings.HasPrefix(tc.name, "officer"):
						if batched.cred != 90*time.Second {
							t.Errorf("credited %v, want the cap 1m30s", batched.cred)
						}
					case strings.HasPrefix(tc.name, "head after"):
						if batched.contiguous != 10 {
							t.Errorf("contiguous %d, want 10: the tail stored before counts", batched.contiguous)
						}
					case strings.HasPrefix(tc.name, "duplicate"):
						if batched.used != 6*time.Minute || batched.contiguous != 6 {
							t.Errorf("used %v contiguous %d, want 6m and 6", batched.used, batched.contiguous)
						}
					}
				})
			}
		})
	}
}

// A batch spanning two chains of one device is refused whole, through the
// batch path as before it: nothing of it is stored.
func TestIngestBatchTwoChainsRefused(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			old, cur := &booth{device: "lp/b01", chain: record.NewChainID()}, &booth{device: "lp/b01", chain: record.NewChainID()}
			for range 3 {
				old.call("W-1", "2026-11", time.Minute)
				cur.call("W-1", "2026-11", time.Minute)
			}
			batch := append(slices.Clone(old.recs), cur.recs...)
			if _, err := s.Ingest(ctx, "lp/b01", batch); err == nil || !strings.Contains(err.Error(), "one chain") {
				t.Fatalf("a batch of two chains: %v, want it refused", err)
			}
			chains, err := s.Chains(ctx, "lp/b01")
			if err != nil || len(chains) != 0 {
				t.Errorf("after the refused batch: chains %+v, %v; want none", chains, err)
			}
			if used, _, err := s.Balance(ctx, "lp", "W-1", "2026-11"); err != nil || used != 0 {
				t.Errorf("after the refused batch: used %v, %v; want 0", used, err)
			}
			// Each chain alone goes in.
			for _, b := range []*booth{old, cur} {
				if res, err := s.Ingest(ctx, "lp/b01", b.recs); err != nil || res.Count(Stored) != 3 {
					t.Errorf("chain %s alone: %+v, %v", b.chain, res, err)
				}
			}
		})
	}
}
