package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/store"
)

var storeDir = flag.String("store-dir", "", "directory on the disk to measure the store on (default: the system temp dir)")

func init() {
	register("store", benchStore)
}

// benchStore measures kiosk/store on a real disk beside its physical
// limits: one durable journal commit against one raw fsync, and the
// outbox's append and drain rates against SQLite's raw batched insert rate.
func benchStore(r *Report) error {
	dir, err := os.MkdirTemp(*storeDir, "bench-store-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	const n = 500
	// The store measured is one in service: it has taken calls, and the
	// booth restarted since (its WAL kept at the size it grew to,
	// docs/store.md "Speed"). A new file's first hundreds of commits also
	// grow the WAL; that is the first hour of a booth's life, not its days.
	path := filepath.Join(dir, "booth.db")
	st, err := store.Open(path, store.Options{Device: "bench/store"})
	if err != nil {
		return err
	}
	if _, _, _, err := storeCalls(st, nil, 2*n); err != nil {
		st.Close()
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	if st, err = store.Open(path, store.Options{Device: "bench/store"}); err != nil {
		return err
	}
	defer st.Close()
	// The raw fsyncs are taken between the calls, on the same disk at the
	// same moments: apart, the disk's mood between two phases moved the
	// ratio by a third (docs/benchmarks.md).
	rawf, err := os.Create(filepath.Join(dir, "raw"))
	if err != nil {
		return fmt.Errorf("raw fsync in %s: %w", dir, err)
	}
	defer rawf.Close()
	fsyncs, opens, closes, err := storeCalls(st, rawf, n)
	if err != nil {
		return err
	}
	fsync := Percentile(fsyncs, 0.5)
	r.Add(Figure{Name: "raw write 4 KiB + fsync p50", Value: Ms(fsync), Unit: "ms",
		Note: fmt.Sprintf("%d runs in %s, one before each call below: the limit of every durable commit below", n, filepath.Dir(dir))})
	how := fmt.Sprintf("%d calls, WAL, synchronous=FULL, after %d calls and a restart", n, 2*n)
	for _, q := range []float64{0.5, 0.99} {
		v := Percentile(opens, q)
		r.Add(Figure{Name: fmt.Sprintf("journal commit (OpenCall) p%.0f", q*100), Value: Ms(v), Unit: "ms", Limit: Ms(fsync), LimitNote: "1 raw fsync p50", Note: how})
	}
	v := Percentile(closes, 0.5)
	r.Add(Figure{Name: "CloseCall (journal+usage+record) p50", Value: Ms(v), Unit: "ms", Limit: Ms(fsync), LimitNote: "1 raw fsync p50", Note: how})

	// Outbox: records appended one commit each, then drained in pages as the
	// uplink will, against SQLite inserting the same rows in one transaction.
	const m = 2000
	t := time.Now()
	for range m {
		if _, err := st.Deny(record.Denial{At: time.Now(), Card: "em:0400D8B2A5", Inmate: "W-1", Reason: "quota", ClockTrusted: true}); err != nil {
			return err
		}
	}
	appendRate := float64(m) / time.Since(t).Seconds()
	r.Add(Figure{Name: "outbox append (1 commit each)", Value: appendRate, Unit: "rec/s", Limit: 1 / fsync.Seconds(), LimitNote: "raw fsyncs/s", Note: fmt.Sprintf("%d denials", m)})

	raw, err := storeRawInsertRate(filepath.Join(dir, "raw.db"), 20000)
	if err != nil {
		return fmt.Errorf("raw SQLite insert: %w", err)
	}
	r.Add(Figure{Name: "raw SQLite insert (one tx)", Value: raw, Unit: "rows/s",
		Note: "20000 rows of 200 B, modernc.org/sqlite, WAL, FULL: the limit of the drain below"})

	depth, _ := st.Depth()
	t = time.Now()
	drained := 0
	for {
		rs, err := st.Pending(500)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			break
		}
		if err := st.Ack(rs[len(rs)-1].Seq); err != nil {
			return err
		}
		drained += len(rs)
	}
	if drained != depth {
		return fmt.Errorf("drained %d records of %d", drained, depth)
	}
	drain := float64(drained) / time.Since(t).Seconds()
	r.Add(Figure{Name: "outbox drain, local (Pending 500 + Ack)", Value: drain, Unit: "rec/s", Limit: raw, LimitNote: "raw SQLite insert",
		Note: fmt.Sprintf("%d records, no network: the store's own cost", drained)})
	return nil
}

// storeCalls opens and closes n calls in st, one after another, and
// returns how long each OpenCall and each CloseCall took; with raw, each
// call comes after a raw write of 4 KiB and its fsync, timed too.
func storeCalls(st *store.Store, raw *os.File, n int) (fsyncs, opens, closes []time.Duration, err error) {
	buf := make([]byte, 4096)
	for range n {
		if raw != nil {
			t := time.Now()
			if _, err := raw.WriteAt(buf, 0); err != nil {
				return nil, nil, nil, err
			}
			if err := raw.Sync(); err != nil {
				return nil, nil, nil, err
			}
			fsyncs = append(fsyncs, time.Since(t))
		}
		c := record.Call{Card: "em:0400D8B2A5", Inmate: "W-1", Period: "2026-11", AuthorisedAt: time.Now(), MaxMs: 600000, ClockTrusted: true}
		t := time.Now()
		id, err := st.OpenCall(c)
		opens = append(opens, time.Since(t))
		if err != nil {
			return nil, nil, nil, err
		}
		c.CallID, c.TalkedMs, c.ChargedMs, c.EndReason = id, 60000, 60000, "hangup"
		t = time.Now()
		if _, err := st.CloseCall(c); err != nil {
			return nil, nil, nil, err
		}
		closes = append(closes, time.Since(t))
	}
	return fsyncs, opens, closes, nil
}

// storeRawInsertRate inserts n outbox-sized rows in one transaction with
// plain SQL and returns rows per second: the ceiling for any batched write.
func storeRawInsertRate(path string, n int) (float64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (seq INTEGER PRIMARY KEY, kind TEXT, payload BLOB, prev TEXT, hash TEXT, created INTEGER)`); err != nil {
		return 0, err
	}
	payload := []byte(strings.Repeat("p", 200))
	hash := strings.Repeat("0", 64)
	t := time.Now()
	tx, err := db.Begin()
	if err != nil {
		return 0, err
	}
	stmt, err := tx.Prepare(`INSERT INTO t VALUES (?, 'denial', ?, ?, ?, ?)`)
	if err != nil {
		tx.Rollback()
		return 0, err
	}
	for i := range n {
		if _, err := stmt.Exec(i+1, payload, hash, hash, i); err != nil {
			tx.Rollback()
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(t).Seconds(), nil
}
