// Package store is the booth's durable memory on SQLite: the roster, usage
// per inmate and period, the journal of open calls, the outbox of
// hash-chained records and the centre's view of usage.
//
// Every write is one SQLite transaction committed with synchronous=FULL in
// WAL mode, so a method that returned nil has put its change on the disk.
// A record and the change it describes (usage, journal) commit together or
// not at all. A store error (a full disk above all) leaves everything
// already committed intact; writes work again as soon as the disk does.
//
// The store is safe for use by several goroutines; SQLite sees a single
// connection, so writes are serialised.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/record"
)

// Options configures a Store.
type Options struct {
	// Device is the booth id written into every record, e.g.
	// "lapas-cipinang/b03". Required. A database file belongs to one device:
	// opening it with another id is refused, because the records of one
	// hash chain must all carry the same device.
	Device string
	// Clock gives the wall time stamped on outbox rows and on the end of
	// calls (Usage.LastEnd). Nil means the real clock.
	Clock clock.Clock
	// BusyTimeoutMs is how long a write waits for a lock held by another
	// process (a technician's sqlite3 shell, say). 0 means 5000.
	BusyTimeoutMs int
}

// Store is the booth's SQLite store. Open it with Open; close it with Close.
type Store struct {
	path   string
	device string
	chain  string // chain identity, fixed at creation ("" legacy)
	clock  clock.Clock
	db     *sql.DB

	mu   sync.Mutex // guards head, held across every record append
	head head

	tagKey []byte // the card-tag key (tagkey.go)

	stmts stmtCache // the commit path's prepared statements (prepared.go)
}

// head is the last record of the chain: the one the next record follows.
type head struct {
	seq  uint64
	hash string
}

// Open opens (creating if needed) the store at path, migrates its schema to
// the current version and checks that it belongs to o.Device. A file written
// by newer firmware (a higher schema version) is refused, never downgraded.
func Open(path string, o Options) (*Store, error) {
	if o.Device == "" {
		return nil, fmt.Errorf("store %s: open: no device id configured", path)
	}
	if o.Clock == nil {
		o.Clock = clock.NewReal()
	}
	if o.BusyTimeoutMs == 0 {
		o.BusyTimeoutMs = 5000
	}
	db, err := sql.Open("sqlite", dsn(path, o.BusyTimeoutMs))
	if err != nil {
		return nil, fmt.Errorf("store %s: open: %w", path, err)
	}
	// One booth, one writer: a single connection serialises every write and
	// keeps the per-connection pragmas in force.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)

	s := &Store{path: path, device: o.Device, clock: o.Clock, db: db}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// dsn builds the modernc.org/sqlite data source name. _pragma parameters are
// run on every new connection, so they hold even if database/sql replaces
// the connection. _txlock=immediate makes BEGIN take the write lock at once.
func dsn(path string, busyMs int) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyMs))
	// EXCLUSIVE, before the first access in WAL mode: the booth's one
	// process holds the file's lock from its first read until it closes,
	// so a commit takes no file lock of its own (its fcntl calls were
	// 13 µs of a commit's 110 µs of CPU) and the WAL index lives in the
	// process's memory, not in a -shm file. A second process that opens the file
	// meanwhile (a second daemon; sqlite3 on a running booth) gets
	// SQLITE_BUSY; the self-test refuses to run beside the daemon anyway.
	q.Add("_pragma", "locking_mode(EXCLUSIVE)")
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL: with NORMAL in WAL mode the last commits can vanish on a power cut.
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

func (s *Store) init() error {
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		return s.wrap("open", err)
	}
	if mode != "wal" {
		return fmt.Errorf("store %s: open: journal mode is %q, not wal: the file system may not support WAL (shared memory); put the store on a local disk", s.path, mode)
	}
	if err := s.persistWAL(); err != nil {
		return err
	}
	if err := migrate(s.db, len(migrations)); err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	if err := s.claimDevice(); err != nil {
		return err
	}
	if err := s.claimTagKey(); err != nil {
		return err
	}
	if err := s.claimChain(); err != nil {
		return err
	}
	h, err := s.readHead(s.db, "head")
	if err != nil {
		return s.wrap("read chain head", err)
	}
	s.head = h
	return nil
}

// persistWAL keeps the WAL file when the store closes, at the size it
// grew to, instead of deleting it (SQLITE_FCNTL_PERSIST_WAL). A WAL that
// grows makes each commit's fsync write the file's size too: on this
// project's disks a journal commit then costs 0.03–0.05 ms more, a quarter
// of a raw fsync, until the first checkpoint, some hundreds of commits
// after every start (docs/store.md, "Speed"). A kept WAL is reused from its
// start after a checkpoint, as in a store that never closed; its old frames
// carry the previous salts, so SQLite never replays them. The setting is
// the connection's: the store keeps one for its life (Open), and one put
// in its place after an error would only grow its WAL again.
func (s *Store) persistWAL() error {
	c, err := s.db.Conn(context.Background())
	if err != nil {
		return s.wrap("open", err)
	}
	defer c.Close()
	err = c.Raw(func(dc any) error {
		fc, ok := dc.(sqlite.FileControl)
		if !ok {
			return fmt.Errorf("the SQLite driver's connection (%T) has no file control", dc)
		}
		_, err := fc.FileControlPersistWAL("main", 1)
		return err
	})
	if err != nil {
		return s.wrap("keep the WAL file across restarts", err)
	}
	// A kept WAL opens with its frames counted as live: RESTART copies
	// them back (nothing after a clean close) and makes the next commit
	// write from the file's start instead of past its end.
	if _, err := c.ExecContext(context.Background(), `PRAGMA wal_checkpoint(RESTART)`); err != nil {
		return s.wrap("checkpoint the kept WAL", err)
	}
	return nil
}

