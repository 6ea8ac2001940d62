package policy

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

const (
	sec    = time.Second
	minute = time.Minute
	ms     = time.Millisecond
)

func TestCharge(t *testing.T) {
	perSec := Billing{Unit: PerSecond}
	perMin := Billing{Unit: PerStartedMinute}
	for _, tc := range []struct {
		name   string
		b      Billing
		talked time.Duration
		want   time.Duration
	}{
		{"zero talk is free even with a minimum", Billing{PerStartedMinute, 3 * minute}, 0, 0},
		{"negative talk is free", Billing{PerSecond, 30 * sec}, -5 * sec, 0},
		{"per second truncates", perSec, 61*sec + 999*ms, 61 * sec},
		{"per second exact", perSec, 90 * sec, 90 * sec},
		{"per second under one second is free without minimum", perSec, 999 * ms, 0},
		{"per second minimum applies to any talk", Billing{PerSecond, 30 * sec}, time.Nanosecond, 30 * sec},
		{"per second above minimum", Billing{PerSecond, 30 * sec}, 31*sec + 500*ms, 31 * sec},
		{"per minute one nanosecond starts a minute", perMin, time.Nanosecond, minute},
		{"per minute exact minute", perMin, 2 * minute, 2 * minute},
		{"per minute started second minute", perMin, 2*minute + sec, 3 * minute},
		{"per minute minimum", Billing{PerStartedMinute, 3 * minute}, 61 * sec, 3 * minute},
		{"per minute above minimum", Billing{PerStartedMinute, 3 * minute}, 3*minute + ms, 4 * minute},
		{"per minute saturates instead of wrapping", perMin, math.MaxInt64 - 1, math.MaxInt64},
		{"unknown unit bills per second", Billing{Unit: "fortnight"}, 61*sec + 500*ms, 61 * sec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.Charge(tc.talked); got != tc.want {
				t.Errorf("%+v.Charge(%v) = %v, want %v", tc.b, tc.talked, got, tc.want)
			}
		})
	}
}

func TestMaxTalk(t *testing.T) {
	for _, tc := range []struct {
		name      string
		b         Billing
		remaining time.Duration
		want      time.Duration
	}{
		{"nothing left", Billing{Unit: PerSecond}, 0, 0},
		{"overspent", Billing{Unit: PerStartedMinute}, -3 * minute, 0},
		{"per second floors", Billing{Unit: PerSecond}, 10*sec + 900*ms, 10 * sec},
		{"per minute floors", Billing{Unit: PerStartedMinute}, 4*minute + 59*sec, 4 * minute},
		{"per minute under one minute", Billing{Unit: PerStartedMinute}, 59 * sec, 0},
		{"below minimum charge", Billing{PerStartedMinute, 3 * minute}, 2*minute + 59*sec, 0},
		{"exactly the minimum", Billing{PerStartedMinute, 3 * minute}, 3 * minute, 3 * minute},
		{"odd minimum per second", Billing{PerSecond, 1500 * ms}, 1700 * ms, sec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.b.MaxTalk(tc.remaining)
			if got != tc.want {
				t.Errorf("%+v.MaxTalk(%v) = %v, want %v", tc.b, tc.remaining, got, tc.want)
			}
			if c := tc.b.Charge(got); c > max(tc.remaining, 0) {
				t.Errorf("Charge(MaxTalk(%v)) = %v, more than remaining", tc.remaining, c)
			}
		})
	}
}

func drawBilling(t *rapid.T) Billing {
	return Billing{
		Unit:    rapid.SampledFrom([]BillingUnit{PerSecond, PerStartedMinute}).Draw(t, "unit"),
		Minimum: time.Duration(rapid.Int64Range(0, int64(5*minute)).Draw(t, "minimum")),
	}
}

// drawTalk draws durations around unit boundaries as well as anywhere.
func drawTalk(t *rapid.T, label string) time.Duration {
	return rapid.OneOf(
		rapid.Map(rapid.Int64Range(-int64(minute), int64(1000*time.Hour)), func(v int64) time.Duration { return time.Duration(v) }),
		rapid.Map(rapid.Int64Range(-2, 300), func(v int64) time.Duration { return time.Duration(v) * sec }),
		rapid.Map(rapid.Int64Range(0, 300), func(v int64) time.Duration { return time.Duration(v)*sec - 1 }),
	).Draw(t, label)
}

func TestBillingProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := drawBilling(t)
		a, c := drawTalk(t, "a"), drawTalk(t, "b")
		if a > c {
			a, c = c, a
		}
		ca, cc := b.Charge(a), b.Charge(c)
		if ca > cc {
			t.Fatalf("not monotonic: Charge(%v) = %v > Charge(%v) = %v", a, ca, c, cc)
		}
		if a <= 0 {
			if ca != 0 {
				t.Fatalf("Charge(%v) = %v, want 0 for no talk", a, ca)
			}
		} else {
			if ca < a.Truncate(sec) {
				t.Fatalf("Charge(%v) = %v, below talk truncated to seconds", a, ca)
			}
			if up := roundUp(a, b.Step()); ca > max(up, b.Minimum) {
				t.Fatalf("Charge(%v) = %v, above max(%v rounded up, minimum %v)", a, ca, up, b.Minimum)
			}
			if ca < b.Minimum {
				t.Fatalf("Charge(%v) = %v, below minimum %v", a, ca, b.Minimum)
			}
		}
		// MaxTalk is the inverse: it fits, and one more unit does not.
		r := c
		m := b.MaxTalk(r)
		if got := b.Charge(m); got > max(r, 0) {
			t.Fatalf("Charge(MaxTalk(%v) = %v) = %v > remaining", r, m, got)
		}
		if m < 0 || m%b.Step() != 0 {
			t.Fatalf("MaxTalk(%v) = %v, not whole units", r, m)
		}
		if r >= b.Minimum && b.Charge(m+b.Step()) <= r {
			t.Fatalf("MaxTalk(%v) = %v, but %v also fits", r, m, m+b.Step())
		}
	})
}
