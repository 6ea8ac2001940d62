package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
)

// Ingest implements Store.
func (s *sqlStore) Ingest(ctx context.Context, device string, recs []record.Record) (IngestResult, error) {
	facility, err := facilityOf(device)
	if err != nil {
		return IngestResult{}, s.errf("ingest", err)
	}
	chain := ""
	if len(recs) > 0 {
		chain = recs[0].Chain
	}
	for _, r := range recs {
		if r.Device != device {
			return IngestResult{}, s.errf("ingest "+device, fmt.Errorf("batch refused: record #%d names device %q, but the uploader is %q (a booth may upload only its own records)", r.Seq, r.Device, device))
		}
		if r.Seq == 0 || r.Seq > math.MaxInt64 {
			return IngestResult{}, s.errf("ingest "+device, fmt.Errorf("batch refused: record seq %d is out of range (1…2^63-1)", r.Seq))
		}
		if !record.ValidChainID(r.Chain) {
			return IngestResult{}, s.errf("ingest "+device, fmt.Errorf("batch refused: record #%d names chain %q, not 32 lower-case hex digits", r.Seq, r.Chain))
		}
		if r.Chain != chain {
			return IngestResult{}, s.errf("ingest "+device, fmt.Errorf("batch refused: record #%d is of chain %q, #%d of chain %q: a batch holds the records of one chain (one store) only", recs[0].Seq, chain, r.Seq, r.Chain))
		}
	}
	// In seq order, so a batch's own links are checked whatever order it
	// was sent in; stable, so a duplicate within the batch follows its twin.
	sorted := slices.Clone(recs)
	slices.SortStableFunc(sorted, func(a, b record.Record) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	var res IngestResult
	err = s.inGroup(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res = IngestResult{Chain: chain, Records: make([]RecordResult, 0, len(sorted))}
		if s.dialect == postgres {
			// One device's batches are serialised across replicas, so the
			// chain checks see each other's records.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, device); err != nil {
				return err
			}
		}
		c := chainKey{device: device, chain: chain}
		if len(sorted) == 0 {
			var contiguous int64
			err := s.queryRow(ctx, tx, `SELECT contiguous FROM chain_heads WHERE device = ? AND chain = ?`, device, chain).Scan(&contiguous)
			if err != nil && !absent(err) {
				return err
			}
			res.Contiguous = uint64(contiguous)
			return nil
		}
		lo, hi := sorted[0].Seq, sorted[len(sorted)-1].Seq
		st, err := s.loadBatch(ctx, tx, c, lo, hi)
		if err != nil {
			return err
		}
		now := s.now().UnixMilli()
		w := &writes{}
		for _, r := range sorted {
			rr, err := s.ingestOne(ctx, tx, facility, r, st.known, st.reported, w, now)
			if err != nil {
				return fmt.Errorf("record #%d: %w", r.Seq, err)
			}
			res.Records = append(res.Records, rr)
		}
		if res.Contiguous, err = s.advanceHead(ctx, tx, c, facility, w, st, now, lo, hi); err != nil {
			return fmt.Errorf("store the batch's rows: %w", err)
		}
		if st.newChain && st.otherChain {
			return s.noticeNewChain(ctx, tx, facility, c, sorted[0].Seq, now)
		}
		return nil
	})
	if err != nil {
		return IngestResult{}, s.errf("ingest "+device, err)
	}
	return res, nil
}

// chainKey names one chain of one device.
type chainKey struct{ device, chain string }

// link is what the chain checks need of a stored record: its claimed hash,
// its prev, and the hash of its content (sum), which tells an edited record
// that kept its claimed hash from a true duplicate.
type link struct{ hash, prev, sum string }

// batchState is what the stored ledger says about a batch's chain before
// the batch: read in one query (loadBatch).
type batchState struct {
	contiguous int64
	newChain   bool              // no head yet: the chain's first batch
	otherChain bool              // of a new chain: the device has had another (noticeNewChain)
	known      map[uint64]link   // the stored records lo-1…hi+1
	reported   map[uint64]string // the heads heartbeats reported for lo…hi
}

