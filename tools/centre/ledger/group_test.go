package ledger

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// Uploads that wait while a commit runs share the next transaction (one
// fsync), each in its own savepoint: one batch's failure, or a request gone
// before its turn, takes nothing of the others with it, nor keeps an event
// it raised.
func TestGroupCommitSavepoints(t *testing.T) {
	s := openSQLiteNoCleanup(t)
	defer s.Close()
	if _, err := s.db.Exec(`CREATE TABLE g (name TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	var (
		heardMu sync.Mutex
		heard   []string
	)
	s.ObserveCentreEvents(func(e CentreEvent) {
		heardMu.Lock()
		heard = append(heard, e.Detail)
		heardMu.Unlock()
	})

	// A first upload holds the transaction until the others have queued.
	release := make(chan struct{})
	running := make(chan struct{})
	lead := make(chan error, 1)
	go func() {
		lead <- s.inGroup(ctx, func(ctx context.Context, tx *sql.Tx) error {
			close(running)
			<-release
			return nil
		})
	}()
	<-running

	var (
		txMu sync.Mutex
		txs  = map[string]*sql.Tx{}
	)
	job := func(name string, fail bool) func(context.Context, *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			txMu.Lock()
			txs[name] = tx
			txMu.Unlock()
			if _, err := tx.ExecContext(ctx, `INSERT INTO g (name) VALUES (?)`, name); err != nil {
				return err
			}
			if err := s.raiseEvent(ctx, tx, CentreEvent{Device: "lapas-a/b1", Kind: EventStoreReplaced, Detail: name, At: t0}); err != nil {
				return err
			}
			if fail {
				return errors.New("batch " + name + " refused")
			}
			return nil
		}
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	type result struct {
		name string
		err  error
	}
	results := make(chan result, 4)
	queued := 0
	queue := func(c context.Context, name string, fail bool) {
		go func() { results <- result{name, s.inGroup(c, job(name, fail))} }()
		queued++
		waitQueued(t, s.group, queued)
	}
	queue(ctx, "a", false)
	queue(ctx, "b", true)
	queue(gone, "c", false)
	queue(ctx, "d", false)
	close(release)
	if err := <-lead; err != nil {
		t.Fatal(err)
	}
	errs := map[string]error{}
	for range 4 {
		r := <-results
		errs[r.name] = r.err
	}

	if errs["a"] != nil || errs["d"] != nil {
		t.Errorf("uploads a, d: %v, %v; want both stored", errs["a"], errs["d"])
	}
	if errs["b"] == nil || errs["b"].Error() != "batch b refused" {
		t.Errorf("upload b: %v; want its own error", errs["b"])
	}
	if !errors.Is(errs["c"], context.Canceled) {
		t.Errorf("upload c, its request gone: %v; want context.Canceled", errs["c"])
	}
	if txs["a"] == nil || txs["a"] != txs["b"] || txs["a"] != txs["d"] {
		t.Errorf("a, b and d ran in transactions %p, %p, %p; want one, committed once", txs["a"], txs["b"], txs["d"])
	}
	if _, ran := txs["c"]; ran {
		t.Error("upload c ran after its request had gone")
	}
	var names []string
	rows, err := s.db.Query(`SELECT name FROM g ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	if !slices.Equal(names, []string{"a", "d"}) {
		t.Errorf("rows stored %v, want [a d]: b's savepoint rolled back, the others kept", names)
	}
	heardMu.Lock()
	defer heardMu.Unlock()
	slices.Sort(heard)
	if !slices.Equal(heard, []string{"a", "d"}) {
		t.Errorf("events heard %v, want [a d]: b's event rolled back with it", heard)
	}
}

// waitQueued waits until n uploads queue behind the running group. The
// committer tells no one of a queued upload, so this looks every
// millisecond; hangBound only bounds a hang.
func waitQueued(t *testing.T, g *committer, n int) {
	t.Helper()
	deadline := time.Now().Add(hangBound)
	for {
		g.mu.Lock()
		queued := len(g.queue)
		g.mu.Unlock()
		if queued >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d uploads queued behind the running group after %v, want %d", queued, hangBound, n)
		}
		time.Sleep(time.Millisecond)
	}
}
