package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"wartelsuspas/tools/centre/ledger"
)

// The CSVs (RFC 4180: a header, CRLF line ends, quoted where needed; ids
// through ledger.CSVCell so no spreadsheet runs one as a formula).
// Durations are whole seconds rounded down, as the billing counts them,
// like `wartel-gateway report`.

// DaysHeader is the first line of WriteDaysCSV.
var DaysHeader = []string{"date", "calls", "talked_s", "charged_s"}

// UndatedDate is the date column of the row of calls whose booth clock put
// them outside the month.
const UndatedDate = "undated"

// WriteDaysCSV writes one row per day of the month, and a last row
// "undated" when some calls' times fell outside it.
func WriteDaysCSV(w io.Writer, m Monthly) error {
	rows := [][]string{DaysHeader}
	for _, d := range m.Days {
		rows = append(rows, useRow(d.Date.Format("2006-01-02"), d.Use))
	}
	if m.Undated.Calls > 0 {
		rows = append(rows, useRow(UndatedDate, m.Undated))
	}
	return writeAll(w, "days", rows)
}

func useRow(date string, u Use) []string {
	return []string{date, strconv.FormatInt(u.Calls, 10), seconds(u.Talked), seconds(u.Charged)}
}

// OfficersHeader is the first line of WriteOfficersCSV.
var OfficersHeader = []string{"officer", "resets", "grants", "other_actions", "credit_s", "inmates", "withheld", "credit_z", "actions_z", "outlier"}

// WriteOfficersCSV writes one row per officer. The z-scores have two
// decimals and are empty when the facility had too few officers to
// compare (Comparison.Made false); outlier is "yes" or "no".
func WriteOfficersCSV(w io.Writer, m Monthly) error {
	rows := [][]string{OfficersHeader}
	for _, o := range m.Officers {
		cz, az, out := "", "", "no"
		if m.Comparison.Made {
			cz, az = strconv.FormatFloat(o.CreditZ, 'f', 2, 64), strconv.FormatFloat(o.ActionsZ, 'f', 2, 64)
		}
		if o.Outlier {
			out = "yes"
		}
		rows = append(rows, []string{ledger.CSVCell(o.Officer), strconv.FormatInt(o.Resets, 10), strconv.FormatInt(o.Grants, 10),
			strconv.FormatInt(o.Other, 10), seconds(o.Credit), strconv.FormatInt(o.Inmates, 10), strconv.FormatInt(o.Withheld, 10), cz, az, out})
	}
	return writeAll(w, "officers", rows)
}

func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }

func writeAll(w io.Writer, what string, rows [][]string) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // RFC 4180
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("report %s csv: %w", what, err)
	}
	return nil
}
