package console

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/tools/centre/inert"
	"wartelsuspas/tools/centre/ledger"
	"wartelsuspas/tools/centre/server"
)

// boothRow is a booth as the booths page shows it: every word that came
// from the booth made inert (html/template escapes it after).
type boothRow struct {
	Device, Booth  string
	Link           string // "online", "offline", "revoked", "never"
	State          string
	OutOfService   []string
	Faults         []string
	OutboxDepth    int
	ClockTrusted   bool
	ClockOffset    string
	Firmware       string
	LastSeen       string
	ChainOpen      int
	StoreReplaced  int
	LostRecords    uint64
	CloneSuspected bool
	Alerts         int
}

func word(s string) string { return inert.Text(s, protocol.MaxWordLen) }

func words(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = word(s)
	}
	return out
}

func (q *Request) boothRow(d ledger.DeviceStatus, alerts []ledger.Alert) (boothRow, error) {
	now := q.Now()
	_, booth, _ := strings.Cut(d.Device, "/")
	r := boothRow{Device: d.Device, Booth: booth, Link: "never", State: word(d.State), OutOfService: words(d.OutOfService), Faults: words(d.Faults),
		OutboxDepth: d.OutboxDepth, ClockTrusted: d.ClockTrusted, Firmware: inert.Text(d.Firmware, protocol.MaxFirmwareLen),
		StoreReplaced: d.StoreReplaced, LostRecords: d.LostRecords, CloneSuspected: !d.CloneSuspected.IsZero()}
	if !d.LastSeen.IsZero() {
		r.LastSeen = d.LastSeen.UTC().Format("2006-01-02 15:04:05Z")
		r.Link = "offline"
		if now.Sub(d.LastSeen) <= server.DefaultOnlineWindow {
			r.Link = "online"
		}
		off := d.ClockOffset.Round(time.Millisecond).String()
		if d.ClockOffset >= 0 {
			off = "+" + off
		}
		r.ClockOffset = off
	}
	if d.Revoked {
		r.Link = "revoked"
	}
	ces, err := q.Store().ChainErrors(q.Ctx(), d.Device)
	if err != nil {
		return r, err
	}
	for _, ce := range ces {
		if !ce.Cleared {
			r.ChainOpen++
		}
	}
	for _, a := range alerts {
		if a.Device == d.Device && a.Ack == nil {
			r.Alerts++
		}
	}
	return r, nil
}

func boothsPage(q *Request) error {
	ds, err := q.Store().Devices(q.Ctx(), q.Facility)
	if err != nil {
		return err
	}
	alerts, err := ledger.Alerts(q.Ctx(), q.Store(), q.Facility, q.Now(), q.c.opts.AlertRules)
	if err != nil {
		return err
	}
	var rows []boothRow
	for _, d := range ds {
		r, err := q.boothRow(d, alerts)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	return q.Render("booths", q.T("booths.title", q.Facility), rows)
}

// eventRow is one line of a booth's recent events.
type eventRow struct {
	At, BoothAt  string
	Source, Kind string
	Label        string // the kind in the page's language ("" : unknown kind)
	Detail       string
	Problem      string
}

type boothData struct {
	Booth  boothRow
	Alerts []alertRow
	Events []eventRow
}

// boothEventsShown is how many recent events a booth's page lists.
const boothEventsShown = 100

func boothPage(q *Request) error {
	device := q.Facility + "/" + q.R.PathValue("booth")
	ds, err := q.Store().Devices(q.Ctx(), q.Facility)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(ds, func(d ledger.DeviceStatus) bool { return d.Device == device })
	if i < 0 {
		return &Fail{Status: http.StatusNotFound, Key: "err.no_booth", Args: []any{inert.Text(device, 80)}}
	}
	alerts, err := ledger.Alerts(q.Ctx(), q.Store(), q.Facility, q.Now(), q.c.opts.AlertRules)
	if err != nil {
		return err
	}
	row, err := q.boothRow(ds[i], alerts)
	if err != nil {
		return err
	}
	d := boothData{Booth: row}
	for _, a := range alerts {
		if a.Device == device {
			d.Alerts = append(d.Alerts, q.alertRow(a))
		}
	}
	evs, err := q.Store().Events(q.Ctx(), ledger.EventQuery{Facility: q.Facility, Device: device, Since: q.Now().Add(-30 * 24 * time.Hour)})
	if err != nil {
		return err
	}
	slices.Reverse(evs) // newest first
	if len(evs) > boothEventsShown {
		evs = evs[:boothEventsShown]
	}
	for _, e := range evs {
		r := eventRow{At: e.At.UTC().Format("2006-01-02 15:04:05Z"), Source: string(e.Source), Kind: word(e.Kind), Detail: inert.Text(e.Detail, 200), Problem: e.Problem}
		if _, ok := ledger.EventLabel(e.Source, e.Kind); ok {
			r.Label = q.T("event." + e.Kind)
		}
		if !e.BoothAt.IsZero() {
			r.BoothAt = e.BoothAt.UTC().Format("2006-01-02 15:04:05Z")
		}
		d.Events = append(d.Events, r)
	}
	return q.Render("booth", q.T("booth.title", device), d)
}
