package session

import (
	"slices"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// The engine's words that cross a package boundary, each a typed string
// with an exhaustive All list that tests iterate (docs/decisions.md "Typed
// vocabularies"): a signal has its lamp pattern in drivers/booth and its
// row in docs/lamps.md; a denial reason its signal and its messages in
// firmware/i18n; an end reason its messages.

// Signal names a lamp and buzzer pattern the engine asks Booth.Show for;
// the words and their list (signal.All) are in kiosk/signal.
type Signal = signal.Signal

// End reasons the engine adds to the policy's bounds (policy.AllBounds);
// record.AllEndReasons lists them all.
const (
	EndHangup     = record.EndHangup
	EndOfficer    = record.EndOfficer
	EndSecondTap  = record.EndSecondTap
	EndNoOffHook  = record.EndNoOffHook
	EndTamper     = record.EndTamper
	EndFault      = record.EndFault
	EndStoreError = record.EndStoreError
	EndShutdown   = record.EndShutdown
	EndPowerLoss  = record.EndPowerLoss
	// A dialled call (Deps.Dialer set).
	EndFarEnd      = record.EndFarEnd
	EndNotAnswered = record.EndNotAnswered
	EndModemDown   = record.EndModemDown
)

// Denial reasons the engine adds to policy.Reason.
const (
	// ReasonBusy: the centre says the card is talking in another booth.
	ReasonBusy policy.Reason = "busy"
	// ReasonOfficerRate: an officer tapped more often than
	// Config.OfficerRateLimit allows.
	ReasonOfficerRate policy.Reason = "officer_rate_limit"
	// ReasonOfficerCap: an officer's credit would exceed a cap of the
	// policy (Rules.OfficerCreditPerDay, Rules.InmateCreditPerPeriod).
	ReasonOfficerCap policy.Reason = "officer_cap"

	// A booth with a modem (docs/session.md "Dial control"):
	// ReasonNumberNotRegistered: the chosen slot or number is not one of
	// the inmate's approved numbers valid now (or a full number where the
	// policy does not allow one).
	ReasonNumberNotRegistered policy.Reason = "number_not_registered"
	// ReasonNumberBlocked: the number is on the facility's blocked list.
	ReasonNumberBlocked policy.Reason = "number_blocked"
	// ReasonNoNetwork and ReasonModemFault: a tap while the modem has no
	// network, or is not working (CauseNetwork, CauseModem).
	ReasonNoNetwork  policy.Reason = "no_network"
	ReasonModemFault policy.Reason = "modem_fault"
	// ReasonNotDialled: an authorised tap that ended before a call was
	// placed: no number chosen (or the handset not lifted) within
	// Config.ChooseTimeout, or ended by a tamper, a fault, an officer.
	// Nothing is charged; the record carries the centre's lease so the
	// inmate is free at the next booth.
	ReasonNotDialled policy.Reason = "not_dialled"
)

// AllDenials lists every reason a denial record carries: the policy's
// (policy.AllDenials) and the engine's own.
var AllDenials = append(slices.Clone(policy.AllDenials), ReasonBusy, ReasonOfficerRate, ReasonOfficerCap,
	ReasonNumberNotRegistered, ReasonNumberBlocked, ReasonNoNetwork, ReasonModemFault, ReasonNotDialled)

// AllStates lists every State the status reports.
var AllStates = []State{StateReady, StateOfficer, StateGranted, StateTalking, StateOutOfService, StateTamper, StateClosed,
	StateChoosing, StateDialling, StateRinging}

// denialSignal is the lamp pattern of a denial. It reports false for a
// reason it has no pattern for: a test gives every reason of AllDenials
// one, and the engine logs the gap rather than show a plausible lamp.
func denialSignal(r policy.Reason) (Signal, bool) {
	switch r {
	case policy.ReasonNoMinutes, policy.ReasonTooSoon, policy.ReasonOfflineCapReached, ReasonOfficerCap:
		return signal.DeniedQuota, true
	case policy.ReasonOutsideHours, policy.ReasonNotBlockTurn, policy.ReasonClockUntrusted:
		return signal.DeniedTime, true
	case policy.ReasonOutOfService, ReasonNoNetwork, ReasonModemFault:
		return signal.OutOfService, true
	case ReasonNumberNotRegistered, ReasonNumberBlocked:
		return signal.DeniedNumber, true
	case ReasonNotDialled:
		return signal.NotConnected, true
	case policy.ReasonUnknownCard, policy.ReasonBlockedCard, ReasonBusy, ReasonOfficerRate:
		return signal.DeniedCard, true
	}
	return "", false
}

// endReason is the end reason of a call that reaches the bound the policy
// set at the tap (Decision.EndsBy): the bound's own name. A test keeps
// record.AllEndReasons holding every bound.
func endReason(bound policy.Reason) record.EndReason { return record.EndReason(bound) }
