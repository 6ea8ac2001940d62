package booth

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

const ms = time.Millisecond

type sampleAt struct {
	at     time.Duration
	lamps  Lamp
	buzzer bool
}

// TestPatternTiming runs each named pattern on the booth under a fake clock
// and samples the simulated lamp and buzzer pins at chosen instants.
// Overlays play over "talking" (green steady) and must return to it.
func TestPatternTiming(t *testing.T) {
	tests := []struct {
		signal  string
		samples []sampleAt
	}{
		{"ready", []sampleAt{{0, Green, false}, {499 * ms, Green, false}, {500 * ms, 0, false}, {999 * ms, 0, false}, {1000 * ms, Green, false}, {10500 * ms, 0, false}}},
		{"card_accepted", []sampleAt{{0, Green, true}, {149 * ms, Green, true}, {150 * ms, 0, false}, {250 * ms, Green, false}, {375 * ms, 0, false}, {1250 * ms, Green, false}, {1375 * ms, 0, false}, {1500 * ms, Green, false}, {time.Minute, Green, false}}},
		{"talking", []sampleAt{{0, Green, false}, {time.Hour, Green, false}}},
		{"warning_minute", []sampleAt{{0, Green | Amber, true}, {150 * ms, Green, false}, {300 * ms, Green | Amber, true}, {450 * ms, Green, false}, {999 * ms, Green, false}, {1000 * ms, Green | Amber, false}, {1500 * ms, Green, false}, {60 * time.Second, Green | Amber, false}}},
		{"final_seconds", []sampleAt{{0, Amber, true}, {99 * ms, Amber, true}, {100 * ms, Amber, false}, {250 * ms, 0, false}, {500 * ms, Amber, false}, {750 * ms, 0, false}, {1000 * ms, Amber, true}, {59100 * ms, Amber, false}}},
		{"denied_card", []sampleAt{{0, Red, true}, {999 * ms, Red, true}, {1000 * ms, Red, false}, {1999 * ms, Red, false}, {2000 * ms, Green, false}}},
		{"denied_quota", []sampleAt{{0, Red, true}, {150 * ms, 0, false}, {300 * ms, Red, true}, {450 * ms, 0, false}, {1000 * ms, Red, true}, {1450 * ms, 0, false}, {2000 * ms, Green, false}}},
		{"denied_time", []sampleAt{{0, Red | Amber, true}, {150 * ms, Red | Amber, false}, {600 * ms, Red | Amber, true}, {900 * ms, Red | Amber, false}, {1999 * ms, Red | Amber, false}, {2000 * ms, Green, false}}},
		{"officer_mode", []sampleAt{{0, Amber, false}, {100 * ms, 0, false}, {200 * ms, Amber, false}, {300 * ms, 0, false}, {1000 * ms, Amber, false}}},
		{"out_of_service", []sampleAt{{0, Red, false}, {time.Hour, Red, false}}},
		{"tamper", []sampleAt{{0, Red, true}, {249 * ms, Red, true}, {250 * ms, 0, false}, {500 * ms, Red, true}, {4999 * ms, 0, false}, {5000 * ms, Red, false}, {5125 * ms, 0, false}, {5250 * ms, Red, false}}},
		{"closed", []sampleAt{{0, Red, false}, {100 * ms, 0, false}, {2999 * ms, 0, false}, {3000 * ms, Red, false}}},
		{"choose_number", []sampleAt{{0, Green, true}, {149 * ms, Green, true}, {150 * ms, 0, false}, {999 * ms, 0, false}, {1000 * ms, Green, false}, {1100 * ms, 0, false}, {1200 * ms, Green, false}, {1300 * ms, 0, false}, {2000 * ms, Green, false}}},
		{"dialling", []sampleAt{{0, Green, false}, {249 * ms, Green, false}, {250 * ms, 0, false}, {500 * ms, Green, false}, {10750 * ms, 0, false}}},
		{"denied_number", []sampleAt{{0, Red, true}, {499 * ms, Red, true}, {500 * ms, Green, false}, {1000 * ms, Red, false}, {1500 * ms, Green, false}, {1999 * ms, Green, false}, {2000 * ms, Green, false}}},
		{"not_connected", []sampleAt{{0, Amber, true}, {499 * ms, Amber, true}, {500 * ms, Amber, false}, {1000 * ms, Amber, true}, {1500 * ms, Amber, false}, {2000 * ms, Green, false}}},
	}
	if len(tests) != len(DefaultPatterns()) {
		t.Errorf("the table covers %d signals, DefaultPatterns has %d", len(tests), len(DefaultPatterns()))
	}
	for _, tt := range tests {
		t.Run(tt.signal, func(t *testing.T) {
			h := newSimBooth(t, nil)
			if DefaultPatterns()[tt.signal].Overlay {
				if err := h.b.Show("talking"); err != nil {
					t.Fatal(err)
				}
			}
			start := h.clk.Mono()
			if err := h.b.Show(tt.signal); err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.samples {
				advanceTo(h.clk, h.b, start+s.at)
				l, bz := h.shown()
				if l != s.lamps || bz != s.buzzer {
					t.Errorf("at %v: lamps %v buzzer %v, want %v buzzer %v", s.at, l, bz, s.lamps, s.buzzer)
				}
			}
		})
	}
}

