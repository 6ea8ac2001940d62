package ledger

import (
	"context"
	"database/sql"
	"strings"
)

// An ingest's writes are held here and sent in a few multi-row statements
// (one per table, at most batchRows rows each) instead of one statement per
// row: on PostgreSQL a statement is a round trip, on SQLite a parse and a
// plan. The decisions are the same as row by row, because every read the
// ingest makes that could see a held row comes after a flush: the batch's
// own chain checks read the in-memory neighbourhood (known), and before an
// officer check (which sums facts), another version of a seq (which
// updates facts and conflicts) and the contiguous walk (which reads
// records), Ingest flushes.

// batchRows bounds the rows of one statement: 128 rows of facts' 15
// columns are 1920 parameters, far under either database's limit.
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

// flush sends the held rows of chain c and forgets them: records first,
// then facts, flags and the gap flags cleared, the order the row-by-row
// path wrote them in.
func (s *sqlStore) flush(ctx context.Context, tx *sql.Tx, c chainKey, facility string, w *writes) error {
	if w.empty() {
		return nil
	}
	pow2 := s.stmts != nil
	for rows := range chunks(w.records, pow2) {
		args := make([]any, 0, len(rows)*9)
		for _, r := range rows {
			args = append(args, c.device, c.chain, r.seq, r.kind, r.payload, r.prev, r.hash, r.hashOK, r.receivedMs)
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO records (device, chain, seq, kind, payload, prev, hash, hash_ok, received_ms) VALUES `+placeholders(len(rows), 9), args...); err != nil {
			return err
		}
	}
	for rows := range chunks(w.facts, pow2) {
		args := make([]any, 0, len(rows)*15)
		for _, f := range rows {
			args = append(args, c.device, c.chain, f.seq, facility, f.kind, f.inmate, f.period, f.month, f.action, f.talked, f.charged, f.credit, f.sum, f.officer, f.atMs)
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO facts (device, chain, seq, facility, kind, inmate, period, month, action, talked_ms, charged_ms, credit_ms, hash, officer, at_ms)
			VALUES `+placeholders(len(rows), 15)+factUpsert, args...); err != nil {
			return err
		}
	}
	for rows := range chunks(w.flags, pow2) {
		args := make([]any, 0, len(rows)*6)
		for _, f := range rows {
			args = append(args, c.device, c.chain, f.seq, f.kind, f.detail, f.at)
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO chain_errors (device, chain, seq, kind, detail, first_seen_ms) VALUES `+placeholders(len(rows), 6)+`
			ON CONFLICT (device, chain, seq, kind) DO NOTHING`, args...); err != nil {
			return err
		}
	}
	for seqs := range chunks(w.clears, pow2) {
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
	*w = writes{records: w.records[:0], facts: w.facts[:0], flags: w.flags[:0], clears: w.clears[:0]}
	return nil
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

// chunks yields xs in runs of at most batchRows. On SQLite, where the
// statements are prepared once (stmts.go), a run is a power of two long
// (25 rows: 16, 8, 1), so a handful of statements serve every batch; on
// PostgreSQL every statement is a round trip, and a run is as long as it
// may be.
func chunks[T any](xs []T, pow2 bool) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(xs) > 0 {
			n := min(len(xs), batchRows)
			if pow2 {
				for n&(n-1) != 0 {
					n &= n - 1 // down to its highest bit
				}
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
