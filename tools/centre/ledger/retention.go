package ledger

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"wartelsuspas/kiosk/record"
)

// Retention (UU 27/2022 on personal data): per facility, a number of
// months after which the personal fields of the records of a month are
// purged while what the chains and the reports need stays. docs/console.md
// "Retention" says which fields and why.

// MaxRetentionMonths bounds a retention setting: 100 years is longer than
// any record is worth keeping and short enough that the month arithmetic
// never leaves the calendar.
const MaxRetentionMonths = 1200

// RetentionPeriod is one facility's setting.
type RetentionPeriod struct {
	Facility string
	Months   int // purge a month once this many whole months have passed since its end
	SetAt    time.Time
}

// Purge is what one retention run did to one month of a facility (or, in
// Purges, all runs together: Records is the sum, At the first run).
type Purge struct {
	Facility string
	Month    string // "2026-11"
	At       time.Time
	Records  int // records whose payload was purged
}

// PurgedMark is the key a purged payload carries (true), so whoever reads
// the raw record knows its personal fields are gone on purpose.
const PurgedMark = "purged"

// purgedFields are the personal fields of each record kind: card ids,
// inmate ids, the cell block and the registered number a call went to
// (number_id names an entry holding the called party's E.164). The
// inmate is replaced by a pseudonym (below); the others are emptied. The
// officer id stays: an officer's acts in office are what the per-officer
// report is for, and the Kanwil keeps them.
var purgedFields = map[record.Kind][]string{
	record.KindCall:    {"card", "inmate", "block", "number_id"},
	record.KindDenial:  {"card", "inmate"},
	record.KindOfficer: {"officer_card", "inmate"},
}

// SetRetention implements Store.
func (s *sqlStore) SetRetention(ctx context.Context, facility string, months int, now time.Time) error {
	if facility == "" {
		return s.errf("retention", fmt.Errorf("no facility named"))
	}
	if months < 0 || months > MaxRetentionMonths {
		return s.errf("retention "+facility, fmt.Errorf("%d months is outside 0…%d (0: keep everything)", months, MaxRetentionMonths))
	}
	if months == 0 {
		_, err := s.on(ctx).ExecContext(ctx, s.q(`DELETE FROM retention WHERE facility = ?`), facility)
		if err != nil {
			return s.errf("retention "+facility, err)
		}
		return nil
	}
	_, err := s.on(ctx).ExecContext(ctx, s.q(`INSERT INTO retention (facility, months, set_ms) VALUES (?, ?, ?)
		ON CONFLICT (facility) DO UPDATE SET months = excluded.months, set_ms = excluded.set_ms`), facility, months, msOf(now))
	if err != nil {
		return s.errf("retention "+facility, err)
	}
	return nil
}

// RetentionPeriods implements Store.
func (s *sqlStore) RetentionPeriods(ctx context.Context) ([]RetentionPeriod, error) {
	rows, err := s.on(ctx).QueryContext(ctx, `SELECT facility, months, set_ms FROM retention ORDER BY facility`)
	if err != nil {
		return nil, s.errf("retention", err)
	}
	defer rows.Close()
	var out []RetentionPeriod
	for rows.Next() {
		var (
			p  RetentionPeriod
			at int64
		)
		if err := rows.Scan(&p.Facility, &p.Months, &at); err != nil {
			return nil, s.errf("retention", err)
		}
		p.SetAt = time.UnixMilli(at).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("retention", err)
	}
	return out, nil
}

// Purges implements Store.
func (s *sqlStore) Purges(ctx context.Context, facility string) ([]Purge, error) {
	rows, err := s.on(ctx).QueryContext(ctx, s.q(`SELECT month, purged_ms, records FROM purges WHERE facility = ? ORDER BY month`), facility)
	if err != nil {
		return nil, s.errf("purges "+facility, err)
	}
	defer rows.Close()
	var out []Purge
	for rows.Next() {
		p := Purge{Facility: facility}
		var at int64
		if err := rows.Scan(&p.Month, &at, &p.Records); err != nil {
			return nil, s.errf("purges "+facility, err)
		}
		p.At = time.UnixMilli(at).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("purges "+facility, err)
	}
	return out, nil
}

// PurgeCutoff is the latest month a retention of months purges at now: a
// month goes once months whole months have passed since its end (UTC; a
// day's slack in the facility's zone does not matter at this scale).
func PurgeCutoff(now time.Time, months int) string {
	now = now.UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return first.AddDate(0, -(months + 1), 0).Format("2006-01")
}

