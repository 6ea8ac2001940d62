// Package report builds the centre's reports of a facility's month from
// the ledger: the monthly report (per inmate, calls and minutes per day,
// booth use by hour of the week) and the per-officer report (resets,
// grants, minutes credited, distinct inmates, each officer compared with
// the facility's others and outliers marked: the pungli signal). One
// Monthly value is what a console page, its charts (inline SVG, svg.go)
// and its CSV downloads (csv.go) all render from, so they cannot
// disagree. The figures are the ledger's own (ledger.MonthlyReport and
// ledger.MonthActivity): only credits that verified, calls at their
// largest claim. docs/console.md "Reports" says how to read them.
package report

import (
	"context"
	"fmt"
	"time"

	"wartelsuspas/tools/centre/ledger"
)

// Monthly is one facility's month.
type Monthly struct {
	Facility, Month string
	// Zone is the facility's time zone the days and hours are in;
	// ZoneProblem says why it is UTC instead of the policy's.
	Zone        *time.Location
	ZoneProblem string
	// Purged is when retention purged the month's personal fields (zero:
	// never): the figures stand, the inmates are pseudonyms.
	Purged time.Time

	Inmates []ledger.ReportRow // per inmate, as `wartel-gateway report` writes it
	Total   Use                // every call of the month
	Days    []Day              // every day of the month, in order
	// Undated are the month's calls whose booth clock put them outside
	// the month (a call is in a month by its period): counted here so the
	// days add up to Total.
	Undated Use
	// Week is booth use by the local hour the call was authorised in:
	// Week[0] is Monday, Week[d][h] the hour h:00–h:59.
	Week [7][24]Use

	Officers   []Officer
	Comparison Comparison
}

// Use is calls and their minutes.
type Use struct {
	Calls           int64
	Talked, Charged time.Duration
}

func (u *Use) add(c ledger.CallAt) {
	u.Calls++
	u.Talked += c.Talked
	u.Charged += c.Charged
}

// Day is one calendar day of the month in the facility's zone.
type Day struct {
	Date time.Time // midnight, local
	Use
}

// Build reads a facility's month from the ledger.
func Build(ctx context.Context, s ledger.Store, facility, month string) (Monthly, error) {
	first, err := time.Parse("2006-01", month)
	if err != nil {
		return Monthly{}, fmt.Errorf("report: month %q is not YYYY-MM, e.g. 2026-11", month)
	}
	a, err := s.MonthActivity(ctx, facility, month)
	if err != nil {
		return Monthly{}, fmt.Errorf("report of %s for %s: %w", facility, month, err)
	}
	rows, err := s.MonthlyReport(ctx, facility, month)
	if err != nil {
		return Monthly{}, fmt.Errorf("report of %s for %s: %w", facility, month, err)
	}
	m := Monthly{Facility: facility, Month: month, Zone: a.Zone, ZoneProblem: a.ZoneProblem, Purged: a.Purged, Inmates: rows}
	start := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, a.Zone)
	for d := start; d.Month() == start.Month(); d = d.AddDate(0, 0, 1) {
		m.Days = append(m.Days, Day{Date: d})
	}
	for _, c := range a.Calls {
		m.Total.add(c)
		at := c.At.In(a.Zone)
		if at.Year() == start.Year() && at.Month() == start.Month() {
			m.Days[at.Day()-1].add(c)
		} else {
			m.Undated.add(c)
		}
		// Monday first, as an Indonesian week is printed.
		m.Week[(int(at.Weekday())+6)%7][at.Hour()].add(c)
	}
	m.Officers, m.Comparison = compare(a.Officers)
	return m, nil
}
