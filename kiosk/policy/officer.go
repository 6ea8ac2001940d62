package policy

import "time"

// OfficerAction is what an officer does to an inmate's quota.
type OfficerAction string

const (
	OfficerReset OfficerAction = "reset" // cancel the usage seen so far this period
	OfficerGrant OfficerAction = "grant" // add Rules.OfficerGrant this period
)

// ObservedReset returns the credit an officer's reset records: exactly the
// usage the officer's booth saw charged in the current period and not yet
// cancelled by an earlier reset, never negative. Pass usedObserved as that
// booth's Used minus the reset credits it holds for the period (see
// ResetCredit).
//
// The credit is an event like any usage record, so the facility's balance is
// a sum over a set that merges in any order: usage the booth had not seen
// (a call from another booth uploaded late) still counts after the reset,
// and grants made before it stay granted. A reset that instead wiped "all
// usage before time T" would depend on every booth's wall clock: a booth
// running fast would have its later calls wiped, one running slow would keep
// usage the officer meant to cancel, and the answer would change with the
// order records arrive in.
func ObservedReset(usedObserved time.Duration) time.Duration {
	return max(usedObserved, 0)
}

// ResetCredit returns the credit of a reset at a booth that sees used
// charged this period and already holds resets credits from earlier resets
// of this period: ObservedReset(used - resets). Two resets in a row credit
// each use once.
func ResetCredit(used, resets time.Duration) time.Duration {
	return ObservedReset(addSat(used, -max(resets, 0)))
}

// OfficerCredit returns the credit an officer's tap records under r: the
// observed reset (see ResetCredit) or the configured grant.
func (r Rules) OfficerCredit(used, resets time.Duration) time.Duration {
	if r.Officer == OfficerGrant {
		return max(r.OfficerGrant, 0)
	}
	return ResetCredit(used, resets)
}
