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
				ps, err := s.ApplyRetention(context.Background(), now)
				if err != nil || len(ps) != 1 || ps[0].Records != perMonth {
					b.Fatalf("%+v %v", ps, err)
				}
				purged += perMonth
			}
			b.ReportMetric(float64(purged)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