// ApplyRetention implements Store.
func (s *sqlStore) ApplyRetention(ctx context.Context, now time.Time, by AuditEntry) ([]Purge, error) {
	if by.Actor == "" || by.Via == "" {
		return nil, s.errf("retention apply", errors.New("name who runs it (the audit trail's actor and via)"))
	}
	periods, err := s.RetentionPeriods(ctx)
	if err != nil {
		return nil, err
	}
	var out []Purge
	for _, p := range periods {
		done, err := s.purgeFacility(ctx, p.Facility, PurgeCutoff(now, p.Months), now, by)
		if err != nil {
			return out, s.errf("retention apply "+p.Facility, err)
		}
		out = append(out, done...)
	}
	return out, nil
}

// stored is one stored version of a record (the record itself, or a
// conflicting version) waiting for its purge.
type stored struct {
	device, chain string
	seq           int64
	kind          string
	payload       []byte
	prev          string
	version       string // conflicts: the version's claimed hash; "" for the record
	sum           string // conflicts: its content hash
	month         string
	inmate        string // the fact's inmate, "" when none
}

// purgeFacility purges every month of facility up to cutoff that still
// holds unpurged records, one transaction per month, and the records
// kept out of the ledger (unreadable payloads) received before the end of
// cutoff.
func (s *sqlStore) purgeFacility(ctx context.Context, facility, cutoff string, now time.Time, by AuditEntry) ([]Purge, error) {
	rows, err := s.on(ctx).QueryContext(ctx, s.q(`SELECT DISTINCT f.month FROM facts f JOIN records r ON r.device = f.device AND r.chain = f.chain AND r.seq = f.seq
		WHERE f.facility = ? AND f.month <= ? AND r.purged_ms IS NULL ORDER BY f.month`), facility, cutoff)
	if err != nil {
		return nil, err
	}
	var months []string
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return nil, err
		}
		months = append(months, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// One key per run: the pseudonyms of a month are consistent (distinct
	// inmates still count right) and, the key forgotten, lead back to no one.
	key := make([]byte, 32)
	rand.Read(key)
	run := hex.EncodeToString(key[:8]) // names the run; says nothing of the key's rest
	var out []Purge
	for _, m := range months {
		n, ours, err := s.purgeMonth(ctx, facility, m, key, run, now, by)
		if err != nil {
			return out, fmt.Errorf("month %s: %w", m, err)
		}
		if ours {
			out = append(out, Purge{Facility: facility, Month: m, At: now.UTC(), Records: n})
		}
	}
	end, err := time.Parse("2006-01", cutoff)
	if err != nil {
		return out, err
	}
	loose, err := s.purgeUnreadable(ctx, facility, msOf(end.AddDate(0, 1, 0)), key, now, by)
	if err != nil {
		return out, err
	}
	return append(out, loose...), nil
}

// purgeChunk is how many records one purge transaction rewrites: a month
// of a large facility is some 190 000 records, and on SQLite's one writer
// a transaction that long would hold every upload and tap behind it for
// seconds. Progress is in the rows (purged_ms), so a run cut short
// resumes where it stopped.
var purgeChunk = 500 // a variable for the tests of chunks

// claimFor is how long a run holds a month it purges against other runs
// (another replica's schedule, `retention apply` beside `serve`), renewed
// at every chunk: a run that died frees the month that long after.
const claimFor = 10 * time.Minute

