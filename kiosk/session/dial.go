package session

import (
	"fmt"
	"strings"
	"time"
	"wartelsuspas/kiosk/dialplan"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// Dial control: a booth with a modem (Deps.Dialer and Deps.Numbers) places
// the call itself, only to a number registered and approved for the inmate,
// and bills from the answer (docs/session.md "Dial control").
//
//	authorised tap ─► choosing (relay off, nothing journaled)
//	  slot digit (or full number) + # and the handset lifted:
//	    checks (registered, valid now, not blocked) ─ refused ─► denial
//	    OpenCall ─► relay on ─► Dial ─► dialling ─► ringing ─► answer: talking
//	  choose timeout, tamper, officer… ─► denial not_dialled (nothing charged)
//	ring timeout, busy, no answer, failed ─► relay off, HangUp, not_answered (0)
//	cut-off, handset down, officer… ─► relay off, then HangUp

// dialPhase is where a call on a booth with a modem stands before its answer.
type dialPhase int

const (
	phaseChoosing dialPhase = iota // keys being pressed; not journaled, relay off
	phaseDialling                  // journaled, relay on, Dial sent
	phaseRinging                   // the far end rings
)

// maxKeys bounds what the engine keeps of the keys pressed: the longest
// national or international number, with room for a leading 0.
const maxKeys = 16

// dialling is the dial-control part of a call.
type dialling struct {
	phase     dialPhase
	keys      []rune        // pressed since the tap or the last '*'
	chosen    bool          // '#' pressed: placed as soon as the handset is lifted
	keyAt     time.Duration // mono: the tap or the last key; the choose timeout counts from it
	dialledAt time.Duration // mono: Dial called; the ring timeout counts from it
	outcome   record.Outcome
	gone      bool // the modem reported the call ended: no HangUp
	hungUp    bool // HangUp already asked
}

func (d *dialling) state() State {
	switch d.phase {
	case phaseDialling:
		return StateDialling
	case phaseRinging:
		return StateRinging
	}
	return StateChoosing
}

// outcomeAt is the call's Outcome when it ends: what the modem (or the
// booth's own timeout) said, else answered or cancelled.
func (d *dialling) outcomeAt(talking bool) record.Outcome {
	switch {
	case d.outcome != "":
		return d.outcome
	case talking:
		return record.OutcomeAnswered
	}
	return record.OutcomeCancelled
}

// startChoosing holds an authorised tap until the inmate chooses a number.
// Nothing is journaled and the relay stays open: nothing can be heard.
func (e *Engine) startChoosing(rec record.Call, dec policy.Decision, decided time.Duration) {
	now, maxTalk := e.clk.Mono(), dec.Max
	e.call = &call{rec: rec, max: maxTalk, authorised: decided, wall: dec.Wall, wallBy: endReason(dec.WallBy), dial: &dialling{phase: phaseChoosing, keyAt: now}}
	e.log.Info("call authorised: waiting for the number", "card", e.tags.Tag(rec.Card), "inmate", rec.Inmate, "max", maxTalk, "ends_by", rec.EndReason, "offline", rec.Offline)
	e.observe(Activity{Kind: ActivityChoosing, Card: e.tags.Tag(rec.Card), Inmate: rec.Inmate, Max: maxTalk})
	e.show(signal.ChooseNumber)
}

// key is a key of the keypad: digits choose, '*' clears, '#' completes.
// Keys at any other time than choosing are ignored (the keypad is not the
// handset's audio: a key during a call is not sent).
func (e *Engine) key(k rune) {
	c := e.call
	if c == nil || c.dial == nil || c.dial.phase != phaseChoosing {
		e.log.Debug("key ignored: no number to choose now", "key", string(k))
		return
	}
	d := c.dial
	d.keyAt = e.clk.Mono()
	switch {
	case k == '*':
		d.keys, d.chosen = nil, false
		e.show(signal.ChooseNumber)
	case k == '#':
		if len(d.keys) == 0 {
			return
		}
		d.chosen = true
		if e.offHook {
			e.placeCall(c)
			return
		}
		e.show(signal.CardAccepted) // lift the handset
	case k >= '0' && k <= '9':
		if d.chosen {
			d.keys, d.chosen = nil, false // a digit after # starts a new choice
		}
		if len(d.keys) < maxKeys {
			d.keys = append(d.keys, k)
		}
	default:
		e.log.Debug("key ignored: not a key of the keypad", "key", string(k))
	}
}

// dialHook is the handset switch on a booth with a modem.
func (e *Engine) dialHook(c *call, off bool) {
	switch {
	case off && c.dial.phase == phaseChoosing && c.dial.chosen:
		e.placeCall(c)
	case !off && c.journaled():
		// The handset put down hangs the call up, answered or not.
		e.endCall(EndHangup)
		e.showIdle()
	}
}

// placeCall checks the chosen number at this instant and, when it may be
// called, journals the call, closes the relay and dials: in that order, so
// the inmate hears the ringing only through a journaled call's relay.
func (e *Engine) placeCall(c *call) {
	n, reason := e.resolve(c.rec.Inmate, string(c.dial.keys))
	if reason != policy.ReasonNone {
		e.call = nil
		e.log.Info("number refused", "card", e.tags.Tag(c.rec.Card), "inmate", c.rec.Inmate, "reason", reason)
		e.showIdle()
		e.deny(record.Denial{Card: c.rec.Card, Inmate: c.rec.Inmate, Reason: reason, Lease: c.rec.Lease})
		return
	}
	rec := c.rec
	rec.NumberID, rec.Slot = n.ID, n.Slot
	e.call = nil
	if !e.journal(&rec) {
		return
	}
	now := e.clk.Mono()
	c.rec, c.granted = rec, now
	c.dial.phase, c.dial.dialledAt = phaseDialling, now
	e.call = c
	if err := e.booth.SetRelay(true); err != nil {
		e.endCall(EndFault)
		e.relayFailed(fmt.Errorf("closing the relay for call %d: %w", rec.CallID, err))
		e.showIdle()
		return
	}
	e.log.Info("dialling a registered number", "call", rec.CallID, "inmate", rec.Inmate, "number", rec.NumberID, "slot", rec.Slot)
	e.observe(Activity{Kind: ActivityDialling, CallID: rec.CallID, Card: e.tags.Tag(rec.Card), Inmate: rec.Inmate, Slot: rec.Slot, Max: c.max})
	e.show(signal.Dialling)
	if err := e.dialer.Dial(rec.CallID, n.E164); err != nil {
		e.log.Error("the modem refused to dial: call ended, not charged; check the modem (wartel-kiosk selftest)", "call", rec.CallID, "err", err)
		c.dial.outcome = record.OutcomeFailed
		e.notConnected(EndNotAnswered)
	}
}

// resolve finds the number the keys choose among the inmate's approved
// numbers, as the store holds them now, and checks it may be called now.
func (e *Engine) resolve(person, keys string) (record.Number, policy.Reason) {
	nums, err := e.numbers.Numbers(person)
	if err != nil {
		e.storeFailed("reading the inmate's registered numbers", err)
		return record.Number{}, policy.ReasonOutOfService
	}
	var n record.Number
	found := false
	switch {
	case len(keys) == 1 && keys[0] >= '1' && keys[0] <= '9':
		slot := int(keys[0] - '0')
		for _, x := range nums {
			if x.Slot == slot {
				n, found = x, true
				break
			}
		}
	case len(keys) > 1 && e.cfg.Rules.DialFullNumber:
		n, found = matchNumber(keys, nums)
	}
	if !found || n.Person != person || n.E164 == "" || !n.ValidAt(e.clk.Now()) {
		return record.Number{}, ReasonNumberNotRegistered
	}
	blocked, err := e.numbers.NumberBlocked(n.E164)
	if err != nil {
		e.storeFailed("reading the facility's blocked numbers", err)
		return record.Number{}, policy.ReasonOutOfService
	}
	if blocked {
		return record.Number{}, ReasonNumberBlocked
	}
	return n, policy.ReasonNone
}

// matchNumber finds the registered number the digits typed are, by
// kiosk/dialplan's rule (the one the gateway registers numbers by: 08… and
// 628… are +628…).
func matchNumber(typed string, nums []record.Number) (record.Number, bool) {
	for _, n := range nums {
		if dialplan.Match(typed, n.E164) {
			return n, true
		}
	}
	return record.Number{}, false
}

// progress is the modem's word on the call the engine dialled.
func (e *Engine) progress(p CallProgress) {
	c := e.call
	if c == nil || c.dial == nil || !c.journaled() {
		e.log.Debug("call progress ignored: no call dialled", "call", p.Call, "stage", p.Stage, "outcome", p.Outcome)
		return
	}
	if p.Call != c.rec.CallID {
		// A late word of a call already ended (or never this booth's):
		// it must not end, answer or bill the call in progress.
		e.log.Warn("call progress of another call ignored", "call", p.Call, "current", c.rec.CallID, "stage", p.Stage, "outcome", p.Outcome)
		return
	}
	switch p.Stage {
	case StageDialling:
	case StageAlerting:
		if c.dial.phase == phaseDialling {
			c.dial.phase = phaseRinging
			e.log.Info("ringing", "call", c.rec.CallID)
			e.observe(Activity{Kind: ActivityRinging, CallID: c.rec.CallID})
		}
	case StageActive:
		if !c.talking {
			e.startTalking() // talk time, the cap and every warning count from here
		}
	case StageEnded:
		c.dial.gone = true
		if c.talking {
			c.dial.outcome = record.OutcomeAnswered
			e.endCall(EndFarEnd)
			e.showIdle()
			return
		}
		out := p.Outcome
		if out == "" || out == record.OutcomeAnswered {
			out = record.OutcomeFailed // ended unanswered without saying how
		}
		c.dial.outcome = out
		e.notConnected(EndNotAnswered)
	default:
		e.log.Error("session: unknown call stage ignored", "stage", p.Stage)
	}
}

// notConnected ends a call that never reached its answer: nothing charged,
// the lamps say so.
func (e *Engine) notConnected(reason record.EndReason) {
	e.endCall(reason)
	e.showIdle()
	e.show(signal.NotConnected)
}

// dialDeadline is when a call on a booth with a modem times out before its
// answer: choosing, or ringing.
func (e *Engine) dialDeadline(c *call) time.Duration {
	if c.dial.phase == phaseChoosing {
		return min(c.dial.keyAt+e.cfg.ChooseTimeout, c.authorised+e.cfg.ChooseWithin)
	}
	return c.dial.dialledAt + e.cfg.RingTimeout
}

// dialTimeout: no number chosen in time (nothing journaled, nothing
// charged), or no answer in time (the booth hangs up: no_answer).
func (e *Engine) dialTimeout(c *call) {
	if c.dial.phase == phaseChoosing {
		e.log.Info("no number chosen in time: nothing dialled, nothing charged", "card", e.tags.Tag(c.rec.Card))
		e.endCall(EndNoOffHook) // abandon: a not_dialled denial
		e.showIdle()
		return
	}
	e.log.Info("no answer in time: hung up, not charged", "call", c.rec.CallID)
	c.dial.outcome = record.OutcomeNoAnswer
	e.notConnected(EndNotAnswered)
}

// abandon ends an authorised tap that was never dialled (never journaled,
// the relay never closed): a denial not_dialled records it, with the
// centre's lease so the inmate is free at the next booth.
func (e *Engine) abandon(c *call, why record.EndReason) {
	e.call = nil
	e.log.Info("authorised tap ended before a number was dialled: nothing charged", "card", e.tags.Tag(c.rec.Card), "why", why)
	e.deny(record.Denial{Card: c.rec.Card, Inmate: c.rec.Inmate, Reason: ReasonNotDialled, Lease: c.rec.Lease})
}

// hangUp asks the modem to end a dialled call, once, unless the modem
// already said it ended. The relay is open before: endCall calls it.
func (e *Engine) hangUp(c *call) {
	d := c.dial
	if d.gone || d.hungUp || d.phase == phaseChoosing {
		return
	}
	d.hungUp = true
	if err := e.dialer.HangUp(); err != nil {
		e.log.Error("the modem did not hang up: the relay is open, so nobody hears the call; check the modem", "call", c.rec.CallID, "err", err)
	}
}

// warn shows a cut-off warning, and plays it in the earpiece when the
// modem can (Toner).
func (e *Engine) warn(c *call, sig Signal) {
	e.show(sig)
	if c.dial == nil {
		return
	}
	if t, ok := e.dialer.(Toner); ok {
		if err := t.Tone(sig); err != nil {
			e.log.Warn("the modem did not play the warning tone; the lamps show it", "signal", sig, "err", err)
		}
	}
}

// Words of ModemHealth.Cause that mean the network, not the module: the
// booth is out of service for CauseNetwork and a tap is denied no_network.
// Any other cause (no_sim, sim_pin, not_answering, …) is CauseModem.
var networkCauses = []string{"no_network", "weak_signal", "network_lost", "not_registered", "registration_denied"}

// modemCause is the out-of-service cause of a ModemHealth down.
func modemCause(cause string) Cause {
	for _, w := range networkCauses {
		if cause == w {
			return CauseNetwork
		}
	}
	return CauseModem
}

// modemHealth is the modem becoming usable or not. Down refuses new calls
// and ends a call in progress, billed to its talk so far.
func (e *Engine) modemHealth(h ModemHealth) {
	if e.dialer == nil {
		e.log.Debug("modem health ignored: a relay-only booth", "up", h.Up)
		return
	}
	if h.Up {
		if !e.oos[CauseNetwork] && !e.oos[CauseModem] {
			return
		}
		delete(e.oos, CauseNetwork)
		delete(e.oos, CauseModem)
		e.log.Info("modem works again")
		e.observe(Activity{Kind: ActivityModemUp})
		e.event(record.EventModemUp, "")
		if e.call == nil {
			e.showIdle()
		}
		return
	}
	cause := modemCause(h.Cause)
	was := e.oos[cause]
	delete(e.oos, CauseNetwork)
	delete(e.oos, CauseModem)
	e.oos[cause] = true
	if c := e.call; c != nil && c.dial != nil {
		c.dial.outcome = record.OutcomeModemFault
		if cause == CauseNetwork {
			c.dial.outcome = record.OutcomeNetworkLost
		}
		e.endCall(EndModemDown)
	}
	if !was {
		detail := h.Cause
		if h.Err != nil {
			detail = strings.TrimSpace(detail + ": " + h.Err.Error())
		}
		e.log.Error("modem down: no new calls until it works again; check the SIM, the antenna and the modem's cable", "cause", h.Cause, "err", h.Err)
		e.observe(Activity{Kind: ActivityModemDown, Detail: detail})
		e.event(record.EventModemDown, detail)
	}
	e.showIdle()
}
