package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"

	"wartelsuspas/kiosk/record"
)

// A device's chains: one per store it has had. A store wiped, re-flashed or
// replaced starts a new chain at seq 1; the gateway counts it like any
// other and raises a "store replaced" event with what it knew of the old
// one, so lost records are a count. The heads booths report in heartbeats
// are kept per (device, chain, seq): a record or a later heartbeat with
// another hash at a reported seq is a rewrite.

// queryer is what both *sql.DB and *sql.Tx offer for reads.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reportHead keeps the head a heartbeat reported and checks it against what
// the gateway stored and was told before at that seq; a mismatch is a
// rewrite, flagged, and withdraws any credit of that seq.
func (s *sqlStore) reportHead(ctx context.Context, tx *sql.Tx, hb Heartbeat, now int64) error {
	if hb.HeadSeq == 0 {
		return nil // an empty store: nothing to pin
	}
	if !record.ValidChainID(hb.Chain) || hb.HeadSeq > math.MaxInt64 {
		return fmt.Errorf("heartbeat head: chain %q #%d is malformed", hb.Chain, hb.HeadSeq)
	}
	c := chainKey{device: hb.Device, chain: hb.Chain}
	seq := int64(hb.HeadSeq)
	var mismatch []string
	var before string
	err := s.queryRow(ctx, tx, `SELECT hash FROM heads_reported WHERE device = ? AND chain = ? AND seq = ?`, c.device, c.chain, seq).Scan(&before)
	switch {
	case absent(err):
		if _, err := s.exec(ctx, tx, `INSERT INTO heads_reported (device, chain, seq, hash, at_ms) VALUES (?, ?, ?, ?, ?)`, c.device, c.chain, seq, hb.HeadHash, now); err != nil {
			return err
		}
	case err != nil:
		return err
	case before != hb.HeadHash:
		mismatch = append(mismatch, fmt.Sprintf("an earlier heartbeat reported %.12s", before))
	}
	var stored string
	err = s.queryRow(ctx, tx, `SELECT hash FROM records WHERE device = ? AND chain = ? AND seq = ?`, c.device, c.chain, seq).Scan(&stored)
	switch {
	case absent(err):
	case err != nil:
		return err
	case stored != hb.HeadHash:
		mismatch = append(mismatch, fmt.Sprintf("the record stored has %.12s", stored))
	}
	if len(mismatch) == 0 {
		return nil
	}
	detail := fmt.Sprintf("a heartbeat reported hash %.12s for #%d, but %s: records were rewritten after the fact; an officer credit is withdrawn", hb.HeadHash, hb.HeadSeq, strings.Join(mismatch, " and "))
	if err := s.flag(ctx, tx, c, hb.HeadSeq, FlagRewrite, detail, now); err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, `UPDATE facts SET credit_ms = 0 WHERE device = ? AND chain = ? AND seq = ?`, c.device, c.chain, seq)
	return err
}

// noticeNewChain raises the store-replaced event when device's first batch
// of chain c arrives and the gateway already knew another chain of it.
func (s *sqlStore) noticeNewChain(ctx context.Context, tx *sql.Tx, facility string, c chainKey, firstSeq uint64, now int64) error {
	chains, err := s.chainsOf(ctx, tx, c.device)
	if err != nil {
		return err
	}
	var old *ChainStatus
	for i := range chains {
		if chains[i].Chain != c.chain {
			old = &chains[i] // the last other chain first seen: the store this one replaces
		}
	}
	if old == nil {
		return nil // the device's first store
	}
	lost := missing(*old)
	detail := fmt.Sprintf("store replaced: records now come from chain %s (from #%d); the old chain %s was stored up to #%d (contiguous), highest #%d, and the booth last reported #%d in a heartbeat: %d records of the old chain lost. If the old card or file still exists, keep it for a technician.",
		chainName(c.chain), firstSeq, chainName(old.Chain), old.Contiguous, old.Highest, old.Reported, lost)
	return s.raiseEvent(ctx, tx, CentreEvent{Facility: facility, Device: c.device, Kind: EventStoreReplaced, Detail: detail, At: timeOf(sql.NullInt64{Int64: now, Valid: true})})
}

func chainName(c string) string {
	if c == "" {
		return `"" (legacy)`
	}
	return c
}

// missing counts the records of a chain the booth is known to have written
// that the gateway does not hold.
func missing(c ChainStatus) uint64 {
	top := max(c.Reported, c.Highest)
	if top < c.Stored {
		return 0
	}
	return top - c.Stored
}

// Chains implements Store.
func (s *sqlStore) Chains(ctx context.Context, device string) ([]ChainStatus, error) {
	out, err := s.chainsOf(ctx, s.db, device)
	if err != nil {
		return nil, s.errf("chains of "+device, err)
	}
	return out, nil
}

// chainsOf lists device's chains through q, first seen first.
func (s *sqlStore) chainsOf(ctx context.Context, q queryer, device string) ([]ChainStatus, error) {
	byChain := map[string]*ChainStatus{}
	first := map[string]int64{}
	get := func(c string) *ChainStatus {
		if byChain[c] == nil {
			byChain[c] = &ChainStatus{Chain: c}
			first[c] = math.MaxInt64
		}
		return byChain[c]
	}
	each := func(query string, scan func(*sql.Rows) error) error {
		rows, err := q.QueryContext(ctx, s.q(query), device)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	err := each(`SELECT chain, contiguous, first_seen_ms FROM chain_heads WHERE device = ?`, func(rows *sql.Rows) error {
		var (
			c         string
			cont, fst int64
		)
		if err := rows.Scan(&c, &cont, &fst); err != nil {
			return err
		}
		get(c).Contiguous = uint64(cont)
		first[c] = min(first[c], fst)
		return nil
	})
	if err == nil {
		err = each(`SELECT chain, COUNT(*), MAX(seq) FROM records WHERE device = ? GROUP BY chain`, func(rows *sql.Rows) error {
			var (
				c       string
				n, high int64
			)
			if err := rows.Scan(&c, &n, &high); err != nil {
				return err
			}
			cs := get(c)
			cs.Stored, cs.Highest = uint64(n), uint64(high)
			return nil
		})
	}
	if err == nil {
		// Every head reported, highest last: the last one seen per chain
		// is its highest.
		err = each(`SELECT chain, seq, hash, at_ms FROM heads_reported WHERE device = ? ORDER BY chain, seq`, func(rows *sql.Rows) error {
			var (
				c       string
				seq, at int64
				hash    string
			)
			if err := rows.Scan(&c, &seq, &hash, &at); err != nil {
				return err
			}
			cs := get(c)
			cs.Reported, cs.ReportedHash, cs.ReportedAt = uint64(seq), hash, timeOf(sql.NullInt64{Int64: at, Valid: true})
			first[c] = min(first[c], at)
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	out := make([]ChainStatus, 0, len(byChain))
	for c, cs := range byChain {
		cs.FirstSeen = timeOf(sql.NullInt64{Int64: first[c], Valid: true})
		out = append(out, *cs)
	}
	slices.SortFunc(out, func(a, b ChainStatus) int {
		if d := first[a.Chain] - first[b.Chain]; d != 0 {
			if d < 0 {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Chain, b.Chain)
	})
	for i := range out[:max(len(out)-1, 0)] {
		out[i].Replaced = true
		out[i].Lost = missing(out[i])
	}
	return out, nil
}
