package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"wartelsuspas/kiosk/policy"
)

// Policy is what the gateway itself reads of a facility's rules document
// (docs/gateway.md). The document may carry more keys — hours, rotation,
// billing — which the gateway stores and passes to the booths unread.
type Policy struct {
	AllowanceMs int64  `json:"allowance_ms"` // default allowance per period
	Period      string `json:"period"`       // day, week or month
	Zone        string `json:"zone"`         // IANA zone of the facility
}

// ParsePolicy checks a facility rules document: a JSON object whose
// allowance_ms is a non-negative whole number, whose period is a policy
// period kind and whose zone is a known time zone. The error names the key.
func ParsePolicy(doc []byte) (Policy, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(doc, &keys); err != nil {
		return Policy{}, fmt.Errorf("policy is not a JSON object: %w", err)
	}
	if keys == nil {
		return Policy{}, fmt.Errorf("policy is null, want a JSON object")
	}
	var p Policy
	for _, k := range []string{"allowance_ms", "period", "zone"} {
		raw, ok := keys[k]
		if !ok {
			return Policy{}, fmt.Errorf("policy: key %q is missing", k)
		}
		var err error
		switch k {
		case "allowance_ms":
			err = json.Unmarshal(raw, &p.AllowanceMs)
			if err == nil && p.AllowanceMs < 0 {
				err = fmt.Errorf("%d is negative", p.AllowanceMs)
			}
		case "period":
			err = json.Unmarshal(raw, &p.Period)
			kinds := []string{string(policy.Day), string(policy.Week), string(policy.Month)}
			if err == nil && !slices.Contains(kinds, p.Period) {
				err = fmt.Errorf("%q is not one of %v", p.Period, kinds)
			}
		case "zone":
			err = json.Unmarshal(raw, &p.Zone)
			if err == nil {
				_, err = policy.LoadZone(p.Zone)
			}
		}
		if err == nil && bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			err = fmt.Errorf("null")
		}
		if err != nil {
			return Policy{}, fmt.Errorf("policy: key %q: %w", k, err)
		}
	}
	return p, nil
}
