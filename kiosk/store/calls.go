package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"wartelsuspas/kiosk/record"
)

// OpenCall journals an authorised call and returns its id, which is never
// reused. When it returns nil the call is on the disk: the relay may close.
func (s *Store) OpenCall(c record.Call) (int64, error) {
	if c.Inmate == "" || c.Period == "" {
		return 0, fmt.Errorf("store %s: journal call: card %s names no inmate or period", s.path, c.Card)
	}
	// One statement: the call's id is the row's (OpenCalls puts it back
	// into the call), so the JSON is written without it and the commit
	// carries only what the fsync must (docs/benchmarks.md).
	c.CallID = 0
	b, err := json.Marshal(c)
	if err != nil {
		return 0, fmt.Errorf("store %s: journal call of %s: encode call: %w", s.path, c.Inmate, err)
	}
	var id int64
	err = s.write("journal call of "+c.Inmate, func(conn *sql.Conn) error {
		now := s.clock.Now().UnixNano()
		res, err := s.execPrepared(context.Background(), conn, `INSERT INTO journal(call, talked_ms, opened, updated) VALUES (?, ?, ?, ?)`, b, c.TalkedMs, now, now)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// Checkpoint records the talk time of an open call so far; after a power cut
// the call is billed to its last checkpoint.
func (s *Store) Checkpoint(callID int64, talked time.Duration) error {
	return s.updateOpen(fmt.Sprintf("checkpoint call %d", callID), callID, "talked_ms", talked.Milliseconds())
}

// Answered journals the instant a dialled call was answered. OpenCalls
// gives it back as the call's AnsweredAt and TalkStartAt.
func (s *Store) Answered(callID int64, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("store %s: answer of call %d: no instant", s.path, callID)
	}
	return s.updateOpen(fmt.Sprintf("journal the answer of call %d", callID), callID, "answered", at.UnixNano())
}

// updateOpen sets one column of an open call's journal row (and when it
// was updated), durably; a call not open is an error.
func (s *Store) updateOpen(op string, callID int64, column string, v int64) error {
	return s.write(op, func(c *sql.Conn) error {
		res, err := s.execPrepared(context.Background(), c, `UPDATE journal SET `+column+` = ?, updated = ? WHERE call_id = ? AND closed = 0`,
			v, s.clock.Now().UnixNano(), callID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("call %d is not open in the journal", callID)
		}
		return nil
	})
}

// CloseCall, in one transaction, removes call c.CallID from the journal,
// adds c.ChargedMs to the inmate's usage in c.Period and appends the call
// record. Closing a call that is not open is an error and changes nothing,
// so a call is never billed twice.
func (s *Store) CloseCall(c record.Call) (record.Record, error) {
	op := fmt.Sprintf("close call %d", c.CallID)
	if c.ChargedMs < 0 {
		return record.Record{}, fmt.Errorf("store %s: %s: negative charge %d ms", s.path, op, c.ChargedMs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var r record.Record
	err := s.write(op, func(conn *sql.Conn) error {
		ctx := context.Background()
		now := s.clock.Now().UnixNano()
		res, err := s.execPrepared(ctx, conn, `UPDATE journal SET closed = 1, call = X'', updated = ? WHERE call_id = ? AND closed = 0`, now, c.CallID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("call %d is not open in the journal (closed already?)", c.CallID)
		}
		// The highest row stays: the next id is one above it, so no id
		// is ever given twice (schema step 9).
		if _, err := s.execPrepared(ctx, conn, `DELETE FROM journal WHERE closed = 1 AND call_id < (SELECT max(call_id) FROM journal)`); err != nil {
			return err
		}
		r, err = s.appendRecord(conn, record.KindCall, c, &usageDelta{
			inmate: c.Inmate, period: c.Period, usedMs: c.ChargedMs, endNs: now, offline: c.Offline,
		})
		return err
	})
	if err != nil {
		return record.Record{}, err
	}
	s.head = head{seq: r.Seq, hash: r.Hash}
	return r, nil
}

// OpenCalls lists the calls in the journal, oldest first, each with its last
// checkpoint as TalkedMs.
func (s *Store) OpenCalls() ([]record.OpenCall, error) {
	rows, err := s.db.Query(`SELECT call_id, call, talked_ms, answered FROM journal WHERE closed = 0 ORDER BY call_id`)
	if err != nil {
		return nil, s.wrap("list open calls", err)
	}
	defer rows.Close()
	var out []record.OpenCall
	for rows.Next() {
		var oc record.OpenCall
		var b []byte
		var talked, answered int64
		if err := rows.Scan(&oc.CallID, &b, &talked, &answered); err != nil {
			return nil, s.wrap("list open calls", err)
		}
		if err := json.Unmarshal(b, &oc.Call); err != nil {
			return nil, s.wrap("list open calls", fmt.Errorf("call %d: decode: %w", oc.CallID, err))
		}
		oc.Call.CallID, oc.Call.TalkedMs = oc.CallID, talked
		if answered != 0 {
			oc.Call.AnsweredAt = time.Unix(0, answered)
			oc.Call.TalkStartAt = oc.Call.AnsweredAt
		}
		out = append(out, oc)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list open calls", err)
	}
	return out, nil
}

// Usage is the inmate's usage in a period. Without figures from the centre
// it is the booth's own calls and credits. With them (SetSyncedUsage) it is
// the centre's figures plus the booth's own records the centre had not yet
// counted (seq above the figures' through-seq), so nothing is counted twice.
// Its offline view (OfflineUsed, Centre, CentreRemaining) is offline.go's.
func (s *Store) Usage(inmate, period string) (record.Usage, error) {
	u, err := s.usage(inmate, period)
	if err != nil {
		return u, err
	}
	return u, s.offlineView(&u, inmate, period)
}

func (s *Store) usage(inmate, period string) (record.Usage, error) {
	op := fmt.Sprintf("read usage of %s in %s", inmate, period)
	var u record.Usage
	var used, granted, lastEnd int64
	err := s.db.QueryRow(`SELECT used_ms, granted_ms, last_end FROM usage WHERE inmate = ? AND period = ?`, inmate, period).
		Scan(&used, &granted, &lastEnd)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return u, s.wrap(op, err)
	}
	if lastEnd != 0 {
		u.LastEnd = time.Unix(0, lastEnd)
	}
	var sUsed, sGranted, through int64
	err = s.db.QueryRow(`SELECT used_ms, granted_ms, through_seq FROM synced_usage WHERE inmate = ? AND period = ?`, inmate, period).
		Scan(&sUsed, &sGranted, &through)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		u.Used, u.Granted = time.Duration(used)*time.Millisecond, time.Duration(granted)*time.Millisecond
		return u, nil
	case err != nil:
		return u, s.wrap(op, err)
	}
	var oUsed, oGranted int64
	err = s.db.QueryRow(`SELECT coalesce(sum(used_ms), 0), coalesce(sum(granted_ms), 0) FROM ledger WHERE inmate = ? AND period = ? AND seq > ?`,
		inmate, period, through).Scan(&oUsed, &oGranted)
	if err != nil {
		return u, s.wrap(op, err)
	}
	u.Used = time.Duration(sUsed+oUsed) * time.Millisecond
	u.Granted = time.Duration(sGranted+oGranted) * time.Millisecond
	return u, nil
}

// SetSyncedUsage stores the centre's figures for an inmate in a period:
// usage and credits across the facility's booths, including this booth's
// own records up to throughSeq (the highest seq of this booth the centre
// had stored when it computed them). Older figures (a lower throughSeq)
// never replace newer ones, so a late answer cannot undo a newer one.
func (s *Store) SetSyncedUsage(inmate, period string, used, granted time.Duration, throughSeq uint64) error {
	return s.write(fmt.Sprintf("store the centre's usage of %s in %s", inmate, period), func(c *sql.Conn) error {
		_, err := c.ExecContext(context.Background(), `
INSERT INTO synced_usage(inmate, period, used_ms, granted_ms, through_seq) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (inmate, period) DO UPDATE SET
	used_ms = excluded.used_ms, granted_ms = excluded.granted_ms, through_seq = excluded.through_seq
WHERE excluded.through_seq >= synced_usage.through_seq`,
			inmate, period, used.Milliseconds(), granted.Milliseconds(), int64(throughSeq))
		return err
	})
}
