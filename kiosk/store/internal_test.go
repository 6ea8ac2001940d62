package store

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// The pragmas the DSN asks for are in force on the store's connection.
func TestConnectionPragmas(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "b.db"), Options{Device: "d"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"locking_mode", "exclusive"},
		{"busy_timeout", "5000"},
		{"user_version", fmt.Sprint(len(migrations))},
	} {
		var got string
		if err := s.db.QueryRow("PRAGMA " + tc.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
}

// A file at schema version 1 (written by older firmware, with data) is
// migrated on open and keeps its data; a file from newer firmware is refused
// and left as it was.
func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", dsn(path, 5000))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(db, 1); err != nil {
		t.Fatal(err)
	}
	const hash1 = "1111111111111111111111111111111111111111111111111111111111111111"
	for _, q := range []string{
		`INSERT INTO meta(key, value) VALUES ('device', 'd')`,
		`INSERT INTO cards(card, role, person) VALUES ('em:01', 'inmate', 'W-1')`,
		`INSERT INTO usage(inmate, period, used_ms) VALUES ('W-1', 'p', 60000)`,
		`INSERT INTO outbox(seq, kind, payload, prev, hash, created) VALUES (1, 'event', x'7b7d', '` + record.GenesisHash + `', '` + hash1 + `', 0)`,
		`UPDATE chain SET seq = 1, hash = '` + hash1 + `' WHERE name = 'head'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s, err := Open(path, Options{Device: "d"})
	if err != nil {
		t.Fatal(err)
	}
	var v int
	s.db.QueryRow("PRAGMA user_version").Scan(&v)
	if v != len(migrations) {
		t.Fatalf("version after open %d, want %d", v, len(migrations))
	}
	if _, ok, err := s.Card("em:01"); !ok || err != nil {
		t.Fatalf("card lost in migration: %v", err)
	}
	if u, err := s.Usage("W-1", "p"); err != nil || u.Used.Milliseconds() != 60000 {
		t.Fatalf("usage after migration %+v, %v", u, err)
	}
	if seq, hash := s.Head(); seq != 1 || hash != hash1 {
		t.Fatalf("head after migration #%d %s", seq, hash)
	}
	if _, err := s.db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	_, err = Open(path, Options{Device: "d"})
	if err == nil || !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), path) {
		t.Fatalf("open of a newer file: %v, want refused naming the file", err)
	}
	db, _ = sql.Open("sqlite", path)
	defer db.Close()
	db.QueryRow("PRAGMA user_version").Scan(&v)
	if v != 99 {
		t.Fatalf("refused file was changed to version %d", v)
	}
}

// TestMigrationOfflineUsage: a store at version 2 did not keep which calls
// were authorised offline; after migration 3 all its usage counts as
// offline, so the upgrade never grants more than the cap offline.
func TestMigrationOfflineUsage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v2.db")
	db, err := sql.Open("sqlite", dsn(path, 5000))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(db, 2); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO meta(key, value) VALUES ('device', 'd')`,
		`INSERT INTO usage(inmate, period, used_ms, granted_ms) VALUES ('W-1', 'p', 60000, 30000)`,
		`INSERT INTO ledger(seq, inmate, period, used_ms, granted_ms) VALUES (1, 'W-1', 'p', 60000, 0), (2, 'W-1', 'p', 0, 30000)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s, err := Open(path, Options{Device: "d"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if u, err := s.Usage("W-1", "p"); err != nil || u.OfflineUsed.Milliseconds() != 60000 || u.Centre {
		t.Fatalf("usage after migration %+v, %v; want all 60 s of usage offline, no centre balance", u, err)
	}
}

// SQLite's own size limit (PRAGMA max_page_count) simulates a full disk:
// appends fail with an error IsFull knows, nothing committed is lost, and
// when room returns the store writes again without a reopen. The real full
// file system is TestDiskFull.
func TestDatabaseFull(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "b.db"), Options{Device: "d"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var pages int
	s.db.QueryRow("PRAGMA page_count").Scan(&pages)
	if _, err := s.db.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages+2)); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 1500)
	var committed uint64
	var ferr error
	for range 1000 {
		r, err := s.Event(record.Event{Event: "fill", Detail: big})
		if err != nil {
			ferr = err
			break
		}
		committed = r.Seq
	}
	if ferr == nil {
		t.Fatal("the store never filled")
	}
	if !IsFull(ferr) || !strings.Contains(ferr.Error(), "append event") || !strings.Contains(ferr.Error(), "free space") {
		t.Fatalf("error when full: %v", ferr)
	}
	if err := s.Probe(); err == nil || !IsFull(err) {
		t.Fatalf("probe when full: %v", err)
	}
	if seq, _ := s.Head(); seq != committed {
		t.Fatalf("head #%d, last committed #%d", seq, committed)
	}
	rs, err := s.Pending(0)
	if err != nil || uint64(len(rs)) != committed || record.VerifyChain(nil, rs) != nil {
		t.Fatalf("after full: %d records (want %d), %v", len(rs), committed, err)
	}
	if _, err := s.db.Exec("PRAGMA max_page_count = 1000000"); err != nil {
		t.Fatal(err)
	}
	if err := s.Probe(); err != nil {
		t.Fatalf("probe with room: %v", err)
	}
	r, err := s.Event(record.Event{Event: "recovered"})
	if err != nil || r.Seq != committed+1 {
		t.Fatalf("append after recovery: #%d, %v", r.Seq, err)
	}
}

func TestIsFull(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("database or disk is full"), false}, // only typed errors count
		{fmt.Errorf("x: %w", errFull()), true},
		{&os.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}, true},
		{syscall.EIO, false},
	} {
		if got := IsFull(tc.err); got != tc.want {
			t.Errorf("IsFull(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// errFull returns a real SQLITE_FULL error from SQLite.
func errFull() error {
	db, _ := sql.Open("sqlite", ":memory:")
	defer db.Close()
	db.SetMaxOpenConns(1)
	db.Exec("CREATE TABLE t(x)")
	var n int
	db.QueryRow("PRAGMA page_count").Scan(&n)
	db.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", n))
	_, err := db.Exec("INSERT INTO t VALUES (zeroblob(100000))")
	return err
}

// TestMigrationNumbers: a store that held a roster from before numbers
// asks for a full one at its next sync (its version goes back to 0), and
// keeps its cards until that sync is applied.
func TestMigrationNumbers(t *testing.T) {
	s := openMigrated(t, "CREATE TABLE blocked_numbers",
		`INSERT INTO meta(key, value) VALUES ('device', 'd')`,
		`UPDATE meta SET value = '41' WHERE key = 'roster_version'`,
		`INSERT INTO cards(card, role, person) VALUES ('em:A', 'inmate', 'W-1')`)
	if v, err := s.RosterVersion(); err != nil || v != 0 {
		t.Fatalf("roster version after migration %d, %v; want 0 (a full sync next)", v, err)
	}
	if _, ok, err := s.Card("em:A"); !ok || err != nil {
		t.Fatalf("the card held before is gone: %v", err)
	}
}

// TestMigrationJournalAnswer: a call journaled before the journal kept
// answers comes back unanswered (recovery tells it by its talk), and the
// migrated journal keeps the answer of the next.
func TestMigrationJournalAnswer(t *testing.T) {
	s := openMigrated(t, "ADD COLUMN answered",
		`INSERT INTO meta(key, value) VALUES ('device', 'd')`,
		`INSERT INTO journal(call, talked_ms, opened, updated) VALUES (CAST('{"inmate":"W-1","period":"p","number_id":7}' AS BLOB), 10000, 1, 1)`)
	calls, err := s.OpenCalls()
	if err != nil || len(calls) != 1 || calls[0].Call.TalkedMs != 10000 || !calls[0].Call.AnsweredAt.IsZero() {
		t.Fatalf("open calls after migration %+v (%v): want the call, its talk, no answer", calls, err)
	}
	if err := s.Answered(calls[0].CallID, time.Unix(100, 0)); err != nil {
		t.Fatalf("answer after migration: %v", err)
	}
}

// openMigrated makes a store of the schema just before the migration whose
// text holds marker, runs the statements in it, and opens it as a booth
// would, migrating it the rest of the way. It closes with the test.
func openMigrated(t *testing.T, marker string, before ...string) *Store {
	t.Helper()
	step := slices.IndexFunc(migrations, func(m string) bool { return strings.Contains(m, marker) })
	if step < 0 {
		t.Fatalf("no migration holds %q", marker)
	}
	path := filepath.Join(t.TempDir(), "before.db")
	db, err := sql.Open("sqlite", dsn(path, 5000))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(db, step); err != nil {
		t.Fatal(err)
	}
	for _, q := range before {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s, err := Open(path, Options{Device: "d"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestJournalCommitWritesOnePage: journaling a call, the commit the relay
// waits for, writes one WAL frame (the journal's page), not also
// sqlite_sequence's as AUTOINCREMENT made it; and so do the commits of
// closing calls leave it so.
func TestJournalCommitWritesOnePage(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "b.db"), Options{Device: "d"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := record.Call{Card: "em:W-1", Inmate: "W-1", Period: "p", MaxMs: 60000}
	for i := range 3 { // a journal that has seen calls come and go
		id, err := s.OpenCall(c)
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			c.CallID = id
			if _, err := s.CloseCall(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	// After a checkpoint that restarts it, the WAL's frames are the
	// commits' own; PASSIVE reports how many there are.
	frames := func() int {
		var busy, log, done int
		if err := s.db.QueryRow("PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &log, &done); err != nil || busy != 0 {
			t.Fatalf("checkpoint: busy %d, %v", busy, err)
		}
		return log
	}
	frames()
	const n = 10
	for range n {
		if _, err := s.OpenCall(c); err != nil {
			t.Fatal(err)
		}
	}
	if got := frames(); got != n {
		t.Fatalf("%d journal commits wrote %d WAL frames, want %d (one page each)", n, got, n)
	}
}

// TestMigrationJournalIds: the journal rebuilt without AUTOINCREMENT keeps
// its open calls, and never gives again an id AUTOINCREMENT gave, even one
// whose row was deleted before the upgrade.
func TestMigrationJournalIds(t *testing.T) {
	insert := `INSERT INTO journal(call, talked_ms, opened, updated, answered) VALUES (CAST('{"inmate":"W-1","period":"p"}' AS BLOB), 7000, 1, 1, 5)`
	for _, tc := range []struct {
		name    string
		before  []string
		open    []int64 // open calls after the upgrade
		next    int64   // the id of the next call
		closing int64   // closing this call, then opening one, gives next+1
	}{
		{"empty, never used", nil, nil, 1, 0},
		{"open calls kept", []string{insert, insert}, []int64{1, 2}, 3, 2},
		{"newest closed before", []string{insert, insert, insert, `DELETE FROM journal WHERE call_id IN (2, 3)`}, []int64{1}, 4, 1},
		{"all closed before", []string{insert, insert, `DELETE FROM journal`}, nil, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openMigrated(t, "CREATE TABLE journal_v9", append([]string{`INSERT INTO meta(key, value) VALUES ('device', 'd')`}, tc.before...)...)
			calls, err := s.OpenCalls()
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, c := range calls {
				ids = append(ids, c.CallID)
				if c.Call.Inmate != "W-1" || c.Call.TalkedMs != 7000 || c.Call.AnsweredAt.UnixNano() != 5 {
					t.Fatalf("call %d after the upgrade: %+v", c.CallID, c.Call)
				}
			}
			if !slices.Equal(ids, tc.open) {
				t.Fatalf("open calls after the upgrade %v, want %v", ids, tc.open)
			}
			c := record.Call{Card: "em:W-1", Inmate: "W-1", Period: "p", MaxMs: 60000}
			id, err := s.OpenCall(c)
			if err != nil || id != tc.next {
				t.Fatalf("first call after the upgrade got id %d (%v), want %d", id, err, tc.next)
			}
			// Closing the newest call keeps its row: the next id is above it.
			c.CallID = id
			if _, err := s.CloseCall(c); err != nil {
				t.Fatal(err)
			}
			if id, err := s.OpenCall(c); err != nil || id != tc.next+1 {
				t.Fatalf("call after closing %d got id %d (%v), want %d", tc.next, id, err, tc.next+1)
			}
			if tc.closing != 0 {
				if _, err := s.CloseCall(record.Call{CallID: tc.closing, Inmate: "W-1", Period: "p"}); err != nil {
					t.Fatalf("close call %d kept from before the upgrade: %v", tc.closing, err)
				}
			}
			// The journal keeps no more closed rows than the one an id
			// may need: a close deletes the others.
			var rows int
			if err := s.db.QueryRow(`SELECT count(*) FROM journal WHERE closed = 1`).Scan(&rows); err != nil || rows > 1 {
				t.Fatalf("%d closed rows kept, want at most one (%v)", rows, err)
			}
		})
	}
}

// TestStoreHeldByOneProcess: while a booth has its store open, a second
// opener (a second daemon, a technician's shell) is refused with an error
// that says why, the booth keeps working, and no -shm file is made: the
// WAL index is the booth's own memory. Once the booth closes, it opens.
func TestStoreHeldByOneProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.db")
	s, err := Open(path, Options{Device: "d"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := record.Call{Card: "em:W-1", Inmate: "W-1", Period: "p", MaxMs: 60000}
	if _, err := s.OpenCall(c); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{Device: "d", BusyTimeoutMs: 50}); err == nil || !strings.Contains(err.Error(), "another process holds the store") {
		t.Fatalf("second open beside the booth: %v, want refused as held", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(50)")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM journal").Scan(&n); err == nil {
		t.Fatalf("a read-only shell read the journal beside the booth (%d rows)", n)
	}
	db.Close()
	if _, err := s.OpenCall(c); err != nil {
		t.Fatalf("the booth after a refused opener: %v", err)
	}
	if _, err := os.Stat(path + "-shm"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("-shm file beside the store: %v, want none", err)
	}
	s.Close()
	s2, err := Open(path, Options{Device: "d", BusyTimeoutMs: 50})
	if err != nil {
		t.Fatalf("open after the booth closed: %v", err)
	}
	s2.Close()
}
