package console

import (
	"errors"
	"strconv"

	"wartelsuspas/tools/centre/inert"
	"wartelsuspas/tools/centre/ledger"
)

// auditPageSize is how many entries one audit page shows.
const auditPageSize = 100

type auditRow struct {
	Seq                                                 int64
	At                                                  string
	Actor, Via, Action, Facility, Target, Before, After string
}

type auditData struct {
	Rows []auditRow
	// Verified is the whole chain's check: Entries when it holds, Break
	// naming the first bad entry when it does not.
	Entries int64
	Break   *ledger.AuditBreak
	Older   int64 // the Seq to page on from (0: no older entries)
	Base    string
}

// auditAll is the whole trail (admin).
func auditAll(q *Request) error { return auditOf(q, nil, "/audit") }

// auditFacility is one facility's entries.
func auditFacility(q *Request) error {
	return auditOf(q, []string{q.Facility}, "/f/"+q.Facility+"/audit")
}

func auditOf(q *Request, facilities []string, base string) error {
	before, _ := strconv.ParseInt(q.R.URL.Query().Get("before"), 10, 64)
	es, err := q.Store().AuditLog(q.Ctx(), ledger.AuditQuery{Facilities: facilities, Before: before, Limit: auditPageSize + 1})
	if err != nil {
		return err
	}
	d := auditData{Base: base}
	if len(es) > auditPageSize {
		es = es[:auditPageSize]
		d.Older = es[len(es)-1].Seq
	}
	for _, e := range es {
		// Targets and documents hold what people typed and booths sent:
		// inert, then escaped by the template.
		d.Rows = append(d.Rows, auditRow{Seq: e.Seq, At: e.At.UTC().Format("2006-01-02 15:04:05Z"), Actor: inert.Text(e.Actor, 64), Via: e.Via,
			Action: e.Action, Facility: e.Facility, Target: inert.Text(e.Target, 120), Before: inert.Text(e.Before, 400), After: inert.Text(e.After, 400)})
	}
	n, err := q.Store().VerifyAudit(q.Ctx())
	var br *ledger.AuditBreak
	switch {
	case errors.As(err, &br):
		d.Break = br
	case err != nil:
		return err
	}
	d.Entries = n
	return q.Render("audit", q.T("audit.title"), d)
}
