package session

import (
	"fmt"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// call is the call in progress: on a booth with a modem, from the
// authorised tap on (dial; rec.CallID is 0 until it is journaled).
type call struct {
	rec        record.Call
	max        time.Duration // talk time allowed from talk start (see startTalking)
	authorised time.Duration // mono instant of the tap's decision
	wall       time.Duration // the decision's wall-clock bound from authorised (0: none)
	wallBy     record.EndReason
	granted    time.Duration // mono instant the relay closed
	talking    bool          // talk time runs: from off-hook, or with a modem from the answer
	talkStart  time.Duration // mono
	nextWarn   int           // index into Engine.warnings
	nextCkpt   time.Duration // mono
	dial       *dialling     // a booth with a modem; nil: relay-only
	hookMoved  bool          // the hook switch changed during the call (hookWatch)
}

// journaled reports whether the call is in the journal (the relay may be on).
func (c *call) journaled() bool { return c.rec.CallID != 0 }

// recover closes the calls left open in the journal, as ended by power loss
// and billed to their last checkpoint.
func (e *Engine) recover() {
	open, err := e.store.OpenCalls()
	if err != nil {
		e.storeFailed("listing calls left open by a power cut", err)
		return
	}
	for _, oc := range open {
		c := oc.Call
		c.CallID = oc.CallID
		c.EndReason = EndPowerLoss
		c.TalkedMs = max(c.TalkedMs, 0)
		if c.MaxMs > 0 {
			c.TalkedMs = min(c.TalkedMs, c.MaxMs) // a corrupt checkpoint never bills past Max
		}
		c.ChargedMs = e.charge(EndPowerLoss, ms(c.TalkedMs)).Milliseconds()
		if c.NumberID != 0 && c.Outcome == "" {
			// A dialled call's checkpoints count from its answer, which
			// the journal holds (AnsweredAt, TalkStartAt): billed from
			// it to the last checkpoint. A journal row from before the
			// answer was kept tells it by its talk; never answered, it
			// charges nothing whatever it did.
			c.Outcome = record.OutcomeCancelled
			if !c.AnsweredAt.IsZero() || c.TalkedMs > 0 {
				c.Outcome = record.OutcomeAnswered
			}
		}
		if _, err := e.store.CloseCall(c); err != nil {
			e.storeFailed(fmt.Sprintf("closing call %d left open by a power cut", c.CallID), err)
			return
		}
		e.calls++
		e.log.Warn("call left open by a power cut closed", "call", c.CallID, "card", e.tags.Tag(c.Card), "talked_ms", c.TalkedMs, "charged_ms", c.ChargedMs)
	}
	e.recovered = true
	if len(open) > 0 {
		e.event(record.EventPowerLossRecovered, fmt.Sprintf("%d call(s) closed, billed to their last checkpoint", len(open)))
	}
}

// hook is the handset switch: lifted, a granted call starts talking; put
// down, a talking call ends. With a modem, lifting it places the call once
// a number is chosen, and putting it down hangs up a dialled call.
func (e *Engine) hook(off bool) {
	if off != e.offHook {
		e.hookMoved()
	}
	e.offHook = off
	c := e.call
	switch {
	case c == nil:
	case c.dial != nil:
		e.dialHook(c, off)
	case off && !c.talking:
		e.startTalking()
	case !off && c.talking:
		e.endCall(EndHangup)
		e.showIdle()
	}
}

// startTalking starts the talk time on the monotonic clock and schedules
// the checkpoints and warnings from it.
func (e *Engine) startTalking() {
	c := e.call
	if c.dial == nil {
		// A relay-only booth closes the relay with the talk time, not at
		// the tap: closed at the tap, a booth whose hook switch reads
		// on-hook (held down, its wire cut) passed the line for the
		// off-hook wait, charged nothing, tap after tap. A relay that
		// refuses ends the call as a fault, charged nothing.
		if err := e.booth.SetRelay(true); err != nil {
			e.endCall(EndFault)
			e.relayFailed(fmt.Errorf("closing the relay for call %d: %w", c.rec.CallID, err))
			e.showIdle()
			return
		}
	}
	c.talking = true
	c.talkStart = e.clk.Mono()
	if c.wall > 0 {
		// A wall-clock bound is an instant, reached on the monotonic
		// clock from the tap: waiting for the handset (or choosing and
		// ringing) does not extend the booth's hours, also when another
		// bound was the least at the tap.
		if left := max(c.wall-(c.talkStart-c.authorised), 0); left < c.max {
			c.max, c.rec.EndReason = left, c.wallBy
		}
	}
	c.rec.TalkStartAt = e.clk.Now()
	c.nextCkpt = c.talkStart + e.cfg.Checkpoint
	if c.dial != nil {
		c.rec.AnsweredAt = c.rec.TalkStartAt
		// Journaled at once, as a checkpoint is: a call recovered after
		// a power cut says when it was answered, and one the journal
		// cannot follow ends now (nothing talked yet, nothing charged).
		if err := e.store.Answered(c.rec.CallID, c.rec.AnsweredAt); err != nil {
			e.storeFailed(fmt.Sprintf("journaling the answer of call %d", c.rec.CallID), err)
			e.endCall(EndStoreError)
			e.showIdle()
			return
		}
	}
	// Skip warnings that would come at or before the start.
	for c.nextWarn < len(e.warnings) && e.warnings[c.nextWarn].Before >= c.max {
		c.nextWarn++
	}
	e.log.Info("talking", "call", c.rec.CallID, "max", c.max)
	e.observe(Activity{Kind: ActivityTalking, CallID: c.rec.CallID, Max: c.max})
	e.show(signal.Talking)
}

// talked is the call's talk time so far, never more than its Max.
func (e *Engine) talked(c *call) time.Duration {
	if !c.talking {
		return 0
	}
	return min(e.clk.Mono()-c.talkStart, c.max)
}

// checkpoint journals the talk time so far; a store that refuses ends the
// call at once (store_error).
func (e *Engine) checkpoint() {
	c := e.call
	t := e.talked(c)
	for c.nextCkpt <= e.clk.Mono() {
		c.nextCkpt += e.cfg.Checkpoint
	}
	if err := e.store.Checkpoint(c.rec.CallID, t); err != nil {
		e.storeFailed(fmt.Sprintf("checkpointing call %d", c.rec.CallID), err)
		e.endCall(EndStoreError)
		e.showIdle()
	}
}

// endCall ends the call in progress, if any: relay off first, then the
// record. A close the store refuses is kept and retried after a probe.
func (e *Engine) endCall(reason record.EndReason) {
	c := e.call
	if c == nil {
		return
	}
	e.hookWatch(c, reason)
	if !c.journaled() {
		e.abandon(c, reason)
		return
	}
	if err := e.booth.SetRelay(false); err != nil {
		e.relayFailed(fmt.Errorf("opening the relay to end call %d: %w", c.rec.CallID, err))
	}
	talked := e.talked(c)
	e.call = nil
	rec := c.rec
	if c.dial != nil {
		// After the relay: the inmate hears nothing more, whatever the
		// modem does with the hang-up.
		e.hangUp(c)
		rec.Outcome = c.dial.outcomeAt(c.talking)
	}
	rec.EndReason = reason
	rec.TalkedMs = talked.Milliseconds()
	rec.ChargedMs = e.charge(reason, ms(rec.TalkedMs)).Milliseconds()
	if c.talking {
		e.lastEnd[rec.Inmate] = e.clk.Mono()
	}
	e.log.Info("call ended", "call", rec.CallID, "card", e.tags.Tag(rec.Card), "reason", reason, "talked_ms", rec.TalkedMs, "charged_ms", rec.ChargedMs)
	e.observe(Activity{Kind: ActivityEnded, CallID: rec.CallID, Card: e.tags.Tag(rec.Card), Inmate: rec.Inmate, End: reason,
		Talked: ms(rec.TalkedMs), Charged: ms(rec.ChargedMs), Outcome: rec.Outcome, Slot: rec.Slot})
	if _, err := e.store.CloseCall(rec); err != nil {
		e.pendingCloses = append(e.pendingCloses, rec)
		e.storeFailed(fmt.Sprintf("closing call %d (kept in memory, retried when the store recovers)", rec.CallID), err)
		return
	}
	e.calls++
}

// charge is what a call that ended for reason after talked is billed: the
// policy's rule, or, for a call the booth itself cut short, only the
// seconds talked (Billing.ChargeCut).
func (e *Engine) charge(reason record.EndReason, talked time.Duration) time.Duration {
	if boothCut(reason) {
		return e.cfg.Rules.Billing.ChargeCut(talked)
	}
	return e.cfg.Rules.Billing.Charge(talked)
}

// boothCut reports whether a call that ended for reason was cut short by
// the booth itself: a relay fault, a failed checkpoint, the daemon
// stopping, the power cut, the modem lost.
func boothCut(reason record.EndReason) bool {
	switch reason {
	case EndFault, EndStoreError, EndShutdown, EndPowerLoss, EndModemDown:
		return true
	}
	return false
}
