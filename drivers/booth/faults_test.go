// Tests of the relay feedback and its fault latch (faults.go).

package booth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
)

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
