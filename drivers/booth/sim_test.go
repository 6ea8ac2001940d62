package booth

import (
	"os"
	"path/filepath"
	"testing"

	"periph.io/x/conn/v3/gpio"
)

func TestSimRecordsChanges(t *testing.T) {
	h := newSimBooth(t, nil)
	before := len(h.sim.Changes())
	advanceTo(h.clk, h.b, 7*ms)
	_ = h.b.SetRelay(true)
	advanceTo(h.clk, h.b, 9*ms)
	_ = h.b.SetRelay(false)
	_ = h.b.SetRelay(false) // no change, no record
	got := h.sim.Changes()[before:]
	want := []Change{{"GPIO17", "relay", gpio.High, 7 * ms}, {"GPIO17", "relay", gpio.Low, 9 * ms}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("changes %v, want %v", got, want)
	}
}

func TestSimRefusesDirectionClash(t *testing.T) {
	s, _ := NewSim(SimOptions{})
	if _, err := s.Output("GPIO5", gpio.Low); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Input("GPIO5", gpio.PullUp); err == nil {
		t.Error("Input on an output pin succeeded")
	}
	if err := s.SetInput("GPIO5", gpio.High); err == nil {
		t.Error("SetInput on an output pin succeeded")
	}
}

// TestSimMirrorDir drives a booth through files, as another process would:
// it waits on real events with a bound, since the files are polled in
// real time.
func TestSimMirrorDir(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	if err := os.WriteFile(filepath.Join(dir, "tamper"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sim, err := NewSim(SimOptions{Dir: dir, Labels: cfg.Labels(), FilePoll: 5 * ms})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	b, err := New(Options{Config: cfg, Backend: sim, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	read := func(name string) string {
		v, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	if got := read("hook"); got != "1\n" {
		t.Errorf("hook file %q, want 1 (pull-up, on-hook)", got)
	}
	if err := b.SetRelay(true); err != nil {
		t.Fatal(err)
	}
	if got := read("relay"); got != "1\n" {
		t.Errorf("relay file %q after SetRelay(true), want 1", got)
	}
	// Lift the handset by writing the file.
	tmp := filepath.Join(dir, "hook.tmp")
	if err := os.WriteFile(tmp, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "hook")); err != nil {
		t.Fatal(err)
	}
	if e := nextEvent(t, b); e.Kind != HookOff {
		t.Fatalf("event %v, want hook_off", e.Kind)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := read("relay"); got != "0\n" {
		t.Errorf("relay file %q after Close, want 0", got)
	}
}

func BenchmarkSetRelaySim(b *testing.B) {
	sim, _ := NewSim(SimOptions{})
	_ = sim.SetInput("GPIO6", gpio.Low) // panel closed
	bo, err := New(Options{Config: DefaultConfig(), Backend: sim, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer bo.Close()
	on := false
	for b.Loop() {
		on = !on
		if err := bo.SetRelay(on); err != nil {
			b.Fatal(err)
		}
	}
}
