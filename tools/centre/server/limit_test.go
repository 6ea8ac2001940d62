package server

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestLimiterBound: whatever the request times (the wall clock may even
// step back), a device never gets more than burst + rate × elapsed
// requests, and a device that waits the time allow names is served.
func TestLimiterBound(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rate := rapid.Float64Range(0.1, 100).Draw(t, "rate")
		burst := rapid.IntRange(1, 50).Draw(t, "burst")
		now := start
		l := newLimiter(rate, burst, func() time.Time { return now })
		var first, latest time.Time // the bucket fills from the first request
		allowed := 0
		steps := rapid.SliceOfN(rapid.Int64Range(-int64(time.Second), int64(2*time.Second)), 1, 300).Draw(t, "steps")
		for i, step := range steps {
			now = now.Add(time.Duration(step))
			if i == 0 {
				first, latest = now, now
			}
			if now.After(latest) {
				latest = now
			}
			wait, ok := l.allow("d")
			if ok {
				allowed++
			} else {
				if wait <= 0 {
					t.Fatalf("step %d: refused with a wait of %v", i, wait)
				}
				if i%7 == 0 { // sometimes the booth obeys Retry-After
					now = now.Add(wait + time.Nanosecond)
					if now.After(latest) {
						latest = now
					}
					if _, ok := l.allow("d"); !ok {
						t.Fatalf("step %d: refused again after waiting %v", i, wait)
					}
					allowed++
				}
			}
			if bound := float64(burst) + rate*latest.Sub(first).Seconds(); float64(allowed) > bound+1e-6 {
				t.Fatalf("step %d: %d requests allowed, bound %.3f", i, allowed, bound)
			}
		}
	})
}