// purgeMonth purges the month's records and their conflicting versions,
// a chunk per transaction, under a claim on the month: one run purges a
// month, so its pseudonyms come from one key. ours is false when another
// run holds the month (it purges it). The month's audit entry is written
// in the transaction of its first chunk, so no record is purged
// unaudited; it counts the records this run set out to purge (Purges
// has what was done).
func (s *sqlStore) purgeMonth(ctx context.Context, facility, month string, key []byte, run string, now time.Time, by AuditEntry) (n int, ours bool, err error) {
	if ours, err = s.claimMonth(ctx, facility, month, run, now); err != nil || !ours {
		return 0, ours, err
	}
	keys, err := s.collect(ctx, s.db, `SELECT f.device, f.chain, f.seq, '', NULL, '', '', '', f.month, f.inmate
		FROM facts f JOIN records r ON r.device = f.device AND r.chain = f.chain AND r.seq = f.seq
		WHERE f.facility = ? AND f.month = ? AND r.purged_ms IS NULL`, facility, month)
	if err != nil {
		return 0, true, err
	}
	entry := purgeEntry(by, Purge{Facility: facility, Month: month, At: now.UTC(), Records: len(keys)})
	for first := true; len(keys) > 0; first = false {
		chunk := keys[:min(purgeChunk, len(keys))]
		keys = keys[len(chunk):]
		done := 0
		err := s.tx(ctx, nil, func(tx *sql.Tx) error {
			if held, err := s.claimMonthTx(ctx, tx, facility, month, run, now); err != nil || !held {
				if err == nil {
					err = fmt.Errorf("another run took over the purge of %s %s (this one took longer than %v)", facility, month, claimFor)
				}
				return err
			}
			var vs []stored
			for _, k := range chunk {
				rec, err := s.collect(ctx, tx, `SELECT device, chain, seq, kind, payload, prev, '', '', CAST(? AS TEXT), CAST(? AS TEXT) FROM records
					WHERE device = ? AND chain = ? AND seq = ? AND purged_ms IS NULL`, k.month, k.inmate, k.device, k.chain, k.seq)
				if err != nil {
					return err
				}
				if len(rec) == 0 {
					continue // purged meanwhile
				}
				done++
				versions, err := s.collect(ctx, tx, `SELECT device, chain, seq, kind, payload, prev, hash, sum, CAST(? AS TEXT), CAST(? AS TEXT) FROM conflicts
					WHERE device = ? AND chain = ? AND seq = ? AND purged_ms IS NULL`, k.month, k.inmate, k.device, k.chain, k.seq)
				if err != nil {
					return err
				}
				vs = append(append(vs, rec...), versions...)
			}
			if err := s.redact(ctx, tx, vs, key, now); err != nil {
				return err
			}
			if err := s.notePurge(ctx, tx, facility, month, done, now); err != nil {
				return err
			}
			if first {
				_, err := s.appendAuditTx(ctx, tx, entry)
				return err
			}
			return nil
		})
		if err != nil {
			return n, true, err
		}
		n += done
	}
	return n, true, nil
}

// claimMonth takes (or renews) the month for run, in a transaction of its own.
func (s *sqlStore) claimMonth(ctx context.Context, facility, month, run string, now time.Time) (bool, error) {
	var ours bool
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		var err error
		ours, err = s.claimMonthTx(ctx, tx, facility, month, run, now)
		return err
	})
	return ours, err
}

