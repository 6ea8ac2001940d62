package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// dialect is what differs between the two databases.
type dialect int

const (
	sqlite dialect = iota
	postgres
)

// sqlStore implements Store over database/sql for both dialects. Queries
// are written with ? and rebound to $n for PostgreSQL.
type sqlStore struct {
	db      *sql.DB
	dialect dialect
	name    string // for errors: "ledger sqlite /var/lib/…"
	now     func() time.Time
}

// OpenSQLite opens (creating if needed) the ledger in the SQLite file at
// path and migrates its schema. WAL and synchronous=FULL: an acknowledged
// upload survives a power cut.
func OpenSQLite(path string) (Store, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger sqlite %s: open: %w", path, err)
	}
	// SQLite has one writer: a single connection serialises transactions
	// in the process instead of failing them with SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	s := &sqlStore{db: db, dialect: sqlite, name: "ledger sqlite " + path, now: time.Now}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, err
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("%s: journal mode is %q (%v), not wal: put the database on a local disk", s.name, mode, err)
	}
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database at dsn (a URL or
// key=value string, as libpq takes) and migrates its schema. Several
// gateway processes may open the same database.
func OpenPostgres(ctx context.Context, dsn string) (Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger postgres: open: %w", err)
	}
	db.SetMaxOpenConns(16)
	s := &sqlStore{db: db, dialect: postgres, name: "ledger postgres " + redact(dsn), now: time.Now}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: connect: %w (is the server running and the DSN right?)", s.name, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// redact drops a password from a URL DSN so it never reaches a log.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}

func (s *sqlStore) String() string { return s.name }

func (s *sqlStore) Close() error { return s.db.Close() }

// q rebinds ? placeholders for the dialect. No query here has a ? inside
// a literal.
func (s *sqlStore) q(query string) string {
	if s.dialect != postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (s *sqlStore) errf(op string, err error) error {
	return fmt.Errorf("%s: %s: %w", s.name, op, err)
}

// tx runs fn in a transaction, committed when fn returns nil.
func (s *sqlStore) tx(ctx context.Context, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// migrations are applied in order; each entry is one schema version, per
// dialect. Never edit a released entry: append a new one.
var migrations = []struct{ sqlite, postgres string }{
	{ // 1: records, chain flags, ledger facts, leases, roster, devices
		sqlite: `
CREATE TABLE records (device TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, payload BLOB NOT NULL,
  prev TEXT NOT NULL, hash TEXT NOT NULL, hash_ok INTEGER NOT NULL, received_ms INTEGER NOT NULL,
  PRIMARY KEY (device, seq));
CREATE TABLE conflicts (device TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, kind TEXT NOT NULL,
  payload BLOB NOT NULL, prev TEXT NOT NULL, received_ms INTEGER NOT NULL, PRIMARY KEY (device, seq, hash));
CREATE TABLE chain_heads (device TEXT PRIMARY KEY, contiguous INTEGER NOT NULL);
CREATE TABLE chain_errors (device TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL,
  first_seen_ms INTEGER NOT NULL, cleared INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (device, seq, kind));
CREATE TABLE facts (device TEXT NOT NULL, seq INTEGER NOT NULL, facility TEXT NOT NULL, kind TEXT NOT NULL,
  inmate TEXT NOT NULL, period TEXT NOT NULL, month TEXT NOT NULL, action TEXT NOT NULL,
  talked_ms INTEGER NOT NULL, charged_ms INTEGER NOT NULL, credit_ms INTEGER NOT NULL, PRIMARY KEY (device, seq));
CREATE INDEX facts_balance ON facts (facility, inmate, period);
CREATE INDEX facts_month ON facts (facility, month);
CREATE TABLE leases (facility TEXT NOT NULL, inmate TEXT NOT NULL, device TEXT NOT NULL, lease TEXT NOT NULL,
  expires_ms INTEGER NOT NULL, PRIMARY KEY (facility, inmate));
CREATE TABLE facilities (facility TEXT PRIMARY KEY, version INTEGER NOT NULL, horizon INTEGER NOT NULL,
  policy BLOB, policy_version INTEGER NOT NULL);
CREATE TABLE cards (facility TEXT NOT NULL, card TEXT NOT NULL, role TEXT NOT NULL, person TEXT NOT NULL,
  name TEXT NOT NULL, block TEXT NOT NULL, allowance_ms INTEGER NOT NULL, blocked INTEGER NOT NULL,
  deleted INTEGER NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (facility, card));
CREATE INDEX cards_version ON cards (facility, version);
CREATE TABLE devices (device TEXT PRIMARY KEY, facility TEXT NOT NULL, registered_ms INTEGER NOT NULL,
  revoked_ms INTEGER, last_seen_ms INTEGER, outbox_depth INTEGER NOT NULL DEFAULT 0,
  firmware TEXT NOT NULL DEFAULT '', faults TEXT NOT NULL DEFAULT '');`,
		postgres: `
CREATE TABLE records (device TEXT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL, payload BYTEA NOT NULL,
  prev TEXT NOT NULL, hash TEXT NOT NULL, hash_ok INTEGER NOT NULL, received_ms BIGINT NOT NULL,
  PRIMARY KEY (device, seq));
CREATE TABLE conflicts (device TEXT NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL, kind TEXT NOT NULL,
  payload BYTEA NOT NULL, prev TEXT NOT NULL, received_ms BIGINT NOT NULL, PRIMARY KEY (device, seq, hash));
CREATE TABLE chain_heads (device TEXT PRIMARY KEY, contiguous BIGINT NOT NULL);
CREATE TABLE chain_errors (device TEXT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL,
  first_seen_ms BIGINT NOT NULL, cleared INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (device, seq, kind));
CREATE TABLE facts (device TEXT NOT NULL, seq BIGINT NOT NULL, facility TEXT NOT NULL, kind TEXT NOT NULL,
  inmate TEXT NOT NULL, period TEXT NOT NULL, month TEXT NOT NULL, action TEXT NOT NULL,
  talked_ms BIGINT NOT NULL, charged_ms BIGINT NOT NULL, credit_ms BIGINT NOT NULL, PRIMARY KEY (device, seq));
CREATE INDEX facts_balance ON facts (facility, inmate, period);
CREATE INDEX facts_month ON facts (facility, month);
CREATE TABLE leases (facility TEXT NOT NULL, inmate TEXT NOT NULL, device TEXT NOT NULL, lease TEXT NOT NULL,
  expires_ms BIGINT NOT NULL, PRIMARY KEY (facility, inmate));
CREATE TABLE facilities (facility TEXT PRIMARY KEY, version BIGINT NOT NULL, horizon BIGINT NOT NULL,
  policy BYTEA, policy_version BIGINT NOT NULL);
CREATE TABLE cards (facility TEXT NOT NULL, card TEXT NOT NULL, role TEXT NOT NULL, person TEXT NOT NULL,
  name TEXT NOT NULL, block TEXT NOT NULL, allowance_ms BIGINT NOT NULL, blocked INTEGER NOT NULL,
  deleted INTEGER NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (facility, card));
CREATE INDEX cards_version ON cards (facility, version);
CREATE TABLE devices (device TEXT PRIMARY KEY, facility TEXT NOT NULL, registered_ms BIGINT NOT NULL,
  revoked_ms BIGINT, last_seen_ms BIGINT, outbox_depth INTEGER NOT NULL DEFAULT 0,
  firmware TEXT NOT NULL DEFAULT '', faults TEXT NOT NULL DEFAULT '');`,
	},
	{ // 2: what the gateway itself notices about a device (store replaced,
		// clone suspected, …), beside the events booths record
		sqlite: `
CREATE TABLE centre_events (id INTEGER PRIMARY KEY AUTOINCREMENT, facility TEXT NOT NULL, device TEXT NOT NULL,
  kind TEXT NOT NULL, detail TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX centre_events_by_facility ON centre_events (facility, at_ms);`,
		postgres: `
CREATE TABLE centre_events (id BIGSERIAL PRIMARY KEY, facility TEXT NOT NULL, device TEXT NOT NULL,
  kind TEXT NOT NULL, detail TEXT NOT NULL, at_ms BIGINT NOT NULL);
CREATE INDEX centre_events_by_facility ON centre_events (facility, at_ms);`,
	},
	{ // 3: roster pages in byte order of the card id on both backends, so a
		// sync cursor means the same everywhere and keyset pages use an index
		// (PostgreSQL's default collation may follow the locale; SQLite's
		// primary key (facility, card) is already in byte order)
		sqlite: `SELECT 1`,
		postgres: `
CREATE INDEX cards_by_card ON cards (facility, card COLLATE "C");`,
	},
}

// schemaVersion is the schema this code writes: one per migration.
var schemaVersion = len(migrations)

// migrate brings the schema to schemaVersion in one transaction; a database
// written by a newer gateway is refused, never downgraded. On PostgreSQL an
// advisory lock keeps two replicas starting together from racing.
func (s *sqlStore) migrate(ctx context.Context) error {
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		if s.dialect == postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7411)`); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return err
		}
		if have > schemaVersion {
			return fmt.Errorf("schema version %d is newer than this gateway's %d: run the newer gateway, or restore a backup made for this version", have, schemaVersion)
		}
		for v := have + 1; v <= schemaVersion; v++ {
			ddl := migrations[v-1].sqlite
			if s.dialect == postgres {
				ddl = migrations[v-1].postgres
			}
			for _, stmt := range strings.Split(ddl, ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migration %d: %w", v, err)
				}
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)`), v, s.now().UnixMilli()); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
		}
		return nil
	})
	if err != nil {
		return s.errf("migrate", err)
	}
	return nil
}

// facilityOf returns the facility of a device id "FACILITY/BOOTH".
func facilityOf(device string) (string, error) {
	f, b, ok := strings.Cut(device, "/")
	if !ok || f == "" || b == "" || strings.Contains(b, "/") {
		return "", fmt.Errorf("device id %q is not FACILITY/BOOTH", device)
	}
	return f, nil
}

func msOf(t time.Time) int64 { return t.UnixMilli() }

func timeOf(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64).UTC()
}

// absent tells a missing row from a failure.
func absent(err error) bool { return errors.Is(err, sql.ErrNoRows) }
