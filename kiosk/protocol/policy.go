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
}

// Schedule is opening windows ("HH:MM-HH:MM", local time): a JSON list
// applies to every day alike; an object gives weekdays (English names) and
// dated exceptions, as a booth's kiosk.toml does. A day left out is closed.
type Schedule struct {
	Weekly     map[string][]string `json:"weekly"`
	Exceptions map[string][]string `json:"exceptions,omitempty"`
}

var weekdayNames = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// UnmarshalJSON reads either form of a Schedule.
func (s *Schedule) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		var every []string
		if err := json.Unmarshal(t, &every); err != nil {
			return err
		}
		s.Weekly = make(map[string][]string, len(weekdayNames))
		for name := range weekdayNames {
			s.Weekly[name] = every
		}
		s.Exceptions = nil
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
	"officer_credit_per_day_ms", "inmate_credit_per_period_ms"}

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

// maxMinGap bounds min_gap_ms: a gap longer than the longest period locks
// an inmate out for good, and a larger number would overflow a Duration.
const maxMinGap = policy.MaxCall

// checkBase is a valid booth policy the centre's rules are checked upon.
var checkBase = policy.Rules{Billing: policy.Billing{Unit: policy.PerSecond}, Untrusted: policy.UntrustedRefuse, Officer: policy.OfficerReset}

// check validates the values, naming the key at fault.
func (p Policy) check() error {
	for _, d := range []struct {
		key string
		v   *int64
	}{{"allowance_ms", &p.AllowanceMs}, {"per_call_ms", p.PerCallMs}, {"min_gap_ms", p.MinGapMs},
		{"officer_credit_per_day_ms", p.OfficerCreditPerDayMs}, {"inmate_credit_per_period_ms", p.InmateCreditPerPeriodMs}} {
		switch {
		case d.v == nil:
		case *d.v < 0:
			return fmt.Errorf("policy: key %q: %d is negative", d.key, *d.v)
		case d.key != "min_gap_ms" && *d.v > policy.MaxCall.Milliseconds():
			// Also keeps the conversion to a time.Duration from overflowing.
			return fmt.Errorf("policy: key %q: %d is more than the longest call or credit (%d ms, %v)", d.key, *d.v, policy.MaxCall.Milliseconds(), policy.MaxCall)
		}
	}
	if p.MinGapMs != nil && *p.MinGapMs > maxMinGap.Milliseconds() {
		return fmt.Errorf("policy: key %q: %d is more than a period (%d ms)", "min_gap_ms", *p.MinGapMs, maxMinGap.Milliseconds())
	}
	kinds := []string{string(policy.Day), string(policy.Week), string(policy.Month)}
	if !slices.Contains(kinds, p.Period) {
		return fmt.Errorf("policy: key %q: %q is not one of %v", "period", p.Period, kinds)
	}
	_, err := p.Apply(checkBase) // it loads the zone and checks the windows
	return err
}

// Apply returns base with the centre's rules in place of its own; the
// rest of base (billing, officer actions, untrusted clock, offline cap)
// stays. The result is validated.
func (p Policy) Apply(base policy.Rules) (policy.Rules, error) {
	r := base
	loc, err := policy.LoadZone(p.Zone)
	if err != nil {
		return policy.Rules{}, fmt.Errorf("policy: key %q: %w", "zone", err)
	}
	r.Location, r.Period = loc, policy.PeriodKind(p.Period)
	r.Allowance = time.Duration(p.AllowanceMs) * time.Millisecond
	if p.PerCallMs != nil {
		r.PerCall = time.Duration(*p.PerCallMs) * time.Millisecond
	}
	if p.MinGapMs != nil {
		r.MinGap = time.Duration(*p.MinGapMs) * time.Millisecond
	}
	if p.OfficerCreditPerDayMs != nil {
		r.OfficerCreditPerDay = time.Duration(*p.OfficerCreditPerDayMs) * time.Millisecond
	}
	if p.InmateCreditPerPeriodMs != nil {
		r.InmateCreditPerPeriod = time.Duration(*p.InmateCreditPerPeriodMs) * time.Millisecond
	}
	if p.Hours != nil {
		if r.Hours, err = p.Hours.hours("hours"); err != nil {
			return policy.Rules{}, err
		}
	}
	if p.Rotation != nil {
		r.Rotation = policy.Rotation{}
		for b, s := range p.Rotation {
			if b == "" {
				return policy.Rules{}, fmt.Errorf("policy: key %q: a block with no name", "rotation")
			}
			if r.Rotation[b], err = s.hours("rotation." + b); err != nil {
				return policy.Rules{}, err
			}
		}
	}
	if err := r.Validate(); err != nil {
		return policy.Rules{}, err // it names the field
	}
	return r, nil
}

// hours converts a Schedule; key names it in errors.
func (s Schedule) hours(key string) (policy.Hours, error) {
	h := policy.Hours{Weekly: map[time.Weekday][]policy.Window{}}
	for name, ws := range s.Weekly {
		wd, ok := weekdayNames[name]
		if !ok {
			return policy.Hours{}, fmt.Errorf("policy: key %q: %q is not a weekday (monday … sunday, in English)", key+".weekly", name)
		}
		var err error
		if h.Weekly[wd], err = windows(ws); err != nil {
			return policy.Hours{}, fmt.Errorf("policy: key %q: %w", key+".weekly."+name, err)
		}
	}
	if len(s.Exceptions) > 0 {
		h.Exceptions = map[string][]policy.Window{}
	}
	for d, ws := range s.Exceptions {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return policy.Hours{}, fmt.Errorf("policy: key %q: %q is not a date YYYY-MM-DD", key+".exceptions", d)
		}
		var err error
		if h.Exceptions[d], err = windows(ws); err != nil {
			return policy.Hours{}, fmt.Errorf("policy: key %q: %w", key+".exceptions."+d, err)
		}
	}
	return h, nil
}

func windows(ss []string) ([]policy.Window, error) {
	ws := make([]policy.Window, 0, len(ss))
	for _, s := range ss {
		w, err := policy.ParseWindow(s)
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}
