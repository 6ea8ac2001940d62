package store_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"wartelsuspas/clock"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/kiosk/store"
)

// The engine's contract: the store implements it exactly.
var _ session.Store = (*store.Store)(nil)

const device = "lapas-test/b01"

var t0 = time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)

func open(t testing.TB, path string) *store.Store {
	t.Helper()
	s, err := store.Open(path, store.Options{Device: device, Clock: clock.NewFake(t0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// besideBooth runs q on a connection of its own to the store's file, as a
// technician's sqlite3 would: the booth holds the file locked while it is
// open, so s is closed first, and the store opened again is returned.
func besideBooth(t testing.TB, s *store.Store, path, q string) *store.Store {
	t.Helper()
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return open(t, path)
}

func newStore(t testing.TB) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "booth.db")
	return open(t, path), path
}

func call(inmate, period string) record.Call {
	return record.Call{Card: "em:" + inmate, Inmate: inmate, Period: period, AuthorisedAt: t0, MaxMs: 600000}
}

// verifyAll checks the whole pending chain from the acknowledged head and
// that the store's head is its last link.
func verifyAll(t testing.TB, s *store.Store) []record.Record {
	t.Helper()
	rs, err := s.Pending(0)
	if err != nil {
		t.Fatal(err)
	}
	aseq, ahash, err := s.Acked()
	if err != nil {
		t.Fatal(err)
	}
	var prev *record.Record
	if aseq > 0 {
		prev = &record.Record{Seq: aseq, Hash: ahash}
	}
	if err := record.VerifyChain(prev, rs); err != nil {
		t.Fatalf("chain: %v", err)
	}
	hseq, hhash := s.Head()
	if len(rs) == 0 {
		if hseq != aseq || hhash != ahash {
			t.Fatalf("head #%d %s, acked #%d %s, nothing pending", hseq, hhash, aseq, ahash)
		}
		return rs
	}
	if last := rs[len(rs)-1]; last.Seq != hseq || last.Hash != hhash {
		t.Fatalf("head #%d %s, last pending #%d %s", hseq, hhash, last.Seq, last.Hash)
	}
	return rs
}

func TestOpenRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	if _, err := store.Open(filepath.Join(dir, "a.db"), store.Options{}); err == nil || !strings.Contains(err.Error(), "device") {
		t.Fatalf("open without device: %v, want an error naming the device id", err)
	}
	path := filepath.Join(dir, "b.db")
	s, err := store.Open(path, store.Options{Device: "booth-a"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = store.Open(path, store.Options{Device: "booth-b"})
	if err == nil || !strings.Contains(err.Error(), `"booth-a"`) || !strings.Contains(err.Error(), path) {
		t.Fatalf("open as another device: %v, want an error naming the file and its booth", err)
	}
}

func TestPragmas(t *testing.T) {
	s, path := newStore(t)
	// A second, independent connection sees the persistent settings once
	// the booth has let the file go; the per-connection ones are checked
	// through the DSN in the internal test.
	s.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestRoster(t *testing.T) {
	s, path := newStore(t)
	if v, err := s.RosterVersion(); err != nil || v != 0 {
		t.Fatalf("fresh roster version = %d, %v", v, err)
	}
	a := record.CardInfo{Card: "em:01", Role: record.RoleInmate, Person: "W-1", Name: "Budi", Block: "A", Allowance: 30 * time.Minute}
	b := record.CardInfo{Card: "em:02", Role: record.RoleOfficer, Person: "P-9", Name: "Sari"}
	c := record.CardInfo{Card: "em:03", Role: record.RoleInmate, Person: "W-3", Blocked: true}
	steps := []struct {
		name    string
		version int64
		upserts []record.CardInfo
		deletes []string
		wantErr string
		want    map[string]*record.CardInfo // nil value: absent
		wantVer int64
	}{
		{"first", 3, []record.CardInfo{a, b}, nil, "", map[string]*record.CardInfo{"em:01": &a, "em:02": &b, "em:03": nil}, 3},
		{"upsert and delete", 5, []record.CardInfo{c, {Card: "em:01", Role: record.RoleInmate, Person: "W-1", Blocked: true}}, []string{"em:02", "em:unknown"}, "",
			map[string]*record.CardInfo{"em:01": {Card: "em:01", Role: record.RoleInmate, Person: "W-1", Blocked: true}, "em:02": nil, "em:03": &c}, 5},
		{"same version again", 5, nil, []string{"em:03"}, "", map[string]*record.CardInfo{"em:03": nil}, 5},
		{"older version refused", 4, []record.CardInfo{b}, nil, "out of date", map[string]*record.CardInfo{"em:02": nil}, 5},
		{"bad role refused whole", 6, []record.CardInfo{b, {Card: "em:09", Role: "warden", Person: "X"}}, nil, "warden", map[string]*record.CardInfo{"em:02": nil, "em:09": nil}, 5},
		{"no card id", 6, []record.CardInfo{{Role: record.RoleInmate, Person: "X"}}, nil, "no card id", nil, 5},
	}
	for _, st := range steps {
		err := s.ApplyRoster(st.version, st.upserts, st.deletes)
		if st.wantErr == "" && err != nil || st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)) {
			t.Fatalf("%s: ApplyRoster: %v, want error %q", st.name, err, st.wantErr)
		}
		for card, want := range st.want {
			got, ok, err := s.Card(card)
			if err != nil {
				t.Fatal(err)
			}
			if want == nil && ok || want != nil && (!ok || !reflect.DeepEqual(got, *want)) {
				t.Fatalf("%s: Card(%s) = %+v, %v; want %+v", st.name, card, got, ok, want)
			}
		}
		if v, _ := s.RosterVersion(); v != st.wantVer {
			t.Fatalf("%s: version %d, want %d", st.name, v, st.wantVer)
		}
	}
	if ids, err := s.CardIDs(); err != nil || strings.Join(ids, ",") != "em:01" {
		t.Fatalf("CardIDs = %v, %v; want [em:01]", ids, err)
	}
	s.Close()
	s = open(t, path)
	if got, ok, _ := s.Card("em:03"); ok {
		t.Fatalf("deleted card back after reopen: %+v", got)
	}
	if v, _ := s.RosterVersion(); v != 5 {
		t.Fatalf("version after reopen %d", v)
	}
}

func TestCallRoundTrip(t *testing.T) {
	s, path := newStore(t)
	c1 := call("W-1", "2026-11-29")
	c1.Offline = true
	id1, err := s.OpenCall(c1)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := s.OpenCall(call("W-2", "2026-11-29"))
	if err != nil {
		t.Fatal(err)
	}
	if id1 == id2 {
		t.Fatalf("two open calls share id %d", id1)
	}
	if err := s.Checkpoint(id1, 5*time.Second+700*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(999, time.Second); err == nil || !strings.Contains(err.Error(), "not open") {
		t.Fatalf("checkpoint of unknown call: %v", err)
	}
	s.Close()
	s = open(t, path) // the journal is on disk, as after a power cut

	open, err := s.OpenCalls()
	if err != nil {
		t.Fatal(err)
	}
	want1 := c1
	want1.CallID, want1.TalkedMs = id1, 5700
	if len(open) != 2 || open[0].CallID != id1 || open[1].CallID != id2 {
		t.Fatalf("open calls %+v, want ids %d, %d", open, id1, id2)
	}
	if got := open[0].Call; !got.AuthorisedAt.Equal(want1.AuthorisedAt) || got.CallID != want1.CallID || got.TalkedMs != 5700 || got.Inmate != "W-1" || !got.Offline || got.MaxMs != want1.MaxMs {
		t.Fatalf("open call %+v, want %+v", got, want1)
	}

	closed := open[0].Call
	closed.EndReason, closed.ChargedMs = "power_loss", 5000
	r, err := s.CloseCall(closed)
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 1 || r.Kind != record.KindCall || r.Device != device {
		t.Fatalf("record %+v", r)
	}
	var got record.Call
	if err := json.Unmarshal(r.Payload, &got); err != nil || got.ChargedMs != 5000 || got.EndReason != "power_loss" || got.CallID != id1 {
		t.Fatalf("payload %s (%v)", r.Payload, err)
	}
	if _, err := s.CloseCall(closed); err == nil || !strings.Contains(err.Error(), "not open") {
		t.Fatalf("second close of call %d: %v, want refused", id1, err)
	}
	u, err := s.Usage("W-1", "2026-11-29")
	if err != nil || u.Used != 5*time.Second || u.Granted != 0 || !u.LastEnd.Equal(t0) {
		t.Fatalf("usage %+v, %v", u, err)
	}
	if open, _ := s.OpenCalls(); len(open) != 1 || open[0].CallID != id2 {
		t.Fatalf("after close, open calls %+v", open)
	}
	// Ids are never reused, even after the newest row is deleted.
	c2 := open[1].Call
	c2.ChargedMs = 0
	if _, err := s.CloseCall(c2); err != nil {
		t.Fatal(err)
	}
	id3, err := s.OpenCall(call("W-3", "2026-11-29"))
	if err != nil || id3 <= id2 {
		t.Fatalf("new call id %d after %d (%v)", id3, id2, err)
	}
	if _, err := s.OpenCall(record.Call{Card: "em:x"}); err == nil {
		t.Fatal("a call with no inmate was journaled")
	}
	verifyAll(t, s)
}

func TestRecordsAndUsage(t *testing.T) {
	s, _ := newStore(t)
	const p = "2026-11"
	id, _ := s.OpenCall(call("W-1", p))
	c := call("W-1", p)
	c.CallID, c.TalkedMs, c.ChargedMs, c.EndReason = id, 61000, 120000, "hangup"
	if _, err := s.CloseCall(c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Officer(record.Officer{At: t0, Officer: "P-9", Action: "reset", Inmate: "W-1", Period: p, CreditMs: 120000}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Officer(record.Officer{At: t0, Officer: "P-9", Action: "grant", Inmate: "W-1", Period: p, CreditMs: 300000}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Officer(record.Officer{At: t0, Officer: "P-9", Action: "enter"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Officer(record.Officer{Officer: "P-9", Action: "grant", CreditMs: 1000}); err == nil {
		t.Fatal("a credit with no inmate was accepted")
	}
	if _, err := s.Deny(record.Denial{At: t0, Card: "em:77", Reason: "unknown_card"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Event(record.Event{At: t0, Event: "tamper"}); err != nil {
		t.Fatal(err)
	}
	u, err := s.Usage("W-1", p)
	if err != nil || u.Used != 2*time.Minute || u.Granted != 7*time.Minute {
		t.Fatalf("usage %+v, %v", u, err)
	}
	if u, _ := s.Usage("W-1", "2026-12"); u != (record.Usage{}) {
		t.Fatalf("other period %+v", u)
	}
	rs := verifyAll(t, s)
	kinds := []record.Kind{record.KindCall, record.KindOfficer, record.KindOfficer, record.KindOfficer, record.KindDenial, record.KindEvent}
	if len(rs) != len(kinds) {
		t.Fatalf("%d records, want %d", len(rs), len(kinds))
	}
	for i, k := range kinds {
		if rs[i].Kind != k {
			t.Fatalf("record %d kind %s, want %s", i, rs[i].Kind, k)
		}
	}
}

// TestOfflineView: the store keeps, per inmate and period, what it charged
// for calls authorised offline, and the centre's balance at an online
// authorise with the acknowledged head as its mark; offline usage and usage
// since count from that mark, across a reopen (a restart or power cut).
func TestOfflineView(t *testing.T) {
	s, path := newStore(t)
	const p = "2026-11-30"
	closeCall := func(inmate, period string, charged int64, offline bool) uint64 {
		t.Helper()
		c := call(inmate, period)
		c.Offline = offline
		id, err := s.OpenCall(c)
		if err != nil {
			t.Fatal(err)
		}
		c.CallID, c.ChargedMs = id, charged
		r, err := s.CloseCall(c)
		if err != nil {
			t.Fatal(err)
		}
		return r.Seq
	}
	check := func(when, inmate, period string, want record.Usage) {
		t.Helper()
		u, err := s.Usage(inmate, period)
		if err != nil || u.OfflineUsed != want.OfflineUsed || u.Centre != want.Centre || u.CentreRemaining != want.CentreRemaining {
			t.Errorf("%s: Usage(%s, %s) = %+v, %v; want offline %v, centre %v %v", when, inmate, period, u, err,
				want.OfflineUsed, want.Centre, want.CentreRemaining)
		}
	}
	closeCall("W-1", p, 60000, true)
	seq2 := closeCall("W-1", p, 120000, false)
	closeCall("W-1", p, 30000, true) // #3, not yet acknowledged
	closeCall("W-1", "2026-11-29", 40000, true)
	closeCall("W-2", p, 50000, true)
	check("no balance from the centre", "W-1", p, record.Usage{OfflineUsed: 90 * time.Second})
	unconfirmed := func(when string, want time.Duration) {
		t.Helper()
		if u, err := s.Usage("W-1", p); err != nil || u.Unconfirmed != want {
			t.Errorf("%s: Usage(W-1).Unconfirmed = %v (%v), want %v: the booth's own charges the centre has not confirmed", when, u.Unconfirmed, err, want)
		}
	}
	unconfirmed("nothing acknowledged", 210*time.Second)

	// The centre confirmed up to #2, then answered 5 min: #3 may not be in
	// its count, so it counts against both the balance and the cap.
	if err := s.Ack(seq2); err != nil {
		t.Fatal(err)
	}
	unconfirmed("acknowledged up to #2", 30*time.Second)
	if err := s.SetCentreBalance("W-1", p, 5*time.Minute, seq2); err != nil {
		t.Fatal(err)
	}
	check("after the centre's answer", "W-1", p, record.Usage{OfflineUsed: 30 * time.Second, Centre: true, CentreRemaining: 4*time.Minute + 30*time.Second})
	closeCall("W-1", p, 20000, true)
	if _, err := s.Officer(record.Officer{Officer: "PTG", Action: "grant", Inmate: "W-1", Period: p, CreditMs: 90000}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	check("after a reopen", "W-1", p, record.Usage{OfflineUsed: 50 * time.Second, Centre: true, CentreRemaining: 5*time.Minute + 40*time.Second})
	check("another period", "W-1", "2026-11-29", record.Usage{OfflineUsed: 40 * time.Second})
	check("another inmate", "W-2", p, record.Usage{OfflineUsed: 50 * time.Second})
	check("nobody", "W-3", p, record.Usage{})
	// A newer answer replaces the older.
	if err := s.SetCentreBalance("W-1", p, time.Minute, seq2); err != nil {
		t.Fatal(err)
	}
	check("a newer answer", "W-1", p, record.Usage{OfflineUsed: 50 * time.Second, Centre: true, CentreRemaining: time.Minute + 40*time.Second})
}

// TestCentreBalanceCountsFromBeforeTheAsk: the booth reads the usage, asks
// the centre, and an upload is confirmed while the answer is on its way.
// The balance counts this booth's records only up to the head read before
// the ask (Usage's Confirmed), so the call confirmed meanwhile still counts
// against it: the centre may have stored it after computing the balance.
// Marking the head as SetCentreBalance writes it granted that call again
// offline.
func TestCentreBalanceCountsFromBeforeTheAsk(t *testing.T) {
	s, _ := newStore(t)
	const p = "2026-11-30"
	id, err := s.OpenCall(call("W-1", p))
	if err != nil {
		t.Fatal(err)
	}
	c := call("W-1", p)
	c.CallID, c.ChargedMs = id, 180000 // call A, 3 min
	a, err := s.CloseCall(c)
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Usage("W-1", p) // the tap after A, before asking
	if err != nil {
		t.Fatal(err)
	}
	if before.Confirmed != 0 || before.Unconfirmed != 3*time.Minute {
		t.Fatalf("before the ask: Confirmed %d, Unconfirmed %v; want 0 and 3m0s", before.Confirmed, before.Unconfirmed)
	}
	if err := s.Ack(a.Seq); err != nil { // the uplink's batch with A is stored meanwhile
		t.Fatal(err)
	}
	if err := s.SetCentreBalance("W-1", p, 5*time.Minute, before.Confirmed); err != nil { // computed without A
		t.Fatal(err)
	}
	u, err := s.Usage("W-1", p)
	if err != nil {
		t.Fatal(err)
	}
	if !u.Centre || u.CentreRemaining != 2*time.Minute {
		t.Errorf("offline balance %v (centre %v), want 2m0s: call A, confirmed while the answer was on its way, counts against it", u.CentreRemaining, u.Centre)
	}
	if u.Confirmed != a.Seq || u.Unconfirmed != 0 {
		t.Errorf("after the ack: Confirmed %d, Unconfirmed %v; want %d and 0s", u.Confirmed, u.Unconfirmed, a.Seq)
	}
	// A counted ahead of the acknowledged head is taken as the head.
	id, err = s.OpenCall(call("W-1", p))
	if err != nil {
		t.Fatal(err)
	}
	c.CallID, c.ChargedMs = id, 60000
	if _, err := s.CloseCall(c); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCentreBalance("W-1", p, 5*time.Minute, a.Seq+10); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Usage("W-1", p); u.CentreRemaining != 4*time.Minute {
		t.Errorf("offline balance %v, want 4m0s: a call not confirmed counts against a balance whatever counted says", u.CentreRemaining)
	}
}

func TestSyncedUsage(t *testing.T) {
	s, _ := newStore(t)
	const p = "2026-11"
	closeCall := func(charged int64) uint64 {
		t.Helper()
		id, err := s.OpenCall(call("W-1", p))
		if err != nil {
			t.Fatal(err)
		}
		c := call("W-1", p)
		c.CallID, c.ChargedMs = id, charged
		r, err := s.CloseCall(c)
		if err != nil {
			t.Fatal(err)
		}
		return r.Seq
	}
	seq1 := closeCall(60000) // own: 1 min
	closeCall(120000)        // own: 2 min, not yet at the centre
	// The centre counted our #1 and 10 min from other booths, and 1 min of grants.
	if err := s.SetSyncedUsage("W-1", p, 11*time.Minute, time.Minute, seq1); err != nil {
		t.Fatal(err)
	}
	want := record.Usage{Used: 13 * time.Minute, Granted: time.Minute}
	if u, _ := s.Usage("W-1", p); u.Used != want.Used || u.Granted != want.Granted {
		t.Fatalf("usage %+v, want %+v", u, want)
	}
	// A late, older answer does not replace the newer one.
	if err := s.SetSyncedUsage("W-1", p, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Usage("W-1", p); u.Used != want.Used {
		t.Fatalf("stale sync applied: %+v", u)
	}
	// Other inmates are untouched by the sync.
	if u, _ := s.Usage("W-2", p); u != (record.Usage{}) {
		t.Fatalf("W-2 usage %+v", u)
	}
}

func TestChainAcrossReopenAndAck(t *testing.T) {
	s, path := newStore(t)
	const n = 300
	for i := range n {
		if i%100 == 50 {
			s.Close()
			s = open(t, path)
		}
		r, err := s.Deny(record.Denial{At: t0.Add(time.Duration(i) * time.Second), Card: "em:01", Reason: "quota"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
	}
	if rs := verifyAll(t, s); len(rs) != n {
		t.Fatalf("%d pending, want %d", len(rs), n)
	}
	if d, _ := s.Depth(); d != n {
		t.Fatalf("depth %d", d)
	}
	page, _ := s.Pending(10)
	if len(page) != 10 || page[0].Seq != 1 || page[9].Seq != 10 {
		t.Fatalf("first page %d records from #%d", len(page), page[0].Seq)
	}
	// The uplink reads the next batch past those still at the gateway.
	if next, _ := s.PendingAfter(10, 10); len(next) != 10 || next[0].Seq != 11 || next[9].Seq != 20 {
		t.Fatalf("page after #10: %d records from #%d", len(next), next[0].Seq)
	}
	if tail, _ := s.PendingAfter(n-3, 10); len(tail) != 3 || tail[0].Seq != n-2 {
		t.Fatalf("page after #%d: %d records, want the last 3", n-3, len(tail))
	}
	if err := s.Ack(120); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.PendingAfter(0, 5); len(rs) != 5 || rs[0].Seq != 121 {
		t.Fatalf("page after #0 once #120 is acknowledged: %d records from #%d, want from #121", len(rs), rs[0].Seq)
	}
	if err := s.Ack(100); err != nil { // a late, repeated answer
		t.Fatal(err)
	}
	if err := s.Ack(n + 1); err == nil {
		t.Fatal("ack past the head accepted")
	}
	s.Close()
	s = open(t, path)
	if rs := verifyAll(t, s); len(rs) != n-120 || rs[0].Seq != 121 {
		t.Fatalf("after ack and reopen: %d pending", len(rs))
	}
	r, err := s.Event(record.Event{At: t0, Event: "start"})
	if err != nil || r.Seq != n+1 {
		t.Fatalf("seq after reopen %d, %v", r.Seq, err)
	}
	if err := s.Ack(n + 1); err != nil {
		t.Fatal(err)
	}
	if rs := verifyAll(t, s); len(rs) != 0 {
		t.Fatalf("%d pending after acking all", len(rs))
	}
	if seq, hash := s.Head(); seq != n+1 || hash != r.Hash {
		t.Fatalf("head #%d %s, want #%d %s", seq, hash, r.Seq, r.Hash)
	}
}

// A failure inside CloseCall's transaction leaves no trace: the call stays
// open, usage is unchanged, no record, same head. Once the fault is gone the
// same close succeeds.
func TestCloseCallAtomic(t *testing.T) {
	s, path := newStore(t)
	const p = "2026-11"
	id, _ := s.OpenCall(call("W-1", p))
	if _, err := s.Deny(record.Denial{Card: "em:9", Reason: "unknown_card"}); err != nil {
		t.Fatal(err)
	}
	headSeq, headHash := s.Head()

	// Another connection to the same file installs a fault after the
	// journal update and the outbox insert, at the last step (the ledger
	// insert).
	s = besideBooth(t, s, path, `CREATE TRIGGER fault BEFORE INSERT ON ledger BEGIN SELECT RAISE(ABORT, 'injected fault'); END`)
	c := call("W-1", p)
	c.CallID, c.TalkedMs, c.ChargedMs, c.EndReason = id, 30000, 60000, "hangup"
	if _, err := s.CloseCall(c); err == nil || !strings.Contains(err.Error(), "injected fault") || !strings.Contains(err.Error(), "close call") {
		t.Fatalf("CloseCall under fault: %v", err)
	}
	if seq, hash := s.Head(); seq != headSeq || hash != headHash {
		t.Fatalf("head moved to #%d on a failed close", seq)
	}
	if oc, _ := s.OpenCalls(); len(oc) != 1 || oc[0].CallID != id {
		t.Fatalf("open calls after failed close: %+v", oc)
	}
	if u, _ := s.Usage("W-1", p); u.Used != 0 {
		t.Fatalf("usage after failed close: %+v", u)
	}
	if d, _ := s.Depth(); d != 1 {
		t.Fatalf("depth after failed close %d, want 1", d)
	}
	s = besideBooth(t, s, path, `DROP TRIGGER fault`)
	r, err := s.CloseCall(c)
	if err != nil || r.Seq != headSeq+1 {
		t.Fatalf("close after the fault: #%d, %v", r.Seq, err)
	}
	if u, _ := s.Usage("W-1", p); u.Used != time.Minute {
		t.Fatalf("usage %+v", u)
	}
	verifyAll(t, s)
}

func TestErrorsNameFileAndOperation(t *testing.T) {
	s, path := newStore(t)
	s.Close()
	_, err := s.Deny(record.Denial{Card: "em:1"})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "append denial") {
		t.Fatalf("error %v, want the file and the operation", err)
	}
	if store.IsFull(err) {
		t.Fatal("a closed store reported as full")
	}
}

// Writers on several goroutines (the engine, the uplink) still make one
// chain with no gap or fork.
func TestConcurrentWriters(t *testing.T) {
	s, _ := newStore(t)
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := range writers {
		wg.Go(func() {
			for range each {
				if _, err := s.Event(record.Event{Event: record.EventName(fmt.Sprint("w", w))}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range each {
			id, err := s.OpenCall(call("W-1", "p"))
			if err == nil {
				c := call("W-1", "p")
				c.CallID, c.ChargedMs = id, 1000
				_, err = s.CloseCall(c)
			}
			if err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Go(func() { // a reader, as the uplink draining
		for range each {
			if _, err := s.Pending(10); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if rs := verifyAll(t, s); len(rs) != (writers+1)*each {
		t.Fatalf("%d records, want %d", len(rs), (writers+1)*each)
	}
	if u, _ := s.Usage("W-1", "p"); u.Used != each*time.Second {
		t.Fatalf("usage %v", u.Used)
	}
	if !strings.Contains(s.String(), device) || !strings.Contains(s.String(), s.Path()) {
		t.Fatalf("String() = %q", s.String())
	}
}

// The DSN escapes the path: a directory with spaces, '#' or '?' is the file
// the technician named, not a truncated one.
func TestOpenOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sd card", "booth #1?.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	if _, err := s.Event(record.Event{Event: "start"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("store file not at %q: %v", path, err)
	}
}

// A damaged file is refused with the file named and the advice not to
// delete it (its records may not all be uploaded).
func TestOpenDamagedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "booth.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 500)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := store.Open(path, store.Options{Device: device})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("open of a damaged file: %v", err)
	}
	t.Log(err)
}

func TestPolicyKept(t *testing.T) {
	s, path := newStore(t)
	if doc, err := s.Policy(); err != nil || doc != nil {
		t.Fatalf("fresh store policy = %q, %v; want none", doc, err)
	}
	for _, doc := range []string{`{"allowance_ms":1}`, `{"allowance_ms":2}`} {
		if err := s.SetPolicy([]byte(doc)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = open(t, path)
	if doc, err := s.Policy(); err != nil || string(doc) != `{"allowance_ms":2}` {
		t.Fatalf("policy after reopen = %q, %v; want the last one kept", doc, err)
	}
}

// TestCallAnswered: the answer of a dialled call is in the journal: after
// a power cut OpenCalls gives it back as AnsweredAt and TalkStartAt, to
// the nanosecond; a call never answered has neither.
func TestCallAnswered(t *testing.T) {
	s, path := newStore(t)
	dialled, err := s.OpenCall(call("W-1", "2026-11-29"))
	if err != nil {
		t.Fatal(err)
	}
	ringing, err := s.OpenCall(call("W-2", "2026-11-29"))
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(12*time.Second + 345678901)
	if err := s.Answered(dialled, at); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(dialled, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.Answered(999, at); err == nil || !strings.Contains(err.Error(), "not open") {
		t.Fatalf("answer of an unknown call: %v", err)
	}
	if err := s.Answered(ringing, time.Time{}); err == nil {
		t.Fatal("an answer with no instant was journaled")
	}
	s.Close()
	s = open(t, path)
	calls, err := s.OpenCalls()
	if err != nil || len(calls) != 2 {
		t.Fatalf("open calls %+v (%v)", calls, err)
	}
	if c := calls[0].Call; !c.AnsweredAt.Equal(at) || !c.TalkStartAt.Equal(at) || c.TalkedMs != 5000 {
		t.Errorf("answered call %+v: want answered and talking from %v, 5 s checkpointed", c, at)
	}
	if c := calls[1].Call; !c.AnsweredAt.IsZero() || !c.TalkStartAt.IsZero() {
		t.Errorf("ringing call %+v: want no answer", c)
	}
}

// deny appends n denials to s, a second apart from at.
func deny(t *testing.T, s *store.Store, n int, at time.Time) {
	t.Helper()
	for i := range n {
		if _, err := s.Deny(record.Denial{At: at.Add(time.Duration(i) * time.Second), Card: "em:0400D8B2A5", Reason: "quota"}); err != nil {
			t.Fatal(err)
		}
	}
}

// keptWAL makes a store at path, appends n denials, closes it, and
// returns its chain and the size of the WAL file the close kept.
func keptWAL(t *testing.T, path string, n int) (chain string, size int64) {
	t.Helper()
	s, err := store.Open(path, store.Options{Device: device, Clock: clock.NewFake(t0)})
	if err != nil {
		t.Fatal(err)
	}
	deny(t, s, n, t0)
	chain = s.Chain()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatalf("after a clean close the WAL file is gone (%v): every restart grows a new one", err)
	}
	if fi.Size() == 0 {
		t.Fatal("the kept WAL file was truncated to 0 bytes: every restart grows it again")
	}
	return chain, fi.Size()
}

// A booth restarts with the WAL it had: a store that closes keeps its WAL
// file at the size it grew to, so the commits after a restart write into
// it instead of growing a new one (each growth is an fsync of the file's
// size too: docs/store.md, "Speed"). What was written is all there after
// the restart, and commits go on into the kept file without growing it.
func TestWALKeptAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "booth.db")
	_, kept := keptWAL(t, path, 300)

	s := open(t, path)
	if d, err := s.Depth(); err != nil || d != 300 {
		t.Fatalf("after the restart the outbox holds %d records (%v), want 300", d, err)
	}
	deny(t, s, 20, t0.Add(time.Hour))
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() != kept {
		t.Fatalf("20 commits after the restart: WAL %v (%v), want the kept %d bytes reused", fi.Size(), err, kept)
	}
}

// A store wiped as a technician does (`: > booth.db`) after a clean stop
// starts afresh although its WAL file was kept: SQLite deletes the WAL of
// an empty database file when it opens it, so no page of the old store
// comes back from the kept frames.
func TestWipedStoreWithKeptWALStartsAfresh(t *testing.T) {
	path := filepath.Join(t.TempDir(), "booth.db")
	old, _ := keptWAL(t, path, 50)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	if d, err := s.Depth(); err != nil || d != 0 {
		t.Fatalf("the wiped store holds %d records (%v), want none", d, err)
	}
	if s.Chain() == old {
		t.Fatalf("the wiped store kept its chain %q: the centre would take it for the old one", old)
	}
	deny(t, s, 1, t0)
}
