package ledger

import (
	"bytes"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// hangBound only bounds a hang: a run takes seconds even on a loaded
// machine.
const hangBound = 3 * time.Minute

// openSQLiteNoCleanup opens a SQLite ledger the caller closes itself: a
// test that may leave goroutines deadlocked on the store must not hang in
// its cleanup too.
func openSQLiteNoCleanup(t *testing.T) *sqlStore {
	t.Helper()
	st, err := OpenSQLite(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	return st.(*sqlStore)
}

// Uploads from many booths at once, each batch of another size, so that
// statements of new shapes (row counts) are asked for inside transactions
// while earlier ones are prepared after theirs, and the revocation check
// every request makes, which prepares what is missed after its own query.
// A prepare waits for SQLite's one connection; it once did so holding the
// cache's lock, which the transaction holding the connection was waiting
// for: the gateway hung. Every round is a fresh store, where every shape
// is new.
func TestStatementCacheUnderConcurrentUploads(t *testing.T) {
	const (
		rounds   = 6
		booths   = 6
		checkers = 2
		batches  = 12
	)
	for round := range rounds {
		s := openSQLiteNoCleanup(t)
		done := make(chan error, booths+checkers)
		uploading := make(chan struct{})
		var uploads sync.WaitGroup
		uploads.Add(booths)
		go func() { uploads.Wait(); close(uploading) }()
		for g := range checkers {
			go func() {
				for {
					select {
					case <-uploading:
						done <- nil
						return
					default:
					}
					if _, err := s.CertificateRevoked(ctx, fmt.Sprintf("lapas-a/b%d", g), "serial"); err != nil {
						done <- err
						return
					}
				}
			}()
		}
		for g := range booths {
			go func() {
				b := &booth{device: fmt.Sprintf("lapas-a/b%d", g), chain: record.NewChainID()}
				for k := range batches {
					n := (g*batches+k)%40 + 1
					start := len(b.recs)
					for i := range n {
						if i%3 == 0 {
							b.call("w1", "2026-11-29", time.Second)
						} else {
							b.deny("w1", "closed")
						}
					}
					batch := b.recs[start:]
					if k%4 == 3 && len(batch) > 1 {
						batch = batch[1:] // a gap: flag statements too
					}
					if _, err := s.Ingest(ctx, b.device, batch); err != nil {
						uploads.Done()
						done <- err
						return
					}
				}
				uploads.Done()
				done <- nil
			}()
		}
		timeout := time.After(hangBound)
		for range booths + checkers {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-timeout:
				var dump bytes.Buffer
				pprof.Lookup("goroutine").WriteTo(&dump, 1)
				t.Fatalf("round %d: %d booths uploading at once, beside revocation checks, did not finish in %v: a deadlock between the statement cache's lock (stmts.go) and SQLite's one connection? Look for prepareMissed and prepared in the goroutines:\n%s", round, booths, hangBound, dump.String())
			}
		}
		s.Close()
	}
}

// Past maxStmts the cache stops caching; it once closed every statement it
// held, while a transaction was running one of them, and the next batch
// found its statements closed.
func TestStatementCacheBoundKeepsStatementsInUse(t *testing.T) {
	s := openSQLiteNoCleanup(t)
	defer s.Close()
	shape := func(i int) string { return fmt.Sprintf("SELECT ? + %d", i) }
	run := func(q string) error {
		return s.tx(ctx, nil, func(tx *sql.Tx) error {
			var n int
			return s.queryRow(ctx, tx, q, 1).Scan(&n)
		})
	}
	// Fill the cache: each shape is prepared after the transaction that
	// first asked for it.
	for i := range maxStmts {
		if err := run(shape(i)); err != nil {
			t.Fatal(err)
		}
	}
	first := s.prepared(shape(0))
	if first == nil {
		t.Fatalf("%q not cached after its transaction", shape(0))
	}

	// A transaction runs a cached statement while another shape is asked
	// for and the cache's prepare runs beside it.
	var after sync.WaitGroup
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		st := s.prepared(shape(0))
		if st == nil {
			return fmt.Errorf("%q not cached", shape(0))
		}
		if s.prepared(shape(maxStmts)) != nil {
			return fmt.Errorf("%q cached before it was ever prepared", shape(maxStmts))
		}
		after.Go(func() { s.prepareMissed(ctx) })
		var n int
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, 1).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	after.Wait()

	var n int
	if err := first.QueryRowContext(ctx, 1).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the statement a transaction was using, after the cache passed its bound: %d, %v; want it open", n, err)
	}
	if got := s.prepared(shape(0)); got != first {
		t.Fatalf("the cache dropped %q past its bound", shape(0))
	}
	// The shape past the bound still runs, as text.
	if err := run(shape(maxStmts)); err != nil {
		t.Fatal(err)
	}
	s.stmts.mu.Lock()
	kept := len(s.stmts.m)
	s.stmts.mu.Unlock()
	if kept > maxStmts {
		t.Fatalf("%d statements cached, bound %d", kept, maxStmts)
	}
}
