package policy

import (
	"math"
	"time"
)

// Step returns one billing unit: a second or a minute. An unknown unit
// (which Validate rejects) is a second, as in Charge.
func (b Billing) Step() time.Duration {
	if b.Unit == PerStartedMinute {
		return time.Minute
	}
	return time.Second
}

// MaxTalk returns the longest talk, in whole billing units, whose Charge
// fits in remaining: the instant the engine cuts a call that may spend
// remaining. Per minute it is remaining floored to whole minutes, per
// second floored to whole seconds; it is 0 when remaining is below the
// minimum charge or not positive.
func (b Billing) MaxTalk(remaining time.Duration) time.Duration {
	if remaining <= 0 || remaining < b.Minimum {
		return 0
	}
	return remaining.Truncate(b.Step())
}

// roundUp rounds d > 0 up to a multiple of unit, saturating at the largest
// Duration rather than wrapping round to a negative charge.
func roundUp(d, unit time.Duration) time.Duration {
	q := d / unit
	if d%unit != 0 {
		q++
	}
	if q > math.MaxInt64/unit {
		return math.MaxInt64
	}
	return q * unit
}

// addSat returns a+b clamped to the Duration range, so absurd inputs
// (a corrupt usage sum) cannot wrap a balance round to a large credit.
func addSat(a, b time.Duration) time.Duration {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}

// subSat returns a-b clamped to the Duration range.
func subSat(a, b time.Duration) time.Duration {
	if b == math.MinInt64 {
		if a >= 0 {
			return math.MaxInt64
		}
		return a - b // a + 2^63 fits
	}
	return addSat(a, -b)
}
