package session

import (
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// deny records a refused tap and shows its lamp; a denial the store cannot
// write is counted and written later as denials_unrecorded.
func (e *Engine) deny(d record.Denial) {
	if d.At.IsZero() {
		d.At = e.clk.Now()
	}
	d.ClockTrusted = e.trusted
	e.denials++
	e.log.Info("tap denied", "card", e.tags.Tag(d.Card), "inmate", d.Inmate, "reason", d.Reason)
	e.observe(Activity{Kind: ActivityDenied, Card: e.tags.Tag(d.Card), Inmate: d.Inmate, Denial: d.Reason})
	if _, err := e.store.Deny(d); err != nil {
		e.unrecorded++
		e.storeFailed("recording a denial (counted in memory)", err)
	}
	sig, ok := denialSignal(d.Reason)
	if !ok {
		// The tap is refused and recorded all the same; the lamps keep
		// what they show rather than tell the inmate a wrong reason.
		e.log.Error("session: no lamp signal for a denial reason: add it to denialSignal", "reason", d.Reason)
		return
	}
	e.show(sig)
}

// officerRecord writes an audit record and reports whether it was written;
// an action that cannot be audited does not happen.
func (e *Engine) officerRecord(o record.Officer) bool {
	o.At = e.clk.Now()
	o.ClockTrusted = e.trusted
	v, err := e.store.RosterVersion()
	if err != nil {
		e.storeFailed("reading the roster version for an officer action "+string(o.Action), err)
		return false
	}
	o.RosterVersion = v // the centre checks the officer card at this version
	if _, err := e.store.Officer(o); err != nil {
		e.storeFailed("recording an officer action "+string(o.Action), err)
		return false
	}
	e.officerActs++
	return true
}

// event writes a booth event, or keeps it for after the store recovers.
func (e *Engine) event(name record.EventName, detail string) {
	ev := record.Event{At: e.clk.Now(), Event: name, Detail: detail, ClockTrusted: e.trusted}
	if e.oos[CauseStore] {
		e.pendingEvents = append(e.pendingEvents, ev)
		return
	}
	if _, err := e.store.Event(ev); err != nil {
		e.pendingEvents = append(e.pendingEvents, ev)
		e.storeFailed("recording event "+string(name), err)
	}
}

// showIdle shows what an idle booth is: tamper, out of service, officer
// mode or ready.
func (e *Engine) showIdle() {
	if e.call != nil {
		return
	}
	e.refreshHours()
	for _, c := range AllCauses {
		if sig, ok := causeSignal(c); ok && e.oos[c] {
			e.show(sig)
			return
		}
	}
	switch {
	case e.outOfService():
		e.show(signal.OutOfService) // a cause without a pattern of its own
	case e.officer != nil:
		e.show(signal.OfficerMode)
	case e.closed:
		e.show(signal.Closed)
	default:
		e.show(signal.Ready)
	}
}

// show asks the booth for a lamp pattern; a lamp that fails is logged, never
// a reason to stop.
func (e *Engine) show(sig Signal) {
	if err := e.booth.Show(sig); err != nil {
		e.log.Error("lamp signal failed; check the lamp board", "signal", sig, "err", err)
	}
}

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
