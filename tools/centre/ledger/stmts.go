package ledger

import (
	"context"
	"database/sql"
	"sync"
)

// Prepared statements on SQLite. modernc.org/sqlite parses and plans every
// statement it is given as text, and on the ingest path that was a quarter
// of the gateway's CPU (docs/benchmarks.md): the statements of the hot
// paths are prepared once on the store's one connection and reused in each
// transaction. PostgreSQL needs none of this: pgx already keeps a prepared
// statement per query text on each connection.

// maxStmts bounds the statements kept; past it a statement not yet
// prepared is sent as text every time instead of evicting others (another
// transaction may be running one of them right now). The batch statements
// come in a few row counts only (chunks, batch.go), so this is never
// reached in practice.
const maxStmts = 128

// stmtCache is shared by every goroutine of the store. mu guards the maps
// only: it is never held while waiting for the database, since the one
// connection may be held by a transaction that is about to ask for a
// statement (prepared) and so for mu.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	missed map[string]bool // asked for inside a transaction, to prepare after it
}

// prepared returns the statement for query (already rebound), or nil where
// statements are not cached (PostgreSQL) or not prepared yet. It never
// prepares: SQLite's one connection is the transaction's while the caller
// runs, so a statement first asked for is sent as text this time, and
// prepared when the transaction has ended (prepareMissed).
func (s *sqlStore) prepared(query string) *sql.Stmt {
	c := s.stmts
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st
	}
	if len(c.m)+len(c.missed) >= maxStmts {
		return nil // full: sent as text (maxStmts)
	}
	if c.missed == nil {
		c.missed = map[string]bool{}
	}
	c.missed[query] = true
	return nil
}

// prepareMissed prepares the statements asked for and not found, after the
// transaction that asked. The set is taken under mu and prepared with mu
// released: a prepare waits for the connection, and the goroutine holding
// it may be in a transaction asking prepared for a statement. Two
// goroutines preparing one query keep the first; a statement that does not
// prepare is left to be sent as text, which reports its error where it is
// used.
func (s *sqlStore) prepareMissed(ctx context.Context) {
	c := s.stmts
	if c == nil {
		return
	}
	c.mu.Lock()
	var todo []string
	for q := range c.missed {
		if _, ok := c.m[q]; !ok {
			todo = append(todo, q)
		}
	}
	clear(c.missed)
	c.mu.Unlock()
	for _, q := range todo {
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		if !c.keep(q, st) {
			st.Close() // never handed out
		}
	}
}

// keep caches st for q unless q is cached already or the cache is full.
func (c *stmtCache) keep(q string, st *sql.Stmt) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[q]; ok || len(c.m) >= maxStmts {
		return false
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[q] = st
	return true
}

// exec runs query (with ? placeholders) in tx, prepared where that pays.
func (s *sqlStore) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	q := s.q(query)
	if st := s.prepared(q); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// query is exec for a query returning rows.
func (s *sqlStore) query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	q := s.q(query)
	if st := s.prepared(q); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, q, args...)
}

// queryRow is exec for a query returning one row.
func (s *sqlStore) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	q := s.q(query)
	if st := s.prepared(q); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// closeStmts closes the cached statements before the database.
func (s *sqlStore) closeStmts() {
	if s.stmts == nil {
		return
	}
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	for _, st := range s.stmts.m {
		st.Close()
	}
	clear(s.stmts.m)
}
