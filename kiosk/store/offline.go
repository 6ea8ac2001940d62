package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"wartelsuspas/kiosk/record"
)

// The offline view of an inmate's usage: what the booth decides from when
// the centre does not answer (docs/ledger.md "Offline").
//
// At every online authorise the booth keeps the centre's balance with the
// seq its count of this booth's records is known to reach: the acknowledged
// head, since a record the centre has not confirmed may not be in it. Own
// records above that seq are this booth's usage since the balance. Offline,
// the booth grants at most that balance less its own usage since, and the
// offline cap bounds what it charged for calls authorised offline since.
// Without a balance from the centre in the period, all the period's own
// offline calls count. Records above the seq that the centre had in fact
// counted are counted once more: the error is towards less offline, never
// more.

// SetCentreBalance keeps the centre's answer at an online authorise: the
// inmate's authoritative remaining time in period, counting this booth's
// records up to counted at most. counted is the acknowledged head read
// before the centre was asked (Usage's Confirmed): a record acknowledged
// while the answer was on its way may have been stored after the balance
// was computed, so it counts as since the balance. A newer answer replaces
// an older one.
func (s *Store) SetCentreBalance(inmate, period string, remaining time.Duration, counted uint64) error {
	return s.write(fmt.Sprintf("keep the centre's balance of %s in %s", inmate, period), func(c *sql.Conn) error {
		acked, err := s.readHead(c, "acked")
		if err != nil {
			return err
		}
		// Never beyond what the centre confirmed: a counted ahead of the
		// head is a caller's error, and taking it would count records the
		// centre never saw as in its balance.
		counted = min(counted, acked.seq)
		_, err = c.ExecContext(context.Background(), `
INSERT INTO centre_balance(inmate, period, remaining_ms, after_seq) VALUES (?, ?, ?, ?)
ON CONFLICT (inmate, period) DO UPDATE SET remaining_ms = excluded.remaining_ms, after_seq = excluded.after_seq`,
			inmate, period, remaining.Milliseconds(), int64(counted))
		return err
	})
}

// offlineView fills u's OfflineUsed, Centre and CentreRemaining.
func (s *Store) offlineView(u *record.Usage, inmate, period string) error {
	op := fmt.Sprintf("read offline usage of %s in %s", inmate, period)
	var remaining, after int64
	err := s.db.QueryRow(`SELECT remaining_ms, after_seq FROM centre_balance WHERE inmate = ? AND period = ?`, inmate, period).
		Scan(&remaining, &after)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		remaining, after = 0, 0
	case err != nil:
		return s.wrap(op, err)
	default:
		u.Centre = true
	}
	var used, granted, offline int64
	err = s.db.QueryRow(`SELECT coalesce(sum(used_ms), 0), coalesce(sum(granted_ms), 0), coalesce(sum(offline_ms), 0)
FROM ledger WHERE inmate = ? AND period = ? AND seq > ?`, inmate, period, after).Scan(&used, &granted, &offline)
	if err != nil {
		return s.wrap(op, err)
	}
	ms := func(v int64) time.Duration { // saturating: a corrupt sum never wraps round
		return time.Duration(max(min(v, math.MaxInt64/int64(time.Millisecond)), math.MinInt64/int64(time.Millisecond))) * time.Millisecond
	}
	u.OfflineUsed = ms(offline)
	// Unconfirmed and Confirmed from one read of the head: the charges
	// above the seq the caller then passes to SetCentreBalance.
	var unconfirmed, acked int64
	err = s.db.QueryRow(`WITH head AS (SELECT seq FROM chain WHERE name = 'acked')
SELECT coalesce((SELECT sum(used_ms) FROM ledger WHERE inmate = ? AND period = ? AND seq > (SELECT seq FROM head)), 0),
	(SELECT seq FROM head)`, inmate, period).Scan(&unconfirmed, &acked)
	if err != nil {
		return s.wrap(op, err)
	}
	u.Unconfirmed, u.Confirmed = ms(unconfirmed), uint64(acked)
	if u.Centre {
		u.CentreRemaining = ms(remaining) + ms(granted) - ms(used)
	}
	return nil
}