// batchRead is loadBatch's query: the chain head (h), the stored records
// from lo-1 to hi+1, everything the chain checks of a batch spanning lo…hi
// look at (r), the heads reported for lo…hi (p), and, for a chain with no
// head yet, whether the device has had another chain (o). One query, so
// one round trip on PostgreSQL and one statement on SQLite; each arm is an
// index range of its table.
const batchRead = `SELECT 'h', contiguous, '', NULL, '', '', '' FROM chain_heads WHERE device = ? AND chain = ?
UNION ALL SELECT 'r', seq, kind, payload, prev, hash, sealed FROM records WHERE device = ? AND chain = ? AND seq BETWEEN ? AND ?
UNION ALL SELECT 'p', seq, '', NULL, '', hash, '' FROM heads_reported WHERE device = ? AND chain = ? AND seq BETWEEN ? AND ?
UNION ALL SELECT 'o', 0, '', NULL, '', '', '' WHERE NOT EXISTS (SELECT 1 FROM chain_heads WHERE device = ? AND chain = ?)
  AND (EXISTS (SELECT 1 FROM chain_heads WHERE device = ? AND chain <> ?) OR EXISTS (SELECT 1 FROM heads_reported WHERE device = ? AND chain <> ?)
    OR EXISTS (SELECT 1 FROM records WHERE device = ? AND chain <> ?))`

// loadBatch reads the batchState of a batch of chain c spanning lo…hi.
func (s *sqlStore) loadBatch(ctx context.Context, tx *sql.Tx, c chainKey, lo, hi uint64) (batchState, error) {
	d, ch := c.device, c.chain
	rows, err := s.query(ctx, tx, batchRead, d, ch, d, ch, int64(lo)-1, int64(min(hi, math.MaxInt64-1))+1, d, ch, int64(lo), int64(hi),
		d, ch, d, ch, d, ch, d, ch)
	if err != nil {
		return batchState{}, err
	}
	defer rows.Close()
	st := batchState{newChain: true, known: map[uint64]link{}, reported: map[uint64]string{}}
	for rows.Next() {
		var (
			tag     string
			seq     int64
			kind    string
			payload []byte
			l       link
			sealed  string
		)
		if err := rows.Scan(&tag, &seq, &kind, &payload, &l.prev, &l.hash, &sealed); err != nil {
			return batchState{}, err
		}
		switch tag {
		case "h":
			st.contiguous, st.newChain = seq, false
		case "o":
			st.otherChain = true
		case "p":
			st.reported[uint64(seq)] = l.hash
		case "r":
			r := record.Record{Device: d, Chain: ch, Seq: uint64(seq), Kind: record.Kind(kind), Payload: payload, Prev: l.prev}
			l.sum = r.ComputeHash()
			if sealed != "" {
				// Purged (retention.go): the content hash it had as it came.
				l.sum = sealed
			}
			st.known[uint64(seq)] = l
		default:
			return batchState{}, fmt.Errorf("batch read: a row tagged %q, not h, o, p or r (batchRead)", tag)
		}
	}
	return st, rows.Err()
}

// flag raises a chain error of kind at seq of chain c (once per kind and
// seq: a repeat keeps the first detail and time).
func (s *sqlStore) flag(ctx context.Context, tx *sql.Tx, c chainKey, seq uint64, kind, detail string, now int64) error {
	_, err := s.exec(ctx, tx, `INSERT INTO chain_errors (device, chain, seq, kind, detail, first_seen_ms) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (device, chain, seq, kind) DO NOTHING`, c.device, c.chain, int64(seq), kind, detail, now)
	return err
}

