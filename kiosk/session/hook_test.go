package session

import (
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// TestHookSwitchSuspect: calls in a row that end with the hook switch never
// changing report it as suspect, once, with the way it reads; any change
// of the switch reports it working again; a call that moves it, or one the
// booth's own fault ended, breaks or skips the count.
func TestHookSwitchSuspect(t *testing.T) {
	noLift := []any{tap(inmate1), 21 * sec, time.Minute} // granted, never lifted: no_offhook
	stuckUp := []any{tap(inmate1), 10 * sec, tap(inmate1), time.Minute}
	normal := []any{tap(inmate2), offHook, 5 * sec, onHook, time.Minute}
	repeat := func(n int, s []any) []any {
		var out []any
		for range n {
			out = append(out, s...)
		}
		return out
	}
	tests := []struct {
		name    string
		dial    bool
		mod     func(*Config)
		script  []any
		suspect string // a word of the hook_suspect detail; "" for none
		// outOfService: the booth refuses calls until the switch moves
		// (stuck off-hook: each call would bill to its limit).
		outOfService bool
	}{
		{name: "stuck on-hook: three calls never lifted", script: repeat(3, noLift), suspect: "never lifted"},
		{name: "two calls are not enough", script: repeat(2, noLift)},
		{name: "a call that lifts breaks the count", script: append(append(repeat(2, noLift), normal...), repeat(2, noLift)...)},
		{name: "stuck off-hook: three calls never put down", mod: func(c *Config) { c.SecondTapEnds = true },
			script: append([]any{offHook}, repeat(3, stuckUp)...), suspect: "never put down", outOfService: true},
		{name: "a call ended by a tamper is not counted", script: append(repeat(2, noLift), tap(inmate1), 5*sec, Tamper{Open: true}, time.Minute)},
		{name: "a call ended by a relay fault is not counted", script: append(repeat(2, noLift), tap(inmate1), 5*sec, RelayFault{Err: errDisk}, time.Minute)},
		{name: "one call when configured so", mod: func(c *Config) { c.HookStillCalls = 1 }, script: noLift, suspect: "1 call(s) in a row"},
		{name: "booth with a modem: chosen, never lifted", dial: true, script: repeat(3, []any{tap(inmate1), keys("1#"), time.Minute}), suspect: "never lifted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.mod)
			if tt.dial {
				r = newDialRig(t, tt.mod)
				r.au = &fakeAuth{remote: Remote{Remaining: 5 * time.Minute, Lease: "L-1"}}
			}
			r.boot()
			r.play(tt.script...)
			var got []record.Event
			for _, ev := range r.st.Events() {
				if ev.Event == record.EventHookSuspect || ev.Event == record.EventHookOK {
					got = append(got, ev)
				}
			}
			if tt.suspect == "" {
				if len(got) != 0 || r.e.Status().HookSuspect {
					t.Fatalf("hook events %+v, status suspect %v: want none", got, r.e.Status().HookSuspect)
				}
				return
			}
			if len(got) != 1 || got[0].Event != record.EventHookSuspect || !strings.Contains(got[0].Detail, tt.suspect) {
				t.Fatalf("hook events %+v: want one hook_suspect saying %q", got, tt.suspect)
			}
			if !r.e.Status().HookSuspect {
				t.Fatal("status does not show the hook switch suspect")
			}
			st := r.e.Status()
			if out := slices.Contains(st.OutOfService, CauseHook); out != tt.outOfService || out != (st.State == StateOutOfService) {
				t.Fatalf("state %s, out of service %v: want out of service for the hook switch %v", st.State, st.OutOfService, tt.outOfService)
			}
			calls, denials := len(r.st.Calls()), len(r.st.Denials())
			// More calls like them say nothing more.
			r.play(tt.script...)
			if tt.outOfService {
				// Refused, never granted: nobody is billed for a switch that
				// cannot tell a hang-up.
				if n, d := len(r.st.Calls()), r.st.Denials(); n != calls || len(d) == denials || d[len(d)-1].Reason != policy.ReasonOutOfService || r.b.Relay() || r.b.LastSignal() != signal.OutOfService {
					t.Fatalf("taps out of service: %d calls (was %d), denials %+v, relay %v, lamps %s; want refused out_of_service, relay off, the out-of-service lamps", n, calls, d, r.b.Relay(), r.b.LastSignal())
				}
			}
			if n := len(r.st.Events()); n == 0 || r.st.Events()[n-1].Event == record.EventHookOK {
				t.Fatalf("events %+v", r.st.Events())
			}
			// The switch moves: it works again.
			r.play(Hook{OffHook: !r.e.Status().OffHook})
			evs := r.st.Events()
			var suspects, oks int
			for _, ev := range evs {
				switch ev.Event {
				case record.EventHookSuspect:
					suspects++
				case record.EventHookOK:
					oks++
				}
			}
			if suspects != 1 || oks != 1 || evs[len(evs)-1].Event != record.EventHookOK || r.e.Status().HookSuspect {
				t.Errorf("after the switch moved: %d hook_suspect, %d hook_ok, last %q, status suspect %v; want one of each, hook_ok last, not suspect",
					suspects, oks, evs[len(evs)-1].Event, r.e.Status().HookSuspect)
			}
			if st := r.e.Status(); st.State != StateReady || len(st.OutOfService) != 0 {
				t.Errorf("after the switch moved: state %s, out of service %v; want ready", st.State, st.OutOfService)
			}
			if tt.outOfService {
				if sig := r.b.LastSignal(); sig != signal.Ready {
					t.Errorf("after the switch moved: lamps %s, want %s", sig, signal.Ready)
				}
				r.play(normal...)
				if c := r.st.Calls(); len(c) == calls || c[len(c)-1].EndReason != EndHangup {
					t.Errorf("a call after the switch moved: calls %+v; want one ended by hang-up", c[calls:])
				}
			}
		})
	}
}