// TestPatternChangesAtExactInstants checks the recorded pin changes of a
// blinking lamp: each lands on its instant, not a tick later.
func TestPatternChangesAtExactInstants(t *testing.T) {
	h := newSimBooth(t, nil)
	before := len(h.sim.Changes())
	start := h.clk.Mono()
	if err := h.b.Show("ready"); err != nil {
		t.Fatal(err)
	}
	advanceTo(h.clk, h.b, start+2500*ms)
	var got []string
	for _, c := range h.sim.Changes()[before:] {
		got = append(got, fmt.Sprintf("%s=%v@%v", c.Label, c.Level, c.At-start))
	}
	want := []string{"lamp_green=High@0s", "lamp_green=Low@500ms", "lamp_green=High@1s", "lamp_green=Low@1.5s", "lamp_green=High@2s", "lamp_green=Low@2.5s"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("changes %v, want %v", got, want)
	}
}

func TestRGBLamp(t *testing.T) {
	h := newSimBooth(t, func(o *Options) {
		o.Config.LampGreen, o.Config.LampAmber, o.Config.LampRed = "", "", ""
		o.Config.RGBRed, o.Config.RGBGreen = "GPIO24", "GPIO22"
		o.Config.LampsActiveLow = true
	})
	rgb := func() string {
		r, _ := h.sim.Level("GPIO24")
		g, _ := h.sim.Level("GPIO22")
		return fmt.Sprintf("r=%v g=%v", bool(!r), bool(!g)) // active low
	}
	start := h.clk.Mono()
	steps := []struct {
		show string
		at   time.Duration
		want string
	}{
		{"talking", 0, "r=false g=true"},
		{"warning_minute", 0, "r=true g=true"}, // green+amber shows amber
		{"", 150 * ms, "r=false g=true"},
		{"out_of_service", 200 * ms, "r=true g=false"},
		{"closed", 300 * ms, "r=true g=false"},
		{"", 400 * ms, "r=false g=false"},
	}
	for _, s := range steps {
		advanceTo(h.clk, h.b, start+s.at)
		if s.show != "" {
			if err := h.b.Show(s.show); err != nil {
				t.Fatal(err)
			}
		}
		if got := rgb(); got != s.want {
			t.Errorf("%q at %v: %s, want %s", s.show, s.at, got, s.want)
		}
	}
}

func TestShowUnknownSignal(t *testing.T) {
	h := newSimBooth(t, nil)
	if err := h.b.Show("talkin"); err == nil {
		t.Fatal(`Show("talkin") = nil, want an error`)
	}
}

func TestSameBaseKeepsPhase(t *testing.T) {
	h := newSimBooth(t, nil)
	start := h.clk.Mono()
	_ = h.b.Show("ready")
	advanceTo(h.clk, h.b, start+600*ms)
	_ = h.b.Show("ready") // again: must not restart the blink
	if l, _ := h.shown(); l != 0 {
		t.Errorf("lamps %v after re-showing ready in its off phase, want off", l)
	}
}

func TestDefaultPatternsCheck(t *testing.T) {
	for name, p := range DefaultPatterns() {
		if err := p.Check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPatternCheckRejects(t *testing.T) {
	for name, p := range map[string]Pattern{
		"empty":            {},
		"overlay loop":     {Overlay: true, Loop: blink(Red, fastHalf)},
		"zero loop step":   {Loop: []Step{{Lamps: Red}}},
		"hold not last":    {Intro: []Step{{Lamps: Red}, {Lamps: Green, For: ms}}},
		"overlay forever":  {Overlay: true, Intro: []Step{{Lamps: Red}}},
		"negative":         {Intro: []Step{{For: -ms}}, Loop: blink(Red, ms)},
		"hold before loop": {Intro: []Step{{Lamps: Red}}, Loop: blink(Red, ms)},
	} {
		if p.Check() == nil {
			t.Errorf("%s: Check() = nil, want an error", name)
		}
	}
}

// TestPatternAtProperties: for any valid pattern and instant, the step
// holds until the reported next change and the next change is ahead.
func TestPatternAtProperties(t *testing.T) {
	step := rapid.Custom(func(t *rapid.T) Step {
		return Step{
			Lamps:  Lamp(rapid.IntRange(0, 7).Draw(t, "lamps")),
			Buzzer: rapid.Bool().Draw(t, "buzzer"),
			For:    time.Duration(rapid.IntRange(1, 2000).Draw(t, "ms")) * ms,
		}
	})
	rapid.Check(t, func(t *rapid.T) {
		p := Pattern{
			Intro: rapid.SliceOfN(step, 0, 5).Draw(t, "intro"),
			Loop:  rapid.SliceOfN(step, 0, 5).Draw(t, "loop"),
		}
		if len(p.Intro)+len(p.Loop) == 0 {
			p.Loop = []Step{{Lamps: Red, For: ms}}
		}
		if p.Check() != nil {
			t.Skip("invalid")
		}
		e := time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "elapsed"))
		st, next, ok, done := p.at(e)
		if done != (len(p.Loop) == 0 && e >= total(p.Intro)) {
			t.Fatalf("done=%v at %v", done, e)
		}
		if !ok {
			if len(p.Loop) > 0 || !done {
				t.Fatalf("no next change at %v for a pattern that still changes", e)
			}
			return
		}
		if next <= e {
			t.Fatalf("next change %v not after %v", next, e)
		}
		if st2, _, _, _ := p.at(next - 1); st2 != st {
			t.Fatalf("step changed before the reported next change: %v then %v", st, st2)
		}
	})
}

func total(s []Step) time.Duration {
	var d time.Duration
	for _, x := range s {
		d += x.For
	}
	return d
}

func BenchmarkSchedulerAt(b *testing.B) {
	var s scheduler
	s.setBase("final_seconds", DefaultPatterns()["final_seconds"], 0)
	var now time.Duration
	for b.Loop() {
		_, next, _ := s.at(now)
		now = next
	}
}
