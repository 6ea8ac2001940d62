package policy

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestObservedReset(t *testing.T) {
	for _, tc := range []struct {
		name         string
		used, resets time.Duration
		want         time.Duration
	}{
		{"cancels what was used", 25 * minute, 0, 25 * minute},
		{"nothing used, nothing credited", 0, 0, 0},
		{"never negative", -5 * minute, 0, 0},
		{"second reset credits only new use", 40 * minute, 25 * minute, 15 * minute},
		{"resets beyond use credit nothing", 10 * minute, 25 * minute, 0},
		{"negative earlier resets are ignored", 10 * minute, -5 * minute, 10 * minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ResetCredit(tc.used, tc.resets); got != tc.want {
				t.Errorf("ResetCredit(%v, %v) = %v, want %v", tc.used, tc.resets, got, tc.want)
			}
			if tc.resets == 0 {
				if got := ObservedReset(tc.used); got != tc.want {
					t.Errorf("ObservedReset(%v) = %v, want %v", tc.used, got, tc.want)
				}
			}
		})
	}
}

func TestOfficerCredit(t *testing.T) {
	r := validRules(t)
	if got := r.OfficerCredit(20*minute, 5*minute); got != 15*minute {
		t.Errorf("reset (default action): credit %v, want 15m", got)
	}
	r.Officer, r.OfficerGrant = OfficerGrant, 10*minute
	if got := r.OfficerCredit(20*minute, 5*minute); got != 10*minute {
		t.Errorf("grant: credit %v, want the configured 10m", got)
	}
}

// event is one entry of the facility's append-only set for an inmate and
// period: usage (+) or a credit (grant or observed reset).
type event struct {
	booth, seq int
	used       time.Duration
	credit     time.Duration
	reset      bool
}

// balance sums a set of events keyed by (booth, seq): duplicates count once,
// and the order does not matter.
func balance(allowance time.Duration, evs []event) (remaining, used, resets time.Duration) {
	seen := map[[2]int]bool{}
	var credits time.Duration
	for _, e := range evs {
		k := [2]int{e.booth, e.seq}
		if seen[k] {
			continue
		}
		seen[k] = true
		used += e.used
		credits += e.credit
		if e.reset {
			resets += e.credit
		}
	}
	return allowance + credits - used, used, resets
}

// TestObservedResetMergesInAnyOrder is DESIGN.md's observed reset: booth 1
// resets after seeing some usage; booth 2's offline usage arrives late, in
// any order and duplicated. The result never depends on arrival order or on
// any booth's clock, and usage the reset had not seen still counts.
func TestObservedResetMergesInAnyOrder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		const allowance = 30 * time.Minute
		seenUse := time.Duration(rapid.IntRange(0, 40).Draw(t, "seen minutes")) * time.Minute
		lateUse := time.Duration(rapid.IntRange(0, 40).Draw(t, "late minutes")) * time.Minute
		grant := time.Duration(rapid.IntRange(0, 10).Draw(t, "grant minutes")) * time.Minute
		// What booth 1 knows when the officer taps.
		known := []event{{booth: 1, seq: 1, used: seenUse}, {booth: 1, seq: 2, credit: grant}}
		_, used, resets := balance(allowance, known)
		reset := event{booth: 1, seq: 3, credit: ResetCredit(used, resets), reset: true}
		all := append(known, reset, event{booth: 2, seq: 1, used: lateUse})
		// Arrival at the gateway: any order, some records twice.
		arrived := rapid.Permutation(append(all, rapid.SampledFrom(all).Draw(t, "duplicate"))).Draw(t, "arrival")
		got, _, _ := balance(allowance, arrived)
		if want := allowance + grant - lateUse; got != want {
			t.Fatalf("remaining %v, want allowance + grant - unseen usage = %v", got, want)
		}
		// A second reset, now seeing everything, restores the full balance.
		_, used, resets = balance(allowance, arrived)
		second := event{booth: 2, seq: 2, credit: ResetCredit(used, resets), reset: true}
		if got, _, _ := balance(allowance, append(arrived, second)); got != allowance+grant {
			t.Fatalf("after a second reset remaining %v, want %v", got, allowance+grant)
		}
	})
}
