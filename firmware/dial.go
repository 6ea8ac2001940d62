package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"

	"wartelsuspas/drivers/keypad"
	"wartelsuspas/drivers/modem"
	"wartelsuspas/firmware/config"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
)

// Dial control's wiring: the modem driver as the engine's Dialer, its
// events and the keypad's keys as engine inputs. drivers/modem imports
// nothing of kiosk, so its words meet kiosk's here (TestModemWords keeps
// the lists equal).

// modemDialer is the modem as the engine's Dialer.
type modemDialer struct{ m *modem.Modem }

// Dial implements session.Dialer.
// The engine's call id goes with the call to the driver and comes back in
// its every Progress event (modemInput): the engine takes progress only for
// the call in progress.
func (d modemDialer) Dial(call int64, e164 string) error { return d.m.Dial(call, e164) }

// HangUp implements session.Dialer.
func (d modemDialer) HangUp() error { return d.m.HangUp() }

// newModem opens the module [modem] names, or returns nil for a relay-only
// booth. Opening writes ATH before anything else, so a call a crash left up
// ends at start (the relay is already off). An error stops the daemon: a
// booth configured with a modem must never fall back to relay-only, where
// any number could be dialled on the handset.
func newModem(cfg *config.Config, backend string, log *slog.Logger) (*modem.Modem, error) {
	port, o, ok := cfg.ModemOptions()
	if !ok {
		return nil, nil
	}
	if pin := cfg.PowerKeyPin(); pin != "" {
		if p := gpioreg.ByName(pin); backend == "periph" && p != nil {
			o.PowerKey = p
		} else {
			log.Warn("modem power key pin not available: a hung module is reported but not reset", "pin", pin, "backend", backend)
		}
	}
	o.Log = log.With("part", "modem")
	m, err := modem.OpenPort(port, o)
	if err != nil {
		return nil, fmt.Errorf("modem: %w: check [modem] in %s", err, cfg.File())
	}
	log.Info("modem opened, any call hung up", "modem", m.String())
	return m, nil
}

// newKeypad opens the keypad [keypad] names, or returns nil without one.
// Its pins come from periph's registry. On the simulated backend the
// matrix is keypad.Sim, typed into through the file "keypad" of -sim-dir
// (the keys typed so far, rewritten whole): the real scanner reads it, as
// on a Pi. stop ends that file's watch.
func newKeypad(cfg *config.Config, backend, simDir string, log *slog.Logger, stop <-chan struct{}) (*keypad.Keypad, error) {
	rowNames, colNames := cfg.KeypadPins()
	if len(rowNames) == 0 {
		return nil, nil
	}
	if backend == "sim" {
		if simDir == "" {
			log.Warn("a simulated keypad needs -sim-dir (its keys are typed into the file keypad there): no keypad")
			return nil, nil
		}
		if len(rowNames) != len(keypad.DefaultLayout) || len(colNames) != len(keypad.DefaultLayout[0]) {
			return nil, fmt.Errorf("keypad: %d rows and %d columns: the simulated keypad is 4×3; check [keypad] in %s", len(rowNames), len(colNames), cfg.File())
		}
		m := keypad.NewSim(nil, keypad.SimHold(keypad.DefaultOptions))
		go m.WatchFile(filepath.Join(simDir, "keypad"), 20*time.Millisecond, stop)
		k, err := keypad.New(m.Rows(), m.Cols(), keypad.Options{})
		if err != nil {
			return nil, fmt.Errorf("%w: check [keypad] in %s", err, cfg.File())
		}
		log.Info("simulated keypad: type keys into the file keypad", "dir", simDir)
		return k, nil
	}
	if backend != "periph" {
		log.Warn("keypad pins not available on this GPIO backend: no keypad", "backend", backend)
		return nil, nil
	}
	var rows []gpio.PinOut
	var cols []gpio.PinIn
	for _, n := range rowNames {
		p := gpioreg.ByName(n)
		if p == nil {
			return nil, fmt.Errorf("keypad: no pin %s: check keypad.rows in %s", n, cfg.File())
		}
		rows = append(rows, p)
	}
	for _, n := range colNames {
		p := gpioreg.ByName(n)
		if p == nil {
			return nil, fmt.Errorf("keypad: no pin %s: check keypad.cols in %s", n, cfg.File())
		}
		cols = append(cols, p)
	}
	k, err := keypad.New(rows, cols, keypad.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w: check [keypad] in %s", err, cfg.File())
	}
	return k, nil
}

// modemInput turns one modem event into the engine's input (nil: none).
func modemInput(ev modem.Event) session.Input {
	switch ev.Kind {
	case modem.Progress:
		return session.CallProgress{Call: ev.Call, Stage: session.DialStage(ev.Stage), Outcome: record.Outcome(ev.Outcome)}
	case modem.Health:
		return session.ModemHealth{Up: ev.Up, Cause: string(ev.Cause), Err: ev.Err}
	case modem.Incoming:
		return session.Incoming{From: ev.From}
	case modem.Key:
		return session.Key{Digit: ev.Key}
	}
	return nil
}

// modemInputs feeds the modem's events to the engine until they close.
func (w *wiring) modemInputs(ctx context.Context, m *modem.Modem) {
	for ev := range m.Events() {
		if ev.Kind == modem.Incoming {
			w.log.Info("incoming call refused", "from", ev.From)
		}
		i := modemInput(ev)
		if i == nil {
			continue
		}
		if !w.send(ctx, i) {
			for range m.Events() { // until Halt closes them
			}
			return
		}
	}
}

// keypadInputs feeds key presses to the engine until the keypad halts.
func (w *wiring) keypadInputs(ctx context.Context, k *keypad.Keypad) {
	for r := range k.Keys() {
		if !w.send(ctx, session.Key{Digit: r}) {
			return
		}
	}
}

// modemFault is the heartbeat's fault for a modem down with cause.
func modemFault(c modem.Cause) fault {
	if c == modem.CauseModemFault {
		return faultModemFault
	}
	return fault("modem_" + string(c))
}

// modemFaults are the heartbeat's faults of the modem (none without one).
func modemFaults(m *modem.Modem) []string {
	if m == nil {
		return nil
	}
	if st := m.Status(); !st.Up && st.Cause != modem.CauseNone {
		return []string{string(modemFault(st.Cause))}
	}
	return nil
}