// claimDevice writes the device id into a new store, or checks it in an
// existing one.
func (s *Store) claimDevice() error {
	var dev string
	err := s.db.QueryRow(`SELECT value FROM meta WHERE key = 'device'`).Scan(&dev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := s.db.Exec(`INSERT INTO meta(key, value) VALUES('device', ?)`, s.device); err != nil {
			return s.wrap("record device id", err)
		}
		return nil
	case err != nil:
		return s.wrap("read device id", err)
	case dev != s.device:
		return fmt.Errorf("store %s: open: the file belongs to booth %q, configured as %q: fix the device id in the config, or move the file away to start a new chain (upload its records first)", s.path, dev, s.device)
	}
	return nil
}

// claimChain gives a new store its chain identity, or reads the one it has.
// A store created afresh — a new card, a re-flash, a file truncated to
// nothing — has no records and gets new random bits, so its seq 1 is never
// mistaken for the seq 1 of the store it replaces.
func (s *Store) claimChain() error {
	err := s.db.QueryRow(`SELECT value FROM meta WHERE key = 'chain'`).Scan(&s.chain)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		s.chain = record.NewChainID()
		if _, err := s.db.Exec(`INSERT INTO meta(key, value) VALUES('chain', ?)`, s.chain); err != nil {
			return s.wrap("record chain identity", err)
		}
	case err != nil:
		return s.wrap("read chain identity", err)
	case !record.ValidChainID(s.chain):
		return fmt.Errorf("store %s: open: chain identity %q is not 32 hex digits: the file was edited; keep it for a technician", s.path, s.chain)
	}
	return nil
}

// Chain returns the store's chain identity, carried by every record it
// writes ("" for the legacy chain of a store older than chain identities).
func (s *Store) Chain() string { return s.chain }

// String returns the store's file and device, for logs.
func (s *Store) String() string { return fmt.Sprintf("store %s (%s)", s.path, s.device) }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Close closes the database. The WAL is checkpointed by SQLite on the last
// close; nothing committed depends on it.
func (s *Store) Close() error {
	s.closeStmts()
	if err := s.db.Close(); err != nil {
		return s.wrap("close", err)
	}
	return nil
}

// Probe checks that the store can write again after an error (typically a
// full disk). It commits a transaction that needs fresh space, then frees
// it; nil means writes work.
func (s *Store) Probe() error {
	err := s.write("probe", func(c *sql.Conn) error {
		_, err := c.ExecContext(context.Background(), `INSERT INTO probe(data) VALUES(zeroblob(65536))`)
		return err
	})
	if err != nil {
		return err
	}
	return s.write("probe", func(c *sql.Conn) error {
		_, err := c.ExecContext(context.Background(), `DELETE FROM probe`)
		return err
	})
}

// write runs fn in one IMMEDIATE transaction on the single connection and
// commits it. On any error it rolls back explicitly: after a failed COMMIT
// (SQLITE_FULL) SQLite may keep the transaction open, and database/sql
// would hand the connection on in that state.
func (s *Store) write(op string, fn func(c *sql.Conn) error) error {
	ctx := context.Background()
	c, err := s.db.Conn(ctx)
	if err != nil {
		return s.wrap(op, err)
	}
	defer c.Close()
	if _, err := s.execPrepared(ctx, c, "BEGIN IMMEDIATE"); err != nil {
		return s.wrap(op, err)
	}
	if err := fn(c); err != nil {
		c.ExecContext(ctx, "ROLLBACK") // best effort; the error that matters is err
		return s.wrap(op, err)
	}
	if _, err := s.execPrepared(ctx, c, "COMMIT"); err != nil {
		c.ExecContext(ctx, "ROLLBACK")
		return s.wrap(op, err)
	}
	return nil
}

// wrap puts the file and the operation in front of err, so a log line says
// where it failed; a full disk also says what to do.
func (s *Store) wrap(op string, err error) error {
	if IsFull(err) {
		return fmt.Errorf("store %s: %s: %w (disk full: free space on the booth's SD card; the booth refuses calls until it can write)", s.path, op, err)
	}
	if isBusy(err) {
		return fmt.Errorf("store %s: %s: %w (another process holds the store: a second wartel-kiosk, a self-test or a sqlite3 shell; stop it, or copy the file off and read the copy)", s.path, op, err)
	}
	if isDamaged(err) {
		return fmt.Errorf("store %s: %s: %w (the file is damaged: copy it off the booth for the centre, its records are not all uploaded; do not delete it)", s.path, op, err)
	}
	return fmt.Errorf("store %s: %s: %w", s.path, op, err)
}

// isBusy reports whether err says another connection holds the file's lock.
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// isDamaged reports whether err says the file is not a database or corrupt.
func isDamaged(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code() & 0xff
	return code == sqlite3.SQLITE_CORRUPT || code == sqlite3.SQLITE_NOTADB
}

// IsFull reports whether err (or an error it wraps) means the disk or the
// database is full: SQLITE_FULL, or ENOSPC from the file system.
func IsFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	return errors.Is(err, syscall.ENOSPC)
}
