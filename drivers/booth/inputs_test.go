// Tests of the inputs (inputs.go): debounce, edges and polling.

package booth

import (
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
)

func TestHookBounceIsOneEvent(t *testing.T) {
	h := newPinBooth(t, true, nil, nil)
	// Handset lifted: five bounces over 4 ms, ending low (off-hook).
	for i, l := range []gpio.Level{gpio.Low, gpio.High, gpio.Low, gpio.High, gpio.Low} {
		h.at(time.Duration(i) * ms)
		h.edge(h.hook, l)
	}
	h.at(4*ms + 30*ms - 1)
	if q := queued(t, h.b); len(q) != 0 {
		t.Fatalf("events %v before the bounce settled", q)
	}
	h.at(4*ms + 30*ms)
	if e := nextEvent(t, h.b); e.Kind != HookOff || e.At != 34*ms {
		t.Fatalf("event %v at %v, want hook_off at 34ms", e.Kind, e.At)
	}
	h.at(time.Second)
	if q := queued(t, h.b); len(q) != 0 {
		t.Fatalf("extra events %v after one lift", q)
	}
	// Hung up with bounces: one hook_on.
	for i, l := range []gpio.Level{gpio.High, gpio.Low, gpio.High} {
		h.at(time.Second + time.Duration(i)*2*ms)
		h.edge(h.hook, l)
	}
	h.at(2 * time.Second)
	if e := nextEvent(t, h.b); e.Kind != HookOn || e.At != time.Second+4*ms+30*ms {
		t.Fatalf("event %v at %v, want hook_on at 1.034s", e.Kind, e.At)
	}
	if q := queued(t, h.b); len(q) != 0 {
		t.Fatalf("extra events %v after one hang-up", q)
	}
	if s, _ := h.b.State(); s.OffHook {
		t.Error("State says off-hook after hang-up")
	}
}

func TestHookGlitchIsNoEvent(t *testing.T) {
	h := newPinBooth(t, true, nil, nil)
	h.edge(h.hook, gpio.Low)
	h.at(10 * ms)
	h.edge(h.hook, gpio.High)
	h.at(time.Second)
	if q := queued(t, h.b); len(q) != 0 {
		t.Fatalf("events %v from a 10 ms glitch", q)
	}
}

func TestHookPollingFallback(t *testing.T) {
	h := newPinBooth(t, false, nil, nil)
	set := func(l gpio.Level) { h.hook.Lock(); h.hook.L = l; h.hook.Unlock() }
	set(gpio.Low) // seen by the poll at 10 ms
	h.at(39 * ms)
	if q := queued(t, h.b); len(q) != 0 {
		t.Fatalf("events %v before the polled level held 30 ms", q)
	}
	h.at(40 * ms)
	if e := nextEvent(t, h.b); e.Kind != HookOff || e.At != 40*ms {
		t.Fatalf("event %v at %v, want hook_off at 40ms", e.Kind, e.At)
	}
	// A bounce between two polls is never seen; one across polls but
	// shorter than the window is filtered.
	h.at(41 * ms)
	set(gpio.High)
	h.at(45 * ms)
	set(gpio.Low)
	h.at(55 * ms)
	set(gpio.High)
	h.at(75 * ms)
	set(gpio.Low)
	h.at(time.Second)
	if q := queued(t, h.b); len(q) != 0 {
		t.Fatalf("events %v from bounces", q)
	}
}

func TestSimNoEdgesIsPolled(t *testing.T) {
	h := newSimBooth(t, nil)
	h.b.Close()
	clk := h.clk
	sim, _ := NewSim(SimOptions{Clock: clk, NoEdges: true})
	_ = sim.SetInput("GPIO6", gpio.Low)
	b, err := New(Options{Config: DefaultConfig(), Backend: sim, Clock: clk, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	start := clk.Mono()
	_ = sim.SetInput("GPIO5", gpio.Low) // lifted; seen by the poll at +10 ms
	advanceTo(clk, b, start+40*ms)
	if e := nextEvent(t, b); e.Kind != HookOff || e.At != start+40*ms {
		t.Fatalf("event %v at %v, want hook_off at +40ms", e.Kind, e.At-start)
	}
}
