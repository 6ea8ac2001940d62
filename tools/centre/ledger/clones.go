package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// A booth's bundle copied off its SD card works from any machine: the key
// cannot be made uncopyable on a Pi. What a copy cannot hide is that it
// runs beside the original. Every start of the booth's daemon heartbeats
// with a fresh random boot id, from an address; a start's span runs from
// its first heartbeat to its last. One device, one machine: its starts
// follow each other (a restart ends one span before the next begins). Two
// spans that overlap, both seen within the window, are two machines with
// one identity: clone_suspected.

// start names one start of a device: its boot id and source address.
type start struct{ boot, source string }

func (b start) String() string {
	boot := b.boot
	if boot == "" {
		boot = "(no boot id)"
	}
	if b.source == "" {
		return "boot " + boot
	}
	return "boot " + boot + " from " + b.source
}

// watchClones records hb's start and returns how many pairs of starts not
// raised before it revealed, raising EventCloneSuspected in tx for each.
func (s *sqlStore) watchClones(ctx context.Context, tx *sql.Tx, hb Heartbeat) (int, error) {
	if hb.Window <= 0 {
		return 0, nil
	}
	now := msOf(hb.At)
	if _, err := s.exec(ctx, tx, `INSERT INTO device_boots (device, boot_id, source, first_ms, last_ms) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (device, boot_id, source) DO UPDATE SET last_ms = excluded.last_ms`,
		hb.Device, hb.BootID, hb.Source, now, now); err != nil {
		return 0, err
	}
	// Starts last seen before the window can overlap nothing to come.
	if _, err := s.exec(ctx, tx, `DELETE FROM device_boots WHERE device = ? AND last_ms < ?`,
		hb.Device, now-hb.Window.Milliseconds()); err != nil {
		return 0, err
	}
	var first int64
	if err := s.queryRow(ctx, tx, `SELECT first_ms FROM device_boots WHERE device = ? AND boot_id = ? AND source = ?`,
		hb.Device, hb.BootID, hb.Source).Scan(&first); err != nil {
		return 0, err
	}
	// This start's span is [first, now]; another's [f, l] overlaps it when
	// l ≥ first (f ≤ now always holds). A restart's old start ended before
	// the new one began.
	rows, err := s.query(ctx, tx, `SELECT boot_id, source, first_ms, last_ms FROM device_boots
		WHERE device = ? AND last_ms >= ? AND NOT (boot_id = ? AND source = ?) ORDER BY first_ms, boot_id, source`,
		hb.Device, first, hb.BootID, hb.Source)
	if err != nil {
		return 0, err
	}
	type other struct {
		start
		first, last int64
	}
	var others []other
	for rows.Next() {
		var o other
		if err := rows.Scan(&o.boot, &o.source, &o.first, &o.last); err != nil {
			rows.Close()
			return 0, err
		}
		others = append(others, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(others) == 0 {
		return 0, nil
	}
	if _, err := s.exec(ctx, tx, `UPDATE devices SET clone_ms = ? WHERE device = ?`, now, hb.Device); err != nil {
		return 0, err
	}
	me := start{hb.BootID, hb.Source}
	raised := 0
	for _, o := range others {
		one, two := me.String(), o.String()
		if two < one {
			one, two = two, one
		}
		// Once per pair: the key is the two starts, in order.
		r, err := s.exec(ctx, tx, `INSERT INTO device_clones (device, one, other, at_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (device, one, other) DO NOTHING`, hb.Device, one, two, now)
		if err != nil {
			return 0, err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return 0, err
		}
		if n == 0 {
			continue
		}
		detail := fmt.Sprintf("%s heartbeats from two starts at once: %s (since %s) and %s (since %s, last %s). "+
			"Its bundle may have been copied: revoke the device (wartel-gateway revoke -device %s), enrol it again and flash the new bundle (docs/pki.md)",
			hb.Device, me, stamp(first), o.start, stamp(o.first), stamp(o.last), hb.Device)
		if err := s.raiseEvent(ctx, tx, CentreEvent{Device: hb.Device, Kind: EventCloneSuspected, Detail: detail, At: hb.At}); err != nil {
			return 0, err
		}
		raised++
	}
	return raised, nil
}

func stamp(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }
