package ledger

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// chain5 is a booth's chain of five records: calls, a reset, a denial.
func chain5(device string) *booth {
	b := &booth{device: device}
	b.call("W-1", "2026-11-29", time.Minute)
	b.call("W-2", "2026-11-29", 2*time.Minute)
	b.officer("reset", "W-1", "2026-11-29", time.Minute)
	b.deny("W-3", "no_minutes")
	b.call("W-1", "2026-11-29", 30*time.Second)
	return b
}

func TestIngestChain(t *testing.T) {
	type batch []record.Record
	cases := []struct {
		name       string
		batches    func(b *booth) []batch
		wantLast   []Status // statuses of the last batch, by seq
		contiguous uint64
		open       []string // chain errors not cleared
		cleared    []string // chain errors cleared
	}{
		{"in order", func(b *booth) []batch { return []batch{b.recs[:3]} },
			[]Status{Stored, Stored, Stored}, 3, nil, nil},
		{"resent after a lost answer", func(b *booth) []batch { return []batch{b.recs[:2], b.recs[:3]} },
			[]Status{Duplicate, Duplicate, Stored}, 3, nil, nil},
		{"gap", func(b *booth) []batch { return []batch{b.recs[:2], b.recs[3:4]} },
			[]Status{Stored}, 2, []string{"gap@4"}, nil},
		{"gap filled late", func(b *booth) []batch { return []batch{b.recs[:2], b.recs[3:5], b.recs[2:3]} },
			[]Status{Stored}, 5, nil, []string{"gap@4"}},
		{"batch in reverse order", func(b *booth) []batch { return []batch{{b.recs[2], b.recs[1], b.recs[0]}} },
			[]Status{Stored, Stored, Stored}, 3, nil, nil},
		{"duplicate inside a batch", func(b *booth) []batch { return []batch{{b.recs[0], b.recs[0]}} },
			[]Status{Stored, Duplicate}, 1, nil, nil},
		{"conflict: same seq, other content", func(b *booth) []batch {
			other := chain5(b.device)
			other.recs = other.recs[:1]
			other.call("W-9", "2026-11-29", time.Hour) // a different #2
			return []batch{b.recs[:2], other.recs[1:2]}
		}, []Status{Conflict}, 2, []string{"conflict@2"}, nil},
		{"broken link", func(b *booth) []batch {
			r := b.recs[1]
			r.Prev = strings.Repeat("ab", 32)
			r.Hash = r.ComputeHash()
			return []batch{b.recs[:1], {r}}
		}, []Status{Stored}, 2, []string{"link@2"}, nil},
		{"edited record", func(b *booth) []batch {
			r := b.recs[1]
			r.Payload = json.RawMessage(strings.Replace(string(r.Payload), `"charged_ms":120000`, `"charged_ms":1000`, 1))
			return []batch{b.recs[:1], {r}}
		}, []Status{Stored}, 2, []string{"hash@2"}, nil},
		{"late filler that does not link", func(b *booth) []batch {
			other := &booth{device: b.device}
			other.event("x")
			other.event("y")
			other.event("z") // a #3 from another history
			return []batch{b.recs[:2], b.recs[3:4], other.recs[2:3]}
		}, []Status{Stored}, 4, []string{"link@3", "gap@4", "link@4"}, nil},
		{"first record not from genesis", func(b *booth) []batch {
			r := b.recs[0]
			r.Prev = strings.Repeat("cd", 32)
			r.Hash = r.ComputeHash()
			return []batch{{r}}
		}, []Status{Stored}, 1, []string{"link@1"}, nil},
		{"unreadable payload", func(b *booth) []batch {
			bad := &booth{device: b.device}
			bad.add(record.KindCall, map[string]any{"charged_ms": "sixty"})
			return []batch{bad.recs}
		}, []Status{Stored}, 1, []string{"payload@1"}, nil},
	}
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					device := fmt.Sprintf("f%d/b01", i)
					staffed(t, s, fmt.Sprintf("f%d", i))
					b := chain5(device)
					var res IngestResult
					for _, bt := range tc.batches(b) {
						var err error
						if res, err = s.Ingest(ctx, device, bt); err != nil {
							t.Fatal(err)
						}
					}
					var got []Status
					for _, r := range res.Records {
						got = append(got, r.Status)
					}
					if !slices.Equal(got, tc.wantLast) {
						t.Errorf("last batch: %v, want %v", got, tc.wantLast)
					}
					if res.Contiguous != tc.contiguous {
						t.Errorf("contiguous %d, want %d", res.Contiguous, tc.contiguous)
					}
					if got := openFlags(t, s, device); !slices.Equal(got, tc.open) {
						t.Errorf("open chain errors %v, want %v", got, tc.open)
					}
					errs, _ := s.ChainErrors(ctx, device)
					var cleared []string
					for _, e := range errs {
						if e.Cleared {
							cleared = append(cleared, e.Kind+"@"+itoa(e.Seq))
						}
						if e.Detail == "" || e.FirstSeen.IsZero() {
							t.Errorf("chain error %+v lacks detail or first-seen time", e)
						}
					}
					if !slices.Equal(cleared, tc.cleared) {
						t.Errorf("cleared %v, want %v", cleared, tc.cleared)
					}
				})
			}
		})
	}
}

