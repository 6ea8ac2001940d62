package booth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// TestPanicInChildGoroutineDrivesRelayOff runs a panicking goroutine under
// the guard with a recorder in place of the re-panic.
func TestPanicInChildGoroutineDrivesRelayOff(t *testing.T) {
	h := newSimBooth(t, nil)
	if err := h.b.SetRelay(true); err != nil {
		t.Fatal(err)
	}
	rethrown := make(chan any, 1)
	go h.b.guarded(func() { panic("child goroutine failed") }, func(v any) { rethrown <- v })
	select {
	case v := <-rethrown:
		if v != "child goroutine failed" {
			t.Fatalf("rethrown %v, want the original panic value", v)
		}
	case <-time.After(hang):
		t.Fatal("the panic was not passed on")
	}
	if h.relay() {
		t.Fatal("relay on after a panic in a child goroutine")
	}
}

func TestGuardDrivesRelayOffAndPanicsOn(t *testing.T) {
	h := newSimBooth(t, nil)
	if err := h.b.SetRelay(true); err != nil {
		t.Fatal(err)
	}
	var got any
	func() {
		defer func() { got = recover() }()
		defer h.b.Guard()
		panic("main goroutine failed")
	}()
	if got != "main goroutine failed" {
		t.Fatalf("Guard swallowed or changed the panic: %v", got)
	}
	if h.relay() {
		t.Fatal("relay on after a guarded panic")
	}
}

func TestGuardWithoutPanicDoesNothing(t *testing.T) {
	h := newSimBooth(t, nil)
	_ = h.b.SetRelay(true)
	func() { defer h.b.Guard() }()
	if !h.relay() {
		t.Fatal("Guard drove the relay off without a panic")
	}
}

func TestOffOnSignal(t *testing.T) {
	h := newSimBooth(t, nil)
	got, stop := h.b.OffOnSignal(syscall.SIGUSR1)
	defer stop()
	if err := h.b.SetRelay(true); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != syscall.SIGUSR1 {
			t.Fatalf("passed on %v", s)
		}
	case <-time.After(hang):
		t.Fatal("signal not passed on")
	}
	if h.relay() {
		t.Fatal("relay on after the signal")
	}
}

func TestTamperLatchesOutOfService(t *testing.T) {
	h := newSimBooth(t, nil)
	_ = h.b.Show("talking")
	if err := h.b.SetRelay(true); err != nil {
		t.Fatal(err)
	}
	start := h.clk.Mono()
	_ = h.sim.SetInput(h.cfg.Tamper, gpio.High) // panel opened
	h.b.waitObserved(1)
	advanceTo(h.clk, h.b, start+30*ms)
	if e := nextEvent(t, h.b); e.Kind != TamperOpen {
		t.Fatalf("event %v, want tamper_open", e.Kind)
	}
	if h.relay() {
		t.Fatal("relay on after the panel opened")
	}
	if l, bz := h.shown(); l != Red || !bz {
		t.Errorf("lamps %v buzzer %v, want the tamper pattern (red, buzzer)", l, bz)
	}
	if err := h.b.SetRelay(true); !errors.Is(err, ErrOutOfService) {
		t.Fatalf("SetRelay(true) with the panel open = %v, want ErrOutOfService", err)
	}
	_ = h.b.Show("ready") // the engine's signal waits behind the latch
	if l, _ := h.shown(); l != Red {
		t.Errorf("lamps %v, want the tamper pattern to stay", l)
	}
	if err := h.b.ClearFaults(); err == nil || !strings.Contains(err.Error(), "still open") {
		t.Fatalf("ClearFaults with the panel open = %v, want a refusal", err)
	}
	_ = h.sim.SetInput(h.cfg.Tamper, gpio.Low)
	h.b.waitObserved(2)
	advanceTo(h.clk, h.b, start+time.Second)
	if e := nextEvent(t, h.b); e.Kind != TamperClosed {
		t.Fatalf("event %v, want tamper_closed", e.Kind)
	}
	if err := h.b.SetRelay(true); !errors.Is(err, ErrOutOfService) {
		t.Fatalf("SetRelay(true) after the panel closed, before an officer = %v, want ErrOutOfService", err)
	}
	if err := h.b.ClearFaults(); err != nil {
		t.Fatal(err)
	}
	if l, _ := h.shown(); l != Green {
		t.Errorf("lamps %v after ClearFaults, want ready (green)", l)
	}
	if err := h.b.SetRelay(true); err != nil {
		t.Fatal(err)
	}
}

func TestTamperOpenAtStart(t *testing.T) {
	sim, _ := NewSim(SimOptions{})
	_ = sim.SetInput("GPIO6", gpio.High)
	b, err := New(Options{Config: DefaultConfig(), Backend: sim, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if e := nextEvent(t, b); e.Kind != TamperOpen {
		t.Fatalf("event %v, want tamper_open at start", e.Kind)
	}
	if err := b.SetRelay(true); !errors.Is(err, ErrOutOfService) {
		t.Fatalf("SetRelay(true) = %v, want ErrOutOfService", err)
	}
}

// TestHookLiftedAtStart: a handset that reads lifted when the driver starts
// is reported as a lift, so the engine knows it; one on its cradle says
// nothing.
func TestHookLiftedAtStart(t *testing.T) {
	for _, lifted := range []bool{true, false} {
		sim, _ := NewSim(SimOptions{})
		_ = sim.SetInput("GPIO6", gpio.Low) // the panel closed
		if lifted {
			_ = sim.SetInput("GPIO5", gpio.Low) // hook_active_low: low is off-hook
		}
		b, err := New(Options{Config: DefaultConfig(), Backend: sim, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if lifted {
			if e := nextEvent(t, b); e.Kind != HookOff {
				t.Errorf("lifted at start: event %v, want hook_off", e.Kind)
			}
		} else {
			// The next event is the panel opened after the start: no
			// lift came before it.
			_ = sim.SetInput("GPIO6", gpio.High)
			if e := nextEvent(t, b); e.Kind != TamperOpen {
				t.Errorf("on its cradle at start, then the panel opened: event %v, want tamper_open", e.Kind)
			}
		}
		b.Close()
	}
}

func TestSafeOff(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	for _, activeLow := range []bool{false, true} {
		cfg.RelayActiveLow = activeLow
		sim, err := NewSim(SimOptions{Dir: dir, Labels: cfg.Labels()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sim.Output("GPIO17", gpio.Level(!activeLow)); err != nil { // left on
			t.Fatal(err)
		}
		if err := SafeOff(cfg, sim); err != nil {
			t.Fatal(err)
		}
		if got := sim.Pins(); len(got) != 1 {
			t.Errorf("SafeOff touched %v, want the relay pin only", got)
		}
		want := "0\n"
		if activeLow {
			want = "1\n"
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "relay")); string(b) != want {
			t.Errorf("active_low=%v: relay file %q, want %q", activeLow, b, want)
		}
		sim.Close()
	}
	cfg.Relay = "GPIO99"
	if err := SafeOff(cfg, &Sim{}); err == nil || !strings.Contains(err.Error(), "gpio.relay") {
		t.Errorf("SafeOff with a bad pin = %v, want an error naming gpio.relay", err)
	}
}
