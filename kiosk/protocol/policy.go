package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"wartelsuspas/kiosk/policy"
)

// Policy is a facility's rules document: what `wartel-gateway policy set`
// stores and SyncResponse.Policy carries to every booth of the facility
// (docs/gateway.md). The centre decides allowances, periods, hours and
// rotation; billing, officer actions and what a booth does with an
// untrusted clock stay in each booth's configuration, so a call's charge
// never changes under it.
type Policy struct {
	AllowanceMs int64               `json:"allowance_ms"`          // required, > 0: default per inmate per period
	Period      string              `json:"period"`                // required: day, week or month
	Zone        string              `json:"zone"`                  // required: the facility's time zone
	PerCallMs   *int64              `json:"per_call_ms,omitempty"` // longest call; 0 = no cap
	MinGapMs    *int64              `json:"min_gap_ms,omitempty"`  // from a call's end to the same inmate's next tap
	Hours       *Schedule           `json:"hours,omitempty"`       // the booths' opening windows
	Rotation    map[string]Schedule `json:"rotation,omitempty"`    // cell block → its windows
	// Officer credit caps (absent or 0 = no cap): the most one officer may
	// credit in one local day, and one inmate be credited in one period.
	OfficerCreditPerDayMs   *int64 `json:"officer_credit_per_day_ms,omitempty"`
	InmateCreditPerPeriodMs *int64 `json:"inmate_credit_per_period_ms,omitempty"`
	// DialFullNumber lets an inmate at a booth with a modem type a
	// registered number in full instead of its slot digit (absent: the booth's own policy.dial_full_number).
	DialFullNumber *bool `json:"dial_full_number,omitempty"`
}

// Schedule is opening windows ("HH:MM-HH:MM", local time): a JSON list
// applies to every day alike; an object gives weekdays (English names) and
// dated exceptions, as a booth's kiosk.toml does. A day left out is closed.
type Schedule struct {
	Weekly     map[string][]string `json:"weekly"`
	Exceptions map[string][]string `json:"exceptions,omitempty"`
}

// UnmarshalJSON reads either form of a Schedule.
func (s *Schedule) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		var every []string
		if err := json.Unmarshal(t, &every); err != nil {
			return err
		}
		*s = Schedule(policy.EveryDay(every))
		return nil
	}
	type plain Schedule
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	*s = Schedule(p)
	return nil
}

// policyKeys are the keys a Policy may have, required first.
var policyKeys = []string{"allowance_ms", "period", "zone", "per_call_ms", "min_gap_ms", "hours", "rotation",
	"officer_credit_per_day_ms", "inmate_credit_per_period_ms", "dial_full_number"}

// ParsePolicy reads and checks a rules document. An unknown key is an
// error, since no booth would read it; every error names the key.
func ParsePolicy(doc []byte) (Policy, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(doc, &keys); err != nil {
		return Policy{}, fmt.Errorf("policy is not a JSON object: %w", err)
	}
	if keys == nil {
		return Policy{}, fmt.Errorf("policy is null, want a JSON object")
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !slices.Contains(policyKeys, k) {
			return Policy{}, fmt.Errorf("policy: key %q is not one the booths read (%s)", k, strings.Join(policyKeys, ", "))
		}
		if bytes.Equal(bytes.TrimSpace(keys[k]), []byte("null")) {
			return Policy{}, fmt.Errorf("policy: key %q: null", k)
		}
	}
	var p Policy
	for _, k := range policyKeys {
		raw, ok := keys[k]
		if !ok {
			if k == "allowance_ms" || k == "period" || k == "zone" {
				return Policy{}, fmt.Errorf("policy: key %q is missing", k)
			}
			continue
		}
		var err error
		switch k {
		case "allowance_ms":
			err = json.Unmarshal(raw, &p.AllowanceMs)
		case "period":
			err = json.Unmarshal(raw, &p.Period)
		case "zone":
			err = json.Unmarshal(raw, &p.Zone)
		case "per_call_ms":
			err = json.Unmarshal(raw, &p.PerCallMs)
		case "min_gap_ms":
			err = json.Unmarshal(raw, &p.MinGapMs)
		case "hours":
			err = json.Unmarshal(raw, &p.Hours)
		case "rotation":
			err = json.Unmarshal(raw, &p.Rotation)
		case "officer_credit_per_day_ms":
			err = json.Unmarshal(raw, &p.OfficerCreditPerDayMs)
		case "inmate_credit_per_period_ms":
			err = json.Unmarshal(raw, &p.InmateCreditPerPeriodMs)
		case "dial_full_number":
			err = json.Unmarshal(raw, &p.DialFullNumber)
		}
		if err != nil {
			return Policy{}, fmt.Errorf("policy: key %q: %w", k, err)
		}
	}
	if err := p.check(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// checkBase is a valid booth policy the centre's rules are checked upon.
var checkBase = policy.Rules{Billing: policy.Billing{Unit: policy.PerSecond}, Untrusted: policy.UntrustedRefuse, Officer: policy.OfficerReset}

// check validates the values, naming the key at fault.
func (p Policy) check() error {
	_, err := p.Apply(checkBase)
	return err
}

// jsonKeys name each field of a policy.Document in this encoding.
var jsonKeys = map[policy.Field]string{
	policy.FieldZone: "zone", policy.FieldPeriod: "period", policy.FieldAllowance: "allowance_ms",
	policy.FieldPerCall: "per_call_ms", policy.FieldMinGap: "min_gap_ms",
	policy.FieldOfficerCreditPerDay: "officer_credit_per_day_ms", policy.FieldInmateCreditPerPeriod: "inmate_credit_per_period_ms",
	policy.FieldHours: "hours", policy.FieldRotation: "rotation", policy.FieldDialFullNumber: "dial_full_number",
}

// Document is p as the one policy document both encodings read
// (policy.Document); its checks and conversion are there.
func (p Policy) Document() policy.Document {
	d := policy.Document{Zone: p.Zone, Period: p.Period, Allowance: ms(p.AllowanceMs),
		PerCall: msp(p.PerCallMs), MinGap: msp(p.MinGapMs),
		OfficerCreditPerDay: msp(p.OfficerCreditPerDayMs), InmateCreditPerPeriod: msp(p.InmateCreditPerPeriodMs),
		DialFullNumber: p.DialFullNumber}
	if p.Hours != nil {
		h := policy.Schedule(*p.Hours)
		d.Hours = &h
	}
	if p.Rotation != nil {
		d.Rotation = make(map[string]policy.Schedule, len(p.Rotation))
		for b, s := range p.Rotation {
			d.Rotation[b] = policy.Schedule(s)
		}
	}
	return d
}

// ms converts milliseconds, saturating where a Duration would overflow
// (the document's bounds then refuse the value).
func ms(v int64) time.Duration { return policy.Millis(v) }

func msp(v *int64) *time.Duration {
	if v == nil {
		return nil
	}
	d := ms(*v)
	return &d
}

// Apply returns base with the centre's rules in place of its own; the
// rest of base (billing, officer actions, untrusted clock, offline cap)
// stays. The result is validated; an error names the first key at fault.
func (p Policy) Apply(base policy.Rules) (policy.Rules, error) {
	var first error
	r := p.Document().Rules(base, func(f policy.Field, sub string, err error) {
		if first == nil {
			first = fmt.Errorf("policy: key %q: %w", jsonKeys[f]+sub, err)
		}
	})
	if first != nil {
		return policy.Rules{}, first
	}
	if err := r.Validate(); err != nil {
		return policy.Rules{}, err // it names the field
	}
	return r, nil
}
