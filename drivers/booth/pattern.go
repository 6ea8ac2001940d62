package booth

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Lamp is a set of lamps, as bits.
type Lamp uint8

// The booth's lamps. On an RGB lamp, amber is red and green together and
// the colour shown is the most urgent lit one: red, then amber, then green.
const (
	Green Lamp = 1 << iota
	Amber
	Red
)

// String lists the lit lamps, e.g. "green+amber", or "off".
func (l Lamp) String() string {
	var s []string
	for _, x := range []struct {
		b Lamp
		n string
	}{{Green, "green"}, {Amber, "amber"}, {Red, "red"}} {
		if l&x.b != 0 {
			s = append(s, x.n)
		}
	}
	if len(s) == 0 {
		return "off"
	}
	return strings.Join(s, "+")
}

// Step is one state of the lamps and buzzer, held For. For zero holds it
// forever; only the last step of an Intro with no Loop may do that.
type Step struct {
	Lamps  Lamp
	Buzzer bool
	For    time.Duration
}

// Pattern is a lamp and buzzer sequence: Intro runs once, then Loop repeats
// forever. An Overlay pattern is transient: when its Intro ends the base
// pattern shows again (it must have no Loop). A base pattern with no Loop
// holds its last step.
type Pattern struct {
	Intro   []Step
	Loop    []Step
	Overlay bool
}

// Check reports a pattern the scheduler cannot run.
func (p Pattern) Check() error {
	if len(p.Intro) == 0 && len(p.Loop) == 0 {
		return fmt.Errorf("pattern has no steps")
	}
	if p.Overlay && len(p.Loop) > 0 {
		return fmt.Errorf("an overlay pattern must end: it cannot have a Loop")
	}
	for i, s := range p.Intro {
		last := i == len(p.Intro)-1 && len(p.Loop) == 0 && !p.Overlay
		if s.For < 0 || (s.For == 0 && !last) {
			return fmt.Errorf("intro step %d lasts %v: only the last step of a base pattern without a loop may hold forever (0)", i, s.For)
		}
	}
	for i, s := range p.Loop {
		if s.For <= 0 {
			return fmt.Errorf("loop step %d lasts %v: loop steps need a positive duration", i, s.For)
		}
	}
	return nil
}

// at returns the step shown elapsed after the pattern started, and the
// elapsed time of the next change (ok false: none). done reports that an
// intro without a loop has ended; step is then its last step.
func (p Pattern) at(elapsed time.Duration) (s Step, next time.Duration, ok, done bool) {
	var acc time.Duration
	for _, st := range p.Intro {
		if st.For == 0 {
			return st, 0, false, false
		}
		if elapsed < acc+st.For {
			return st, acc + st.For, true, false
		}
		acc += st.For
	}
	if len(p.Loop) == 0 {
		return p.Intro[len(p.Intro)-1], 0, false, true
	}
	var period time.Duration
	for _, st := range p.Loop {
		period += st.For
	}
	start := acc + (elapsed-acc)/period*period
	off := elapsed - start
	acc = 0
	for _, st := range p.Loop {
		if off < acc+st.For {
			return st, start + acc + st.For, true, false
		}
		acc += st.For
	}
	panic("unreachable: offset beyond the loop period")
}

// Durations used by the named patterns.
const (
	slowHalf = 500 * time.Millisecond // slow blink: 1 Hz
	fastHalf = 125 * time.Millisecond // fast blink: 4 Hz
	flash    = 100 * time.Millisecond // double blink flashes
	beep     = 150 * time.Millisecond
)

func blink(l Lamp, half time.Duration) []Step {
	return []Step{{Lamps: l, For: half}, {For: half}}
}

// repeat returns steps n times over.
func repeat(n int, steps ...Step) []Step {
	var out []Step
	for range n {
		out = append(out, steps...)
	}
	return out
}

