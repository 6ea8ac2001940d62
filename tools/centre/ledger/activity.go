package ledger

import (
	"context"
	"fmt"
	"time"

	"wartelsuspas/kiosk/record"
)

// Activity is a facility's month as the ledger counts it, for the reports
// that chart it (tools/centre/report): every call with its time, and every
// officer's actions. The figures are the ledger's facts, so they add up to
// MonthlyReport's: only credits that verified, calls at their largest
// claim (docs/ledger.md "Billing fails closed").
type Activity struct {
	Facility, Month string
	// Zone is the facility's time zone from its policy (UTC without one);
	// ZoneProblem says why it fell back to UTC when the policy could not
	// be read.
	Zone        *time.Location
	ZoneProblem string
	Calls       []CallAt     // in time order
	Officers    []OfficerRow // by officer id
	// Purged is when retention purged this month's personal fields (zero:
	// never); the figures are the same, the inmates are pseudonyms.
	Purged time.Time
}

// CallAt is one call of the month: when it was authorised (the booth's
// clock) and what the ledger counts of it.
type CallAt struct {
	At              time.Time
	Talked, Charged time.Duration
}

// OfficerRow is what one officer did in a facility's month.
type OfficerRow struct {
	Officer string
	Resets  int64 // reset records (counted whether or not they credited)
	Grants  int64 // grant records
	Other   int64 // other officer actions: end_call, clear_tamper, …
	// Credit is the minutes the ledger credited for the officer's resets
	// and grants: only credits that verified, held to the caps.
	Credit time.Duration
	// Inmates counts the distinct inmates of the officer's actions.
	Inmates int64
	// Withheld counts resets and grants whose credit the centre withheld
	// or cut (flagged officer, cap, hash, conflict or rewrite).
	Withheld int64
}

// withholding are the flags that take credit from an officer record.
var withholding = []string{FlagOfficer, FlagCap, FlagHash, FlagConflict, FlagRewrite}

// MonthActivity implements Store.
func (s *sqlStore) MonthActivity(ctx context.Context, facility, month string) (Activity, error) {
	op := "activity " + facility + " " + month
	if _, err := time.Parse("2006-01", month); err != nil {
		return Activity{}, s.errf(op, fmt.Errorf("month %q is not YYYY-MM", month))
	}
	a := Activity{Facility: facility, Month: month, Zone: time.UTC}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Activity{}, s.errf(op, err)
	}
	defer tx.Rollback() // one snapshot, read only
	if _, loc, err := s.creditCaps(ctx, tx, facility); err != nil {
		a.ZoneProblem = fmt.Sprintf("the policy of %s cannot be read (%v): times in UTC", facility, err)
	} else {
		a.Zone = loc
	}

	rows, err := tx.QueryContext(ctx, s.q(`SELECT at_ms, talked_ms, charged_ms FROM facts
		WHERE facility = ? AND month = ? AND kind = 'call' ORDER BY at_ms, device, chain, seq`), facility, month)
	if err != nil {
		return Activity{}, s.errf(op, err)
	}
	for rows.Next() {
		var at, talked, charged int64
		if err := rows.Scan(&at, &talked, &charged); err != nil {
			rows.Close()
			return Activity{}, s.errf(op, err)
		}
		a.Calls = append(a.Calls, CallAt{At: time.UnixMilli(at).In(a.Zone), Talked: durMs(talked), Charged: durMs(charged)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Activity{}, s.errf(op, err)
	}

	flags := "'" + withholding[0] + "'"
	for _, f := range withholding[1:] {
		flags += ", '" + f + "'"
	}
	reset, grant := string(record.ActionReset), string(record.ActionGrant)
	rows, err = tx.QueryContext(ctx, s.q(`SELECT f.officer,
		  SUM(CASE WHEN f.action = ? THEN 1 ELSE 0 END), SUM(CASE WHEN f.action = ? THEN 1 ELSE 0 END),
		  SUM(CASE WHEN f.action NOT IN (?, ?) THEN 1 ELSE 0 END), `+s.sumMs("f.credit_ms")+`,
		  COUNT(DISTINCT CASE WHEN f.inmate <> '' THEN f.inmate END),
		  SUM(CASE WHEN f.action IN (?, ?) AND EXISTS (SELECT 1 FROM chain_errors e
		    WHERE e.device = f.device AND e.chain = f.chain AND e.seq = f.seq AND e.kind IN (`+flags+`)) THEN 1 ELSE 0 END)
		FROM facts f WHERE f.facility = ? AND f.month = ? AND f.kind = 'officer'
		GROUP BY f.officer ORDER BY f.officer`), reset, grant, reset, grant, reset, grant, facility, month)
	if err != nil {
		return Activity{}, s.errf(op, err)
	}
	for rows.Next() {
		var (
			o      OfficerRow
			credit int64
		)
		if err := rows.Scan(&o.Officer, &o.Resets, &o.Grants, &o.Other, &credit, &o.Inmates, &o.Withheld); err != nil {
			rows.Close()
			return Activity{}, s.errf(op, err)
		}
		o.Credit = durMs(credit)
		a.Officers = append(a.Officers, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Activity{}, s.errf(op, err)
	}

	var purged int64
	err = tx.QueryRowContext(ctx, s.q(`SELECT purged_ms FROM purges WHERE facility = ? AND month = ?`), facility, month).Scan(&purged)
	switch {
	case absent(err):
	case err != nil:
		return Activity{}, s.errf(op, err)
	default:
		a.Purged = time.UnixMilli(purged).UTC()
	}
	return a, nil
}
