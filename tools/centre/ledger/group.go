package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// Group commit on SQLite. SQLite has one writer, and with synchronous=FULL
// every commit is an fsync of the WAL: half the time of an upload of 25
// records on this machine's disk (docs/ledger.md "Speed"). The uploads that
// arrive while one commit runs wait for it and then share the next
// transaction, each in its own SAVEPOINT, so one batch's failure rolls back
// that batch alone, and one fsync makes them all durable. Every upload is
// still acknowledged only after the commit that holds it has returned.
//
// No goroutine of its own: the first upload to find no group running leads
// it, and on its way out hands the lead to the first upload that queued
// meanwhile.

// maxGroup bounds the uploads of one transaction, so the one connection
// is never held long for the taps (authorise) waiting beside them.
const maxGroup = 16

type committer struct {
	mu      sync.Mutex
	queue   []*groupJob
	leading bool // a group is being run
}

type groupJob struct {
	ctx  context.Context
	fn   func(context.Context, *sql.Tx) error
	err  error
	lead bool          // woken to lead the next group, not with a result
	wake chan struct{} // closed when err is set or lead is true
}

// inGroup runs fn in a transaction of the upload group (SQLite) or in a
// transaction of its own (PostgreSQL, which has writers enough). fn gets
// the context its statements must use: in a group, a context that a
// request going away does not cancel, since an interrupted statement may
// roll back the whole transaction and so the others' batches.
func (s *sqlStore) inGroup(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	g := s.group
	if g == nil || s.joined(ctx) != nil {
		// PostgreSQL; or inside an Atomic call, whose transaction is not
		// the group's to commit.
		return s.tx(ctx, nil, func(tx *sql.Tx) error { return fn(ctx, tx) })
	}
	j := &groupJob{ctx: ctx, fn: fn, wake: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, j)
	if g.leading {
		g.mu.Unlock()
		<-j.wake // the group's commit bounds this wait, never a request
		if !j.lead {
			return j.err
		}
		g.mu.Lock()
	}
	g.leading = true
	n := min(len(g.queue), maxGroup)
	jobs := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	s.runGroup(jobs)

	g.mu.Lock()
	if len(g.queue) > 0 {
		next := g.queue[0]
		next.lead = true
		close(next.wake)
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	for _, o := range jobs {
		if o != j {
			close(o.wake)
		}
	}
	return j.err
}

// runGroup runs jobs in one transaction and sets each one's err: its own
// failure, or the transaction's if the group could not commit.
func (s *sqlStore) runGroup(jobs []*groupJob) {
	if len(jobs) == 1 {
		j := jobs[0]
		j.err = s.tx(j.ctx, nil, func(tx *sql.Tx) error { return j.fn(j.ctx, tx) })
		return
	}
	ctx := context.WithoutCancel(jobs[0].ctx)
	fail := func(err error) {
		for _, j := range jobs {
			if j.err == nil {
				j.err = err
			}
		}
	}
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		for _, j := range jobs {
			if j.err = j.ctx.Err(); j.err != nil {
				continue // gone before its turn: never started
			}
			if _, err := s.exec(ctx, tx, `SAVEPOINT upload`); err != nil {
				return err
			}
			held := s.raised.mark(tx)
			if j.err = j.fn(ctx, tx); j.err != nil {
				if _, err := s.exec(ctx, tx, `ROLLBACK TO upload`); err != nil {
					// The failure took the transaction with it (a full
					// disk, an I/O error): nothing of the group stands.
					return fmt.Errorf("an upload of the same group failed (%v) and could not be undone alone: %w", j.err, err)
				}
				s.raised.drop(tx, held)
			}
			if _, err := s.exec(ctx, tx, `RELEASE upload`); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		fail(s.errf("group commit", err))
	}
}
