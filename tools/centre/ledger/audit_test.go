package ledger

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestAuditChainVerify(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s := open1(t, b) // one database, emptied for each case
			for _, tc := range []struct {
				name   string
				tamper string // SQL run on the database after 5 entries
				seq    int64  // the first entry verify must name
			}{
				{"intact", "", 0},
				{"an edited after", `UPDATE audit_log SET after_doc = '{"blocked":false}' WHERE seq = 3`, 3},
				{"an edited actor", `UPDATE audit_log SET actor = 'someone.else' WHERE seq = 2`, 2},
				{"a deleted entry", `DELETE FROM audit_log WHERE seq = 4`, 5},
				{"an entry rewritten with its own hash", `UPDATE audit_log SET hash = 'ff', actor = 'x' WHERE seq = 2`, 2},
			} {
				t.Run(tc.name, func(t *testing.T) {
					if _, err := s.(*sqlStore).db.ExecContext(ctx, `DELETE FROM audit_log`); err != nil {
						t.Fatal(err)
					}
					for i := range 5 {
						e, err := s.AppendAudit(ctx, AuditEntry{At: t0.Add(time.Duration(i) * time.Second), Actor: "siti", Via: "console",
							Action: "roster.block", Facility: "lapas-a", Target: "em:00000000" + string(rune('0'+i)), Before: `{"blocked":false}`, After: `{"blocked":true}`})
						if err != nil {
							t.Fatal(err)
						}
						if e.Seq != int64(i+1) || e.Hash != AuditHash(e) {
							t.Fatalf("entry %d: %+v", i+1, e)
						}
					}
					if tc.tamper != "" {
						if _, err := s.(*sqlStore).db.ExecContext(ctx, tc.tamper); err != nil {
							t.Fatal(err)
						}
					}
					n, err := s.VerifyAudit(ctx)
					var br *AuditBreak
					switch {
					case tc.seq == 0 && (err != nil || n != 5):
						t.Errorf("intact trail: %d entries, %v", n, err)
					case tc.seq != 0 && !errors.As(err, &br):
						t.Errorf("tampered trail verifies: %d, %v", n, err)
					case tc.seq != 0 && br.Seq != tc.seq:
						t.Errorf("verify names entry %d (%v), want %d", br.Seq, err, tc.seq)
					}
				})
			}
		})
	}
}

// TestAuditAppendConcurrent appends from two replicas at once: the chain
// stays one chain.
func TestAuditAppendConcurrent(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ss := b.open(t, 2)
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 10 {
						if _, err := ss[i].AppendAudit(ctx, AuditEntry{At: time.Now(), Actor: "a", Via: "cli", Action: "x.y"}); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if n, err := ss[0].VerifyAudit(ctx); err != nil || n != 20 {
				t.Errorf("verify after concurrent appends: %d, %v", n, err)
			}
			es, err := ss[1].AuditLog(ctx, AuditQuery{Facilities: []string{""}, Limit: 3})
			if err != nil || len(es) != 3 || es[0].Seq != 20 {
				t.Errorf("AuditLog newest 3: %+v, %v", es, err)
			}
		})
	}
}
