package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"wartelsuspas/kiosk/record"
)

// querier is what both *sql.DB and *sql.Conn offer for reads.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) readHead(q querier, name string) (head, error) {
	var h head
	var seq int64
	err := q.QueryRowContext(context.Background(), `SELECT seq, hash FROM chain WHERE name = ?`, name).Scan(&seq, &h.hash)
	if err != nil {
		return head{}, fmt.Errorf("chain %s: %w", name, err)
	}
	h.seq = uint64(seq)
	return h, nil
}

// usageDelta is the change a record makes to an inmate's usage in a period.
type usageDelta struct {
	inmate, period    string
	usedMs, grantedMs int64
	endNs             int64  // wall clock end of a call, 0 if not a call
	offline           bool   // a call authorised offline: usedMs counts against the offline cap
	officer           string // who credited grantedMs (an officer record)
	atNs              int64  // the officer record's wall clock
}

// appendRecord seals a record of kind with payload p as the successor of the
// chain head and adds it to the outbox inside the open transaction on c,
// together with its usage delta (nil for none). The caller holds s.mu and
// calls commitHead after a successful commit.
func (s *Store) appendRecord(c *sql.Conn, kind record.Kind, p any, d *usageDelta) (record.Record, error) {
	ctx := context.Background()
	payload, err := json.Marshal(p)
	if err != nil {
		return record.Record{}, fmt.Errorf("encode %s payload: %w", kind, err)
	}
	// The head is read inside the transaction, not from memory, so a failed
	// earlier commit can never leave the chain with a gap or a fork.
	h, err := s.readHead(c, "head")
	if err != nil {
		return record.Record{}, err
	}
	r := record.Record{Device: s.device, Chain: s.chain, Seq: h.seq + 1, Kind: kind, Payload: payload}
	r.Link(h.hash)
	now := s.clock.Now().UnixNano()
	if _, err := s.execPrepared(ctx, c, `INSERT INTO outbox(seq, kind, payload, prev, hash, created) VALUES (?, ?, ?, ?, ?, ?)`,
		int64(r.Seq), string(r.Kind), []byte(r.Payload), r.Prev, r.Hash, now); err != nil {
		return record.Record{}, fmt.Errorf("insert record #%d: %w", r.Seq, err)
	}
	if _, err := s.execPrepared(ctx, c, `UPDATE chain SET seq = ?, hash = ? WHERE name = 'head'`, int64(r.Seq), r.Hash); err != nil {
		return record.Record{}, fmt.Errorf("advance chain head to #%d: %w", r.Seq, err)
	}
	if d != nil && d.inmate != "" && (d.usedMs != 0 || d.grantedMs != 0 || d.endNs != 0) {
		if _, err := c.ExecContext(ctx, `
INSERT INTO usage(inmate, period, used_ms, granted_ms, last_end) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (inmate, period) DO UPDATE SET
	used_ms = used_ms + excluded.used_ms,
	granted_ms = granted_ms + excluded.granted_ms,
	last_end = max(last_end, excluded.last_end)`,
			d.inmate, d.period, d.usedMs, d.grantedMs, d.endNs); err != nil {
			return record.Record{}, fmt.Errorf("add usage of %s in %s: %w", d.inmate, d.period, err)
		}
		var offlineMs int64
		if d.offline {
			offlineMs = d.usedMs
		}
		if _, err := c.ExecContext(ctx, `INSERT INTO ledger(seq, inmate, period, used_ms, granted_ms, offline_ms) VALUES (?, ?, ?, ?, ?, ?)`,
			int64(r.Seq), d.inmate, d.period, d.usedMs, d.grantedMs, offlineMs); err != nil {
			return record.Record{}, fmt.Errorf("add ledger entry #%d: %w", r.Seq, err)
		}
	}
	if d != nil && d.officer != "" && d.grantedMs > 0 {
		if _, err := c.ExecContext(ctx, `INSERT INTO officer_credits(seq, officer, at, credit_ms) VALUES (?, ?, ?, ?)`,
			int64(r.Seq), d.officer, d.atNs, d.grantedMs); err != nil {
			return record.Record{}, fmt.Errorf("add officer credit #%d: %w", r.Seq, err)
		}
	}
	return r, nil
}

// appendOne appends a single record in its own transaction.
func (s *Store) appendOne(op string, kind record.Kind, p any, d *usageDelta) (record.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r record.Record
	err := s.write(op, func(c *sql.Conn) error {
		var err error
		r, err = s.appendRecord(c, kind, p, d)
		return err
	})
	if err != nil {
		return record.Record{}, err
	}
	s.head = head{seq: r.Seq, hash: r.Hash}
	return r, nil
}

// Deny appends a denial record.
func (s *Store) Deny(d record.Denial) (record.Record, error) {
	return s.appendOne("append denial", record.KindDenial, d, nil)
}

// Event appends a booth event record.
func (s *Store) Event(e record.Event) (record.Record, error) {
	return s.appendOne("append event", record.KindEvent, e, nil)
}

