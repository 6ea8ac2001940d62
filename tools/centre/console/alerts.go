package console

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"wartelsuspas/tools/centre/inert"
	"wartelsuspas/tools/centre/ledger"
)

type alertRow struct {
	Device, Booth string
	Kind          string
	Label         string
	Since         string // shown
	SinceMs       int64  // the occurrence, for the acknowledgement form (0: undated)
	Detail        string
	Ack           *ledger.AlertAck
	AckNote       string
}

func (q *Request) alertRow(a ledger.Alert) alertRow {
	r := alertRow{Device: a.Device, Booth: a.Device[len(a.Facility)+1:], Kind: string(a.Kind), Label: q.T("alert." + string(a.Kind)), Detail: q.T("alertdetail."+string(a.Kind), a.Args...), Ack: a.Ack}
	if !a.Since.IsZero() {
		r.Since = a.Since.UTC().Format("2006-01-02 15:04:05Z")
		r.SinceMs = a.Since.UnixMilli()
	}
	if a.Ack != nil {
		r.AckNote = inert.Text(a.Ack.Note, maxNote)
	}
	return r
}

// maxNote bounds an acknowledgement's note (runes).
const maxNote = 500

type alertsData struct {
	Open, Acked []alertRow
	CanAck      bool
}

func alertsPage(q *Request) error {
	as, err := ledger.Alerts(q.Ctx(), q.Store(), q.Facility, q.Now(), q.c.opts.AlertRules)
	if err != nil {
		return err
	}
	d := alertsData{CanAck: q.Account.Role.Writes()}
	for _, a := range as {
		if a.Ack == nil {
			d.Open = append(d.Open, q.alertRow(a))
		} else {
			d.Acked = append(d.Acked, q.alertRow(a))
		}
	}
	return q.Render("alerts", q.T("alerts.title", q.Facility), d)
}

// alertAck acknowledges one alert's occurrence with a note, audited. The
// alert must hold now: one cannot acknowledge what is not raised.
func alertAck(q *Request) error {
	device, kind, note := q.Form("device"), ledger.AlertKind(q.Form("kind")), q.Form("note")
	since, err := strconv.ParseInt(q.Form("since"), 10, 64)
	if err != nil {
		return Bad("err.form")
	}
	if note == "" {
		return Bad("err.ack_note")
	}
	if utf8.RuneCountInString(note) > maxNote {
		return Bad("err.ack_note_long", maxNote)
	}
	as, err := ledger.Alerts(q.Ctx(), q.Store(), q.Facility, q.Now(), q.c.opts.AlertRules)
	if err != nil {
		return err
	}
	var found *ledger.Alert
	for i, a := range as {
		ms := int64(0)
		if !a.Since.IsZero() {
			ms = a.Since.UnixMilli()
		}
		if a.Device == device && a.Kind == kind && ms == since {
			found = &as[i]
		}
	}
	if found == nil {
		return &Fail{Status: http.StatusConflict, Key: "err.no_alert"}
	}
	ack := ledger.AlertAck{Account: q.Account.Name, Note: note, At: q.Now()}
	err = q.Audit("alert.ack", device, func() (any, any, error) {
		before := map[string]any{"kind": kind, "since": found.Since, "detail": found.Detail}
		if found.Ack != nil {
			before["ack"] = found.Ack
		}
		return before, map[string]any{"kind": kind, "since": found.Since, "ack": ack}, q.Store().AckAlert(q.Ctx(), *found, ack)
	})
	if err != nil {
		return err
	}
	q.Redirect("/f/" + q.Facility + "/alerts")
	return nil
}
