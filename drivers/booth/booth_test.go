// The pin booth every test here starts (gpiotest pins, a fake clock), and
// tests of New, Halt and Close driving the relay off.

package booth

import (
	"errors"
	"fmt"
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
