package booth

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"wartelsuspas/clock"
)

// pinBooth is a Booth on periph's gpiotest pins under a fake clock.
type pinBooth struct {
	clk                              *clock.Fake
	b                                *Booth
	relay, green, amber, red, buzzer *gpiotest.Pin
	hook, feedback                   *gpiotest.Pin
	pushed                           uint64
	backend                          *recordingBackend
}

// recordingBackend logs the order in which pins are opened.
type recordingBackend struct {
	Backend
	mu  sync.Mutex
	log []string
}

func (r *recordingBackend) Output(pin string, l gpio.Level) (Output, error) {
	r.mu.Lock()
	r.log = append(r.log, fmt.Sprintf("out %s %v", pin, l))
	r.mu.Unlock()
	return r.Backend.Output(pin, l)
}

func (r *recordingBackend) Input(pin string, p gpio.Pull) (Input, bool, error) {
	r.mu.Lock()
	r.log = append(r.log, "in "+pin)
	r.mu.Unlock()
	return r.Backend.Input(pin, p)
}

// newPinBooth wires a booth with a feedback contact (active low) and no
// tamper switch; edges false leaves the hook without EdgesChan, so the
// booth must poll it. before runs on the pins before New.
func newPinBooth(t *testing.T, edges bool, before func(*pinBooth), mod func(*Options)) *pinBooth {
	t.Helper()
	pin := func(name string, n int) *gpiotest.Pin { return &gpiotest.Pin{N: name, Num: n} }
	h := &pinBooth{
		clk:   clock.NewFake(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)),
		relay: pin("GPIO17", 17), green: pin("GPIO22", 22), amber: pin("GPIO23", 23),
		red: pin("GPIO24", 24), buzzer: pin("GPIO25", 25), hook: pin("GPIO5", 5), feedback: pin("GPIO13", 13),
	}
	h.feedback.EdgesChan = make(chan gpio.Level)
	if edges {
		h.hook.EdgesChan = make(chan gpio.Level)
	}
	if before != nil {
		before(h)
	}
	cfg := DefaultConfig()
	cfg.Tamper = ""
	cfg.Feedback, cfg.FeedbackActiveLow = "GPIO13", true
	h.backend = &recordingBackend{Backend: NewPins(map[string]gpio.PinIO{
		"GPIO17": h.relay, "GPIO22": h.green, "GPIO23": h.amber, "GPIO24": h.red,
		"GPIO25": h.buzzer, "GPIO5": h.hook, "GPIO13": h.feedback,
	})}
	o := Options{Config: cfg, Backend: h.backend, Clock: h.clk, Logger: quiet, EdgeWait: 20 * ms}
	if mod != nil {
		mod(&o)
	}
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.b = b
	t.Cleanup(func() { b.Close() })
	return h
}

// edge feeds one edge to an input and waits until the booth took it.
func (h *pinBooth) edge(p *gpiotest.Pin, l gpio.Level) {
	p.EdgesChan <- l
	h.pushed++
	h.b.waitObserved(h.pushed)
}

func (h *pinBooth) at(d time.Duration) { advanceTo(h.clk, h.b, d) }

func level(p *gpiotest.Pin) gpio.Level { return p.Read() }

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

func TestRelayFeedbackFollows(t *testing.T) {
	h := newPinBooth(t, true, nil, nil)
	h.at(100 * ms)
	if err := h.b.SetRelay(true); err != nil {
		t.Fatal(err)
	}
	if level(h.relay) != gpio.High {
		t.Fatal("relay pin not driven on")
	}
	h.at(108 * ms)
	h.edge(h.feedback, gpio.Low) // contact closed, active low
	h.at(time.Second)
	if err := h.b.SetRelay(false); err != nil {
		t.Fatal(err)
	}
	h.at(time.Second + 5*ms)
	h.edge(h.feedback, gpio.High)
	h.at(2 * time.Second)
	s, err := h.b.State()
	if err != nil || s.Fault != nil {
		t.Fatalf("State() = %+v, %v: want no fault when the relay follows", s, err)
	}
	if q := queued(t, h.b); len(q) != 0 {
		t.Fatalf("events %v", q)
	}
}

