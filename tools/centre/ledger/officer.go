package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
)

// checkOfficer verifies the officer of an officer record's fact f and
// holds its credit to the facility's caps, changing f.credit to what the
// ledger may count. It returns the flag to raise ("" for none) with its
// detail. Billing fails closed: an officer who does not verify credits
// nothing, a credit beyond a cap credits only what fits, and a doubt
// (a policy that cannot be read) credits nothing.
func (s *sqlStore) checkOfficer(ctx context.Context, tx *sql.Tx, facility string, f *fact) (kind, detail string, err error) {
	ok, err := s.officerAt(ctx, tx, facility, f.officerCard, f.officer, f.rosterVersion)
	if err != nil {
		return "", "", fmt.Errorf("officer check: %w", err)
	}
	if !ok {
		credit := f.credit
		f.credit = 0
		return FlagOfficer, fmt.Sprintf("card %q is not an officer card of %q in the roster of %s at version %d or later; credit of %d ms not counted",
			f.officerCard, f.officer, facility, f.rosterVersion, credit), nil
	}
	if f.credit == 0 {
		return "", "", nil
	}
	caps, loc, err := s.creditCaps(ctx, tx, facility)
	if err != nil {
		credit := f.credit
		f.credit = 0
		return FlagCap, fmt.Sprintf("the caps of %s cannot be read (%v); credit of %d ms not counted until the policy is set again", facility, err, credit), nil
	}
	if (caps.InmateCreditPerPeriod > 0 || caps.OfficerCreditPerDay > 0) && s.dialect == postgres {
		// One facility's credits are summed and added one ingest at a
		// time: two booths' grants ingested at once (two upload slots,
		// two replicas) each read the other's as not there yet, and
		// together credited twice the cap. Taken after the device's lock,
		// as every ingest does, so never in the other order. SQLite has
		// one writer already.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "credit "+facility); err != nil {
			return "", "", fmt.Errorf("the credit lock of %s: %w", facility, err)
		}
	}
	asked := f.credit
	var why []string
	if caps.InmateCreditPerPeriod > 0 {
		var already int64
		if err := s.queryRow(ctx, tx, `SELECT `+s.sumMs("credit_ms")+` FROM facts WHERE facility = ? AND inmate = ? AND period = ?`,
			facility, f.inmate, f.period).Scan(&already); err != nil {
			return "", "", fmt.Errorf("credits of %s in %s: %w", f.inmate, f.period, err)
		}
		if c := policy.CapCredit(durMs(f.credit), durMs(already), caps.InmateCreditPerPeriod).Milliseconds(); c < f.credit {
			f.credit = c
			why = append(why, fmt.Sprintf("%s already credited %d ms in %s, cap %d ms", f.inmate, already, f.period, caps.InmateCreditPerPeriod.Milliseconds()))
		}
	}
	if caps.OfficerCreditPerDay > 0 {
		day := policy.PeriodOf(time.UnixMilli(f.atMs), policy.Day, loc)
		var already int64
		if err := s.queryRow(ctx, tx, `SELECT `+s.sumMs("credit_ms")+` FROM facts WHERE facility = ? AND kind = 'officer' AND officer = ? AND at_ms >= ? AND at_ms < ?`,
			facility, f.officer, msOf(day.Start), msOf(day.End)).Scan(&already); err != nil {
			return "", "", fmt.Errorf("credits of officer %s on %s: %w", f.officer, day.Key, err)
		}
		if c := policy.CapCredit(durMs(f.credit), durMs(already), caps.OfficerCreditPerDay).Milliseconds(); c < f.credit {
			f.credit = c
			why = append(why, fmt.Sprintf("officer %s already credited %d ms on %s, cap %d ms", f.officer, already, day.Key, caps.OfficerCreditPerDay.Milliseconds()))
		}
	}
	if f.credit == asked {
		return "", "", nil
	}
	return FlagCap, fmt.Sprintf("credit of %d ms over a cap (%s): %d ms counted", asked, strings.Join(why, "; "), f.credit), nil
}

// officerAt reports whether card was an officer card of person in the
// facility's roster at version (the one in force then) or at any later
// version, neither blocked nor deleted.
func (s *sqlStore) officerAt(ctx context.Context, tx *sql.Tx, facility, card, person string, version int64) (bool, error) {
	if card == "" || person == "" {
		return false, nil
	}
	var one int
	err := s.queryRow(ctx, tx, `SELECT 1 FROM card_history h WHERE h.facility = ? AND h.card = ?
		  AND h.role = ? AND h.person = ? AND h.blocked = 0 AND h.deleted = 0
		  AND (h.version > ? OR h.version = (SELECT MAX(version) FROM card_history WHERE facility = ? AND card = ? AND version <= ?))
		LIMIT 1`, facility, card, string(record.RoleOfficer), person, version, facility, card, version).Scan(&one)
	if absent(err) {
		return false, nil
	}
	return err == nil, err
}

// creditCaps reads the facility's caps and zone from its stored policy;
// a facility without a policy has no caps.
func (s *sqlStore) creditCaps(ctx context.Context, tx *sql.Tx, facility string) (policy.Rules, *time.Location, error) {
	var doc []byte
	err := s.queryRow(ctx, tx, `SELECT policy FROM facilities WHERE facility = ?`, facility).Scan(&doc)
	if absent(err) || err == nil && doc == nil {
		return policy.Rules{}, time.UTC, nil
	}
	if err != nil {
		return policy.Rules{}, nil, err
	}
	p, err := protocol.ParsePolicy(doc)
	if err != nil {
		return policy.Rules{}, nil, err
	}
	loc, err := policy.LoadZone(p.Zone)
	if err != nil {
		return policy.Rules{}, nil, err
	}
	var r policy.Rules
	if p.OfficerCreditPerDayMs != nil {
		r.OfficerCreditPerDay = durMs(*p.OfficerCreditPerDayMs)
	}
	if p.InmateCreditPerPeriodMs != nil {
		r.InmateCreditPerPeriod = durMs(*p.InmateCreditPerPeriodMs)
	}
	return r, loc, nil
}

// recordHistory copies a card's row as it now stands into card_history
// under its version, so officer records can be checked against the roster
// a booth held (an officer card withheld pending approval as deleted).
func (s *sqlStore) recordHistory(ctx context.Context, tx *sql.Tx, facility, card string) error {
	return s.historyOf(ctx, tx, "card = ?", facility, card)
}

// historyOf is recordHistory for the facility's cards that match where
// (one card, or every card a roster version wrote).
func (s *sqlStore) historyOf(ctx context.Context, tx *sql.Tx, where, facility string, arg any) error {
	_, err := s.exec(ctx, tx, `INSERT INTO card_history (facility, card, version, role, person, blocked, deleted)
		SELECT `+historyRow+` FROM cards WHERE facility = ? AND `+where+`
		ON CONFLICT (facility, card, version) DO UPDATE SET role = excluded.role, person = excluded.person,
		  blocked = excluded.blocked, deleted = excluded.deleted`, facility, arg)
	return err
}
