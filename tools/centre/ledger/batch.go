package ledger

import (
	"context"
	"database/sql"
	"strings"
)

// An ingest's writes are held here and sent together instead of one
// statement per row: on PostgreSQL in one statement (a round trip) with the
// chain's head, on SQLite in a few multi-row statements (one per table, at
// most batchRows rows each; a statement is a parse and a plan there). The decisions are the same as row by row, because every read the
// ingest makes that could see a held row comes after a flush: the batch's
// own chain checks read the in-memory neighbourhood (known), and before an
// officer check (which sums facts), another version of a seq (which
// updates facts and conflicts) and the contiguous walk (which reads
// records), Ingest flushes.

// batchRows bounds the rows of one SQLite statement: 128 rows of facts' 15
// columns are 1920 parameters, far under its limit.
const batchRows = 128

// writes are an ingest's held rows.
type writes struct {
	records []recordRow
	facts   []factRow
	flags   []flagRow
	flagged map[flagKey]bool // held flags, raised once per seq and kind as s.flag does
	clears  []int64          // seqs whose gap flag a late predecessor clears
}

type recordRow struct {
	seq                int64
	kind               string
	payload            []byte
	prev, hash         string
	hashOK, receivedMs int64
}

type factRow struct {
	seq                                 int64
	kind, inmate, period, month, action string
	talked, charged, credit             int64
	sum, officer                        string
	atMs                                int64
}

type flagRow struct {
	seq          int64
	kind, detail string
	at           int64
}

type flagKey struct {
	seq  int64
	kind string
}

func (w *writes) flag(seq int64, kind, detail string, now int64) {
	k := flagKey{seq, kind}
	if w.flagged[k] {
		return // the first detail and time stay, as in the table
	}
	if w.flagged == nil {
		w.flagged = map[flagKey]bool{}
	}
	w.flagged[k] = true
	w.flags = append(w.flags, flagRow{seq: seq, kind: kind, detail: detail, at: now})
}

func (w *writes) empty() bool {
	return len(w.records) == 0 && len(w.facts) == 0 && len(w.flags) == 0 && len(w.clears) == 0
}

// headWrite is the chain's contiguous mark, written with the batch's last
// flush: inserted for a new chain, else updated.
type headWrite struct {
	contiguous int64
	newChain   bool
	now        int64
}

// flush sends the held rows of chain c and forgets them, and head if not
// nil. Records first, then facts, flags and the gap flags cleared, the
// order the row-by-row path wrote them in: on PostgreSQL in one statement
// (flushPostgres), on SQLite in a few prepared ones.
func (s *sqlStore) flush(ctx context.Context, tx *sql.Tx, c chainKey, facility string, w *writes, head *headWrite) error {
	if w.empty() && head == nil {
		return nil
	}
	var err error
	if s.dialect == postgres {
		err = s.flushPostgres(ctx, tx, c, facility, w, head)
	} else {
		err = s.flushSQLite(ctx, tx, c, facility, w, head)
	}
	if err != nil {
		return err
	}
	*w = writes{records: w.records[:0], facts: w.facts[:0], flags: w.flags[:0], clears: w.clears[:0]}
	return nil
}