func TestRelayFeedbackDead(t *testing.T) {
	h := newPinBooth(t, true, nil, nil)
	_ = h.b.Show("talking")
	h.at(100 * ms)
	if err := h.b.SetRelay(true); err != nil {
		t.Fatal(err)
	}
	h.at(149 * ms)
	if s, _ := h.b.State(); s.Fault != nil {
		t.Fatalf("fault %v before the settle time", s.Fault)
	}
	h.at(150 * ms)
	e := nextEvent(t, h.b)
	if e.Kind != RelayFault || e.At != 150*ms || !strings.Contains(fmt.Sprint(e.Err), "did not follow") {
		t.Fatalf("event %v at %v (%v), want relay_fault at 150ms", e.Kind, e.At, e.Err)
	}
	if level(h.relay) != gpio.Low {
		t.Error("relay left on after a fault")
	}
	if level(h.red) != gpio.High || level(h.green) != gpio.Low {
		t.Error("lamps do not show out_of_service (red steady)")
	}
	if err := h.b.SetRelay(true); !errors.Is(err, ErrOutOfService) {
		t.Fatalf("SetRelay(true) after a fault = %v, want ErrOutOfService", err)
	}
	if level(h.relay) != gpio.Low {
		t.Error("relay closed while out of service")
	}
	if err := h.b.ClearFaults(); err != nil {
		t.Fatal(err)
	}
	if level(h.green) != gpio.High {
		t.Error("the engine's last signal (talking) did not return after ClearFaults")
	}
	if err := h.b.SetRelay(true); err != nil {
		t.Fatalf("SetRelay(true) after ClearFaults = %v", err)
	}
}

func TestRelayChangesWithoutCommand(t *testing.T) {
	h := newPinBooth(t, true, nil, nil)
	h.at(time.Second) // past the settle check of the initial off
	h.edge(h.feedback, gpio.Low)
	h.at(time.Second + 5*ms)
	e := nextEvent(t, h.b)
	if e.Kind != RelayFault || !strings.Contains(fmt.Sprint(e.Err), "without a command") {
		t.Fatalf("event %v (%v), want relay_fault without a command", e.Kind, e.Err)
	}
	// Still welded: no second report.
	h.at(2 * time.Second)
	if q := queued(t, h.b); len(q) != 0 {
		t.Fatalf("repeated events %v", q)
	}
}

func TestNewDrivesRelayOffFirst(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		t.Run(fmt.Sprint("active_low=", activeLow), func(t *testing.T) {
			on := gpio.Level(!activeLow)
			h := newPinBooth(t, true, func(h *pinBooth) { h.relay.L = on }, func(o *Options) { o.Config.RelayActiveLow = activeLow })
			if level(h.relay) == on {
				t.Fatal("relay still on after New")
			}
			if got := h.backend.log[0]; got != fmt.Sprintf("out GPIO17 %v", !on) {
				t.Fatalf("first pin opened: %q, want the relay driven off", got)
			}
		})
	}
}

func TestCloseDrivesRelayOff(t *testing.T) {
	h := newPinBooth(t, true, nil, nil)
	_ = h.b.Show("talking")
	if err := h.b.SetRelay(true); err != nil {
		t.Fatal(err)
	}
	if err := h.b.Close(); err != nil {
		t.Fatal(err)
	}
	if level(h.relay) != gpio.Low || level(h.green) != gpio.Low {
		t.Fatal("relay or lamp left on after Close")
	}
	if err := h.b.SetRelay(true); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetRelay after Close = %v, want ErrClosed", err)
	}
	if level(h.relay) != gpio.Low {
		t.Fatal("relay closed after Close")
	}
	if _, ok := <-h.b.Events(); ok {
		t.Fatal("Events not closed by Close")
	}
}

func TestHaltDrivesRelayOff(t *testing.T) {
	h := newPinBooth(t, true, nil, nil)
	_ = h.b.SetRelay(true)
	if err := h.b.Halt(); err != nil || level(h.relay) != gpio.Low {
		t.Fatalf("Halt() = %v, relay %v: want off", err, level(h.relay))
	}
}

func TestRelayWelded(t *testing.T) {
	h := newPinBooth(t, true, nil, nil)
	h.at(100 * ms)
	_ = h.b.SetRelay(true)
	h.edge(h.feedback, gpio.Low)
	h.at(time.Second)
	_ = h.b.SetRelay(false) // the contact stays closed
	h.at(time.Second + 50*ms)
	e := nextEvent(t, h.b)
	if e.Kind != RelayFault || !strings.Contains(fmt.Sprint(e.Err), "welded") {
		t.Fatalf("event %v (%v), want relay_fault naming a welded contact", e.Kind, e.Err)
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
