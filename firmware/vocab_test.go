package main

import (
	"slices"
	"testing"

	"wartelsuspas/drivers/booth"
	"wartelsuspas/kiosk/signal"
)

// TestSignalsHavePatterns: the booth driver has a lamp pattern for every
// signal the engine shows (kiosk/signal.All), and no pattern the engine
// never asks for. drivers/booth cannot import kiosk, so the two lists meet
// here, where the daemon wires one to the other; drivers/booth's
// TestLampsDocListsEverySignal then gives every pattern its row in
// docs/lamps.md.
func TestSignalsHavePatterns(t *testing.T) {
	patterns := booth.Signals()
	for _, s := range signal.All {
		if !slices.Contains(patterns, string(s)) {
			t.Errorf("signal %q has no pattern in drivers/booth DefaultPatterns", s)
		}
	}
	for _, p := range patterns {
		if !slices.Contains(signal.All, signal.Signal(p)) {
			t.Errorf("drivers/booth pattern %q is no signal of kiosk/signal.All", p)
		}
	}
}
