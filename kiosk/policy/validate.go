package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// weekOrder is the order Validate checks weekdays in, as a timetable reads.
var weekOrder = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

var errNoLocation = errors.New("location: not set; load it with LoadZone (Asia/Jakarta, Asia/Makassar or Asia/Jayapura)")

func (r Rules) validate() error {
	if err := r.validate1(); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	return nil
}

func (r Rules) validate1() error {
	if r.Location == nil {
		return errNoLocation
	}
	switch r.Period {
	case Day, Week, Month:
	default:
		return fmt.Errorf("period: %q is not a period; use day, week or month", r.Period)
	}
	if r.Allowance <= 0 {
		return fmt.Errorf("allowance: %v; it must be more than zero", r.Allowance)
	}
	if r.PerCall < 0 {
		return fmt.Errorf("per_call: %v is negative; use 0 for no cap", r.PerCall)
	}
	if r.MinGap < 0 {
		return fmt.Errorf("min_gap: %v is negative; use 0 for no gap", r.MinGap)
	}
	switch r.Billing.Unit {
	case PerSecond, PerStartedMinute:
	default:
		return fmt.Errorf("billing.unit: %q is not a billing unit; use second or minute", r.Billing.Unit)
	}
	if r.Billing.Minimum < 0 {
		return fmt.Errorf("billing.minimum: %v is negative; use 0 for no minimum charge", r.Billing.Minimum)
	}
	if err := r.Hours.validate("hours"); err != nil {
		return err
	}
	blocks := make([]string, 0, len(r.Rotation))
	for b := range r.Rotation {
		blocks = append(blocks, b)
	}
	slices.Sort(blocks)
	for _, b := range blocks {
		if err := r.Rotation[b].validate(fmt.Sprintf("rotation[%q]", b)); err != nil {
			return err
		}
	}
	switch r.Untrusted {
	case UntrustedRefuse, UntrustedCapOnly:
	default:
		return fmt.Errorf("untrusted: %q is not a rule; use refuse or cap-only", r.Untrusted)
	}
	if r.OfflineCap < 0 {
		return fmt.Errorf("offline_cap: %v is negative; use 0 for no cap", r.OfflineCap)
	}
	if r.UntrustedCap < 0 {
		return fmt.Errorf("untrusted_cap: %v is negative; use 0 for none (then cap-only needs a per-call cap)", r.UntrustedCap)
	}
	switch r.Officer {
	case "", OfficerReset:
	case OfficerGrant:
		if r.OfficerGrant <= 0 {
			return fmt.Errorf("officer_grant: %v; the grant officer action needs minutes to grant", r.OfficerGrant)
		}
	default:
		return fmt.Errorf("officer: %q is not an officer action; use reset or grant", r.Officer)
	}
	if n := r.MaxNumbersPerInmate; n != 0 && (n < MinNumbersPerInmate || n > MaxNumbersPerInmate) {
		return fmt.Errorf("max_numbers_per_inmate: %d is outside %d…%d; use 0 for the default (%d)", n, MinNumbersPerInmate, MaxNumbersPerInmate, DefaultNumbersPerInmate)
	}
	return r.validateBounds()
}

// validateBounds holds every duration that bounds a call or a credit to
// MaxCall, so a value the centre would refuse at ingest is refused here.
func (r Rules) validateBounds() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"per_call", r.PerCall}, {"offline_cap", r.OfflineCap}, {"untrusted_cap", r.UntrustedCap}, {"officer_grant", r.OfficerGrant},
		{"officer_credit_per_day", r.OfficerCreditPerDay}, {"inmate_credit_per_period", r.InmateCreditPerPeriod},
	} {
		switch {
		case d.v < 0:
			return fmt.Errorf("%s: %v is negative; use 0 for none", d.name, d.v)
		case d.v > MaxCall:
			return fmt.Errorf("%s: %v is longer than any call or credit may be (%v)", d.name, d.v, MaxCall)
		}
	}
	return nil
}

// validate checks every window of h; field prefixes the error ("hours").
func (h Hours) validate(field string) error {
	for wd := range h.Weekly {
		if wd < time.Sunday || wd > time.Saturday {
			return fmt.Errorf("%s.weekly: %d is not a weekday", field, wd)
		}
	}
	for _, wd := range weekOrder {
		if err := validateDay(h.Weekly[wd], fmt.Sprintf("%s.weekly.%s", field, strings.ToLower(wd.String()))); err != nil {
			return err
		}
	}
	dates := make([]string, 0, len(h.Exceptions))
	for d := range h.Exceptions {
		dates = append(dates, d)
	}
	slices.Sort(dates)
	for _, d := range dates {
		f := fmt.Sprintf("%s.exceptions[%q]", field, d)
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return fmt.Errorf("%s: not a date; write it YYYY-MM-DD", f)
		}
		if err := validateDay(h.Exceptions[d], f); err != nil {
			return err
		}
	}
	return nil
}

// validateDay checks each window and that no two of one day overlap
// (touching windows are fine: they are one opening).
func validateDay(ws []Window, field string) error {
	for i, w := range ws {
		if err := w.check(); err != nil {
			return fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		if j := overlapping(ws[:i], w); j >= 0 {
			return fmt.Errorf("%s[%d]: window %s overlaps window [%d] %s", field, i, w, j, ws[j])
		}
	}
	return nil
}
