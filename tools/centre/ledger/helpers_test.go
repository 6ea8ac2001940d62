package ledger

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/testbed/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backend opens stores of one kind for a test.
type backend struct {
	name string
	// open returns n handles on one fresh database, closed at cleanup.
	open func(t testing.TB, n int) []Store
}

// backends is the table every test runs over: the same suite for both.
func backends() []backend {
	return []backend{
		{"sqlite", func(t testing.TB, n int) []Store {
			path := filepath.Join(t.TempDir(), "ledger.db")
			var out []Store
			for range n {
				s, err := OpenSQLite(path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				out = append(out, s)
			}
			return out
		}},
		{"postgres", func(t testing.TB, n int) []Store {
			dsn := pgtest.DB(t)
			var out []Store
			for range n {
				s, err := OpenPostgres(context.Background(), dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				out = append(out, s)
			}
			return out
		}},
	}
}

func open1(t testing.TB, b backend) Store { return b.open(t, 1)[0] }

var ctx = context.Background()

// booth writes a hash chain the way a booth's store does.
type booth struct {
	device string
	chain  string // "" : the legacy chain
	recs   []record.Record
}

func (b *booth) add(kind record.Kind, payload any) record.Record {
	p, err := json.Marshal(payload)
	if err != nil {
		panic(err)
	}
	r := record.Record{Device: b.device, Chain: b.chain, Seq: uint64(len(b.recs) + 1), Kind: kind, Payload: p}
	var prev *record.Record
	if len(b.recs) > 0 {
		prev = &b.recs[len(b.recs)-1]
	}
	r.Seal(prev)
	b.recs = append(b.recs, r)
	return r
}

var t0 = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

func (b *booth) call(inmate, period string, charged time.Duration) record.Record {
	return b.add(record.KindCall, record.Call{CallID: int64(len(b.recs) + 1), Card: "em:" + inmate, Inmate: inmate, Period: period,
		AuthorisedAt: t0, MaxMs: 600000, TalkedMs: charged.Milliseconds() + 400, ChargedMs: charged.Milliseconds(), EndReason: "hangup"})
}

func (b *booth) officer(action, inmate, period string, credit time.Duration) record.Record {
	return b.add(record.KindOfficer, record.Officer{At: t0, Officer: "P-1", OfficerCard: "em:P1", Action: record.OfficerAction(action), Inmate: inmate, Period: period, CreditMs: credit.Milliseconds()})
}

func (b *booth) deny(inmate, reason string) record.Record {
	return b.add(record.KindDenial, record.Denial{At: t0, Card: "em:" + inmate, Inmate: inmate, Reason: record.DenialReason(reason)})
}

func (b *booth) event(ev record.EventName) record.Record {
	return b.add(record.KindEvent, record.Event{At: t0, Event: ev})
}

// want sums what the records should put in the ledger, independently of
// the store: charged usage and reset/grant credits per inmate and period.
type key struct{ inmate, period string }

func want(recs []record.Record) map[key][2]time.Duration {
	out := map[key][2]time.Duration{}
	for _, r := range recs {
		switch r.Kind {
		case record.KindCall:
			var c record.Call
			json.Unmarshal(r.Payload, &c)
			v := out[key{c.Inmate, c.Period}]
			v[0] += time.Duration(c.ChargedMs) * time.Millisecond
			out[key{c.Inmate, c.Period}] = v
		case record.KindOfficer:
			var o record.Officer
			json.Unmarshal(r.Payload, &o)
			v := out[key{o.Inmate, o.Period}]
			if o.Action == "reset" || o.Action == "grant" {
				v[1] += time.Duration(o.CreditMs) * time.Millisecond
			}
			out[key{o.Inmate, o.Period}] = v
		}
	}
	return out
}

// edit returns r with its payload edited by old → new, hash left as it was:
// what a hand-edited store uploads.
func edit(r record.Record, old, new string) record.Record {
	p := strings.Replace(string(r.Payload), old, new, 1)
	if p == string(r.Payload) {
		panic("edit: " + old + " not in " + p)
	}
	r.Payload = json.RawMessage(p)
	return r
}

// openFlags returns the chain errors of device not cleared, as "kind@seq".
func openFlags(t interface{ Fatal(...any) }, s Store, device string) []string {
	errs, err := s.ChainErrors(ctx, device)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range errs {
		if !e.Cleared {
			out = append(out, e.Kind+"@"+itoa(e.Seq))
		}
	}
	return out
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// staffed puts the officer the booth helper writes (P-1, card em:P1) in
// the facility's roster, so officer records verify at the centre.
func staffed(t testing.TB, s Store, facility string) {
	t.Helper()
	if _, err := s.UpsertCards(ctx, facility, "operator", []record.CardInfo{{Card: "em:P1", Role: record.RoleOfficer, Person: "P-1"}}); err != nil {
		t.Fatal(err)
	}
	approveOfficers(t, s, facility)
}

// approveOfficers approves every pending officer card of the facility as
// "supervisor" (the tests add cards as "operator"), the honest way: the
// roster withholds officer cards until another account approves them.
func approveOfficers(t testing.TB, s Store, facility string) {
	t.Helper()
	cards, err := s.OfficerCards(ctx, facility)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		if c.Status == OfficerPending {
			if _, err := s.DecideOfficer(ctx, facility, c.Card, c.Person, "supervisor", true, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// reopeners give, per dialect, a function that opens the same database
// again each time it is called: for the migration tests, which open a
// database with an older schema and then with today's.
var reopeners = []struct {
	name string
	open func(t *testing.T) func() (Store, error)
}{
	{"sqlite", func(t *testing.T) func() (Store, error) {
		path := t.TempDir() + "/ledger.db"
		return func() (Store, error) { return OpenSQLite(path) }
	}},
	{"postgres", func(t *testing.T) func() (Store, error) {
		dsn := pgtest.DB(t)
		return func() (Store, error) { return OpenPostgres(ctx, dsn) }
	}},
}

// openAtSchema opens the database of open with the schema of its first
// n migrations, as a gateway of that version wrote it, and runs queries
// in it.
func openAtSchema(t *testing.T, open func() (Store, error), n int, queries ...string) *sqlStore {
	t.Helper()
	saved, savedVersion := migrations, schemaVersion
	migrations, schemaVersion = migrations[:n], n
	old, err := open()
	migrations, schemaVersion = saved, savedVersion
	if err != nil {
		t.Fatal(err)
	}
	db := old.(*sqlStore)
	for _, q := range queries {
		if _, err := db.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return db
}

// testRunner runs retention in the ledger's tests, as the audit trail names it.
var testRunner = AuditEntry{Actor: "system:test", Via: "test"}

// untilWaiting returns once a PostgreSQL session waits for a lock (the
// other handle's statement blocked behind the caller's open transaction),
// or once done has a value (it did not block); the deadline only bounds a
// hang.
func untilWaiting[T any](raw *sqlStore, done chan T) error {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && len(done) == 0; time.Sleep(5 * time.Millisecond) {
		var waiting int
		if err := raw.db.QueryRow(`SELECT COUNT(*) FROM pg_locks WHERE NOT granted`).Scan(&waiting); err != nil {
			return err
		}
		if waiting > 0 {
			return nil
		}
	}
	return nil
}
