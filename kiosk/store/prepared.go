package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
)

// The statements of every durable commit (BEGIN, COMMIT, the journal's
// insert and checkpoint, the outbox append) are prepared once on the
// store's one connection instead of parsed at each commit: a journal commit
// is meant to cost one fsync (docs/benchmarks.md), and the parse was most
// of the CPU besides it. database/sql keeps a prepared statement only with
// a transaction it begins, and the store begins its own (BEGIN IMMEDIATE
// on a *sql.Conn, store.go), so the cache is of driver statements, kept
// per driver connection: a connection database/sql replaced takes its
// statements with it.

type stmtCache struct {
	mu sync.Mutex
	dc any // the driver connection the statements belong to
	m  map[string]driver.Stmt
}

// execPrepared runs query on c as a statement prepared once per connection.
func (s *Store) execPrepared(ctx context.Context, c *sql.Conn, query string, args ...any) (sql.Result, error) {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		v, err := driver.DefaultParameterConverter.ConvertValue(a)
		if err != nil {
			return nil, fmt.Errorf("argument %d of %q: %w", i+1, query, err)
		}
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	var res driver.Result
	err := c.Raw(func(dc any) error {
		st, err := s.stmts.get(ctx, dc, query)
		if err != nil {
			return err
		}
		ex, ok := st.(driver.StmtExecContext)
		if !ok {
			return fmt.Errorf("the SQLite driver's statement %T cannot execute with a context", st)
		}
		res, err = ex.ExecContext(ctx, named)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (c *stmtCache) get(ctx context.Context, dc any, query string) (driver.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dc != dc {
		c.dc, c.m = dc, map[string]driver.Stmt{} // a new connection: its own statements
	}
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	p, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("the SQLite driver's connection %T cannot prepare with a context", dc)
	}
	st, err := p.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.m[query] = st
	return st, nil
}

// closeStmts finalises the cached statements on their connection, before
// the database closes.
func (s *Store) closeStmts() {
	ctx := context.Background()
	c, err := s.db.Conn(ctx)
	if err != nil {
		return
	}
	defer c.Close()
	c.Raw(func(dc any) error {
		s.stmts.mu.Lock()
		defer s.stmts.mu.Unlock()
		if s.stmts.dc == dc {
			for _, st := range s.stmts.m {
				st.Close()
			}
		}
		s.stmts.dc, s.stmts.m = nil, nil
		return nil
	})
}