// claimMonthTx takes the month for run unless another run holds it unexpired
// (on the store's clock: real time, whatever instant the purge is at), and
// reports whether run holds it. The month's row is the one Purges lists.
func (s *sqlStore) claimMonthTx(ctx context.Context, tx *sql.Tx, facility, month, run string, now time.Time) (bool, error) {
	if err := s.lockRetention(ctx, tx, facility); err != nil {
		return false, err
	}
	t := s.now()
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO purges (facility, month, purged_ms, records, run, run_until_ms) VALUES (?, ?, ?, 0, ?, ?)
		ON CONFLICT (facility, month) DO UPDATE SET run = excluded.run, run_until_ms = excluded.run_until_ms
		WHERE purges.run = excluded.run OR purges.run_until_ms < ?`),
		facility, month, msOf(now), run, msOf(t.Add(claimFor)), msOf(t)); err != nil {
		return false, err
	}
	var holder string
	if err := tx.QueryRowContext(ctx, s.q(`SELECT run FROM purges WHERE facility = ? AND month = ?`), facility, month).Scan(&holder); err != nil {
		return false, err
	}
	return holder == run, nil
}

// purgeUnreadable purges the records of a ledger kind that have no fact
// (their payload could not be read for its kind or was out of bounds:
// flagged payload) received before before, under the month they were
// received in, having no other: the personal fields of an object go as
// for any record, a payload that is no object goes whole.
func (s *sqlStore) purgeUnreadable(ctx context.Context, facility string, before int64, key []byte, now time.Time, by AuditEntry) ([]Purge, error) {
	var out []Purge
	err := s.tx(ctx, nil, func(tx *sql.Tx) error {
		if err := s.lockRetention(ctx, tx, facility); err != nil {
			return err
		}
		recs, err := s.collect(ctx, tx, `SELECT r.device, r.chain, r.seq, r.kind, r.payload, r.prev, '', '', '', ''
			FROM records r WHERE substr(r.device, 1, ?) = ? AND r.kind IN ('call', 'denial', 'officer') AND r.received_ms < ?
			  AND r.purged_ms IS NULL
			  AND NOT EXISTS (SELECT 1 FROM facts f WHERE f.device = r.device AND f.chain = r.chain AND f.seq = r.seq)`,
			len(facility)+1, facility+"/", before)
		if err != nil || len(recs) == 0 {
			return err
		}
		if err := s.redact(ctx, tx, recs, key, now); err != nil {
			return err
		}
		// The month they were received in: what else is there to go by.
		byMonth := map[string]int{}
		for _, r := range recs {
			byMonth[r.month]++
		}
		for _, m := range slices.Sorted(maps.Keys(byMonth)) {
			if err := s.notePurge(ctx, tx, facility, m, byMonth[m], now); err != nil {
				return err
			}
			out = append(out, Purge{Facility: facility, Month: m, At: now.UTC(), Records: byMonth[m]})
		}
		for _, p := range out {
			if _, err := s.appendAuditTx(ctx, tx, purgeEntry(by, p)); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// pseudonymiseConflictCharges gives the inmates of a seq's conflicting
// charges (migration 16) their pseudonyms, as its fact's. Rare: a seq
// with versions naming other inmates.
func (s *sqlStore) pseudonymiseConflictCharges(ctx context.Context, tx *sql.Tx, device, chain string, seq int64, key []byte) error {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT inmate, period FROM conflict_charges WHERE device = ? AND chain = ? AND seq = ?`), device, chain, seq)
	if err != nil {
		return err
	}
	var named [][2]string
	for rows.Next() {
		var k [2]string
		if err := rows.Scan(&k[0], &k[1]); err != nil {
			rows.Close()
			return err
		}
		named = append(named, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range named {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE conflict_charges SET inmate = ? WHERE device = ? AND chain = ? AND seq = ? AND inmate = ? AND period = ?`),
			pseudonym(key, k[0]), device, chain, seq, k[0], k[1]); err != nil {
			return err
		}
	}
	return nil
}

// purgeEntry is the audit entry of a month's purge by by.
func purgeEntry(by AuditEntry, p Purge) AuditEntry {
	doc, _ := json.Marshal(p)
	return AuditEntry{At: p.At, Actor: by.Actor, Via: by.Via, Action: "retention.apply", Facility: p.Facility, Target: p.Month, After: string(doc)}
}

// lockRetention serialises the purges of one facility across replicas
// sharing a PostgreSQL (each runs retention on its own schedule): the
// second waits, then reads the records the first left unpurged. SQLite
// has one writer already.
func (s *sqlStore) lockRetention(ctx context.Context, tx *sql.Tx, facility string) error {
	if s.dialect != postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "retention "+facility)
	return err
}

// collect reads the versions a purge rewrites (closing the rows before
// anything is written: SQLite's one connection).
func (s *sqlStore) collect(ctx context.Context, q querier, query string, args ...any) ([]stored, error) {
	rows, err := q.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []stored
	for rows.Next() {
		var r stored
		if err := rows.Scan(&r.device, &r.chain, &r.seq, &r.kind, &r.payload, &r.prev, &r.version, &r.sum, &r.month, &r.inmate); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// redact replaces the payload of each version by its purged form. A
// record keeps the hash of its content as it came (sealed), so duplicates,
// conflicts and the chain check go on as before; a conflicting version
// has it already (conflicts.sum). A fact's inmate becomes its pseudonym.
func (s *sqlStore) redact(ctx context.Context, tx *sql.Tx, vs []stored, key []byte, now time.Time) error {
	at := msOf(now)
	for i := range vs {
		v := &vs[i]
		if v.month == "" {
			// An unreadable record: the month it was received in.
			var rec int64
			if err := tx.QueryRowContext(ctx, s.q(`SELECT received_ms FROM records WHERE device = ? AND chain = ? AND seq = ?`), v.device, v.chain, v.seq).Scan(&rec); err != nil {
				return err
			}
			v.month = time.UnixMilli(rec).UTC().Format("2006-01")
		}
		purged := purgePayload(record.Kind(v.kind), v.payload, key)
		if v.version == "" {
			r := record.Record{Device: v.device, Chain: v.chain, Seq: uint64(v.seq), Kind: record.Kind(v.kind), Payload: v.payload, Prev: v.prev}
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE records SET payload = ?, sealed = ?, purged_ms = ? WHERE device = ? AND chain = ? AND seq = ? AND purged_ms IS NULL`),
				purged, r.ComputeHash(), at, v.device, v.chain, v.seq); err != nil {
				return err
			}
			if v.inmate != "" {
				if _, err := tx.ExecContext(ctx, s.q(`UPDATE facts SET inmate = ? WHERE device = ? AND chain = ? AND seq = ?`),
					pseudonym(key, v.inmate), v.device, v.chain, v.seq); err != nil {
					return err
				}
				if err := s.pseudonymiseConflictCharges(ctx, tx, v.device, v.chain, v.seq, key); err != nil {
					return err
				}
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE conflicts SET payload = ?, purged_ms = ? WHERE device = ? AND chain = ? AND seq = ? AND hash = ? AND sum = ? AND purged_ms IS NULL`),
			purged, at, v.device, v.chain, v.seq, v.version, v.sum); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqlStore) notePurge(ctx context.Context, tx *sql.Tx, facility, month string, n int, now time.Time) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO purges (facility, month, purged_ms, records) VALUES (?, ?, ?, ?)
		ON CONFLICT (facility, month) DO UPDATE SET records = purges.records + excluded.records`), facility, month, msOf(now), n)
	return err
}