// ingestOne decides what one record of a batch is and holds the rows that
// says in w (batch.go); the statements that must see rows already held
// flush w first.
func (s *sqlStore) ingestOne(ctx context.Context, tx *sql.Tx, facility string, r record.Record, known map[uint64]link, reported map[uint64]string, w *writes, now int64) (RecordResult, error) {
	rr := RecordResult{Seq: r.Seq}
	c := chainKey{device: r.Device, chain: r.Chain}
	flag := func(seq uint64, kind, detail string) error {
		if seq == r.Seq {
			rr.Flags = append(rr.Flags, kind)
		}
		w.flag(int64(seq), kind, detail, now)
		return nil
	}

	sum := r.ComputeHash()
	if l, ok := known[r.Seq]; ok {
		stored := l.hash
		if stored == r.Hash && l.sum == sum {
			rr.Status = Duplicate
			return rr, nil
		}
		// Another version: another hash, or the same claimed hash over other
		// content (an edit that kept the hash, or the original of one).
		rr.Status = Conflict
		// Rare, and it reads and changes the fact of a seq that may be
		// held: what is held goes first, then this version row by row.
		if err := s.flush(ctx, tx, c, facility, w, nil); err != nil {
			return rr, err
		}
		ins, err := s.exec(ctx, tx, `INSERT INTO conflicts (device, chain, seq, hash, sum, kind, payload, prev, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (device, chain, seq, hash, sum) DO NOTHING`, r.Device, r.Chain, int64(r.Seq), r.Hash, sum, string(r.Kind), []byte(r.Payload), r.Prev, now)
		if err != nil {
			return rr, err
		}
		if err := flag(r.Seq, FlagConflict, fmt.Sprintf("stored hash %.12s (content %.12s), uploaded %.12s (content %.12s): two different records with one seq of one chain; the booth's records were edited or rolled back; a call charges the larger claim, an officer credit is withdrawn", stored, l.sum, r.Hash, sum)); err != nil {
			return rr, err
		}
		if n, err := ins.RowsAffected(); err != nil || n == 0 {
			return rr, err // a version already counted
		}
		// Any doubt withdraws credit, whichever version came first.
		if _, err := s.exec(ctx, tx, `UPDATE facts SET credit_ms = 0 WHERE device = ? AND chain = ? AND seq = ?`, r.Device, r.Chain, int64(r.Seq)); err != nil {
			return rr, err
		}
		return rr, s.claim(ctx, tx, facility, r, sum, true, w, flag)
	}

	rr.Status = Stored
	hashOK := sum == r.Hash
	w.records = append(w.records, recordRow{seq: int64(r.Seq), kind: string(r.Kind), payload: []byte(r.Payload), prev: r.Prev, hash: r.Hash, hashOK: int64(b2i(hashOK)), receivedMs: now})
	known[r.Seq] = link{hash: r.Hash, prev: r.Prev, sum: sum}
	if !hashOK {
		if err := flag(r.Seq, FlagHash, "hash does not match the content: edited or corrupt; a call charges what it claims (or more, if another version claims more), an officer credit is withdrawn"); err != nil {
			return rr, err
		}
	}
	rewritten := false
	if h, ok := reported[r.Seq]; ok && h != r.Hash {
		rewritten = true
		if err := flag(r.Seq, FlagRewrite, fmt.Sprintf("a heartbeat reported hash %.12s for #%d, the record uploaded has %.12s: records were rewritten after the booth reported its head; an officer credit is withdrawn", h, r.Seq, r.Hash)); err != nil {
			return rr, err
		}
	}

	// The link back to the predecessor, by record's rules (Follows); the
	// ledger flags what the booth's VerifyChain would refuse.
	if r.Seq == 1 {
		if r.Follows(nil) != nil {
			if err := flag(1, FlagLink, "first record does not start from the genesis hash"); err != nil {
				return rr, err
			}
		}
	} else {
		prev, ok := known[r.Seq-1]
		prevHash := prev.hash
		switch {
		case !ok:
			if err := flag(r.Seq, FlagGap, fmt.Sprintf("#%d arrived before #%d", r.Seq, r.Seq-1)); err != nil {
				return rr, err
			}
		case r.Follows(&record.Record{Seq: r.Seq - 1, Hash: prevHash}) != nil:
			if err := flag(r.Seq, FlagLink, fmt.Sprintf("prev %.12s is not the hash of #%d (%.12s)", r.Prev, r.Seq-1, prevHash)); err != nil {
				return rr, err
			}
		}
	}

	// The link forward: r may fill a gap in front of a stored successor.
	next, ok := known[r.Seq+1]
	nextPrev := next.prev
	switch {
	case !ok:
	case hashOK && (record.Record{Seq: r.Seq + 1, Prev: nextPrev}).Follows(&r) == nil:
		w.clears = append(w.clears, int64(r.Seq+1))
	default:
		if err := flag(r.Seq+1, FlagLink, fmt.Sprintf("prev %.12s is not the hash of the late #%d (%.12s)", nextPrev, r.Seq, r.Hash)); err != nil {
			return rr, err
		}
	}
	return rr, s.claim(ctx, tx, facility, r, sum, !hashOK || rewritten, w, flag)
}

