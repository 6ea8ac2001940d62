package record

import "time"

// Number is a telephone number registered for an inmate, as the booth holds
// it from the roster sync (docs/dial.md). Only numbers an operator registered
// and a supervisor (another account) approved reach a booth; the booth dials
// nothing else. Records name the number by ID and Slot, never by its digits:
// the number itself stays in the roster.
type Number struct {
	ID           int64     // the gateway's id, stable across versions
	Person       string    // the inmate (CardInfo.Person) it is registered for
	E164         string    // "+6281234567890"
	Slot         int       // the digit pressed to choose it, 1..9; 0: by full number only
	Label        string    // relationship ("ibu", "kakak")
	RegisteredBy string    // the operator's account
	ApprovedBy   string    // the supervisor's account
	ValidFrom    time.Time // zero: no start
	ValidUntil   time.Time // zero: no end; the number is valid before this instant
}

// ValidAt reports whether n may be dialled at t.
func (n Number) ValidAt(t time.Time) bool {
	return (n.ValidFrom.IsZero() || !t.Before(n.ValidFrom)) && (n.ValidUntil.IsZero() || t.Before(n.ValidUntil))
}

// Outcome is how the carrier ended a dialled call (Call.Outcome). Talk time
// is billed only from the answer: a call that was never OutcomeAnswered
// charges nothing.
type Outcome string

const (
	OutcomeAnswered    Outcome = "answered"     // the far end answered (+CLCC active)
	OutcomeBusy        Outcome = "busy"         // BUSY
	OutcomeNoAnswer    Outcome = "no_answer"    // NO ANSWER, or rang until the booth gave up
	OutcomeFailed      Outcome = "failed"       // NO CARRIER or an error before the answer
	OutcomeNetworkLost Outcome = "network_lost" // the network went away during the call
	OutcomeModemFault  Outcome = "modem_fault"  // the modem stopped answering
	OutcomeCancelled   Outcome = "cancelled"    // the booth hung up before the answer (handset down, officer, cut-off)
)

// AllOutcomes lists every Outcome.
var AllOutcomes = []Outcome{
	OutcomeAnswered, OutcomeBusy, OutcomeNoAnswer, OutcomeFailed, OutcomeNetworkLost, OutcomeModemFault, OutcomeCancelled,
}
