package server

import "wartelsuspas/kiosk/protocol"

// Policy is a facility's rules document: the gateway reads its default
// allowance, period and zone to answer /v1/authorise, and passes the whole
// document to the booths in /v1/sync.
type Policy = protocol.Policy

// ParsePolicy checks a rules document as the booths will read it
// (protocol.ParsePolicy), so that `policy set` refuses what no booth could
// apply. The error names the key.
func ParsePolicy(doc []byte) (Policy, error) { return protocol.ParsePolicy(doc) }