// claim puts what one version of a record claims into the ledger. Billing
// fails closed: a doubtful version (its hash does not verify, it conflicts
// with another version, a heartbeat named another hash) never credits, and
// when several versions claim one seq the fact is the one charging most
// (ties: the smallest content hash, sum), so the result is the same in any
// arrival order
// and an edit can never lower a charge. A version whose payload is out of
// bounds or unreadable claims nothing.
func (s *sqlStore) claim(ctx context.Context, tx *sql.Tx, facility string, r record.Record, sum string, doubtful bool, w *writes, flag func(uint64, string, string) error) error {
	f, ok, err := factOf(r)
	if err != nil {
		return flag(r.Seq, FlagPayload, err.Error()+"; kept out of the ledger")
	}
	if !ok {
		return nil
	}
	switch {
	case doubtful:
		f.credit = 0
	case r.Kind == record.KindOfficer:
		// Only a verified officer credits, and never beyond the caps,
		// which sum the facts: the batch's own held so far count too.
		if err := s.flush(ctx, tx, chainKey{device: r.Device, chain: r.Chain}, facility, w, nil); err != nil {
			return err
		}
		kind, detail, err := s.checkOfficer(ctx, tx, facility, &f)
		if err != nil {
			return err
		}
		if kind != "" {
			if err := flag(r.Seq, kind, detail); err != nil {
				return err
			}
		}
	}
	if doubtful {
		// Another version of a seq whose fact names another inmate or
		// period: the fact stays, and this version's charge is counted
		// for the inmate and period it names (migration 16). The held rows
		// were sent before this version (ingestOne).
		var inmate, period string
		err := s.queryRow(ctx, tx, `SELECT inmate, period FROM facts WHERE device = ? AND chain = ? AND seq = ?`, r.Device, r.Chain, int64(r.Seq)).Scan(&inmate, &period)
		if err != nil && !absent(err) {
			return err
		}
		if err == nil && (inmate != f.inmate || period != f.period) {
			if f.charged <= 0 {
				return nil
			}
			_, err := s.exec(ctx, tx, `INSERT INTO conflict_charges (device, chain, seq, facility, inmate, period, month, charged_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (device, chain, seq, inmate, period) DO UPDATE SET charged_ms = excluded.charged_ms WHERE excluded.charged_ms > conflict_charges.charged_ms`,
				r.Device, r.Chain, int64(r.Seq), facility, f.inmate, f.period, f.month, f.charged)
			return err
		}
	}
	// One fact per seq: the version charging most (factUpsert, batch.go).
	w.facts = append(w.facts, factRow{seq: int64(r.Seq), kind: string(r.Kind), inmate: f.inmate, period: f.period, month: f.month, action: f.action,
		talked: f.talked, charged: f.charged, credit: f.credit, sum: sum, officer: f.officer, atMs: f.atMs})
	return nil
}

// advanceHead moves the chain's contiguous mark, at st.contiguous before
// the batch, over the seqs now stored, and writes it with the batch's held
// rows (the last flush). Within lo-1…hi+1 it needs no query: known holds
// every seq stored there, before the batch and by it. Past that (or when
// the batch starts beyond the mark) it reads the stored seqs in pages
// rather than one query per seq, after sending the held rows.
func (s *sqlStore) advanceHead(ctx context.Context, tx *sql.Tx, c chainKey, facility string, w *writes, st batchState, now int64, lo, hi uint64) (uint64, error) {
	head := st.contiguous
	walk := true
	for next := uint64(head) + 1; next+1 >= lo && next <= hi+1; next++ {
		if _, ok := st.known[next]; !ok {
			walk = false // a hole inside what known covers
			break
		}
		head = int64(next)
	}
	if walk {
		if err := s.flush(ctx, tx, c, facility, w, nil); err != nil {
			return 0, err
		}
		for {
			next, err := s.walk(ctx, tx, c, head)
			if err != nil {
				return 0, err
			}
			if next == head {
				break
			}
			head = next
		}
	}
	var hw *headWrite
	if st.newChain || head != st.contiguous {
		hw = &headWrite{contiguous: head, newChain: st.newChain, now: now}
	}
	return uint64(head), s.flush(ctx, tx, c, facility, w, hw)
}

