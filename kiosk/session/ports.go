package session

import (
	"context"
	"time"

	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// CONTRACT between the engine (this package) and kiosk/store: keep the
// method set; kiosk/store.Store implements Store.

// Store is the booth's durable memory: roster, usage, call journal, outbox.
// Every method that returns a record.Record has committed it durably
// (synchronous=FULL) before returning; the record's Seq and Hash are set.
type Store interface {
	// Card looks a card up in the roster; ok is false for an unknown card.
	Card(card string) (info record.CardInfo, ok bool, err error)
	// Usage is the inmate's usage in a period (own calls, officer credits
	// and what the centre synced), and its offline view: the centre's last
	// balance less own usage since, and own offline charges since.
	Usage(inmate, period string) (record.Usage, error)
	// SetCentreBalance keeps the centre's answer at an online authorise
	// (Remote.Remaining): the balance the booth decides offline from next,
	// and from when its offline charges count against the offline cap.
	// counted is the Usage.Confirmed read before the centre was asked:
	// this booth's records above it count as used since the balance, even
	// if acknowledged while the answer was on its way.
	SetCentreBalance(inmate, period string, remaining time.Duration, counted uint64) error
	// OpenCall journals an authorised call durably and returns its id. The
	// relay may close only after it returned nil.
	OpenCall(c record.Call) (callID int64, err error)
	// Checkpoint records the talk time so far; after a power cut the call
	// is billed to its last checkpoint.
	Checkpoint(callID int64, talked time.Duration) error
	// Answered journals the instant a dialled call was answered (its talk
	// start), durably: after a power cut the call is closed as answered
	// then, billed from it to its last checkpoint.
	Answered(callID int64, at time.Time) error
	// CloseCall, in one transaction: removes the call from the journal,
	// adds c.ChargedMs to the inmate's usage in c.Period, and appends the
	// call record to the outbox.
	CloseCall(c record.Call) (record.Record, error)
	// OpenCalls lists calls left open (by a power cut or a crash).
	OpenCalls() ([]record.OpenCall, error)
	// Deny appends a denial record.
	Deny(d record.Denial) (record.Record, error)
	// Officer, in one transaction: appends the audit record and adds
	// o.CreditMs to the inmate's granted time in o.Period.
	Officer(o record.Officer) (record.Record, error)
	// Event appends a booth event record.
	Event(e record.Event) (record.Record, error)
	// Probe checks that the store can write again (after a full disk).
	Probe() error
	// RosterVersion is the version of the roster the store holds (0: none
	// yet); officer records carry it, for the centre's check.
	RosterVersion() (int64, error)
	// OfficerCredits is what officer credited at this booth in records
	// stamped at or after since (the per-officer daily cap).
	OfficerCredits(officer string, since time.Time) (time.Duration, error)
}

// Booth is the booth's outputs as the engine drives them.
type Booth interface {
	// SetRelay closes (true) or opens the handset relay.
	SetRelay(on bool) error
	// Show sets the lamp and buzzer pattern for a signal, one of
	// signal.All.
	Show(signal Signal) error
	// ClearFaults releases the driver's own tamper and relay-fault latches
	// when an officer clears them. It fails while the panel is still open;
	// then the booth stays out of service.
	ClearFaults() error
}

// Authoriser asks the centre, within a short deadline, for the inmate's
// authoritative remaining time across the facility and a lease. It is
// optional: with none (or on error or deadline) the booth decides offline.
type Authoriser interface {
	Authorise(ctx context.Context, card, inmate, period string) (Remote, error)
}

// Remote is the centre's answer to Authorise.
type Remote struct {
	Remaining time.Duration // authoritative, across all booths
	Lease     string        // opaque; the call's record carries it, and the gateway ends it on storing that record
	Busy      bool          // the card is talking in another booth
	// Period is the period key the centre computed from its own clock:
	// Remaining is its balance, and the call is billed to it. Empty from a
	// gateway that does not send one (the booth's own period then).
	Period string
}

// CONTRACT for dial control (docs/session.md "Dial control"); a booth without a modem has a
// nil Dialer and nil Numbers and works as a relay-only booth.

// Dialer is the booth's cellular voice module as the engine drives it. Both
// methods return once the command is on its way (they never wait for the
// far end); what the call does next arrives as CallProgress inputs, and the
// module's health as ModemHealth.
type Dialer interface {
	// Dial places a voice call to an E.164 number for the journaled call
	// call (its record.Call.CallID). Every CallProgress of that call
	// carries the same id, so that a late word of an earlier call is told
	// from the current one's: journal ids are never reused, so it holds
	// across a module reset and a restart of the booth.
	Dial(call int64, e164 string) error
	// HangUp ends the call in any stage; the engine opens the relay first.
	HangUp() error
}

// Numbers is the booth's copy of the registered numbers and the facility's
// blocked list, at the roster version the store holds (kiosk/store
// implements it).
type Numbers interface {
	// Numbers lists the approved numbers registered for an inmate (by
	// CardInfo.Person), in slot order.
	Numbers(person string) ([]record.Number, error)
	// NumberBlocked reports whether an E.164 number is on the facility's
	// blocked list, which overrides every registration.
	NumberBlocked(e164 string) (bool, error)
}

// Toner is an optional interface of a Dialer: a module that can play a
// local tone in the earpiece (vendor commands of the SIM7600 and EC25
// families). At each cut-off warning of a dialled call the engine shows the
// warning on the lamps and, when Deps.Dialer is a Toner, calls Tone with
// the same signal (signal.WarningMinute, signal.FinalSeconds). It must not
// block; an error is logged and changes nothing.
type Toner interface {
	Tone(s signal.Signal) error
}
