package policy

import (
	"math"
	"testing"
	"time"
)

func TestCapCredit(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		credit, already, cap time.Duration
		want                 time.Duration
	}{
		{"no cap", time.Hour, 10 * time.Hour, 0, time.Hour},
		{"fits", 10 * time.Minute, 10 * time.Minute, 30 * time.Minute, 10 * time.Minute},
		{"partly", 20 * time.Minute, 20 * time.Minute, 30 * time.Minute, 10 * time.Minute},
		{"cap used up", time.Minute, 30 * time.Minute, 30 * time.Minute, 0},
		{"already over", time.Minute, time.Hour, 30 * time.Minute, 0},
		{"negative credit", -time.Minute, 0, 30 * time.Minute, 0},
		{"negative already counts as none", 40 * time.Minute, -time.Hour, 30 * time.Minute, 30 * time.Minute},
		{"huge already", time.Minute, math.MaxInt64, 30 * time.Minute, 0},
	} {
		if got := CapCredit(tc.credit, tc.already, tc.cap); got != tc.want {
			t.Errorf("%s: CapCredit(%v, %v, %v) = %v, want %v", tc.name, tc.credit, tc.already, tc.cap, got, tc.want)
		}
	}
	if MaxCall < 31*24*time.Hour {
		t.Errorf("MaxCall %v is shorter than the longest period", MaxCall)
	}
}

// No valid policy lets a booth grant a call longer than MaxCall, the bound
// the centre holds call records to: not a booth open round the clock with
// a balance of years, nor one on an untrusted clock at the largest caps.
func TestNoCallLongerThanMaxCall(t *testing.T) {
	loc, err := LoadZone("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	always := map[time.Weekday][]Window{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		always[d] = []Window{{0, minutesPerDay}}
	}
	base := Rules{Location: loc, Period: Month, Allowance: time.Hour, Billing: Billing{Unit: PerSecond},
		Hours: Hours{Weekly: always}, Untrusted: UntrustedCapOnly, OfflineCap: MaxCall, UntrustedCap: MaxCall}
	if err := base.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, trusted := range []bool{true, false} {
		for _, at := range []time.Time{time.Date(2026, 12, 1, 0, 0, 0, 0, loc), time.Date(2026, 12, 31, 23, 59, 0, 0, loc)} {
			d := base.Decide(Request{Now: at, ClockTrusted: trusted, Known: true, Granted: 10 * 365 * 24 * time.Hour, SinceLastEnd: -1})
			if !d.Allow || d.Max > MaxCall {
				t.Errorf("trusted %v at %v: %+v, want allowed and at most %v", trusted, at, d, MaxCall)
			}
		}
	}
}
