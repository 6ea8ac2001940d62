package main

import (
	"fmt"
	"sync"
	"time"

	"wartelsuspas/firmware/i18n"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/tools/testbed/boothrig"
)

// The page's event feed is the daemon's typed activity, read from its
// status socket with the rest of its status (boothrig.Status.Activity):
// never its log text, which is for people and may be reworded.

// event is one line of a booth's recent events on the page.
type event struct {
	At   string `json:"at"`   // local time of day, 15:04:05
	Kind string `json:"kind"` // granted, talking, denied, ended, officer, …
	Text string `json:"text"` // in the page's language
}

// Page kinds: the data-kind of an event's line, which the page styles.
const (
	pageReady       = "ready"
	pageStopped     = "stopped"
	pageGranted     = "granted"
	pageTalking     = "talking"
	pageDenied      = "denied"
	pageEnded       = "ended"
	pageOfficerMode = "officer_mode"
	pageOfficer     = "officer"
	pageFault       = "fault"
	pageUnknown     = "unknown"
)

// describe turns a daemon activity into an event for people. A kind this
// page does not know (a newer daemon's) is shown as unknown with its word,
// never as a plausible known one; TestDescribeEveryKind keeps every kind
// of session.AllActivities known.
func describe(a boothrig.Activity, cat *i18n.Catalogue, name func(person string) string) event {
	ev := event{}
	if !a.At.IsZero() {
		ev.At = a.At.Local().Format("15:04:05")
	}
	switch a.Kind {
	case session.ActivityReady:
		ev.Kind, ev.Text = pageReady, cat.T("sim.ev.ready")
	case session.ActivityStopped:
		ev.Kind, ev.Text = pageStopped, cat.T("sim.ev.stopped")
	case session.ActivityGranted:
		ev.Kind, ev.Text = pageGranted, cat.T("sim.ev.granted", a.CallID, name(a.Inmate), clockText(ms(a.MaxMs)))
	case session.ActivityTalking:
		ev.Kind, ev.Text = pageTalking, cat.T("sim.ev.talking", a.CallID)
	case session.ActivityDenied:
		who := cat.T("sim.unknown_card")
		if a.Inmate != "" {
			who = name(a.Inmate)
		}
		ev.Kind, ev.Text = pageDenied, cat.T("sim.ev.denied", who, cat.Denial(a.Denial))
	case session.ActivityEnded:
		ev.Kind = pageEnded
		switch {
		case a.End == string(session.EndNoOffHook):
			ev.Text = cat.T("sim.ev.no_offhook", a.CallID)
		case a.Outcome != "":
			// A dialled call: how the far end ended it too.
			ev.Text = cat.T("sim.ev.ended_dial", a.CallID, cat.End(a.End), cat.T("sim.progress."+endProgress(a)),
				clockText(ms(a.TalkedMs)), clockText(ms(a.ChargedMs)))
		default:
			ev.Text = cat.T("sim.ev.ended", a.CallID, cat.End(a.End), clockText(ms(a.TalkedMs)), clockText(ms(a.ChargedMs)))
		}
	case session.ActivityOfficerMode:
		ev.Kind, ev.Text = pageOfficerMode, cat.T("sim.ev.officer_mode", name(a.Officer))
	case session.ActivityOfficerLeft:
		ev.Kind, ev.Text = pageOfficerMode, cat.T("sim.ev.officer_left")
	case session.ActivityOfficer:
		ev.Kind, ev.Text = pageOfficer, cat.T("sim.ev.officer", name(a.Officer), cat.Action(a.Action), name(a.Inmate),
			clockText(ms(a.BeforeMs)), clockText(ms(a.AfterMs)))
	case session.ActivityFaultCleared:
		ev.Kind, ev.Text = pageOfficer, cat.T("sim.ev.fault_cleared", name(a.Officer))
	case session.ActivityPanelOpen:
		ev.Kind, ev.Text = pageFault, cat.T("sim.ev.panel_open")
	case session.ActivityPanelClosed:
		ev.Kind, ev.Text = pageFault, cat.T("sim.ev.panel_closed")
	case session.ActivityReaderDown:
		ev.Kind, ev.Text = pageFault, cat.T("sim.ev.reader_down")
	case session.ActivityReaderUp:
		ev.Kind, ev.Text = pageFault, cat.T("sim.ev.reader_up")
	case session.ActivityFault:
		ev.Kind, ev.Text = pageFault, cat.T("sim.ev.fault", a.Detail)
	case session.ActivityHookSuspect:
		ev.Kind, ev.Text = pageFault, cat.T("sim.ev.hook_suspect", a.Detail)
	case session.ActivityHookOK:
		ev.Kind, ev.Text = pageFault, cat.T("sim.ev.hook_ok")
	case session.ActivityChoosing:
		ev.Kind, ev.Text = pageGranted, cat.T("sim.ev.choosing", name(a.Inmate), clockText(ms(a.MaxMs)))
	case session.ActivityDialling:
		ev.Kind, ev.Text = pageGranted, cat.T("sim.ev.dialling", a.CallID, a.Slot)
	case session.ActivityRinging:
		ev.Kind, ev.Text = pageGranted, cat.T("sim.ev.ringing", a.CallID)
	case session.ActivityModemDown:
		ev.Kind, ev.Text = pageFault, cat.T("sim.ev.modem_down", a.Detail)
	case session.ActivityModemUp:
		ev.Kind, ev.Text = pageFault, cat.T("sim.ev.modem_up")
	default:
		ev.Kind, ev.Text = pageUnknown, cat.T("sim.ev.unknown", string(a.Kind))
	}
	return ev
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// clockText shows a duration as m:ss, as the page's time left does.
func clockText(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// maxEvents is how many recent events a booth's panel keeps.
const maxEvents = 12

// feed keeps a booth's recent events from the activity of its status
// polls. Each start of the daemon (a boot id) numbers its activities
// from 1: a new boot id is a restarted daemon, whose activities are all
// new. A daemon that stops answering after it answered shows as stopped
// (its own "stopped" may come after the last poll).
type feed struct {
	cat  *i18n.Catalogue
	name func(string) string

	mu       sync.Mutex
	boot     string
	seq      uint64
	answered bool
	events   []event
	// ended is the progress word of the last dialled call's end, or
	// "denied" for a tap or a number refused ("" once a new choice
	// begins); denial is that refusal's reason.
	ended  string
	denial string
}

func newFeed(cat *i18n.Catalogue, name func(string) string) *feed {
	return &feed{cat: cat, name: name}
}

// update takes one status poll, or its error, at now.
func (f *feed) update(s boothrig.Status, err error, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		if f.answered && (len(f.events) == 0 || f.events[len(f.events)-1].Kind != pageStopped) {
			f.add(describe(boothrig.Activity{Kind: session.ActivityStopped, At: now}, f.cat, f.name))
		}
		f.answered = false
		return
	}
	f.answered = true
	if s.BootID != f.boot {
		f.boot, f.seq = s.BootID, 0
	}
	for _, a := range s.After(f.seq) {
		f.add(describe(a, f.cat, f.name))
		f.seq = a.Seq
		switch {
		case a.Kind == session.ActivityChoosing:
			f.ended, f.denial = "", ""
		case a.Kind == session.ActivityEnded && a.Outcome != "":
			f.ended, f.denial = endProgress(a), ""
		case a.Kind == session.ActivityDenied:
			// A refused number (or a refused tap) is what the inmate last
			// saw: the page says why, not "no call yet".
			f.ended, f.denial = "denied", a.Denial
		}
	}
}

// Progress words of a booth with a modem: how its call goes, or how its
// last one ended (sim.progress.* in the catalogue; TestProgressWords).
var progressWords = []string{"idle", "choosing", "dialling", "ringing", "talking", "ended", "far_end", "denied"}

// endProgress is how a dialled call ended, as the page words it: the far
// end hung up, ended by the booth (hang-up, cut-off…) after the answer, or
// the carrier's outcome (busy, no answer…).
func endProgress(a boothrig.Activity) string {
	switch {
	case a.End == string(record.EndFarEnd):
		return "far_end"
	case a.Outcome == string(record.OutcomeAnswered):
		return "ended"
	}
	return a.Outcome
}

// progress is the call's progress on a booth with a modem in state, and
// the reason of the refusal when that word is "denied".
func (f *feed) progress(state string) (word, denial string) {
	switch state {
	case string(session.StateChoosing), string(session.StateDialling), string(session.StateRinging), string(session.StateTalking):
		return state, ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended == "" {
		return "idle", ""
	}
	return f.ended, f.denial
}

func (f *feed) add(ev event) {
	f.events = append(f.events, ev)
	if n := len(f.events); n > maxEvents {
		f.events = append([]event(nil), f.events[n-maxEvents:]...)
	}
}

// recent returns the recent events, newest first.
func (f *feed) recent() []event {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]event, len(f.events))
	for i, e := range f.events {
		out[len(f.events)-1-i] = e
	}
	return out
}