// Billing fails closed: an edited call charges what it claims, and of two
// records claiming one seq the larger charge counts (TestTamperedNeverLowersCharge
// has every case and order).
func TestIngestLedgerFailsClosed(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			b := &booth{device: "lp/b01"}
			b.call("W-1", "p", time.Minute)
			edited := b.call("W-1", "p", time.Minute)
			edited.Payload = json.RawMessage(strings.Replace(string(edited.Payload), `"charged_ms":60000`, `"charged_ms":1`, 1))
			if _, err := s.Ingest(ctx, b.device, []record.Record{b.recs[0], edited}); err != nil {
				t.Fatal(err)
			}
			other := &booth{device: b.device}
			other.call("W-1", "p", time.Hour) // conflicts with #1
			if res, err := s.Ingest(ctx, b.device, other.recs); err != nil || res.Count(Conflict) != 1 {
				t.Fatalf("conflict: %+v, %v", res, err)
			}
			used, credit, err := s.Balance(ctx, "lp", "W-1", "p")
			if err != nil {
				t.Fatal(err)
			}
			if want := time.Hour + time.Millisecond; used != want || credit != 0 {
				t.Errorf("balance used %v credit %v, want %v and 0 (#1's larger claim, #2 as edited)", used, credit, want)
			}
		})
	}
}

func TestIngestRefusesForeignRecords(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			mine, theirs := chain5("lp/b01"), chain5("lp/b02")
			batch := []record.Record{mine.recs[0], theirs.recs[1]}
			_, err := s.Ingest(ctx, "lp/b01", batch)
			if err == nil || !strings.Contains(err.Error(), `"lp/b02"`) || !strings.Contains(err.Error(), `"lp/b01"`) {
				t.Fatalf("error %v, want one naming both devices", err)
			}
			zero := mine.recs[0]
			zero.Seq = 0
			if _, err := s.Ingest(ctx, "lp/b01", []record.Record{zero}); err == nil {
				t.Error("seq 0 accepted")
			}
			if _, err := s.Ingest(ctx, "no-slash", nil); err == nil {
				t.Error("device id without a facility accepted")
			}
			// An empty batch asks where the chain stands.
			if res, err := s.Ingest(ctx, "lp/b01", nil); err != nil || res.Contiguous != 0 || len(res.Records) != 0 {
				t.Errorf("empty batch: %+v, %v", res, err)
			}
			// Nothing of the refused batch was stored.
			res, err := s.Ingest(ctx, "lp/b01", mine.recs[:1])
			if err != nil || res.Records[0].Status != Stored {
				t.Errorf("after the refused batch #1 is %+v, %v; want newly stored", res, err)
			}
			if res, err := s.Ingest(ctx, "lp/b01", nil); err != nil || res.Contiguous != 1 {
				t.Errorf("empty batch after #1: %+v, %v; want contiguous 1", res, err)
			}
		})
	}
}

// Every ordering of five records from two booths, each delivery followed
// by a resend of the first: the same balance, the same report, every gap
// closed.
func TestBalanceEveryOrdering(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			s := open1(t, be)
			n := 0
			for perm := range permutations(5) {
				n++
				facility := fmt.Sprintf("f%03d", n)
				staffed(t, s, facility)
				// a's store has a chain identity, b's is a legacy one.
				a, b := &booth{device: facility + "/a", chain: record.NewChainID()}, &booth{device: facility + "/b"}
				a.call("W-1", "2026-11", time.Minute)
				a.officer("reset", "W-1", "2026-11", time.Minute)
				a.call("W-1", "2026-11", 30*time.Second)
				b.call("W-1", "2026-11", 45*time.Second)
				b.officer("grant", "W-1", "2026-11", 2*time.Minute)
				all := append(slices.Clone(a.recs), b.recs...)
				first := all[perm[0]]
				for _, i := range perm {
					r := all[i]
					if _, err := s.Ingest(ctx, r.Device, []record.Record{r}); err != nil {
						t.Fatal(err)
					}
					if res, err := s.Ingest(ctx, first.Device, []record.Record{first}); err != nil || res.Records[0].Status != Duplicate {
						t.Fatalf("resend of %s#%d: %+v, %v", first.Device, first.Seq, res, err)
					}
				}
				used, credit, err := s.Balance(ctx, facility, "W-1", "2026-11")
				if err != nil {
					t.Fatal(err)
				}
				w := want(all)[key{"W-1", "2026-11"}]
				if used != w[0] || credit != w[1] {
					t.Fatalf("order %v: used %v credit %v, want %v %v", perm, used, credit, w[0], w[1])
				}
				for _, d := range []string{a.device, b.device} {
					if f := openFlags(t, s, d); len(f) != 0 {
						t.Fatalf("order %v: %s has open chain errors %v", perm, d, f)
					}
				}
				rep, err := s.MonthlyReport(ctx, facility, "2026-11")
				if err != nil {
					t.Fatal(err)
				}
				wantRep := []ReportRow{{Inmate: "W-1", Calls: 3, Talked: w[0] + 1200*time.Millisecond, Charged: w[0], OfficerActions: 2, Credit: w[1]}}
				if !slices.Equal(rep, wantRep) {
					t.Fatalf("order %v: report %+v, want %+v", perm, rep, wantRep)
				}
			}
			if n != 120 {
				t.Fatalf("%d orderings, want 120", n)
			}
		})
	}
}

// permutations yields every permutation of 0..n-1 (Heap's algorithm).
func permutations(n int) func(yield func([]int) bool) {
	return func(yield func([]int) bool) {
		p := make([]int, n)
		for i := range p {
			p[i] = i
		}
		c := make([]int, n)
		if !yield(slices.Clone(p)) {
			return
		}
		for i := 0; i < n; {
			if c[i] < i {
				if i%2 == 0 {
					p[0], p[i] = p[i], p[0]
				} else {
					p[c[i]], p[i] = p[i], p[c[i]]
				}
				if !yield(slices.Clone(p)) {
					return
				}
				c[i]++
				i = 0
			} else {
				c[i] = 0
				i++
			}
		}
	}
}
