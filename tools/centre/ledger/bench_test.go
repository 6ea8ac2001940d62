package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// BenchmarkIngest uploads batches of 100 records, round-robin over 50
// booths, each batch a fresh run of its booth's chain. Compare records/s
// with BenchmarkRawInsert on the same database: the price of dedupe, chain
// checks and the ledger.
func BenchmarkIngest(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			s := open1(b, be)
			const devices, batch = 50, 100
			booths := make([]*booth, devices)
			for i := range booths {
				booths[i] = &booth{device: fmt.Sprintf("bench/b%02d", i)}
			}
			n := 0
			for b.Loop() {
				b.StopTimer()
				bo := booths[n%devices]
				start := len(bo.recs)
				for i := range batch {
					if i%10 == 9 {
						bo.officer("grant", "W-1", "2026-11", time.Minute)
					} else {
						bo.call(fmt.Sprintf("W-%d", i), "2026-11", time.Minute)
					}
				}
				recs := bo.recs[start:]
				b.StartTimer()
				res, err := s.Ingest(context.Background(), bo.device, recs)
				if err != nil || res.Count(Stored) != batch {
					b.Fatalf("%+v %v", res.Count(Stored), err)
				}
				n++
			}
			b.ReportMetric(float64(n*batch)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkRawInsert is the database's own rate for the same shape: one
// transaction of 100 plain INSERTs into a table keyed like records.
func BenchmarkRawInsert(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			s := open1(b, be).(*sqlStore)
			if _, err := s.db.Exec(`CREATE TABLE raw (device TEXT NOT NULL, seq BIGINT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (device, seq))`); err != nil {
				b.Fatal(err)
			}
			payload := string(record.GenesisHash) + string(record.GenesisHash) // about a record's size
			seq := 0
			for b.Loop() {
				tx, err := s.db.Begin()
				if err != nil {
					b.Fatal(err)
				}
				for range 100 {
					seq++
					if _, err := tx.Exec(s.q(`INSERT INTO raw (device, seq, payload) VALUES (?, ?, ?)`), "bench/b00", seq, payload); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(seq)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkRosterPageNumbers reads a full roster of 2000 inmates a page of
// 1000 cards at a time, with 5 approved numbers each and without: the
// price of the numbers' query per page (docs/dial.md).
func BenchmarkRosterPageNumbers(b *testing.B) {
	for _, be := range backends() {
		for _, per := range []int{0, 5} {
			b.Run(fmt.Sprintf("%s/%d-numbers", be.name, per), func(b *testing.B) {
				s := open1(b, be).(*sqlStore)
				const inmates, page = 2000, 1000
				cards := make([]record.CardInfo, inmates)
				for i := range cards {
					cards[i] = record.CardInfo{Card: fmt.Sprintf("em:%010X", i), Role: record.RoleInmate, Person: fmt.Sprintf("W-%05d", i), Name: "Inmate"}
				}
				if _, err := s.UpsertCards(ctx, "bench", "operator", cards); err != nil {
					b.Fatal(err)
				}
				tx, err := s.db.Begin()
				if err != nil {
					b.Fatal(err)
				}
				for i := range inmates {
					for j := range per {
						if _, err := tx.Exec(s.q(`INSERT INTO numbers (facility, person, e164, slot, label, status, registered_by, registered_ms, decided_by, decided_ms, reason)
							VALUES ('bench', ?, ?, ?, 'ibu', 'approved', 'op', 0, 'sup', 0, '')`), fmt.Sprintf("W-%05d", i), fmt.Sprintf("+62812%05d%02d", i, j), j+1); err != nil {
							b.Fatal(err)
						}
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				if be.name == "postgres" {
					// As autovacuum does within a minute of a bulk import.
					if _, err := s.db.Exec(`ANALYZE`); err != nil {
						b.Fatal(err)
					}
				}
				pages := 0
				for b.Loop() {
					after := ""
					for {
						d, err := s.RosterPage(ctx, "bench", 0, after, page)
						if err != nil || len(d.Upserts) != page || len(d.Upserts[0].Numbers) != per {
							b.Fatalf("%d cards, %v", len(d.Upserts), err)
						}
						pages++
						if d.Next == "" {
							break
						}
						after = d.Next
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(pages), "ms/page")
			})
		}
	}
}

// BenchmarkApplyRetention purges months of 2000 records each (calls and
// officer grants from 10 booths): records purged per second, to compare
// with BenchmarkIngest (a purge rewrites each record and its fact).
func BenchmarkApplyRetention(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			s := open1(b, be)
			const perMonth = 2000
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := s.SetRetention(context.Background(), "bench", 1, now); err != nil {
				b.Fatal(err)
			}
			booths := make([]*booth, 10)
			for i := range booths {
				booths[i] = &booth{device: fmt.Sprintf("bench/b%02d", i), chain: record.NewChainID()}
			}
			month, purged := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), 0
			for b.Loop() {
				b.StopTimer()
				period := month.Format("2006-01")
				for _, bo := range booths {
					start := len(bo.recs)
					for i := range perMonth / len(booths) {
						if i%10 == 9 {
							bo.officer("grant", "W-1", period, time.Minute)
						} else {
							bo.call(fmt.Sprintf("W-%d", i), period, time.Minute)
						}
					}
					if _, err := s.Ingest(context.Background(), bo.device, bo.recs[start:]); err != nil {
						b.Fatal(err)
					}
				}
				month = month.AddDate(0, 1, 0)
				b.StartTimer()
				ps, err := s.ApplyRetention(context.Background(), now, testRunner)
				if err != nil || len(ps) != 1 || ps[0].Records != perMonth {
					b.Fatalf("%+v %v", ps, err)
				}
				purged += perMonth
			}
			b.ReportMetric(float64(purged)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
