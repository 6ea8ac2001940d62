// Package signal names the lamp and buzzer patterns the session engine
// shows (session.Booth.Show): a typed word with an exhaustive list, so a
// test can give every signal its pattern in drivers/booth and its row in
// docs/lamps.md. It is a package of its own so that the engine, its test
// doubles (kiosk/session/sessiontest) and the firmware's wiring share one
// type without importing each other.
package signal

// Signal names a lamp and buzzer pattern.
type Signal string

const (
	Ready         Signal = "ready"          // free: tap your card
	CardAccepted  Signal = "card_accepted"  // overlay: lift the handset
	Talking       Signal = "talking"        // a call in progress
	WarningMinute Signal = "warning_minute" // one minute left
	FinalSeconds  Signal = "final_seconds"  // the last seconds
	DeniedCard    Signal = "denied_card"    // overlay: card unknown or blocked
	DeniedQuota   Signal = "denied_quota"   // overlay: no minutes, or too soon
	DeniedTime    Signal = "denied_time"    // overlay: not now
	OfficerMode   Signal = "officer_mode"   // an officer card in use
	OutOfService  Signal = "out_of_service" // a fault
	Tamper        Signal = "tamper"         // the panel was opened
	Closed        Signal = "closed"         // outside the booth's hours
	// A booth with a modem (dial control).
	ChooseNumber Signal = "choose_number" // card accepted: press the number's slot digit, then #
	Dialling     Signal = "dialling"      // the booth is calling the number; listen in the handset
	DeniedNumber Signal = "denied_number" // overlay: that number is not registered for you, or blocked
	NotConnected Signal = "not_connected" // overlay: busy, no answer, or no number chosen: nothing charged
)

// All lists every Signal the engine shows.
var All = []Signal{
	Ready, CardAccepted, Talking, WarningMinute, FinalSeconds,
	DeniedCard, DeniedQuota, DeniedTime, OfficerMode, OutOfService,
	Tamper, Closed, ChooseNumber, Dialling, DeniedNumber, NotConnected,
}