// Officer appends the audit record of an officer's action and, in the same
// transaction, adds o.CreditMs to the inmate's granted time in o.Period.
func (s *Store) Officer(o record.Officer) (record.Record, error) {
	if o.CreditMs < 0 {
		return record.Record{}, fmt.Errorf("store %s: append officer action: negative credit %d ms for %s", s.path, o.CreditMs, o.Inmate)
	}
	if o.CreditMs > 0 && (o.Inmate == "" || o.Period == "") {
		return record.Record{}, fmt.Errorf("store %s: append officer action: credit of %d ms names no inmate or period", s.path, o.CreditMs)
	}
	return s.appendOne("append officer action", record.KindOfficer, o,
		&usageDelta{inmate: o.Inmate, period: o.Period, grantedMs: o.CreditMs, officer: o.Officer, atNs: o.At.UnixNano()})
}

// OfficerCredits returns what officer credited at this booth in records
// stamped at or after since (the start of the facility's day, for the
// per-officer cap).
func (s *Store) OfficerCredits(officer string, since time.Time) (time.Duration, error) {
	var total int64
	err := s.db.QueryRow(`SELECT coalesce(sum(credit_ms), 0) FROM officer_credits WHERE officer = ? AND at >= ?`, officer, since.UnixNano()).Scan(&total)
	if err != nil {
		return 0, s.wrap("read the credits of officer "+officer, err)
	}
	return time.Duration(total) * time.Millisecond, nil
}

// Head returns the last record's seq and hash (0 and record.GenesisHash for
// an empty chain).
func (s *Store) Head() (seq uint64, hash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head.seq, s.head.hash
}

// ChainHead returns the chain identity and the last record's seq and hash:
// what the booth reports in every heartbeat, so the centre can tell a
// rewrite of records it has not received yet.
func (s *Store) ChainHead() (chain string, seq uint64, hash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chain, s.head.seq, s.head.hash
}

// Acked returns the seq and hash of the last record the centre confirmed:
// the record before Pending's first, to verify the pending chain from.
func (s *Store) Acked() (seq uint64, hash string, err error) {
	h, err := s.readHead(s.db, "acked")
	if err != nil {
		return 0, "", s.wrap("read acknowledged head", err)
	}
	return h.seq, h.hash, nil
}

// Pending returns up to limit records not yet acknowledged by the centre,
// oldest first (limit <= 0: all).
func (s *Store) Pending(limit int) ([]record.Record, error) { return s.PendingAfter(0, limit) }

// PendingAfter returns up to limit unacknowledged records with a seq above
// after, oldest first (limit <= 0: all): the uplink reads the next batch
// past the ones at the gateway or being acknowledged (docs/uplink.md).
// Acknowledged records are deleted, so PendingAfter(0, n) is Pending(n).
func (s *Store) PendingAfter(after uint64, limit int) ([]record.Record, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	if after > math.MaxInt64 {
		return nil, fmt.Errorf("store %s: read pending records after #%d: out of range", s.path, after)
	}
	rows, err := s.db.Query(`SELECT seq, kind, payload, prev, hash FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, int64(after), limit)
	if err != nil {
		return nil, s.wrap("read pending records", err)
	}
	defer rows.Close()
	var rs []record.Record
	for rows.Next() {
		r := record.Record{Device: s.device, Chain: s.chain}
		var seq int64
		var kind string
		var payload []byte
		if err := rows.Scan(&seq, &kind, &payload, &r.Prev, &r.Hash); err != nil {
			return nil, s.wrap("read pending records", err)
		}
		r.Seq, r.Kind, r.Payload = uint64(seq), record.Kind(kind), payload
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("read pending records", err)
	}
	return rs, nil
}

// Ack deletes the records up to and including upToSeq, which the centre has
// confirmed storing, and remembers the last one's hash. Acknowledging what
// is already acknowledged does nothing; acknowledging past the head is an
// error (the centre claims records this booth never wrote).
func (s *Store) Ack(upToSeq uint64) error {
	return s.write(fmt.Sprintf("acknowledge records up to #%d", upToSeq), func(c *sql.Conn) error {
		ctx := context.Background()
		acked, err := s.readHead(c, "acked")
		if err != nil {
			return err
		}
		if upToSeq <= acked.seq {
			return nil
		}
		h, err := s.readHead(c, "head")
		if err != nil {
			return err
		}
		if upToSeq > h.seq {
			return fmt.Errorf("the last record written is #%d: the centre's answer is wrong or from another booth", h.seq)
		}
		var hash string
		if err := c.QueryRowContext(ctx, `SELECT hash FROM outbox WHERE seq = ?`, int64(upToSeq)).Scan(&hash); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("record #%d is missing from the outbox", upToSeq)
			}
			return err
		}
		if _, err := c.ExecContext(ctx, `DELETE FROM outbox WHERE seq <= ?`, int64(upToSeq)); err != nil {
			return err
		}
		_, err = c.ExecContext(ctx, `UPDATE chain SET seq = ?, hash = ? WHERE name = 'acked'`, int64(upToSeq), hash)
		return err
	})
}

// Depth returns the number of records waiting for the centre.
func (s *Store) Depth() (int, error) {
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM outbox`).Scan(&n); err != nil {
		return 0, s.wrap("count pending records", err)
	}
	return n, nil
}
