package server

import (
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/protocol"
)

// Policy is a facility's rules document: the gateway reads its default
// allowance, period and zone to answer /v1/authorise, and passes the whole
// document to the booths in /v1/sync.
type Policy = protocol.Policy

// ParsePolicy checks a rules document as the booths will read it
// (protocol.ParsePolicy), so that `policy set` refuses what no booth could
// apply. The error names the key.
func ParsePolicy(doc []byte) (Policy, error) { return protocol.ParsePolicy(doc) }

// facilityPolicy is a facility's policy as authorise uses it, with its zone
// loaded once. The zero value is a facility without a policy.
type facilityPolicy struct {
	Policy
	loc *time.Location // nil: no policy set
}

func parseFacilityPolicy(doc []byte) (facilityPolicy, error) {
	p, err := ParsePolicy(doc)
	if err != nil {
		return facilityPolicy{}, err
	}
	loc, err := policy.LoadZone(p.Zone) // once per policy change, not per tap
	if err != nil {
		return facilityPolicy{}, err
	}
	return facilityPolicy{Policy: p, loc: loc}, nil
}

// period is the facility's period at now on the gateway's clock: the
// period every call authorised now is billed to, whatever a booth's clock
// says. ok is false for a facility without a policy.
func (p facilityPolicy) period(now time.Time) (policy.Period, bool) {
	if p.loc == nil {
		return policy.Period{}, false
	}
	return policy.PeriodOf(now, policy.PeriodKind(p.Period), p.loc), true
}
