package session

import (
	"errors"
	"slices"
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// TestEveryEventRecorded: each word of the booth's event vocabulary has a
// way to happen at the booth, and when it happens the booth records it
// (and so the centre can list and count it). A word added to
// record.AllEvents without a scenario here fails the test.
func TestEveryEventRecorded(t *testing.T) {
	scenarios := map[record.EventName]struct {
		before func(r *rig) // before boot
		script []any
	}{
		record.EventTamper:     {script: []any{Tamper{Open: true}}},
		record.EventRelayFault: {script: []any{RelayFault{Err: errors.New("relay feedback stuck")}}},
		record.EventReaderDown: {script: []any{Reader{Up: false, Err: errors.New("port closed")}}},
		record.EventReaderUp:   {script: []any{Reader{Up: false, Err: errors.New("port closed")}, Reader{Up: true}}},
		record.EventPowerLossRecovered: {before: func(r *rig) {
			id, err := r.st.OpenCall(record.Call{Card: inmate1, Inmate: "i1", Period: day, MaxMs: 120000, ClockTrusted: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.st.Checkpoint(id, 5*time.Second); err != nil {
				t.Fatal(err)
			}
		}},
		record.EventClockUntrusted:    {script: []any{ClockTrust{Trusted: false}}},
		record.EventClockTrusted:      {script: []any{ClockTrust{Trusted: false}, ClockTrust{Trusted: true}}},
		record.EventPolicyApplied:     {script: []any{Policy{Rules: rules()}}},
		record.EventDenialsUnrecorded: {script: []any{broken(true), tap(inmate1), broken(false), 10 * sec}},
		record.EventModemDown:         {before: withModem, script: []any{ModemHealth{Up: false, Cause: "no_network"}}},
		record.EventModemUp:           {before: withModem, script: []any{ModemHealth{Up: false, Cause: "no_sim"}, ModemHealth{Up: true}}},
		record.EventIncomingRefused:   {before: withModem, script: []any{Incoming{From: "+6287777777777"}}},
		record.EventHookSuspect:       {script: []any{tap(inmate1), time.Minute, tap(inmate1), time.Minute, tap(inmate1), time.Minute}},
		record.EventHookOK:            {script: []any{tap(inmate1), time.Minute, tap(inmate1), time.Minute, tap(inmate1), time.Minute, offHook}},
	}
	for _, name := range record.AllEvents {
		t.Run(string(name), func(t *testing.T) {
			sc, ok := scenarios[name]
			if !ok {
				t.Fatalf("no scenario makes the booth record %q: add one here", name)
			}
			r := newRig(t, nil)
			if sc.before != nil {
				sc.before(r)
			}
			r.boot()
			r.play(sc.script...)
			evs := r.st.Events()
			if !slices.ContainsFunc(evs, func(e record.Event) bool { return e.Event == name }) {
				t.Errorf("events %+v, want one %q", evs, name)
			}
			r.checkChain()
		})
	}
	for name := range scenarios {
		if !slices.Contains(record.AllEvents, name) {
			t.Errorf("scenario for %q, which record.AllEvents does not list", name)
		}
	}
}