// pseudonymPrefix starts every pseudonym a purge gives an inmate.
const pseudonymPrefix = "purged-"

// pseudonym is what an inmate id becomes in a purged month: the same for
// one inmate within one run (so a month's distinct inmates still count),
// leading to no one once the run's key is forgotten (an unkeyed hash of
// an inmate id could be reversed by trying the roster's ids).
func pseudonym(key []byte, inmate string) string {
	if inmate == "" || strings.HasPrefix(inmate, pseudonymPrefix) {
		return inmate
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(inmate))
	return pseudonymPrefix + hex.EncodeToString(m.Sum(nil))[:12]
}

// purgePayload returns the purged form of a payload: its personal fields
// (purgedFields) emptied, the inmate a pseudonym, and PurgedMark set. A
// payload that cannot be read as an object is replaced whole.
func purgePayload(kind record.Kind, payload []byte, key []byte) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil || m == nil {
		m = map[string]json.RawMessage{}
		payload = nil
	}
	if payload == nil {
		b, _ := json.Marshal(map[string]bool{PurgedMark: true})
		return b
	}
	for _, f := range purgedFields[kind] {
		v, ok := m[f]
		if !ok {
			continue
		}
		switch {
		case f == "number_id":
			delete(m, f)
		case f == "inmate":
			var id string
			if json.Unmarshal(v, &id) != nil {
				delete(m, f)
				continue
			}
			m[f], _ = json.Marshal(pseudonym(key, id))
		default:
			m[f] = json.RawMessage(`""`)
		}
	}
	m[PurgedMark] = json.RawMessage(`true`)
	b, err := json.Marshal(m)
	if err != nil {
		b, _ = json.Marshal(map[string]bool{PurgedMark: true})
	}
	return b
}

// VerifyChains implements Store.
func (s *sqlStore) VerifyChains(ctx context.Context, device string) ([]ChainError, error) {
	rows, err := s.on(ctx).QueryContext(ctx, s.q(`SELECT chain, seq, kind, payload, prev, hash, sealed FROM records WHERE device = ? ORDER BY chain, seq`), device)
	if err != nil {
		return nil, s.errf("verify "+device, err)
	}
	defer rows.Close()
	var (
		out  []ChainError
		prev *record.Record
	)
	problem := func(r record.Record, kind, detail string) {
		out = append(out, ChainError{Device: device, Chain: r.Chain, Seq: r.Seq, Kind: kind, Detail: detail})
	}
	for rows.Next() {
		var (
			r            record.Record
			seq          int64
			kind, sealed string
			payload      []byte
		)
		if err := rows.Scan(&r.Chain, &seq, &kind, &payload, &r.Prev, &r.Hash, &sealed); err != nil {
			return nil, s.errf("verify "+device, err)
		}
		r.Device, r.Seq, r.Kind, r.Payload = device, uint64(seq), record.Kind(kind), payload
		content := sealed
		if content == "" {
			content = r.ComputeHash()
		}
		if content != r.Hash {
			problem(r, FlagHash, fmt.Sprintf("content hash %.12s, record claims %.12s", content, r.Hash))
		}
		if prev != nil && prev.Chain != r.Chain {
			prev = nil
		}
		switch {
		case prev == nil && r.Seq != 1:
			problem(r, FlagGap, fmt.Sprintf("chain %q starts at #%d", r.Chain, r.Seq))
		case prev == nil:
			if r.Follows(nil) != nil {
				problem(r, FlagLink, "first record does not start from the genesis hash")
			}
		case r.Seq != prev.Seq+1:
			problem(r, FlagGap, fmt.Sprintf("#%d follows #%d", r.Seq, prev.Seq))
		case r.Follows(prev) != nil:
			problem(r, FlagLink, fmt.Sprintf("prev %.12s is not the hash of #%d (%.12s)", r.Prev, prev.Seq, prev.Hash))
		}
		p := r
		prev = &p
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("verify "+device, err)
	}
	return out, nil
}
