package ledger

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"wartelsuspas/kiosk/record"
)

// Random records from up to three booths, some of whose stores were
// replaced (a second chain of the same device), delivered in random batches
// in a random order with random resends: every balance is the sum of the
// records, every record is stored once, and no gap stays open.
func TestIngestAnyInterleaving(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			run := 0
			rapid.Check(t, func(rt *rapid.T) {
				run++
				facility := fmt.Sprintf("r%04d", run)
				staffed(t, s, facility)
				inmates := []string{"W-1", "W-2"}
				periods := []string{"2026-11-28", "2026-11-29"}
				var all []record.Record
				var stores []*booth
				booths := rapid.IntRange(1, 3).Draw(rt, "booths")
				for i := range booths {
					for n := range rapid.IntRange(1, 2).Draw(rt, "stores") {
						b := &booth{device: fmt.Sprintf("%s/b%d", facility, i), chain: record.NewChainID()}
						if n == 0 && rapid.Bool().Draw(rt, "legacy") {
							b.chain = ""
						}
						stores = append(stores, b)
						for range rapid.IntRange(1, 5).Draw(rt, "records") {
							inmate := rapid.SampledFrom(inmates).Draw(rt, "inmate")
							period := rapid.SampledFrom(periods).Draw(rt, "period")
							amount := time.Duration(rapid.IntRange(0, 600).Draw(rt, "seconds")) * time.Second
							switch rapid.IntRange(0, 4).Draw(rt, "kind") {
							case 0, 1:
								b.call(inmate, period, amount)
							case 2:
								b.officer(rapid.SampledFrom([]string{"reset", "grant", "end_call"}).Draw(rt, "action"), inmate, period, amount)
							case 3:
								b.deny(inmate, "no_minutes")
							case 4:
								b.event("tamper")
							}
						}
						all = append(all, b.recs...)
					}
				}
				order := rapid.Permutation(all).Draw(rt, "order")
				for len(order) > 0 {
					n := rapid.IntRange(1, len(order)).Draw(rt, "batch")
					batch := slices.Clone(order[:n])
					if rapid.Bool().Draw(rt, "resend") {
						batch = append(batch, rapid.SampledFrom(all).Draw(rt, "again"))
					}
					order = order[n:]
					// A booth uploads only its own records, one chain per
					// batch: split by device and chain.
					for len(batch) > 0 {
						dev, chain := batch[0].Device, batch[0].Chain
						var mine, rest []record.Record
						for _, r := range batch {
							if r.Device == dev && r.Chain == chain {
								mine = append(mine, r)
							} else {
								rest = append(rest, r)
							}
						}
						if _, err := s.Ingest(ctx, dev, mine); err != nil {
							rt.Fatal(err)
						}
						batch = rest
					}
				}
				for k, w := range want(all) {
					used, credit, err := s.Balance(ctx, facility, k.inmate, k.period)
					if err != nil {
						rt.Fatal(err)
					}
					if used != w[0] || credit != w[1] {
						rt.Fatalf("%s %s: used %v credit %v, want %v %v", k.inmate, k.period, used, credit, w[0], w[1])
					}
				}
				// Every record is stored, exactly once: a resend of all of
				// them finds each a duplicate, and each chain is whole.
				// One store_replaced per device that had two stores, whichever
				// chain reached the gateway first.
				replaced := map[string]int{}
				for _, st := range stores {
					replaced[st.device]++
				}
				wantEvents := 0
				for _, n := range replaced {
					wantEvents += n - 1
				}
				if ev, err := s.CentreEvents(ctx, facility, time.Time{}); err != nil || len(ev) != wantEvents {
					rt.Fatalf("%d centre events (%v), want %d store_replaced: %+v", len(ev), err, wantEvents, ev)
				}
				for _, st := range stores {
					device, mine := st.device, st.recs
					res, err := s.Ingest(ctx, device, mine)
					if err != nil {
						rt.Fatal(err)
					}
					if res.Count(Duplicate) != len(mine) || res.Contiguous != uint64(len(mine)) {
						rt.Fatalf("%s: resend of all %d records: %d duplicates, contiguous %d", device, len(mine), res.Count(Duplicate), res.Contiguous)
					}
					if f := openFlags(rt, s, device); len(f) != 0 {
						rt.Fatalf("%s: open chain errors %v", device, f)
					}
				}
			})
		})
	}
}
