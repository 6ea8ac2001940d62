package policy

import (
	"math"
	"time"
)

// MaxCall is the longest call any valid policy lets a booth grant, and so
// the bound the centre holds every duration of a call record to (talked,
// charged, max). A call on a trusted clock ends at closing time at the
// latest, and a booth open round the clock reports its closing at most
// maxChainDays after the current day (Hours.OpenAt), so no such call
// reaches 32 days; on an untrusted clock a call is bounded by the per-call
// or offline cap, which Validate holds to the same bound. 32 days is also
// longer than the longest period (a month of 31 days): a value beyond it
// is forged or corrupt, never a call.
const MaxCall = (maxChainDays + 1) * 24 * time.Hour

// MaxCredit is the largest credit one officer record may carry. A grant
// is bounded by Validate (officer_grant); a reset credits the usage its
// booth saw in the period, and one inmate holds one lease at a time, so
// the usage of a period cannot exceed the longest call either.
const MaxCredit = MaxCall

// CapCredit returns how much of credit fits under cap when already has
// been credited: the whole credit with no cap (0), else what is left of
// the cap, never negative.
func CapCredit(credit, already, cap time.Duration) time.Duration {
	if cap <= 0 || credit <= 0 {
		return max(credit, 0)
	}
	return max(min(credit, subSat(cap, max(already, 0))), 0)
}

// AddSat returns a+b, saturating at the largest and smallest durations
// instead of wrapping: sums of values from booths use it, so one forged
// value cannot turn a balance negative or positive by overflow.
func AddSat(a, b time.Duration) time.Duration { return addSat(a, b) }

// SubSat returns a-b, saturating as AddSat does.
func SubSat(a, b time.Duration) time.Duration { return subSat(a, b) }

// Millis converts a count of milliseconds from a document or a database,
// saturating at the largest and smallest durations instead of wrapping (a
// Duration holds ±292 years; a millisecond count more): the bounds that
// follow then refuse the value rather than a wrapped one passing them.
func Millis(n int64) time.Duration {
	const lim = math.MaxInt64 / int64(time.Millisecond)
	switch {
	case n > lim:
		return math.MaxInt64
	case n < -lim:
		return math.MinInt64
	}
	return time.Duration(n) * time.Millisecond
}