// walk returns how far one page of stored seqs after head runs without a
// hole.
func (s *sqlStore) walk(ctx context.Context, tx *sql.Tx, c chainKey, head int64) (int64, error) {
	rows, err := s.query(ctx, tx, `SELECT seq FROM records WHERE device = ? AND chain = ? AND seq > ? ORDER BY seq LIMIT 1000`, c.device, c.chain, head)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return 0, err
		}
		if seq != head+1 {
			break
		}
		head = seq
	}
	return head, rows.Err()
}

// fact is the ledger's view of one record.
type fact struct {
	inmate, period, month, action string
	talked, charged, credit       int64 // ms
	officer                       string
	atMs                          int64 // the record's own time (booth clock), Unix ms
	// Of an officer record, for the checks at the centre (officer.go).
	officerCard   string
	rosterVersion int64
}

// Bounds of the values a booth sends, in milliseconds: a call never talks,
// is charged or is granted more than policy.MaxCall, and one officer
// record never credits more than policy.MaxCredit (see docs/ledger.md).
var (
	maxCallMs   = policy.MaxCall.Milliseconds()
	maxCreditMs = policy.MaxCredit.Milliseconds()
)

// namedMs is a payload value in milliseconds with its JSON name.
type namedMs struct {
	name string
	v    int64
}

// inBounds reports the first value outside 0…limit, naming it.
func inBounds(limit int64, vals ...namedMs) error {
	for _, x := range vals {
		if x.v < 0 || x.v > limit {
			return fmt.Errorf("%s %d is outside 0…%d (%v)", x.name, x.v, limit, durMs(limit))
		}
	}
	return nil
}

// factOf derives the ledger fact of a call, denial or officer record; ok is
// false for kinds the ledger does not count. Every duration and amount is
// bounded here, before anything sums it: a value outside its bound is an
// error (the record is flagged payload and kept out of the ledger).
func factOf(r record.Record) (f fact, ok bool, err error) {
	switch r.Kind {
	case record.KindCall:
		var c record.Call
		if err := json.Unmarshal(r.Payload, &c); err != nil {
			return f, false, fmt.Errorf("call payload: %w", err)
		}
		if err := inBounds(maxCallMs, namedMs{"talked_ms", c.TalkedMs}, namedMs{"charged_ms", c.ChargedMs}, namedMs{"max_ms", c.MaxMs}); err != nil {
			return f, false, fmt.Errorf("call payload: %w: longer than any call a policy allows", err)
		}
		return fact{inmate: c.Inmate, period: c.Period, month: monthOf(c.Period, c.AuthorisedAt), talked: c.TalkedMs, charged: c.ChargedMs,
			atMs: msOf(c.AuthorisedAt)}, true, nil
	case record.KindDenial:
		var d record.Denial
		if err := json.Unmarshal(r.Payload, &d); err != nil {
			return f, false, fmt.Errorf("denial payload: %w", err)
		}
		return fact{inmate: d.Inmate, month: monthOf("", d.At), action: string(d.Reason), atMs: msOf(d.At)}, true, nil
	case record.KindOfficer:
		var o record.Officer
		if err := json.Unmarshal(r.Payload, &o); err != nil {
			return f, false, fmt.Errorf("officer payload: %w", err)
		}
		if err := inBounds(maxCreditMs, namedMs{"credit_ms", o.CreditMs}); err != nil {
			return f, false, fmt.Errorf("officer payload: %w: more than an officer may credit", err)
		}
		if o.RosterVersion < 0 {
			return f, false, fmt.Errorf("officer payload: negative roster_version %d", o.RosterVersion)
		}
		f = fact{inmate: o.Inmate, period: o.Period, month: monthOf(o.Period, o.At), action: string(o.Action),
			officer: o.Officer, atMs: msOf(o.At), officerCard: o.OfficerCard, rosterVersion: o.RosterVersion}
		if o.Action.Credits() {
			f.credit = o.CreditMs
		}
		return f, true, nil
	}
	return f, false, nil
}

