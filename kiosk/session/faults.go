package session

import (
	"fmt"
	"strconv"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// Cause is why the booth refuses new calls: Status.OutOfService lists the
// causes in force (they add up: the booth is ready again when all are
// cleared), the status socket shows them and the heartbeat reports them to
// the centre (docs/uplink.md, out_of_service).
type Cause string

const (
	CauseTamper Cause = "tamper" // the panel was opened: an officer card clears it (panel closed)
	CauseRelay  Cause = "relay"  // a relay fault: an officer card clears it
	CauseReader Cause = "reader" // the card reader is down: it clears when the reader is back
	CauseStore  Cause = "store"  // the store cannot write: a successful probe clears it
	// A booth with a modem: ModemHealth{Up: false}, cleared by ModemHealth{Up: true}.
	CauseNetwork Cause = "network" // the modem has no usable network (not registered, no signal)
	CauseModem   Cause = "modem"   // the modem does not work (no SIM, PIN needed, not answering)
	// CauseHook: the hook switch read off-hook through Config.HookStillCalls
	// calls in a row, each billed to its limit; it clears when the switch
	// moves (the handset put down).
	CauseHook Cause = "hook"
)

// AllCauses lists every Cause, in the order the idle lamps give them
// precedence (causeSignal).
var AllCauses = []Cause{CauseTamper, CauseRelay, CauseReader, CauseStore, CauseHook, CauseNetwork, CauseModem}

// causeSignal is the lamp pattern an idle booth shows for a cause. It
// reports false for a cause it has no pattern for; a test gives every cause
// of AllCauses one.
func causeSignal(c Cause) (Signal, bool) {
	switch c {
	case CauseTamper:
		return signal.Tamper, true
	case CauseRelay, CauseReader, CauseStore, CauseHook, CauseNetwork, CauseModem:
		return signal.OutOfService, true
	}
	return "", false
}

// outOfServiceReason is the denial of a tap refused out of service: the
// modem's own reason when the modem is all that is wrong, so the inmate
// and the centre see no_network or modem_fault rather than a fault of the
// booth.
func (e *Engine) outOfServiceReason() policy.Reason {
	reason := policy.ReasonOutOfService
	for c, on := range e.oos {
		switch {
		case !on:
		case c == CauseNetwork && reason == policy.ReasonOutOfService:
			reason = ReasonNoNetwork
		case c == CauseModem && reason == policy.ReasonOutOfService:
			reason = ReasonModemFault
		default:
			return policy.ReasonOutOfService
		}
	}
	return reason
}

// tamper is the panel switch: opened, it ends a call and puts the booth out
// of service until an officer card clears it with the panel closed.
func (e *Engine) tamper(open bool) {
	e.panelOpen = open
	if !open {
		e.log.Info("panel closed; an officer card clears the tamper state")
		e.observe(Activity{Kind: ActivityPanelClosed})
		return
	}
	e.endCall(EndTamper)
	e.officer = nil
	if !e.oos[CauseTamper] {
		e.oos[CauseTamper] = true
		e.log.Warn("panel opened: booth out of service until an officer card clears it")
		e.observe(Activity{Kind: ActivityPanelOpen})
		e.event(record.EventTamper, "panel opened")
	}
	e.showIdle()
}

// relayFailed puts the booth out of service until an officer clears it.
func (e *Engine) relayFailed(err error) {
	e.oos[CauseRelay] = true
	e.log.Error("relay fault: booth out of service until an officer card clears it; check the relay board and its wiring", "err", err)
	e.observe(Activity{Kind: ActivityFault, Detail: "relay fault: " + err.Error()})
	e.event(record.EventRelayFault, fmt.Sprint(err))
}

// reader is the card reader going down (no new calls) or coming back.
func (e *Engine) reader(up bool, err error) {
	if up == !e.oos[CauseReader] {
		return
	}
	if up {
		delete(e.oos, CauseReader)
		e.log.Info("card reader back")
		e.observe(Activity{Kind: ActivityReaderUp})
		e.event(record.EventReaderUp, "")
	} else {
		e.oos[CauseReader] = true
		e.log.Error("card reader down: no new calls; check the reader's cable", "err", err)
		e.observe(Activity{Kind: ActivityReaderDown, Detail: fmt.Sprint(err)})
		e.event(record.EventReaderDown, fmt.Sprint(err))
	}
	if e.call == nil {
		e.showIdle()
	}
}

// storeFailed puts the booth out of service and schedules a probe.
func (e *Engine) storeFailed(what string, err error) {
	if !e.oos[CauseStore] {
		e.log.Error("store failed: no new calls until it can write again; check free space on the SD card", "during", what, "err", err)
		e.observe(Activity{Kind: ActivityFault, Detail: "store failed " + what + ": " + err.Error()})
	} else {
		e.log.Debug("store still failing", "during", what, "err", err)
	}
	if !e.oos[CauseStore] {
		// Only the first failure schedules the probe: taps that keep
		// failing must not postpone it forever.
		e.probeAt = e.clk.Mono() + e.cfg.StoreRetry
	}
	e.oos[CauseStore] = true
	if e.call == nil {
		e.show(signal.OutOfService)
	}
}

// probe checks the store and, when it writes again, flushes what was kept in
// memory and brings the booth back.
func (e *Engine) probe() {
	e.probeAt = e.clk.Mono() + e.cfg.StoreRetry
	if err := e.store.Probe(); err != nil {
		e.log.Debug("store probe failed", "err", err)
		return
	}
	for len(e.pendingCloses) > 0 {
		rec := e.pendingCloses[0]
		if _, err := e.store.CloseCall(rec); err != nil {
			e.log.Debug("store probe passed but closing a call failed", "call", rec.CallID, "err", err)
			return
		}
		e.pendingCloses = e.pendingCloses[1:]
		e.calls++
	}
	if !e.recovered {
		delete(e.oos, CauseStore)
		e.recover()
		if !e.recovered {
			return
		}
	}
	for len(e.pendingEvents) > 0 {
		if _, err := e.store.Event(e.pendingEvents[0]); err != nil {
			return
		}
		e.pendingEvents = e.pendingEvents[1:]
	}
	if n := e.unrecorded; n > 0 {
		ev := record.Event{At: e.clk.Now(), Event: record.EventDenialsUnrecorded, Detail: strconv.Itoa(n), ClockTrusted: e.trusted}
		if _, err := e.store.Event(ev); err != nil {
			return
		}
		e.unrecorded = 0
	}
	delete(e.oos, CauseStore)
	e.log.Info("store writes again: booth back in service")
	if e.call == nil {
		e.showIdle()
	}
}

// hookWatch counts a call that ends with the hook switch unchanged since
// before it began (hookMoved), and reports the switch as suspect once
// Config.HookStillCalls such calls come in a row. Every call an inmate
// makes moves the switch at least once (lifted, or put down at its end), so
// calls that never move it are a switch stuck one way. On-hook, no call can
// talk and each ends no_offhook, charged nothing: the booth stays in
// service, since an inmate who taps and walks away three times must not
// take a working booth from the others, and the centre's alert sends a
// technician. Off-hook, each call bills to its limit after the handset is
// put down, so every inmate who calls loses minutes: the booth is out of
// service (CauseHook) until the switch moves. Putting the handset down
// moves a switch that works, so a handset left lifted costs the next
// inmate nothing but that.
func (e *Engine) hookWatch(c *call, reason record.EndReason) {
	if c.hookMoved {
		return // the switch works: hookMoved started the count again
	}
	if reason == EndTamper || boothCut(reason) {
		return // the booth's own fault (or its panel) ended it: nothing said about the switch
	}
	e.hookStill++
	if e.hookStill != e.cfg.HookStillCalls {
		return // not yet, or reported already
	}
	detail := fmt.Sprintf("%d call(s) in a row ended with the handset never lifted: the hook switch reads on-hook (stuck down, or its wire cut), so no call can talk; check the switch and its wiring", e.hookStill)
	if e.offHook {
		detail = fmt.Sprintf("%d call(s) in a row ended with the handset never put down: the hook switch reads off-hook (stuck up), so each call would bill to its limit: out of service until it moves; put the handset down, else check the switch and its wiring", e.hookStill)
	}
	e.log.Warn("hook switch suspect", "detail", detail)
	e.observe(Activity{Kind: ActivityHookSuspect, Detail: detail})
	e.event(record.EventHookSuspect, detail)
	if e.offHook {
		e.oos[CauseHook] = true
		e.log.Error("booth out of service: every call would bill to its limit; it is back when the hook switch moves (the handset put down)")
	}
}

// hookSuspect reports whether hookWatch has reported the switch suspect
// and it has not moved since.
func (e *Engine) hookSuspect() bool { return e.hookStill >= e.cfg.HookStillCalls }

// hookMoved: the hook switch changed, so it works; a suspect switch is
// reported working again.
func (e *Engine) hookMoved() {
	suspect := e.hookSuspect()
	e.hookStill = 0
	if e.call != nil {
		e.call.hookMoved = true
	}
	if !suspect {
		return
	}
	e.log.Info("hook switch changed again: no longer suspect")
	e.observe(Activity{Kind: ActivityHookOK})
	e.event(record.EventHookOK, "")
	if e.oos[CauseHook] {
		delete(e.oos, CauseHook)
		e.log.Info("hook switch moved: booth back in service")
		if e.call == nil {
			e.showIdle()
		}
	}
}