func (s *sqlStore) flushSQLite(ctx context.Context, tx *sql.Tx, c chainKey, facility string, w *writes, head *headWrite) error {
	for rows := range chunks(w.records) {
		args := make([]any, 0, len(rows)*9)
		for _, r := range rows {
			args = append(args, c.device, c.chain, r.seq, r.kind, r.payload, r.prev, r.hash, r.hashOK, r.receivedMs)
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO records (device, chain, seq, kind, payload, prev, hash, hash_ok, received_ms) VALUES `+placeholders(len(rows), 9), args...); err != nil {
			return err
		}
	}
	for rows := range chunks(w.facts) {
		args := make([]any, 0, len(rows)*15)
		for _, f := range rows {
			args = append(args, c.device, c.chain, f.seq, facility, f.kind, f.inmate, f.period, f.month, f.action, f.talked, f.charged, f.credit, f.sum, f.officer, f.atMs)
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO facts (device, chain, seq, facility, kind, inmate, period, month, action, talked_ms, charged_ms, credit_ms, hash, officer, at_ms)
			VALUES `+placeholders(len(rows), 15)+factUpsert, args...); err != nil {
			return err
		}
	}
	for rows := range chunks(w.flags) {
		args := make([]any, 0, len(rows)*6)
		for _, f := range rows {
			args = append(args, c.device, c.chain, f.seq, f.kind, f.detail, f.at)
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO chain_errors (device, chain, seq, kind, detail, first_seen_ms) VALUES `+placeholders(len(rows), 6)+`
			ON CONFLICT (device, chain, seq, kind) DO NOTHING`, args...); err != nil {
			return err
		}
	}
	for seqs := range chunks(w.clears) {
		args := make([]any, 0, len(seqs)+3)
		args = append(args, c.device, c.chain, FlagGap)
		for _, q := range seqs {
			args = append(args, q)
		}
		if _, err := s.exec(ctx, tx, `UPDATE chain_errors SET cleared = 1 WHERE device = ? AND chain = ? AND kind = ? AND seq IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", len(seqs)), ", ")+`)`, args...); err != nil {
			return err
		}
	}
	switch {
	case head == nil:
	case head.newChain:
		if _, err := s.exec(ctx, tx, `INSERT INTO chain_heads (device, chain, contiguous, first_seen_ms) VALUES (?, ?, ?, ?)`, c.device, c.chain, head.contiguous, head.now); err != nil {
			return err
		}
	default:
		if _, err := s.exec(ctx, tx, `UPDATE chain_heads SET contiguous = ? WHERE device = ? AND chain = ?`, head.contiguous, c.device, c.chain); err != nil {
			return err
		}
	}
	return nil
}

// flushWrite is flushPostgres's statement: one round trip, whatever the
// batch's size, and one prepared statement in pgx's cache. Each table's
// rows come as arrays, one per column, unnested into rows. The parts of
// a statement all see the table as it was before it and never each
// other's rows; they touch different rows (records, facts and chain_heads
// are separate tables, and a flag held is a row the clear, which updates
// rows already stored, never needs: flushPostgres sets cleared on a held
// gap flag whose clear is held too, as the row-by-row order would).
var flushWrite = `WITH rec AS (
  INSERT INTO records (device, chain, seq, kind, payload, prev, hash, hash_ok, received_ms)
  SELECT $1, $2, u.* FROM unnest($3::bigint[], $4::text[], $5::bytea[], $6::text[], $7::text[], $8::integer[], $9::bigint[]) AS u),
fct AS (
  INSERT INTO facts (device, chain, seq, facility, kind, inmate, period, month, action, talked_ms, charged_ms, credit_ms, hash, officer, at_ms)
  SELECT $1, $2, u.seq, $10, u.kind, u.inmate, u.period, u.month, u.action, u.talked, u.charged, u.credit, u.hash, u.officer, u.at
  FROM unnest($11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::bigint[], $18::bigint[], $19::bigint[], $20::text[], $21::text[], $22::bigint[])
    AS u (seq, kind, inmate, period, month, action, talked, charged, credit, hash, officer, at)` + factUpsert + `),
flg AS (
  INSERT INTO chain_errors (device, chain, seq, kind, detail, first_seen_ms, cleared)
  SELECT $1, $2, u.* FROM unnest($23::bigint[], $24::text[], $25::text[], $26::bigint[], $27::integer[]) AS u
  ON CONFLICT (device, chain, seq, kind) DO NOTHING),
clr AS (
  UPDATE chain_errors SET cleared = 1 WHERE device = $1 AND chain = $2 AND kind = '` + FlagGap + `' AND seq = ANY($28::bigint[])),
hd AS (
  INSERT INTO chain_heads (device, chain, contiguous, first_seen_ms) SELECT $1, $2, $29, $30 WHERE $31
  ON CONFLICT (device, chain) DO UPDATE SET contiguous = excluded.contiguous)
SELECT 1`

