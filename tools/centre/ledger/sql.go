package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"wartelsuspas/kiosk/policy"
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
	raised  raisedEvents // centre events waiting for their commit, and who hears of them
	stmts   *stmtCache   // SQLite: prepared statements of the hot paths (stmts.go); nil on PostgreSQL
	group   *committer   // SQLite: uploads committed together (group.go); nil on PostgreSQL
}

// OpenSQLite opens (creating if needed) the ledger in the SQLite file at
// path and migrates its schema. WAL and synchronous=FULL: an acknowledged
// upload survives a power cut.
func OpenSQLite(path string) (Store, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	// A multi-row INSERT keeps a statement journal (to undo itself alone
	// on a constraint failure); past 64 KiB SQLite spills it to a temporary
	// file, created, written and deleted again for every batch: a tenth of
	// the ingest's time. It never serves crash recovery (the WAL does), so
	// memory loses nothing durable.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger sqlite %s: open: %w", path, err)
	}
	// SQLite has one writer: a single connection serialises transactions
	// in the process instead of failing them with SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	s := &sqlStore{db: db, dialect: sqlite, name: "ledger sqlite " + path, now: time.Now, stmts: &stmtCache{}, group: &committer{}}
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

func (s *sqlStore) Close() error {
	s.closeStmts()
	return s.db.Close()
}

// q rebinds ? placeholders for the dialect. No query here has a ? inside
// a literal.
func (s *sqlStore) q(query string) string {
	if s.dialect != postgres {
		return query
	}
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	q := rebind(query)
	rebound.Store(query, q)
	return q
}

// rebound caches rebind's answers: the queries are a fixed set, plus one
// per row count of the batch statements (batch.go).
var rebound sync.Map // query with ? → query with $n

