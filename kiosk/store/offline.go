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
// inmate's authoritative remaining time in period. A newer answer replaces
// an older one.
func (s *Store) SetCentreBalance(inmate, period string, remaining time.Duration) error {
	return s.write(fmt.Sprintf("keep the centre's balance of %s in %s", inmate, period), func(c *sql.Conn) error {
		acked, err := s.readHead(c, "acked")
		if err != nil {
			return err
		}
		_, err = c.ExecContext(context.Background(), `
INSERT INTO centre_balance(inmate, period, remaining_ms, after_seq) VALUES (?, ?, ?, ?)
ON CONFLICT (inmate, period) DO UPDATE SET remaining_ms = excluded.remaining_ms, after_seq = excluded.after_seq`,
			inmate, period, remaining.Milliseconds(), int64(acked.seq))
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
	var unconfirmed int64
	err = s.db.QueryRow(`SELECT coalesce(sum(used_ms), 0) FROM ledger
WHERE inmate = ? AND period = ? AND seq > (SELECT seq FROM chain WHERE name = 'acked')`, inmate, period).Scan(&unconfirmed)
	if err != nil {
		return s.wrap(op, err)
	}
	u.Unconfirmed = ms(unconfirmed)
	if u.Centre {
		u.CentreRemaining = ms(remaining) + ms(granted) - ms(used)
	}
	return nil
}