// DefaultPatterns is the pattern of every signal the session engine emits;
// docs/lamps.md is its printable table. Overlays last two seconds or less.
func DefaultPatterns() map[string]Pattern {
	return map[string]Pattern{
		// Free: tap your card.
		"ready": {Loop: blink(Green, slowHalf)},
		// Card accepted, lift the handset: one beep, green fast blink.
		"card_accepted": {Overlay: true, Intro: append(
			[]Step{{Lamps: Green, Buzzer: true, For: beep}, {For: fastHalf - beep%fastHalf}},
			repeat(5, blink(Green, fastHalf)...)...)},
		// Call in progress.
		"talking": {Intro: []Step{{Lamps: Green}}},
		// One minute left: two beeps, then amber blinks slowly beside green.
		"warning_minute": {
			Intro: []Step{
				{Lamps: Green | Amber, Buzzer: true, For: beep}, {Lamps: Green, For: beep},
				{Lamps: Green | Amber, Buzzer: true, For: beep}, {Lamps: Green, For: 1000*time.Millisecond - 3*beep},
			},
			Loop: []Step{{Lamps: Green | Amber, For: slowHalf}, {Lamps: Green, For: slowHalf}},
		},
		// Last seconds: amber fast blink, a short beep every second.
		"final_seconds": {Loop: []Step{
			{Lamps: Amber, Buzzer: true, For: flash}, {Lamps: Amber, For: fastHalf*2 - flash}, {For: fastHalf * 2},
			{Lamps: Amber, For: fastHalf * 2}, {For: fastHalf * 2},
		}},
		// Card unknown or blocked: red steady, one long beep.
		"denied_card": {Overlay: true, Intro: []Step{
			{Lamps: Red, Buzzer: true, For: time.Second}, {Lamps: Red, For: time.Second},
		}},
		// No minutes left, or too soon after the last call: red double blink, two beeps each.
		"denied_quota": {Overlay: true, Intro: repeat(2,
			Step{Lamps: Red, Buzzer: true, For: beep}, Step{For: beep},
			Step{Lamps: Red, Buzzer: true, For: beep}, Step{For: time.Second - 3*beep},
		)},
		// Not now: outside hours, not this block's turn, clock untrusted:
		// red and amber, three short beeps.
		"denied_time": {Overlay: true, Intro: append(
			repeat(3, Step{Lamps: Red | Amber, Buzzer: true, For: beep}, Step{Lamps: Red | Amber, For: beep}),
			Step{Lamps: Red | Amber, For: 2*time.Second - 6*beep})},
		// Officer card in use: amber double blink, silent.
		"officer_mode": {Loop: []Step{
			{Lamps: Amber, For: flash}, {For: flash}, {Lamps: Amber, For: flash}, {For: time.Second - 3*flash},
		}},
		// Fault (relay, store, reader): red steady.
		"out_of_service": {Intro: []Step{{Lamps: Red}}},
		// Panel opened: red fast blink with the buzzer for 5 s, then red fast blink.
		"tamper": {
			Intro: repeat(10, Step{Lamps: Red, Buzzer: true, For: 2 * fastHalf}, Step{For: 2 * fastHalf}),
			Loop:  blink(Red, fastHalf),
		},
		// Outside the booth's hours: dark, a short red flash every 3 s to show it has power.
		"closed": {Loop: []Step{{Lamps: Red, For: flash}, {For: 3*time.Second - flash}}},
		// A booth with a modem. Card accepted, choose the number: one beep,
		// then a green double blink until a number is chosen.
		"choose_number": {
			Intro: []Step{{Lamps: Green, Buzzer: true, For: beep}, {For: 1000*time.Millisecond - beep}},
			Loop:  []Step{{Lamps: Green, For: flash}, {For: flash}, {Lamps: Green, For: flash}, {For: time.Second - 3*flash}},
		},
		// Calling the number: green blinks twice a second until the answer.
		"dialling": {Loop: blink(Green, 2*fastHalf)},
		// That number is not registered for this inmate, or blocked: red
		// and green alternate, one long beep.
		"denied_number": {Overlay: true, Intro: []Step{
			{Lamps: Red, Buzzer: true, For: 4 * fastHalf}, {Lamps: Green, For: 4 * fastHalf},
			{Lamps: Red, For: 4 * fastHalf}, {Lamps: Green, For: 4 * fastHalf},
		}},
		// Busy, no answer, or no number chosen in time: nothing charged;
		// amber steady, two long beeps.
		"not_connected": {Overlay: true, Intro: []Step{
			{Lamps: Amber, Buzzer: true, For: 4 * fastHalf}, {Lamps: Amber, For: 4 * fastHalf},
			{Lamps: Amber, Buzzer: true, For: 4 * fastHalf}, {Lamps: Amber, For: 4 * fastHalf},
		}},
	}
}

// Signals lists the names of DefaultPatterns, sorted.
func Signals() []string {
	var s []string
	for n := range DefaultPatterns() {
		s = append(s, n)
	}
	sort.Strings(s)
	return s
}

// scheduler runs a base pattern and at most one overlay on monotonic time.
// It is pure: the booth's loop asks it what to show and when to ask again.
type scheduler struct {
	base, over       Pattern
	baseName         string
	baseAt, overAt   time.Duration
	hasBase, hasOver bool
}

func (s *scheduler) setBase(name string, p Pattern, now time.Duration) {
	if s.hasBase && s.baseName == name {
		return // same signal again: keep the phase, no glitch
	}
	s.base, s.baseName, s.baseAt, s.hasBase = p, name, now, true
}

func (s *scheduler) setOverlay(p Pattern, now time.Duration) {
	s.over, s.overAt, s.hasOver = p, now, true
}

// at returns what to show at now, and when it next changes (ok false: not
// until a new pattern is set).
func (s *scheduler) at(now time.Duration) (st Step, next time.Duration, ok bool) {
	if s.hasOver {
		st, n, ok, done := s.over.at(now - s.overAt)
		if !done {
			return st, s.overAt + n, ok
		}
		s.hasOver = false
	}
	if !s.hasBase {
		return Step{}, 0, false
	}
	st, n, ok, _ := s.base.at(now - s.baseAt)
	return st, s.baseAt + n, ok
}
