package store

import (
	"database/sql"
	"fmt"
)

// migrations are the schema steps in order; migrations[i] takes a file from
// version i to version i+1 (PRAGMA user_version). Append only: a step that
// shipped is never edited, because booths in the field already ran it.
var migrations = []string{
	// 1: roster, own usage, call journal, outbox and chain head.
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
CREATE TABLE cards (
	card         TEXT PRIMARY KEY,
	role         TEXT NOT NULL CHECK (role IN ('inmate', 'officer')),
	person       TEXT NOT NULL,
	name         TEXT NOT NULL DEFAULT '',
	block        TEXT NOT NULL DEFAULT '',
	allowance_ms INTEGER NOT NULL DEFAULT 0 CHECK (allowance_ms >= 0),
	blocked      INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1))
) STRICT;
CREATE TABLE usage (
	inmate     TEXT NOT NULL,
	period     TEXT NOT NULL,
	used_ms    INTEGER NOT NULL DEFAULT 0,
	granted_ms INTEGER NOT NULL DEFAULT 0,
	last_end   INTEGER NOT NULL DEFAULT 0, -- unix ns of the last call's end, 0 = none
	PRIMARY KEY (inmate, period)
) STRICT;
-- AUTOINCREMENT: a call id is never reused, even after its row is deleted.
CREATE TABLE journal (
	call_id   INTEGER PRIMARY KEY AUTOINCREMENT,
	call      BLOB NOT NULL,    -- record.Call as JSON, as authorised
	talked_ms INTEGER NOT NULL DEFAULT 0,
	opened    INTEGER NOT NULL, -- unix ns
	updated   INTEGER NOT NULL  -- unix ns of the last checkpoint
) STRICT;
CREATE TABLE outbox (
	seq     INTEGER PRIMARY KEY,
	kind    TEXT NOT NULL,
	payload BLOB NOT NULL,
	prev    TEXT NOT NULL,
	hash    TEXT NOT NULL,
	created INTEGER NOT NULL -- unix ns
) STRICT;
-- 'head' is the last record appended, 'acked' the last the centre confirmed.
-- Kept apart from the outbox because acknowledged rows are deleted.
CREATE TABLE chain (
	name TEXT PRIMARY KEY CHECK (name IN ('head', 'acked')),
	seq  INTEGER NOT NULL,
	hash TEXT NOT NULL
) STRICT;
INSERT INTO chain(name, seq, hash) VALUES
	('head', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
	('acked', 0, '0000000000000000000000000000000000000000000000000000000000000000');
INSERT INTO meta(key, value) VALUES ('roster_version', '0');
CREATE TABLE probe (data BLOB) STRICT;
`,
	// 2: the centre's view of usage, and the booth's own usage as a ledger
	// by record seq, so that what the centre already counted is not counted
	// twice (see SetSyncedUsage).
	`
CREATE TABLE ledger (
	seq        INTEGER PRIMARY KEY,
	inmate     TEXT NOT NULL,
	period     TEXT NOT NULL,
	used_ms    INTEGER NOT NULL,
	granted_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX ledger_by_inmate ON ledger(inmate, period, seq);
CREATE TABLE synced_usage (
	inmate      TEXT NOT NULL,
	period      TEXT NOT NULL,
	used_ms     INTEGER NOT NULL,
	granted_ms  INTEGER NOT NULL,
	through_seq INTEGER NOT NULL, -- the centre's figures include own records up to this seq
	PRIMARY KEY (inmate, period)
) STRICT;
`,
	// 3: what each officer credited at this booth, by the record's wall
	// clock, so the booth can hold an officer to the per-day cap
	// (OfficerCredits); kept after the outbox row is acknowledged.
	`
CREATE TABLE officer_credits (
	seq       INTEGER PRIMARY KEY,
	officer   TEXT NOT NULL,
	at        INTEGER NOT NULL, -- unix ns, the record's wall clock
	credit_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX officer_credits_by_officer ON officer_credits(officer, at);
`,
	// 4: the offline cap (policy.Request.OfflineUsed): what each own record
	// charged for a call authorised offline, and the centre's balance at the
	// last online authorise with the seq its count of this booth's records
	// is known to reach (the acknowledged head). A store from before did not
	// keep the offline charges: all its usage counts as offline, so an
	// upgrade never grants more than the cap offline in a period (fail
	// closed; online calls are unaffected).
	`
ALTER TABLE ledger ADD COLUMN offline_ms INTEGER NOT NULL DEFAULT 0;
UPDATE ledger SET offline_ms = used_ms;
CREATE TABLE centre_balance (
	inmate       TEXT NOT NULL,
	period       TEXT NOT NULL,
	remaining_ms INTEGER NOT NULL, -- the centre's answer at the last online authorise
	after_seq    INTEGER NOT NULL, -- own records above this seq may not be in it
	PRIMARY KEY (inmate, period)
) STRICT;
`,
	// 5: the chain identity. A store that already wrote records keeps the
	// legacy chain "", so the centre sees its chain go on unbroken; any
	// other store gets a fresh identity from claimChain at open.
	`
INSERT INTO meta(key, value) SELECT 'chain', '' FROM chain WHERE name = 'head' AND seq > 0;
`,
	// 6: a paged roster sync in progress: the pages received so far and
	// where the sync stands, apart from the roster taps are answered from
	// until a whole version is applied (see ApplyStaged).
	`
CREATE TABLE roster_staged (
	card         TEXT PRIMARY KEY,
	deleted      INTEGER NOT NULL CHECK (deleted IN (0, 1)),
	role         TEXT NOT NULL, -- '' for a delete
	person       TEXT NOT NULL,
	name         TEXT NOT NULL,
	block        TEXT NOT NULL,
	allowance_ms INTEGER NOT NULL CHECK (allowance_ms >= 0),
	blocked      INTEGER NOT NULL CHECK (blocked IN (0, 1))
) STRICT;
CREATE TABLE roster_stage (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	stage TEXT NOT NULL -- record.RosterStage as JSON
) STRICT;
`,
	// 7: registered numbers, by the inmate (person) they are registered
	// for, and the facility's blocked list, both applied with the roster
	// version (docs/dial.md); a staged card keeps its numbers as JSON. A
	// roster held from before came without numbers, and deltas from its
	// version would bring only the numbers that changed since: the version
	// held goes back to 0, so the next sync is a full one (the cards stay
	// until it is applied).
	`
CREATE TABLE numbers (
	id            INTEGER NOT NULL,
	person        TEXT NOT NULL,
	e164          TEXT NOT NULL,
	slot          INTEGER NOT NULL CHECK (slot BETWEEN 0 AND 9),
	label         TEXT NOT NULL,
	registered_by TEXT NOT NULL,
	approved_by   TEXT NOT NULL,
	valid_from    INTEGER NOT NULL, -- unix ms, 0 = no start
	valid_until   INTEGER NOT NULL, -- unix ms, 0 = no end
	PRIMARY KEY (person, id)
) STRICT;
CREATE TABLE blocked_numbers (e164 TEXT PRIMARY KEY) STRICT;
ALTER TABLE roster_staged ADD COLUMN numbers TEXT NOT NULL DEFAULT '[]';
UPDATE meta SET value = '0' WHERE key = 'roster_version';
`,
	// 8: the answer of a dialled call in the journal (Store.Answered), so
	// that a call recovered after a power cut says when it was answered.
	// Calls journaled before keep 0: recovery tells them by their talk.
	`
ALTER TABLE journal ADD COLUMN answered INTEGER NOT NULL DEFAULT 0; -- unix ns, 0 = not answered (or a relay-only call)
`,
	// 9: the journal without AUTOINCREMENT, so that journaling a call
	// writes one page (the journal's) and not also sqlite_sequence's: a
	// second WAL frame in the commit the relay waits for
	// (docs/benchmarks.md). Ids are still never reused: the row with the
	// highest id stays, marked closed, when its call closes (CloseCall), so
	// the next id, one above the highest row, is above every id given. The
	// highest id AUTOINCREMENT gave, when its row is gone, comes across as
	// such a closed row.
	`
CREATE TABLE journal_v9 (
	call_id   INTEGER PRIMARY KEY,
	call      BLOB NOT NULL,    -- record.Call as JSON, as authorised; empty once closed
	talked_ms INTEGER NOT NULL DEFAULT 0,
	opened    INTEGER NOT NULL, -- unix ns
	updated   INTEGER NOT NULL, -- unix ns of the last checkpoint
	answered  INTEGER NOT NULL DEFAULT 0, -- unix ns, 0 = not answered (or a relay-only call)
	closed    INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1))
) STRICT;
INSERT INTO journal_v9(call_id, call, talked_ms, opened, updated, answered)
	SELECT call_id, call, talked_ms, opened, updated, answered FROM journal;
INSERT INTO journal_v9(call_id, call, opened, updated, closed)
	SELECT seq, X'', 0, 0, 1 FROM sqlite_sequence
	WHERE name = 'journal' AND seq > (SELECT coalesce(max(call_id), 0) FROM journal);
DROP TABLE journal;
ALTER TABLE journal_v9 RENAME TO journal;
`,
}

// migrate brings db to schema version target, one transaction per step.
func migrate(db *sql.DB, target int) error {
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this firmware knows (%d): the file was written by newer firmware; install that firmware again, do not downgrade", v, len(migrations))
	}
	for ; v < target; v++ {
		tx, err := db.Begin()
		if err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate schema to version %d: set version: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate schema to version %d: commit: %w", v+1, err)
		}
	}
	return nil
}
