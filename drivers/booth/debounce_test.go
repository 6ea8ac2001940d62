package booth

import (
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"pgregory.net/rapid"
)

type obs struct {
	at time.Duration
	l  gpio.Level
}

// run feeds samples to a debouncer, settling at each sample and at each due
// instant before the next sample, up to end, and returns the changes.
func runDebouncer(window time.Duration, initial gpio.Level, samples []obs, end time.Duration) []obs {
	d := NewDebouncer(window, initial)
	var out []obs
	settle := func(now time.Duration) {
		if l, ok := d.Settle(now); ok {
			out = append(out, obs{now, l})
		}
	}
	advance := func(to time.Duration) {
		for {
			due, ok := d.Due()
			if !ok || due > to {
				return
			}
			settle(due)
		}
	}
	for _, s := range samples {
		advance(s.at)
		d.Observe(s.l, s.at)
		settle(s.at)
	}
	advance(end)
	return out
}

func TestDebouncer(t *testing.T) {
	const w = 30 * ms
	H, L := gpio.High, gpio.Low
	tests := []struct {
		name    string
		samples []obs
		want    []obs
	}{
		{"clean press", []obs{{0, L}}, []obs{{30 * ms, L}}},
		{"bounce burst is one change", []obs{{0, L}, {1 * ms, H}, {2 * ms, L}, {4 * ms, H}, {5 * ms, L}}, []obs{{35 * ms, L}}},
		{"glitch shorter than the window", []obs{{0, L}, {29 * ms, H}}, nil},
		{"bounce back to the start is nothing", []obs{{0, L}, {3 * ms, H}, {5 * ms, L}, {6 * ms, H}}, nil},
		{"press and release", []obs{{0, L}, {100 * ms, H}}, []obs{{30 * ms, L}, {130 * ms, H}}},
		{"repeated same level is no change", []obs{{0, H}, {10 * ms, H}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runDebouncer(w, H, tt.samples, time.Second)
			if len(got) != len(tt.want) {
				t.Fatalf("changes %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("changes %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// checkDebounced checks the debouncer's contract on one input history: a
// change to l at t is reported only if the input was l through [t-w, t],
// changes alternate, and the settled level ends as the input's last level
// if that held for w.
func checkDebounced(t interface{ Fatalf(string, ...any) }, w time.Duration, initial gpio.Level, samples []obs, end time.Duration) {
	got := runDebouncer(w, initial, samples, end)
	levelAt := func(at time.Duration) gpio.Level { // input level just after at
		l := initial
		for _, s := range samples {
			if s.at <= at {
				l = s.l
			}
		}
		return l
	}
	prev := initial
	for _, c := range got {
		if c.l == prev {
			t.Fatalf("change to the same level %v at %v", c.l, c.at)
		}
		prev = c.l
		for _, s := range samples {
			if s.at > c.at-w && s.at < c.at && s.l != c.l {
				t.Fatalf("change to %v at %v although the input read %v at %v", c.l, c.at, s.l, s.at)
			}
		}
		if levelAt(c.at-w) != c.l {
			t.Fatalf("change to %v at %v although the input was %v at %v", c.l, c.at, levelAt(c.at-w), c.at-w)
		}
	}
	last := initial
	lastAt := time.Duration(0)
	if len(samples) > 0 {
		last, lastAt = samples[len(samples)-1].l, samples[len(samples)-1].at
	}
	held := lastAt
	for i := len(samples) - 1; i >= 0 && samples[i].l == last; i-- {
		held = samples[i].at
	}
	if end-held >= w && len(samples) > 0 && prev != last {
		t.Fatalf("input held %v from %v to %v (window %v) but the settled level is %v", last, held, end, w, prev)
	}
}

func TestDebouncerProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := time.Duration(rapid.IntRange(1, 50).Draw(t, "window_ms")) * ms
		n := rapid.IntRange(0, 40).Draw(t, "n")
		var samples []obs
		var at time.Duration
		for i := range n {
			_ = i
			at += time.Duration(rapid.IntRange(0, 80).Draw(t, "gap_ms")) * ms
			samples = append(samples, obs{at, gpio.Level(rapid.Bool().Draw(t, "level"))})
		}
		checkDebounced(t, w, gpio.Level(rapid.Bool().Draw(t, "initial")), samples, at+100*ms)
	})
}

// FuzzDebouncer: each input byte is a sample, its low bit the level and the
// rest the gap in milliseconds since the previous sample.
func FuzzDebouncer(f *testing.F) {
	f.Add([]byte{0, 2, 5, 2, 7}, uint8(30))
	f.Add([]byte{1, 255, 0, 60}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, window uint8) {
		w := time.Duration(window%100+1) * ms
		var samples []obs
		var at time.Duration
		for _, b := range data {
			at += time.Duration(b>>1) * ms
			samples = append(samples, obs{at, gpio.Level(b&1 == 1)})
		}
		checkDebounced(t, w, gpio.High, samples, at+200*ms)
	})
}
