package console

import (
	"fmt"
	"html/template"
	"io"
	"regexp"
	"strings"

	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/report"
)

// The Reports page: a facility's month on screen (per inmate, per day, by
// hour of the week, per officer with outliers marked) and as CSV. It
// renders report.Monthly, as `wartel-gateway report` does, so the page,
// its charts and its downloads show the ledger's figures alike
// (docs/console.md "Reports").

var monthRE = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// reportMonth is the month a report request asks for: ?month=, or the
// current month on the console's clock (UTC).
func reportMonth(q *Request) (string, error) {
	m := q.Form("month")
	if m == "" {
		return q.Now().UTC().Format("2006-01"), nil
	}
	if !monthRE.MatchString(m) {
		return "", Bad("reports.bad_month", m)
	}
	return m, nil
}

type reportsData struct {
	Month    string
	Monthly  report.Monthly
	Fragment template.HTML
	CSV      []reportCSVLink
}

type reportCSVLink struct{ Kind, Href string }

// reportKinds are the CSV downloads, in the order the page offers them.
var reportKinds = []string{"inmates", "days", "officers"}

func reportsPage(q *Request) error {
	month, err := reportMonth(q)
	if err != nil {
		return err
	}
	m, err := report.Build(q.Ctx(), q.Store(), q.Facility, month)
	if err != nil {
		return err
	}
	lang := report.Lang(q.Lang())
	frag, err := report.Fragment(m, lang)
	if err != nil {
		return err
	}
	d := reportsData{Month: month, Monthly: m, Fragment: frag}
	for _, k := range reportKinds {
		d.CSV = append(d.CSV, reportCSVLink{Kind: k, Href: fmt.Sprintf("/f/%s/reports/%s.csv?month=%s", q.Facility, k, month)})
	}
	return q.Render("reports", q.T("reports.title", q.Facility, month), d)
}

// reportCSV downloads one of the month's CSVs (RFC 4180).
func reportCSV(q *Request) error {
	month, err := reportMonth(q)
	if err != nil {
		return err
	}
	kind := strings.TrimSuffix(q.R.PathValue("file"), ".csv")
	var write func(io.Writer) error
	switch kind {
	case "inmates":
		rows, err := q.Store().MonthlyReport(q.Ctx(), q.Facility, month)
		if err != nil {
			return err
		}
		write = func(w io.Writer) error { return ledger.WriteReportCSV(w, rows) }
	case "days", "officers":
		m, err := report.Build(q.Ctx(), q.Store(), q.Facility, month)
		if err != nil {
			return err
		}
		write = func(w io.Writer) error { return report.WriteDaysCSV(w, m) }
		if kind == "officers" {
			write = func(w io.Writer) error { return report.WriteOfficersCSV(w, m) }
		}
	default:
		return &Fail{Status: 404, Key: "reports.no_such_csv", Args: []any{kind}}
	}
	h := q.W.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s.csv"`, fileWord(q.Facility), month, kind))
	return write(q.W)
}

// fileWord keeps a facility id to the characters a download's file name
// can carry anywhere.
func fileWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}
