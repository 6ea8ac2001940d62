package session

import (
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
)

// Input is one event the engine reacts to: a card, the hook switch, the
// tamper switch, a fault, the centre's rules or the clock's trust changing. The drivers (through
// the firmware's wiring) send them on the channel given to Run.
type Input interface{ input() }

// Tap is a confirmed card present at the reader, by canonical id such as
// "em:0400D8B2A5".
type Tap struct{ Card string }

// CardRemoved is the card leaving the reader. It never ends a call.
type CardRemoved struct{ Card string }

// Hook is the handset switch: OffHook true when the handset is lifted.
type Hook struct{ OffHook bool }

// Tamper is the panel switch: Open true when the booth's panel is opened.
// An open panel ends a call and puts the booth out of service until an
// officer card clears it.
type Tamper struct{ Open bool }

// RelayFault is a fault reported by the relay driver (for example its
// read-back disagrees with what was set). It ends a call and puts the booth
// out of service until an officer card clears it.
type RelayFault struct{ Err error }

// Reader is the card reader going down (unplugged, garbage) or coming back.
// A reader down refuses new calls; a call in progress continues.
type Reader struct {
	Up  bool
	Err error
}

// Policy is new facility rules from the centre. They decide from the next
// tap on; a call in progress keeps the limits it was granted with. Billing
// stays the booth's own (Config.Rules.Billing), so no charge changes under
// a call.
type Policy struct{ Rules policy.Rules }

// ClockTrust tells the engine whether the wall clock is known good since boot
// (NTP synchronised, or corrected from the gateway).
type ClockTrust struct{ Trusted bool }

// Key is a key pressed on the booth's keypad (or the handset's keys where
// the modem reports them): '0'..'9', '*' or '#'.
type Key struct{ Digit rune }

// DialStage is where a dialled call stands, as the modem reports it
// (3GPP TS 27.007 +CLCC and the final result codes).
type DialStage string

const (
	StageDialling DialStage = "dialling" // +CLCC stat 2
	StageAlerting DialStage = "alerting" // +CLCC stat 3: the far end rings
	StageActive   DialStage = "active"   // +CLCC stat 0: answered; talk time starts
	StageEnded    DialStage = "ended"    // the call is gone; Outcome says how
)

// CallProgress is the modem's word on a call the engine dialled: Call is
// the id given to Dialer.Dial. The engine takes it only for the call in
// progress; a late word of an earlier call (its "ended" or "active" read
// after the booth hung it up and dialled again) is ignored.
type CallProgress struct {
	Call    int64
	Stage   DialStage
	Outcome record.Outcome // with StageEnded
}

// ModemHealth is the modem becoming usable or not: no SIM, PIN needed, no
// network, weak signal, or not answering (Cause names it, for the lamps,
// status, the heartbeat and the centre). Down refuses new calls and ends a
// call in progress, billed to its talk so far. A Cause of no_network,
// weak_signal, network_lost, not_registered or registration_denied puts the
// booth out of service for CauseNetwork (taps denied no_network); any other
// (no_sim, sim_pin, not_answering, …) for CauseModem (modem_fault).
type ModemHealth struct {
	Up    bool
	Cause string
	Err   error
}

// Incoming is a call arriving at the booth's SIM: the firmware has already
// refused it; the engine records it as an event (incoming_refused, Detail
// the caller's number).
type Incoming struct{ From string }

func (Key) input()          {}
func (CallProgress) input() {}
func (ModemHealth) input()  {}
func (Incoming) input()     {}
func (Tap) input()          {}
func (CardRemoved) input()  {}
func (Hook) input()         {}
func (Tamper) input()       {}
func (RelayFault) input()   {}
func (Reader) input()       {}
func (Policy) input()       {}
func (ClockTrust) input()   {}
