package booth

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"wartelsuspas/clock"
)

// hang bounds waits on real goroutines; it only catches a hang.
const hang = 10 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// simBooth is a Booth on the simulated backend under a fake clock.
type simBooth struct {
	t   *testing.T
	clk *clock.Fake
	sim *Sim
	b   *Booth
	cfg Config
}

func newSimBooth(t *testing.T, mod func(*Options)) *simBooth {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC))
	cfg := DefaultConfig()
	o := Options{Config: cfg, Clock: clk, Logger: quiet}
	if mod != nil {
		mod(&o)
	}
	sim, err := NewSim(SimOptions{Clock: clk, Labels: o.Config.Labels()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	if o.Config.Tamper != "" {
		_ = sim.SetInput(o.Config.Tamper, gpio.Low) // panel closed
	}
	o.Backend = sim
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &simBooth{t: t, clk: clk, sim: sim, b: b, cfg: o.Config}
}

// advanceTo moves the fake clock to mono time t, letting the booth's loop
// handle each of its wake-ups at its exact instant on the way.
func advanceTo(clk *clock.Fake, b *Booth, t time.Duration) {
	// A round trip first: the loop has finished whatever woke it last and
	// its timer is armed, so no firing is lost to a concurrent Reset.
	_ = b.do(func(time.Duration) error { return nil })
	for {
		now := clk.Mono()
		d, ok := clk.NextDeadline()
		if !ok || now+d > t {
			if t > now {
				clk.Advance(t - now)
			}
			return
		}
		n := b.firedCount()
		clk.Advance(d)
		b.waitFired(n + 1)
	}
}

// shown reads the discrete lamps and the buzzer off the simulated pins.
func (h *simBooth) shown() (Lamp, bool) {
	var l Lamp
	for pin, lamp := range map[string]Lamp{h.cfg.LampGreen: Green, h.cfg.LampAmber: Amber, h.cfg.LampRed: Red} {
		if v, _ := h.sim.Level(pin); bool(v) != h.cfg.LampsActiveLow {
			l |= lamp
		}
	}
	bz, _ := h.sim.Level(h.cfg.Buzzer)
	return l, bool(bz) != h.cfg.BuzzerActiveLow
}

func (h *simBooth) relay() bool {
	v, _ := h.sim.Level(h.cfg.Relay)
	return bool(v) != h.cfg.RelayActiveLow
}

// nextEvent waits for the booth's next event.
func nextEvent(t *testing.T, b *Booth) Event {
	t.Helper()
	select {
	case e, ok := <-b.Events():
		if !ok {
			t.Fatal("Events closed")
		}
		return e
	case <-time.After(hang):
		t.Fatal("no event within the hang bound")
	}
	return Event{}
}

// queued reports the events the booth holds that nobody took yet; with the
// test as the only reader, none are in flight.
func queued(t *testing.T, b *Booth) []Event {
	t.Helper()
	var q []Event
	if err := b.do(func(time.Duration) error { q = append(q, b.queue...); return nil }); err != nil {
		t.Fatal(err)
	}
	return q
}
