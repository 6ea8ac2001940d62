package ledger

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"wartelsuspas/kiosk/record"
)

// The same batch uploaded at once through two handles (two replicas, or
// the booth's retry racing its first attempt): every record is stored
// once and the ledger counts it once.
func TestIngestConcurrentReplicas(t *testing.T) {
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			stores := be.open(t, 2)
			staffed(t, stores[0], "lp")
			b := chain5("lp/b01")
			results := make([]IngestResult, 2)
			errs := make([]error, 2)
			done := make(chan int)
			for i := range 2 {
				go func() {
					results[i], errs[i] = stores[i].Ingest(ctx, b.device, b.recs)
					done <- i
				}()
			}
			<-done
			<-done
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if st, dup := results[0].Count(Stored)+results[1].Count(Stored), results[0].Count(Duplicate)+results[1].Count(Duplicate); st != 5 || dup != 5 {
				t.Errorf("stored %d duplicate %d across both, want 5 and 5", st, dup)
			}
			used, credit, _ := stores[0].Balance(ctx, "lp", "W-1", "2026-11-29")
			w := want(b.recs)[key{"W-1", "2026-11-29"}]
			if used != w[0] || credit != w[1] {
				t.Errorf("used %v credit %v, want %v %v", used, credit, w[0], w[1])
			}
		})
	}
}

// Whatever a booth sends under its own name, Ingest answers every record,
// never fails the batch for its content, and a resend is all duplicates.
func FuzzIngest(f *testing.F) {
	f.Add("call", []byte(`{"inmate":"W-1","period":"2026-11","charged_ms":60000}`), uint64(1), false)
	f.Add("officer", []byte(`{"action":"reset","inmate":"W-1","credit_ms":-5}`), uint64(2), true)
	f.Add("denial", []byte(`{"at":"not a time"}`), uint64(7), false)
	f.Add("call", []byte(`[1,2`), uint64(1), true)
	s, err := OpenSQLite(filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	n := 0
	f.Fuzz(func(t *testing.T, kind string, payload []byte, seq uint64, seal bool) {
		if seq == 0 || seq > 1<<62 {
			return
		}
		n++
		device := "fz/b" + itoa(uint64(n))
		r := record.Record{Device: device, Seq: seq, Kind: record.Kind(kind), Payload: json.RawMessage(payload), Prev: record.GenesisHash}
		if seal {
			r.Hash = r.ComputeHash()
		} else {
			r.Hash = "00"
		}
		batch := []record.Record{r, r}
		res, err := s.Ingest(ctx, device, batch)
		if err != nil {
			t.Fatalf("ingest: %v", err)
		}
		if len(res.Records) != 2 || res.Records[0].Status != Stored || res.Records[1].Status != Duplicate {
			t.Fatalf("results %+v", res.Records)
		}
		want := uint64(0) // a fresh device: only a #1 starts the contiguous run
		if seq == 1 {
			want = 1
		}
		if res.Contiguous != want {
			t.Fatalf("contiguous %d, want %d", res.Contiguous, want)
		}
		if !seal && !slices.Contains(res.Records[0].Flags, FlagHash) {
			t.Fatalf("unsealed record not flagged: %+v", res.Records[0])
		}
	})
}