// flushPostgres is flush on PostgreSQL, in one statement (flushWrite).
func (s *sqlStore) flushPostgres(ctx context.Context, tx *sql.Tx, c chainKey, facility string, w *writes, head *headWrite) error {
	n := len(w.records)
	rSeq, rKind, rPayload, rPrev, rHash, rOK, rAt := make([]int64, n), make([]string, n), make([][]byte, n), make([]string, n), make([]string, n), make([]int64, n), make([]int64, n)
	for i, r := range w.records {
		rSeq[i], rKind[i], rPayload[i], rPrev[i], rHash[i], rOK[i], rAt[i] = r.seq, r.kind, r.payload, r.prev, r.hash, r.hashOK, r.receivedMs
	}
	n = len(w.facts)
	fSeq, fKind, fInmate, fPeriod, fMonth, fAction := make([]int64, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	fTalked, fCharged, fCredit, fHash, fOfficer, fAt := make([]int64, n), make([]int64, n), make([]int64, n), make([]string, n), make([]string, n), make([]int64, n)
	for i, f := range w.facts {
		fSeq[i], fKind[i], fInmate[i], fPeriod[i], fMonth[i], fAction[i] = f.seq, f.kind, f.inmate, f.period, f.month, f.action
		fTalked[i], fCharged[i], fCredit[i], fHash[i], fOfficer[i], fAt[i] = f.talked, f.charged, f.credit, f.sum, f.officer, f.atMs
	}
	cleared := map[int64]bool{}
	for _, q := range w.clears {
		cleared[q] = true
	}
	n = len(w.flags)
	eSeq, eKind, eDetail, eAt, eCleared := make([]int64, n), make([]string, n), make([]string, n), make([]int64, n), make([]int64, n)
	for i, f := range w.flags {
		eSeq[i], eKind[i], eDetail[i], eAt[i] = f.seq, f.kind, f.detail, f.at
		if f.kind == FlagGap && cleared[f.seq] {
			eCleared[i] = 1
		}
	}
	var hd headWrite
	if head != nil {
		hd = *head
	}
	_, err := tx.ExecContext(ctx, flushWrite, c.device, c.chain,
		rSeq, rKind, rPayload, rPrev, rHash, rOK, rAt,
		facility, fSeq, fKind, fInmate, fPeriod, fMonth, fAction, fTalked, fCharged, fCredit, fHash, fOfficer, fAt,
		eSeq, eKind, eDetail, eAt, eCleared,
		w.clears, hd.contiguous, hd.now, head != nil)
	return err
}

// factUpsert is how a version's fact meets the fact of its seq already
// stored: billing fails closed (claim in ingest.go says why).
var factUpsert = func() string {
	const better = `(excluded.charged_ms > facts.charged_ms OR (excluded.charged_ms = facts.charged_ms AND excluded.hash < facts.hash))`
	var set []string
	for _, col := range []string{"kind", "inmate", "period", "month", "action", "talked_ms", "officer", "at_ms", "hash", "charged_ms"} {
		set = append(set, col+` = CASE WHEN `+better+` THEN excluded.`+col+` ELSE facts.`+col+` END`)
	}
	return ` ON CONFLICT (device, chain, seq) DO UPDATE SET ` + strings.Join(set, ", ") + `, credit_ms = 0`
}()

// chunks yields xs in runs of at most batchRows, each a power of two long
// (25 rows: 16, 8, 1): on SQLite the statements are prepared once
// (stmts.go), so a handful serve every batch.
func chunks[T any](xs []T) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(xs) > 0 {
			n := min(len(xs), batchRows)
			for n&(n-1) != 0 {
				n &= n - 1 // down to its highest bit
			}
			if !yield(xs[:n]) {
				return
			}
			xs = xs[n:]
		}
	}
}

// placeholders is "(?, …), (?, …)": rows groups of cols.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}
