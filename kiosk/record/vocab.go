package record

// The words a record's payload carries and the centre reads back. Each is
// a typed string with an exhaustive All list: the payload keeps its JSON
// string, and tests iterate the list to give every word its places (a
// message in both languages, a label at the centre). An unknown word read
// back from a booth is counted and shown as unknown, never as a plausible
// known one. docs/decisions.md "Typed vocabularies".

// EndReason is why a call ended (Call.EndReason). The policy's bounds
// (policy.AllBounds: quota, per_call_cap, closing, turn_end, offline_cap,
// untrusted_cap) end a call under their own names; the session engine adds
// the rest.
type EndReason string

const (
	EndQuota        EndReason = "quota"         // the inmate's minutes ran out
	EndPerCall      EndReason = "per_call_cap"  // the policy's longest call
	EndClosing      EndReason = "closing"       // the booth's hours ended
	EndTurnEnd      EndReason = "turn_end"      // the block's turn ended
	EndOfflineCap   EndReason = "offline_cap"   // decided offline: the offline cap
	EndUntrustedCap EndReason = "untrusted_cap" // untrusted clock: its cap
	EndHangup       EndReason = "hangup"        // the inmate hung up
	EndOfficer      EndReason = "officer"       // an officer ended it
	EndSecondTap    EndReason = "second_tap"    // the inmate tapped again
	EndNoOffHook    EndReason = "no_offhook"    // the handset was not lifted in time
	EndTamper       EndReason = "tamper"        // the panel was opened
	EndFault        EndReason = "fault"         // a relay fault
	EndStoreError   EndReason = "store_error"   // the store failed a checkpoint
	EndShutdown     EndReason = "shutdown"      // the daemon stopped
	EndPowerLoss    EndReason = "power_loss"    // closed at start after a power cut
	// A dialled call (a booth with a modem): Call.Outcome says how the
	// carrier ended it.
	EndFarEnd      EndReason = "far_end"      // the far end hung up after answering
	EndNotAnswered EndReason = "not_answered" // ended before the answer: busy, no answer, failed (charged 0)
	EndModemDown   EndReason = "modem_down"   // the network or the modem went away during the call
)

// AllEndReasons lists every EndReason.
var AllEndReasons = []EndReason{
	EndQuota, EndPerCall, EndClosing, EndTurnEnd, EndOfflineCap, EndUntrustedCap,
	EndHangup, EndOfficer, EndSecondTap, EndNoOffHook, EndTamper, EndFault, EndStoreError, EndShutdown, EndPowerLoss,
	EndFarEnd, EndNotAnswered, EndModemDown,
}

// DenialReason is why a tap was refused (Denial.Reason). Only the type
// lives here, so that a record carries it: the words live beside the rules
// that give them, in kiosk/policy (whose Reason is this type, and which
// names the bounds of a granted call with it too) and kiosk/session, whose
// AllDenials is the exhaustive list.
type DenialReason string

// OfficerAction is what an officer did at the booth (Officer.Action).
type OfficerAction string

const (
	ActionReset        OfficerAction = "reset"         // observed reset of an inmate's period (credits)
	ActionGrant        OfficerAction = "grant"         // minutes granted (credits)
	ActionEndCall      OfficerAction = "end_call"      // a call ended by the officer's card
	ActionClearTamper  OfficerAction = "clear_tamper"  // the tamper latch cleared
	ActionClearFault   OfficerAction = "clear_fault"   // a relay fault cleared
	ActionEnter        OfficerAction = "enter"         // officer mode entered
	ActionTimeout      OfficerAction = "timeout"       // officer mode timed out
	ActionClearRefused OfficerAction = "clear_refused" // the driver refused to clear its latch
	// ActionClearRefusedPanelOpen: a clear refused because the panel is
	// still open.
	ActionClearRefusedPanelOpen OfficerAction = "clear_refused_panel_open"
)

// AllOfficerActions lists every OfficerAction.
var AllOfficerActions = []OfficerAction{
	ActionReset, ActionGrant, ActionEndCall, ActionClearTamper, ActionClearFault, ActionEnter, ActionTimeout,
	ActionClearRefused, ActionClearRefusedPanelOpen,
}

// Credits reports whether the action credits the inmate's period: the
// centre sums CreditMs of these only.
func (a OfficerAction) Credits() bool { return a == ActionReset || a == ActionGrant }