func rebind(query string) string {
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

// querier is where a statement runs: the store's pool, or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// atomicKey carries the transaction of an Atomic call in its context.
type atomicKey struct{}

type atomicTx struct {
	s  *sqlStore
	tx *sql.Tx
}

// joined is the transaction of the Atomic call of this store that ctx
// runs in, or nil.
func (s *sqlStore) joined(ctx context.Context) *sql.Tx {
	if a, ok := ctx.Value(atomicKey{}).(atomicTx); ok && a.s == s {
		return a.tx
	}
	return nil
}

// on is where a statement made with ctx runs: inside an Atomic call, its
// transaction (SQLite's one connection is that transaction's until it
// ends, so a statement on the pool would wait for it for ever); else the
// pool.
func (s *sqlStore) on(ctx context.Context) querier {
	if tx := s.joined(ctx); tx != nil {
		return tx
	}
	return s.db
}

// Atomic implements Store.
func (s *sqlStore) Atomic(ctx context.Context, fn func(ctx context.Context) error) error {
	if s.joined(ctx) != nil {
		return fn(ctx) // already one transaction
	}
	return s.tx(ctx, nil, func(tx *sql.Tx) error {
		return fn(context.WithValue(ctx, atomicKey{}, atomicTx{s: s, tx: tx}))
	})
}

// tx runs fn in a transaction, committed when fn returns nil. Inside an
// Atomic call it runs fn in that call's transaction, which commits (or
// rolls back) once, with everything else done in it.
func (s *sqlStore) tx(ctx context.Context, opts *sql.TxOptions, fn func(*sql.Tx) error) error {
	if tx := s.joined(ctx); tx != nil {
		return fn(tx)
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer s.prepareMissed(ctx) // with the connection free (stmts.go)
	if err := fn(tx); err != nil {
		tx.Rollback()
		s.raised.settle(tx, false)
		return err
	}
	err = tx.Commit()
	s.raised.settle(tx, err == nil)
	return err
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
	{ // 3: the booths' event records of a facility by time (wartel-gateway
		// events): a partial index, small beside the calls; device in byte
		// order so a facility is a range of it
		sqlite: `
CREATE INDEX records_events ON records (device, received_ms) WHERE kind = 'event';`,
		postgres: `
CREATE INDEX records_events ON records (device COLLATE "C", received_ms) WHERE kind = 'event';`,
	},
	{ // 4: single certificates revoked by serial (a rotation's old bundle),
		// which every replica checks, beside whole devices revoked
		sqlite: `
CREATE TABLE revoked_certs (serial TEXT PRIMARY KEY, device TEXT NOT NULL, revoked_ms INTEGER NOT NULL);`,
		postgres: `
CREATE TABLE revoked_certs (serial TEXT PRIMARY KEY, device TEXT NOT NULL, revoked_ms BIGINT NOT NULL);`,
	},
	{ // 5: officer records checked at the centre: who credited (facts.officer,
		// at_ms for the per-day cap) and what each card was at each roster
		// version (card_history), seeded from the cards as they stand
		sqlite: `
ALTER TABLE facts ADD COLUMN officer TEXT NOT NULL DEFAULT '';
ALTER TABLE facts ADD COLUMN at_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX facts_officer ON facts (facility, officer, at_ms);
CREATE TABLE card_history (facility TEXT NOT NULL, card TEXT NOT NULL, version INTEGER NOT NULL, role TEXT NOT NULL,
  person TEXT NOT NULL, blocked INTEGER NOT NULL, deleted INTEGER NOT NULL, PRIMARY KEY (facility, card, version));
INSERT INTO card_history (facility, card, version, role, person, blocked, deleted)
  SELECT facility, card, version, role, person, blocked, deleted FROM cards;`,
		postgres: `
ALTER TABLE facts ADD COLUMN officer TEXT NOT NULL DEFAULT '';
ALTER TABLE facts ADD COLUMN at_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX facts_officer ON facts (facility, officer, at_ms);
CREATE TABLE card_history (facility TEXT NOT NULL, card TEXT NOT NULL, version BIGINT NOT NULL, role TEXT NOT NULL,
  person TEXT NOT NULL, blocked INTEGER NOT NULL, deleted INTEGER NOT NULL, PRIMARY KEY (facility, card, version));
INSERT INTO card_history (facility, card, version, role, person, blocked, deleted)
  SELECT facility, card, version, role, person, blocked, deleted FROM cards;`,
	},
	{ // 6: what a heartbeat says about the booth (issue 13 item 1): its
		// state, out-of-service causes, clock, and the start it comes from
		sqlite: `
ALTER TABLE devices ADD COLUMN state TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN out_of_service TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN clock_trusted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN clock_offset_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN source TEXT NOT NULL DEFAULT ''`,
		postgres: `
ALTER TABLE devices ADD COLUMN state TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN out_of_service TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN clock_trusted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN clock_offset_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN source TEXT NOT NULL DEFAULT ''`,
	},
	{ // 7: copied identities (issue 13 item 6): each recent start (boot id
		// and source address) of a device, the pairs already raised as
		// clone_suspected, and the flag on the device until re-enrolment
		sqlite: `
CREATE TABLE device_boots (device TEXT NOT NULL, boot_id TEXT NOT NULL, source TEXT NOT NULL,
  first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, PRIMARY KEY (device, boot_id, source));
CREATE TABLE device_clones (device TEXT NOT NULL, one TEXT NOT NULL, other TEXT NOT NULL, at_ms INTEGER NOT NULL,
  PRIMARY KEY (device, one, other));
ALTER TABLE devices ADD COLUMN clone_ms INTEGER`,
		postgres: `
CREATE TABLE device_boots (device TEXT NOT NULL, boot_id TEXT NOT NULL, source TEXT NOT NULL,
  first_ms BIGINT NOT NULL, last_ms BIGINT NOT NULL, PRIMARY KEY (device, boot_id, source));
CREATE TABLE device_clones (device TEXT NOT NULL, one TEXT NOT NULL, other TEXT NOT NULL, at_ms BIGINT NOT NULL,
  PRIMARY KEY (device, one, other));
ALTER TABLE devices ADD COLUMN clone_ms BIGINT`,
	},
	{ // 8: chain identities. Records, conflicts, chain heads, chain flags and
		// ledger facts are keyed by (device, chain, seq), so a booth whose
		// store was replaced starts a new chain instead of conflicting with
		// the old one; rows kept from before are the legacy chain ''. A
		// version of a record is its claimed hash and the hash of its
		// content (sum): a conflict is kept per version, and a fact
		// remembers the content hash of the version it took. The heads
		// booths report in heartbeats are kept to catch rewrites. SQLite
		// rebuilds the tables, so it carries over what steps 3 and 5 added
		// to them (records_events, facts.officer and at_ms, facts_officer).
		sqlite: `
CREATE TABLE facts_c (device TEXT NOT NULL, chain TEXT NOT NULL, seq INTEGER NOT NULL, facility TEXT NOT NULL,
  kind TEXT NOT NULL, inmate TEXT NOT NULL, period TEXT NOT NULL, month TEXT NOT NULL, action TEXT NOT NULL,
  talked_ms INTEGER NOT NULL, charged_ms INTEGER NOT NULL, credit_ms INTEGER NOT NULL, hash TEXT NOT NULL,
  officer TEXT NOT NULL DEFAULT '', at_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (device, chain, seq));
INSERT INTO facts_c SELECT f.device, '', f.seq, f.facility, f.kind, f.inmate, f.period, f.month, f.action,
  f.talked_ms, f.charged_ms, f.credit_ms, COALESCE((SELECT r.hash FROM records r WHERE r.device = f.device AND r.seq = f.seq), ''),
  f.officer, f.at_ms
  FROM facts f;
DROP TABLE facts;
ALTER TABLE facts_c RENAME TO facts;
CREATE INDEX facts_balance ON facts (facility, inmate, period);
CREATE INDEX facts_month ON facts (facility, month);
CREATE INDEX facts_officer ON facts (facility, officer, at_ms);
CREATE TABLE chain_heads_c (device TEXT NOT NULL, chain TEXT NOT NULL, contiguous INTEGER NOT NULL,
  first_seen_ms INTEGER NOT NULL, PRIMARY KEY (device, chain));
INSERT INTO chain_heads_c SELECT h.device, '', h.contiguous,
  COALESCE((SELECT MIN(r.received_ms) FROM records r WHERE r.device = h.device), 0) FROM chain_heads h;
DROP TABLE chain_heads;
ALTER TABLE chain_heads_c RENAME TO chain_heads;
CREATE TABLE records_c (device TEXT NOT NULL, chain TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
  payload BLOB NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL, hash_ok INTEGER NOT NULL, received_ms INTEGER NOT NULL,
  PRIMARY KEY (device, chain, seq));
INSERT INTO records_c SELECT device, '', seq, kind, payload, prev, hash, hash_ok, received_ms FROM records;
DROP TABLE records;
ALTER TABLE records_c RENAME TO records;
CREATE INDEX records_events ON records (device, received_ms) WHERE kind = 'event';
CREATE TABLE conflicts_c (device TEXT NOT NULL, chain TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL,
  sum TEXT NOT NULL, kind TEXT NOT NULL, payload BLOB NOT NULL, prev TEXT NOT NULL, received_ms INTEGER NOT NULL,
  PRIMARY KEY (device, chain, seq, hash, sum));
INSERT INTO conflicts_c SELECT device, '', seq, hash, '', kind, payload, prev, received_ms FROM conflicts;
DROP TABLE conflicts;
ALTER TABLE conflicts_c RENAME TO conflicts;
CREATE TABLE chain_errors_c (device TEXT NOT NULL, chain TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
  detail TEXT NOT NULL, first_seen_ms INTEGER NOT NULL, cleared INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (device, chain, seq, kind));
INSERT INTO chain_errors_c SELECT device, '', seq, kind, detail, first_seen_ms, cleared FROM chain_errors;
DROP TABLE chain_errors;
ALTER TABLE chain_errors_c RENAME TO chain_errors;
CREATE TABLE heads_reported (device TEXT NOT NULL, chain TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL,
  at_ms INTEGER NOT NULL, PRIMARY KEY (device, chain, seq));`,
		postgres: `
ALTER TABLE facts ADD COLUMN chain TEXT NOT NULL DEFAULT '';
ALTER TABLE facts ADD COLUMN hash TEXT NOT NULL DEFAULT '';
UPDATE facts f SET hash = r.hash FROM records r WHERE r.device = f.device AND r.seq = f.seq;
ALTER TABLE facts DROP CONSTRAINT facts_pkey;
ALTER TABLE facts ADD PRIMARY KEY (device, chain, seq);
ALTER TABLE chain_heads ADD COLUMN chain TEXT NOT NULL DEFAULT '';
ALTER TABLE chain_heads ADD COLUMN first_seen_ms BIGINT NOT NULL DEFAULT 0;
UPDATE chain_heads h SET first_seen_ms = COALESCE((SELECT MIN(r.received_ms) FROM records r WHERE r.device = h.device), 0);
ALTER TABLE chain_heads DROP CONSTRAINT chain_heads_pkey;
ALTER TABLE chain_heads ADD PRIMARY KEY (device, chain);
ALTER TABLE records ADD COLUMN chain TEXT NOT NULL DEFAULT '';
ALTER TABLE records DROP CONSTRAINT records_pkey;
ALTER TABLE records ADD PRIMARY KEY (device, chain, seq);
ALTER TABLE conflicts ADD COLUMN chain TEXT NOT NULL DEFAULT '';
ALTER TABLE conflicts ADD COLUMN sum TEXT NOT NULL DEFAULT '';
ALTER TABLE conflicts DROP CONSTRAINT conflicts_pkey;
ALTER TABLE conflicts ADD PRIMARY KEY (device, chain, seq, hash, sum);
ALTER TABLE chain_errors ADD COLUMN chain TEXT NOT NULL DEFAULT '';
ALTER TABLE chain_errors DROP CONSTRAINT chain_errors_pkey;
ALTER TABLE chain_errors ADD PRIMARY KEY (device, chain, seq, kind);
CREATE TABLE heads_reported (device TEXT NOT NULL, chain TEXT NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL,
  at_ms BIGINT NOT NULL, PRIMARY KEY (device, chain, seq));`,
	},
	{ // 9: roster pages in byte order of the card id on both backends, so a
		// sync cursor means the same everywhere and keyset pages use an index
		// (PostgreSQL's default collation may follow the locale; SQLite's
		// primary key (facility, card) is already in byte order)
		sqlite: `SELECT 1`,
		postgres: `
CREATE INDEX cards_by_card ON cards (facility, card COLLATE "C");`,
	},
	{ // the centre's console (issue 16): accounts, sessions in the database
		// (so replicas share them), failed logins for throttling, alert
		// acknowledgements, and the append-only hash-chained audit trail
		sqlite: `
CREATE TABLE console_accounts (name TEXT PRIMARY KEY, role TEXT NOT NULL, facilities TEXT NOT NULL, password_hash TEXT NOT NULL,
	totp_secret TEXT NOT NULL, totp_step INTEGER NOT NULL, disabled INTEGER NOT NULL, created_ms INTEGER);
CREATE TABLE console_sessions (sid TEXT PRIMARY KEY, account TEXT NOT NULL, csrf TEXT NOT NULL, lang TEXT NOT NULL,
	created_ms INTEGER NOT NULL, seen_ms INTEGER NOT NULL);
CREATE INDEX console_sessions_account ON console_sessions (account);
CREATE TABLE console_login_failures (who TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX console_login_failures_who ON console_login_failures (who, at_ms);
CREATE TABLE console_alert_acks (facility TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL, since_ms INTEGER NOT NULL,
	account TEXT NOT NULL, note TEXT NOT NULL, at_ms INTEGER NOT NULL, PRIMARY KEY (facility, device, kind, since_ms));
CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, actor TEXT NOT NULL, via TEXT NOT NULL, action TEXT NOT NULL,
	facility TEXT NOT NULL, target TEXT NOT NULL, before_doc TEXT NOT NULL, after_doc TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX audit_log_facility ON audit_log (facility, seq)`,
		postgres: `
CREATE TABLE console_accounts (name TEXT PRIMARY KEY, role TEXT NOT NULL, facilities TEXT NOT NULL, password_hash TEXT NOT NULL,
	totp_secret TEXT NOT NULL, totp_step BIGINT NOT NULL, disabled INTEGER NOT NULL, created_ms BIGINT);
CREATE TABLE console_sessions (sid TEXT PRIMARY KEY, account TEXT NOT NULL, csrf TEXT NOT NULL, lang TEXT NOT NULL,
	created_ms BIGINT NOT NULL, seen_ms BIGINT NOT NULL);
CREATE INDEX console_sessions_account ON console_sessions (account);
CREATE TABLE console_login_failures (who TEXT NOT NULL, at_ms BIGINT NOT NULL);
CREATE INDEX console_login_failures_who ON console_login_failures (who, at_ms);
CREATE TABLE console_alert_acks (facility TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL, since_ms BIGINT NOT NULL,
	account TEXT NOT NULL, note TEXT NOT NULL, at_ms BIGINT NOT NULL, PRIMARY KEY (facility, device, kind, since_ms));
CREATE TABLE audit_log (seq BIGINT PRIMARY KEY, at_ms BIGINT NOT NULL, actor TEXT NOT NULL, via TEXT NOT NULL, action TEXT NOT NULL,
	facility TEXT NOT NULL, target TEXT NOT NULL, before_doc TEXT NOT NULL, after_doc TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX audit_log_facility ON audit_log (facility, seq)`,
	},
	{ // 11: registered numbers and the facility's blocked list (docs/dial.md).
		// A live number (pending or approved) holds its slot digit and its
		// number once per inmate; blocked_version is the roster version the
		// blocked list last changed at, so a sync sends it only then.
		sqlite: `
CREATE TABLE numbers (id INTEGER PRIMARY KEY AUTOINCREMENT, facility TEXT NOT NULL, person TEXT NOT NULL, e164 TEXT NOT NULL,
  slot INTEGER NOT NULL, label TEXT NOT NULL, status TEXT NOT NULL, registered_by TEXT NOT NULL, registered_ms INTEGER NOT NULL,
  decided_by TEXT NOT NULL, decided_ms INTEGER, reason TEXT NOT NULL, valid_from_ms INTEGER, valid_until_ms INTEGER);
CREATE INDEX numbers_by_person ON numbers (facility, person);
CREATE INDEX numbers_by_e164 ON numbers (facility, e164);
CREATE UNIQUE INDEX numbers_live_slot ON numbers (facility, person, slot) WHERE slot > 0 AND status IN ('pending', 'approved');
CREATE UNIQUE INDEX numbers_live_e164 ON numbers (facility, person, e164) WHERE status IN ('pending', 'approved');
CREATE TABLE blocked_numbers (facility TEXT NOT NULL, e164 TEXT NOT NULL, reason TEXT NOT NULL, added_by TEXT NOT NULL,
  added_ms INTEGER NOT NULL, PRIMARY KEY (facility, e164));
ALTER TABLE facilities ADD COLUMN blocked_version INTEGER NOT NULL DEFAULT 0`,
		postgres: `
CREATE TABLE numbers (id BIGSERIAL PRIMARY KEY, facility TEXT NOT NULL, person TEXT NOT NULL, e164 TEXT NOT NULL,
  slot INTEGER NOT NULL, label TEXT NOT NULL, status TEXT NOT NULL, registered_by TEXT NOT NULL, registered_ms BIGINT NOT NULL,
  decided_by TEXT NOT NULL, decided_ms BIGINT, reason TEXT NOT NULL, valid_from_ms BIGINT, valid_until_ms BIGINT);
CREATE INDEX numbers_by_person ON numbers (facility, person);
CREATE INDEX numbers_by_e164 ON numbers (facility, e164);
CREATE UNIQUE INDEX numbers_live_slot ON numbers (facility, person, slot) WHERE slot > 0 AND status IN ('pending', 'approved');
CREATE UNIQUE INDEX numbers_live_e164 ON numbers (facility, person, e164) WHERE status IN ('pending', 'approved');
CREATE TABLE blocked_numbers (facility TEXT NOT NULL, e164 TEXT NOT NULL, reason TEXT NOT NULL, added_by TEXT NOT NULL,
  added_ms BIGINT NOT NULL, PRIMARY KEY (facility, e164));
ALTER TABLE facilities ADD COLUMN blocked_version BIGINT NOT NULL DEFAULT 0`,
	},
	{ // retention (UU 27/2022): a period per facility, the months purged,
		// and on each purged record the hash of its content as it came
		// (sealed), so its chain still verifies once the personal fields of
		// its payload are gone; a month's purge is claimed by one run
		// (purges.run) so its pseudonyms come from one key (retention.go)
		sqlite: `
CREATE TABLE retention (facility TEXT PRIMARY KEY, months INTEGER NOT NULL, set_ms INTEGER NOT NULL);
CREATE TABLE purges (facility TEXT NOT NULL, month TEXT NOT NULL, purged_ms INTEGER NOT NULL, records INTEGER NOT NULL,
  run TEXT NOT NULL DEFAULT '', run_until_ms INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (facility, month));
ALTER TABLE records ADD COLUMN sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN purged_ms INTEGER;
ALTER TABLE conflicts ADD COLUMN purged_ms INTEGER`,
		postgres: `
CREATE TABLE retention (facility TEXT PRIMARY KEY, months INTEGER NOT NULL, set_ms BIGINT NOT NULL);
CREATE TABLE purges (facility TEXT NOT NULL, month TEXT NOT NULL, purged_ms BIGINT NOT NULL, records BIGINT NOT NULL,
  run TEXT NOT NULL DEFAULT '', run_until_ms BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (facility, month));
ALTER TABLE records ADD COLUMN sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN purged_ms BIGINT;
ALTER TABLE conflicts ADD COLUMN purged_ms BIGINT`,
	},
	{ // 13: officer cards approved by a supervisor (issue 16, docs/console.md
		// "Officer cards"): an officer card reaches the booths only once
		// approved; who added it (or last changed its person or role) and
		// who decided it. Officer cards from before are kept approved, by
		// "migration", so no booth loses its officers on upgrade.
		sqlite: `
ALTER TABLE cards ADD COLUMN officer_status TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN added_by TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN added_ms INTEGER;
ALTER TABLE cards ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN decided_ms INTEGER;
ALTER TABLE cards ADD COLUMN reason TEXT NOT NULL DEFAULT '';
UPDATE cards SET officer_status = 'approved', decided_by = 'migration' WHERE role = 'officer'`,
		postgres: `
ALTER TABLE cards ADD COLUMN officer_status TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN added_by TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN added_ms BIGINT;
ALTER TABLE cards ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
ALTER TABLE cards ADD COLUMN decided_ms BIGINT;
ALTER TABLE cards ADD COLUMN reason TEXT NOT NULL DEFAULT '';
UPDATE cards SET officer_status = 'approved', decided_by = 'migration' WHERE role = 'officer'`,
	},
	{ // 14: the cards of a person. An import checks every person of its
		// batch against the roster (one person, one role); without this
		// index each check read the whole facility, and re-importing a
		// roster of 20,000 cards took 82 s on SQLite, holding the one
		// writer (every upload and tap) for all of it.
		sqlite:   `CREATE INDEX cards_by_person ON cards (facility, person, card)`,
		postgres: `CREATE INDEX cards_by_person ON cards (facility, person, card)`,
	},
	{ // 15: where a card's block comes from. blocked stays what booths and
		// lookups read; blocked_in_file is what the last import's line said,
		// blocked_by_hand an officer's block at the console or the CLI, and
		// blocked is set while either is. Before, the nightly import wrote
		// blocked from its file, so a card an officer blocked for misuse was
		// unblocked by the next file that did not block it. Cards blocked
		// before this step count as blocked by hand (which of the two
		// blocked them is not known): an import never lifts them; an
		// officer does, and the import names them (docs/gateway.md).
		sqlite: `
ALTER TABLE cards ADD COLUMN blocked_in_file INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cards ADD COLUMN blocked_by_hand INTEGER NOT NULL DEFAULT 0;
UPDATE cards SET blocked_by_hand = blocked`,
		postgres: `
ALTER TABLE cards ADD COLUMN blocked_in_file INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cards ADD COLUMN blocked_by_hand INTEGER NOT NULL DEFAULT 0;
UPDATE cards SET blocked_by_hand = blocked`,
	},
	{ // 16: the charges of conflicting versions that name another inmate
		// or period than their seq's fact. The fact of a seq is one version
		// (the one charging most); a version naming someone else used to
		// take the fact over when it charged more, so an edited or
		// restored store could move a call's charge off the inmate who made
		// it (onto a crony, or a period long gone). Each inmate and period a
		// version names is now charged the most any version claims for it.
		sqlite: `
CREATE TABLE conflict_charges (device TEXT NOT NULL, chain TEXT NOT NULL, seq INTEGER NOT NULL, facility TEXT NOT NULL,
  inmate TEXT NOT NULL, period TEXT NOT NULL, month TEXT NOT NULL, charged_ms INTEGER NOT NULL,
  PRIMARY KEY (device, chain, seq, inmate, period));
CREATE INDEX conflict_charges_balance ON conflict_charges (facility, inmate, period)`,
		postgres: `
CREATE TABLE conflict_charges (device TEXT NOT NULL, chain TEXT NOT NULL, seq BIGINT NOT NULL, facility TEXT NOT NULL,
  inmate TEXT NOT NULL, period TEXT NOT NULL, month TEXT NOT NULL, charged_ms BIGINT NOT NULL,
  PRIMARY KEY (device, chain, seq, inmate, period));
CREATE INDEX conflict_charges_balance ON conflict_charges (facility, inmate, period)`,
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

// sumMs is an SQL expression summing a column of milliseconds that never
// fails on overflow: SQLite's SUM raises "integer overflow" and
// PostgreSQL's returns a numeric the driver cannot scan into an int64, so
// one forged value would break every balance and report that adds it.
// The sum saturates at the largest int64 instead (values are bounded at
// ingest, so this is a second line, for rows written before the bounds).
func (s *sqlStore) sumMs(col string) string {
	if s.dialect == postgres {
		return `CAST(GREATEST(LEAST(COALESCE(SUM(` + col + `), 0), 9223372036854775807), -9223372036854775808) AS BIGINT)`
	}
	// TOTAL is a float sum that never overflows; CAST saturates it.
	return `CAST(TOTAL(` + col + `) AS INTEGER)`
}

// rowsChanged is how many rows an update (Exec's answer) changed: the
// writes guarded by what they read check it was the one row they meant.
func rowsChanged(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// durMs converts milliseconds to a Duration, saturating instead of
// wrapping (policy.Millis).
func durMs(n int64) time.Duration { return policy.Millis(n) }

func timeOf(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64).UTC()
}

// absent tells a missing row from a failure.
func absent(err error) bool { return errors.Is(err, sql.ErrNoRows) }
