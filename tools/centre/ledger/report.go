package ledger

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// MonthlyReport implements Store.
func (s *sqlStore) MonthlyReport(ctx context.Context, facility, month string) ([]ReportRow, error) {
	if _, err := time.Parse("2006-01", month); err != nil {
		return nil, s.errf("report "+facility, fmt.Errorf("month %q is not YYYY-MM", month))
	}
	rows, err := s.on(ctx).QueryContext(ctx, s.q(`SELECT inmate,
		  SUM(CASE WHEN kind = 'call' THEN 1 ELSE 0 END), `+s.sumMs("talked_ms")+`, `+s.sumMs("charged_ms")+`,
		  SUM(CASE WHEN kind = 'denial' THEN 1 ELSE 0 END), SUM(CASE WHEN kind = 'officer' THEN 1 ELSE 0 END), `+s.sumMs("credit_ms")+`
		FROM facts WHERE facility = ? AND month = ? GROUP BY inmate ORDER BY inmate`), facility, month)
	if err != nil {
		return nil, s.errf("report "+facility+" "+month, err)
	}
	defer rows.Close()
	var out []ReportRow
	for rows.Next() {
		var (
			r                       ReportRow
			talked, charged, credit int64
		)
		if err := rows.Scan(&r.Inmate, &r.Calls, &talked, &charged, &r.Denials, &r.OfficerActions, &credit); err != nil {
			return nil, s.errf("report "+facility+" "+month, err)
		}
		r.Talked, r.Charged, r.Credit = ms(talked), ms(charged), ms(credit)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errf("report "+facility+" "+month, err)
	}
	return out, nil
}

// formulaLeads are the first characters that make a spreadsheet read a
// cell as a formula (CSV injection): = + - @, and TAB and CR, which some
// spreadsheets skip before looking at the next one.
const formulaLeads = "=+-@\t\r"

// CSVCell keeps a spreadsheet from reading an id as a formula: a cell
// that starts with one of formulaLeads gets a quote in front. Every CSV
// the centre writes puts a booth's or an operator's words through it.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune(formulaLeads, rune(s[0])) {
		return "'" + s
	}
	return s
}

func ms(n int64) time.Duration { return durMs(n) }

// ReportHeader is the first line of the CSV WriteReportCSV writes.
var ReportHeader = []string{"inmate", "calls", "talked_s", "charged_s", "denials", "officer_actions", "credit_s"}

// WriteReportCSV writes rows as CSV with ReportHeader; durations in whole
// seconds, rounded down, as the billing counts them.
func WriteReportCSV(w io.Writer, rows []ReportRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ReportHeader); err != nil {
		return fmt.Errorf("report csv: %w", err)
	}
	sec := func(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
	for _, r := range rows {
		if err := cw.Write([]string{CSVCell(r.Inmate), strconv.FormatInt(r.Calls, 10), sec(r.Talked), sec(r.Charged),
			strconv.FormatInt(r.Denials, 10), strconv.FormatInt(r.OfficerActions, 10), sec(r.Credit)}); err != nil {
			return fmt.Errorf("report csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report csv: %w", err)
	}
	return nil
}
