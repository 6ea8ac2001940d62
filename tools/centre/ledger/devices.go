package ledger

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// AcquireLease implements Store. One statement decides, so two gateway
// replicas racing for the same inmate cannot both win: the conflicting
// insert waits for the other's row lock and re-checks the condition.
func (s *sqlStore) AcquireLease(ctx context.Context, facility, inmate, device string, ttl time.Duration, now time.Time) (string, bool, error) {
	if ttl <= 0 {
		return "", false, s.errf("lease", fmt.Errorf("ttl %v is not positive", ttl))
	}
	var b [16]byte
	rand.Read(b[:]) // never fails since Go 1.24
	id := hex.EncodeToString(b[:])
	var got string
	err := s.on(ctx).QueryRowContext(ctx, s.q(`INSERT INTO leases (facility, inmate, device, lease, expires_ms) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (facility, inmate) DO UPDATE SET device = excluded.device, lease = excluded.lease, expires_ms = excluded.expires_ms
		WHERE leases.expires_ms <= ? OR leases.device = excluded.device
		RETURNING lease`), facility, inmate, device, id, msOf(now.Add(ttl)), msOf(now)).Scan(&got)
	if absent(err) {
		return "", true, nil
	}
	if err != nil {
		return "", false, s.errf(fmt.Sprintf("lease %s/%s for %s", facility, inmate, device), err)
	}
	return got, false, nil
}

// ReleaseLease implements Store.
func (s *sqlStore) ReleaseLease(ctx context.Context, facility, inmate, lease string) error {
	if _, err := s.on(ctx).ExecContext(ctx, s.q(`DELETE FROM leases WHERE facility = ? AND inmate = ? AND lease = ?`), facility, inmate, lease); err != nil {
		return s.errf(fmt.Sprintf("release lease %s/%s", facility, inmate), err)
	}
	return nil
}

// RegisterDevice implements Store.
func (s *sqlStore) RegisterDevice(ctx context.Context, device string, now time.Time) error {
	facility, err := facilityOf(device)
	if err != nil {
		return s.errf("register", err)
	}
	if _, err := s.on(ctx).ExecContext(ctx, s.q(`INSERT INTO devices (device, facility, registered_ms) VALUES (?, ?, ?)
		ON CONFLICT (device) DO UPDATE SET registered_ms = excluded.registered_ms, revoked_ms = NULL, clone_ms = NULL`), device, facility, msOf(now)); err != nil {
		return s.errf("register "+device, err)
	}
	return nil
}

// RevokeDevice implements Store. A device the database never registered
// is refused (ErrUnknownDevice) and nothing is written: a typo must not pass
// for a revocation, nor leave a row that lists a booth that never was.
func (s *sqlStore) RevokeDevice(ctx context.Context, device string, now time.Time) error {
	if _, err := facilityOf(device); err != nil {
		return s.errf("revoke", err)
	}
	res, err := s.on(ctx).ExecContext(ctx, s.q(`UPDATE devices SET revoked_ms = ? WHERE device = ?`), msOf(now), device)
	if err != nil {
		return s.errf("revoke "+device, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.errf("revoke "+device, err)
	} else if n == 0 {
		return s.errf("revoke "+device, ErrUnknownDevice)
	}
	return nil
}

// DeviceRevoked implements Store.
func (s *sqlStore) DeviceRevoked(ctx context.Context, device string) (bool, error) {
	var revoked sql.NullInt64
	err := s.on(ctx).QueryRowContext(ctx, s.q(`SELECT revoked_ms FROM devices WHERE device = ?`), device).Scan(&revoked)
	if absent(err) {
		return false, nil
	}
	if err != nil {
		return false, s.errf("revocation check "+device, err)
	}
	return revoked.Valid, nil
}

// RecordHeartbeat implements Store. The device's row, the head it reports
// and the check for a second start commit together, so neither a rewrite
// flag nor a clone is ever lost.
func (s *sqlStore) RecordHeartbeat(ctx context.Context, hb Heartbeat) (HeartbeatResult, error) {
	facility, err := facilityOf(hb.Device)
	if err != nil {
		return HeartbeatResult{}, s.errf("heartbeat", err)
	}
	var res HeartbeatResult
	err = s.tx(ctx, nil, func(tx *sql.Tx) error {
		if s.dialect == postgres {
			// Serialised with the device's uploads: the head and the
			// records it pins are compared in one order.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, hb.Device); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO devices (device, facility, registered_ms, last_seen_ms, outbox_depth, firmware, faults,
		  state, out_of_service, clock_trusted, clock_offset_ms, boot_id, source)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (device) DO UPDATE SET last_seen_ms = excluded.last_seen_ms, outbox_depth = excluded.outbox_depth,
		  firmware = excluded.firmware, faults = excluded.faults, state = excluded.state, out_of_service = excluded.out_of_service,
		  clock_trusted = excluded.clock_trusted, clock_offset_ms = excluded.clock_offset_ms, boot_id = excluded.boot_id,
		  source = excluded.source`),
			hb.Device, facility, msOf(hb.At), msOf(hb.At), hb.OutboxDepth, hb.Firmware, joinList(hb.Faults),
			hb.State, joinList(hb.OutOfService), boolInt(hb.ClockTrusted), hb.ClockOffset.Milliseconds(), hb.BootID, hb.Source); err != nil {
			return err
		}
		if err := s.reportHead(ctx, tx, hb, msOf(hb.At)); err != nil {
			return err
		}
		var err error
		res.NewClonePairs, err = s.watchClones(ctx, tx, hb)
		return err
	})
	if err != nil {
		return HeartbeatResult{}, s.errf("heartbeat "+hb.Device, err)
	}
	return res, nil
}

// joinList keeps a list of words in one column; the protocol's words
// (kiosk/protocol isWord) hold no newline.
func joinList(l []string) string { return strings.Join(l, "\n") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Devices implements Store.
func (s *sqlStore) Devices(ctx context.Context, facility string) ([]DeviceStatus, error) {
	rows, err := s.on(ctx).QueryContext(ctx, s.q(`SELECT device, revoked_ms, last_seen_ms, outbox_depth, firmware, faults,
	  state, out_of_service, clock_trusted, clock_offset_ms, boot_id, source, clone_ms
	  FROM devices WHERE facility = ? ORDER BY device`), facility)
	if err != nil {
		return nil, s.errf("devices "+facility, err)
	}
	defer rows.Close()
	var out []DeviceStatus
	for rows.Next() {
		var (
			d                    DeviceStatus
			revoked, seen, clone sql.NullInt64
			faults, oos          string
			trusted              int
			offset               int64
		)
		if err := rows.Scan(&d.Device, &revoked, &seen, &d.OutboxDepth, &d.Firmware, &faults,
			&d.State, &oos, &trusted, &offset, &d.BootID, &d.Source, &clone); err != nil {
			return nil, s.errf("devices "+facility, err)
		}
		d.Revoked, d.LastSeen, d.CloneSuspected = revoked.Valid, timeOf(seen), timeOf(clone)
		d.Faults, d.OutOfService = splitList(faults), splitList(oos)
		d.ClockTrusted, d.ClockOffset = trusted != 0, time.Duration(offset)*time.Millisecond
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("devices "+facility, err)
	}
	rows.Close()
	for i := range out {
		chains, err := s.chainsOf(ctx, s.db, out[i].Device)
		if err != nil {
			return nil, s.errf("devices "+facility, err)
		}
		for _, c := range chains {
			if c.Replaced {
				out[i].StoreReplaced++
				out[i].LostRecords += c.Lost
			}
		}
	}
	return out, nil
}
