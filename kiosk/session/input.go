package session

import "wartelsuspas/kiosk/policy"

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

func (Tap) input()         {}
func (CardRemoved) input() {}
func (Hook) input()        {}
func (Tamper) input()      {}
func (RelayFault) input()  {}
func (Reader) input()      {}
func (Policy) input()      {}
func (ClockTrust) input()  {}
