package booth

import (
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Debouncer turns the samples of a bouncing switch into clean changes: a
// level counts only once it has held, without a contrary sample, for
// Window. It is pure; the caller feeds samples and asks at Due.
type Debouncer struct {
	window time.Duration
	stable gpio.Level
	cand   gpio.Level
	since  time.Duration
}

// NewDebouncer starts a debouncer whose settled level is initial.
func NewDebouncer(window time.Duration, initial gpio.Level) *Debouncer {
	return &Debouncer{window: window, stable: initial, cand: initial}
}

// Observe records that the line read l at now (monotonic).
func (d *Debouncer) Observe(l gpio.Level, now time.Duration) {
	if l != d.cand {
		d.cand, d.since = l, now
	}
}

// Due reports when Settle may next report a change.
func (d *Debouncer) Due() (time.Duration, bool) {
	if d.cand == d.stable {
		return 0, false
	}
	return d.since + d.window, true
}

// Settle returns the settled level at now and whether it just changed.
func (d *Debouncer) Settle(now time.Duration) (gpio.Level, bool) {
	if d.cand != d.stable && now-d.since >= d.window {
		d.stable = d.cand
		return d.stable, true
	}
	return d.stable, false
}

// Level is the settled level.
func (d *Debouncer) Level() gpio.Level { return d.stable }
