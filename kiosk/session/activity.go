package session

import (
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
)

// ActivityKind is what an Activity says the booth did. These are the
// events a program follows (the daemon's status socket publishes them;
// the simulator, the drills and the benchmarks read them), so that no
// program parses the logs, which are for people and may be reworded.
type ActivityKind string

const (
	// ActivityReady and ActivityStopped are published by the daemon
	// around the engine: the booth started, or is stopping.
	ActivityReady   ActivityKind = "ready"
	ActivityStopped ActivityKind = "stopped"

	ActivityGranted      ActivityKind = "granted"       // a call granted: CallID, Card, Inmate, Max
	ActivityTalking      ActivityKind = "talking"       // talk time starts (the handset lifted; with a modem, the answer): CallID, Max (what is left)
	ActivityDenied       ActivityKind = "denied"        // a tap refused: Card, Inmate (if known), Denial
	ActivityEnded        ActivityKind = "ended"         // a call ended: CallID, Card, Inmate, End, Talked, Charged
	ActivityOfficerMode  ActivityKind = "officer_mode"  // an officer card entered officer mode: Officer
	ActivityOfficerLeft  ActivityKind = "officer_left"  // officer mode left (a second tap) or timed out: Officer, Action
	ActivityOfficer      ActivityKind = "officer"       // an officer reset or granted: Officer, Action, Inmate, Before, After
	ActivityFaultCleared ActivityKind = "fault_cleared" // an officer cleared tamper or a fault: Officer, Action
	ActivityPanelOpen    ActivityKind = "panel_open"    // the panel opened: out of service
	ActivityPanelClosed  ActivityKind = "panel_closed"  // the panel closed (an officer card still clears it)
	ActivityReaderDown   ActivityKind = "reader_down"   // the card reader stopped answering: Detail
	ActivityReaderUp     ActivityKind = "reader_up"     // the card reader answers again
	ActivityFault        ActivityKind = "fault"         // a relay or store fault, a refused clear: Detail
	ActivityHookSuspect  ActivityKind = "hook_suspect"  // calls in a row ended with the hook switch never changing: Detail
	ActivityHookOK       ActivityKind = "hook_ok"       // the hook switch changed again after hook_suspect
	// A booth with a modem.
	ActivityChoosing  ActivityKind = "choosing"   // a tap authorised, waiting for the number: Card, Inmate, Max
	ActivityDialling  ActivityKind = "dialling"   // a registered number dialled: CallID, Inmate, Slot
	ActivityRinging   ActivityKind = "ringing"    // the far end rings: CallID
	ActivityModemDown ActivityKind = "modem_down" // the modem or its network stopped working: Detail
	ActivityModemUp   ActivityKind = "modem_up"   // the modem works again
)

// AllActivities lists every ActivityKind.
var AllActivities = []ActivityKind{
	ActivityReady, ActivityStopped, ActivityGranted, ActivityTalking, ActivityDenied, ActivityEnded,
	ActivityOfficerMode, ActivityOfficerLeft, ActivityOfficer, ActivityFaultCleared,
	ActivityPanelOpen, ActivityPanelClosed, ActivityReaderDown, ActivityReaderUp, ActivityFault,
	ActivityHookSuspect, ActivityHookOK,
	ActivityChoosing, ActivityDialling, ActivityRinging, ActivityModemDown, ActivityModemUp,
}

// Activity is one thing the booth did, typed, for programs that follow the
// booth (Deps.Observe). Fields a kind does not use are zero.
type Activity struct {
	Kind    ActivityKind
	At      time.Time     // wall clock
	Mono    time.Duration // the engine's monotonic clock
	CallID  int64
	Card    string // the card's tag (as the info logs name it), never its id
	Inmate  string
	Officer string
	Denial  policy.Reason        // ActivityDenied
	End     record.EndReason     // ActivityEnded
	Action  record.OfficerAction // ActivityOfficer, ActivityOfficerLeft, ActivityFaultCleared
	Max     time.Duration        // ActivityGranted, ActivityTalking
	Talked  time.Duration        // ActivityEnded
	Charged time.Duration        // ActivityEnded
	Before  time.Duration        // ActivityOfficer: remaining before
	After   time.Duration        // ActivityOfficer: remaining after
	Detail  string               // ActivityReaderDown, ActivityFault, ActivityModemDown, ActivityHookSuspect: what failed
	Slot    int                  // ActivityDialling: the number's slot (0: chosen by full number)
	Outcome record.Outcome       // ActivityEnded of a dialled call
}

// observe hands a to Deps.Observe, stamped with the engine's clocks.
func (e *Engine) observe(a Activity) {
	if e.observer == nil {
		return
	}
	a.At, a.Mono = e.clk.Now(), e.clk.Mono()
	e.observer(a)
}