// monthOf is the report month of a record: from a day or month period key
// ("2026-11-29", "2026-11"), which is in the facility's local time; from a
// week key ("2026-W49"), the month of its Thursday, as ISO 8601 gives a
// week its year; otherwise (denials) the month of at in UTC. A billed
// record's month never comes from the booth's clock: a booth months behind
// filed this week's calls under a month retention then purged, and the
// inmate's week started again at its whole allowance.
func monthOf(period string, at time.Time) string {
	if len(period) >= 7 && period[4] == '-' && period[5] >= '0' && period[5] <= '9' {
		return period[:7]
	}
	if m, ok := weekMonth(period); ok {
		return m
	}
	return at.UTC().Format("2006-01")
}

// weekMonth is the month ("2026-12") of the Thursday of an ISO week key
// ("2026-W49"); ok is false for anything else.
func weekMonth(key string) (string, bool) {
	if len(key) != len("2006-W01") || key[4] != '-' || key[5] != 'W' {
		return "", false
	}
	year, err1 := strconv.Atoi(key[:4])
	week, err2 := strconv.Atoi(key[6:])
	if err1 != nil || err2 != nil || week < 1 || week > 53 {
		return "", false
	}
	// 4 January is always in week 1; its week's Monday starts week 1.
	jan4 := time.Date(year, time.January, 4, 0, 0, 0, 0, time.UTC)
	monday := jan4.AddDate(0, 0, -((int(jan4.Weekday()) + 6) % 7))
	thursday := monday.AddDate(0, 0, (week-1)*7+3)
	if y, _ := thursday.ISOWeek(); y != year {
		return "", false // week 53 of a year that has 52
	}
	return thursday.Format("2006-01"), true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ChainErrors implements Store.
func (s *sqlStore) ChainErrors(ctx context.Context, device string) ([]ChainError, error) {
	rows, err := s.on(ctx).QueryContext(ctx, s.q(`SELECT chain, seq, kind, detail, first_seen_ms, cleared FROM chain_errors WHERE device = ? ORDER BY chain, seq, kind`), device)
	if err != nil {
		return nil, s.errf("chain errors "+device, err)
	}
	defer rows.Close()
	var out []ChainError
	for rows.Next() {
		var (
			e       = ChainError{Device: device}
			seq     int64
			seen    sql.NullInt64
			cleared int
		)
		if err := rows.Scan(&e.Chain, &seq, &e.Kind, &e.Detail, &seen, &cleared); err != nil {
			return nil, s.errf("chain errors "+device, err)
		}
		e.Seq, e.FirstSeen, e.Cleared = uint64(seq), timeOf(seen), cleared != 0
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("chain errors "+device, err)
	}
	return out, nil
}

// Balance implements Store.
func (s *sqlStore) Balance(ctx context.Context, facility, inmate, period string) (used, credit time.Duration, err error) {
	var u, c, other int64
	// The facts, and the charges of conflicting versions naming this
	// inmate and period when their seq's fact names another (migration 16).
	err = s.on(ctx).QueryRowContext(ctx, s.q(`SELECT `+s.sumMs("charged_ms")+`, `+s.sumMs("credit_ms")+`,
		(SELECT `+s.sumMs("charged_ms")+` FROM conflict_charges WHERE facility = ? AND inmate = ? AND period = ?) FROM facts
		WHERE facility = ? AND inmate = ? AND period = ?`), facility, inmate, period, facility, inmate, period).Scan(&u, &c, &other)
	if err != nil {
		return 0, 0, s.errf(fmt.Sprintf("balance %s/%s %s", facility, inmate, period), err)
	}
	return policy.AddSat(durMs(u), durMs(other)), durMs(c), nil
}
