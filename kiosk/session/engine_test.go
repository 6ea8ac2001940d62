package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/cardtag"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session/sessiontest"
)

const sec = time.Second

// TestCallEnds covers every way a call ends: each ends with the relay off at
// the expected monotonic instant and exactly one call record whose charge
// follows the billing rule.
func TestCallEnds(t *testing.T) {
	// Every script taps at mono 0 and lifts the handset at mono 1 s.
	begin := []any{tap(inmate1), 1 * sec, offHook}
	script := func(rest ...any) []any { return append(slices.Clone(begin), rest...) }
	for _, tc := range []struct {
		name    string
		mod     func(*Config)
		script  []any
		reason  record.EndReason
		talked  time.Duration
		charged time.Duration
		offAt   time.Duration // mono instant the relay opened
		state   State
		onAt    time.Duration // mono instant the relay closed, when the handset is lifted later than 1 s
	}{
		{name: "hangup", script: script(90*sec+300*time.Millisecond, onHook, time.Minute),
			reason: EndHangup, talked: 90*sec + 300*time.Millisecond, charged: 90 * sec, offAt: 91*sec + 300*time.Millisecond, state: StateReady},
		{name: "quota cut-off at the allowed instant", script: append([]any{setUsage("i1", record.Usage{Used: 8 * time.Minute})}, script(10*time.Minute)...),
			reason: "quota", talked: 2 * time.Minute, charged: 2 * time.Minute, offAt: 1*sec + 2*time.Minute, state: StateReady},
		{name: "per-call cap", mod: func(c *Config) { c.Rules.PerCall = 3 * time.Minute }, script: script(10 * time.Minute),
			reason: "per_call_cap", talked: 3 * time.Minute, charged: 3 * time.Minute, offAt: 1*sec + 3*time.Minute, state: StateReady},
		{name: "closing time", script: append([]any{func(r *rig) { r.fc.SetWall(time.Date(2026, 11, 30, 16, 58, 0, 0, wib)) }}, script(10*time.Minute)...),
			reason: "closing", talked: 2*time.Minute - sec, charged: 2*time.Minute - sec, offAt: 2 * time.Minute, state: StateClosed},
		// The quota is the least bound at the tap, but the handset is
		// lifted late: closing is an instant, and still cuts the call.
		{name: "closing reached before a quota that was less at the tap", script: []any{
			setUsage("i1", record.Usage{Used: 2*time.Minute + 5*sec}), func(r *rig) { r.fc.SetWall(time.Date(2026, 11, 30, 16, 52, 0, 0, wib)) },
			tap(inmate1), 15 * sec, offHook, 10 * time.Minute},
			reason: "closing", talked: 7*time.Minute + 45*sec, charged: 7*time.Minute + 45*sec, offAt: 8 * time.Minute, state: StateClosed, onAt: 15 * sec},
		{name: "turn end", mod: func(c *Config) {
			c.Rules.Rotation = policy.Rotation{"A": {Weekly: map[time.Weekday][]policy.Window{time.Monday: {{From: 9 * 60, To: 9*60 + 4}}}}}
		}, script: script(10 * time.Minute),
			reason: "turn_end", talked: 4*time.Minute - sec, charged: 4*time.Minute - sec, offAt: 4 * time.Minute, state: StateReady},
		{name: "no off-hook: cancelled, not charged", script: []any{tap(inmate1), time.Minute},
			reason: EndNoOffHook, offAt: 20 * sec, state: StateReady},
		{name: "handset already lifted at the tap", script: []any{offHook, tap(inmate1), 30 * sec, onHook},
			reason: EndHangup, talked: 30 * sec, charged: 30 * sec, offAt: 30 * sec, state: StateReady},
		{name: "second tap ends when configured", mod: func(c *Config) { c.SecondTapEnds = true }, script: script(40*sec, tap(inmate1)),
			reason: EndSecondTap, talked: 40 * sec, charged: 40 * sec, offAt: 41 * sec, state: StateReady},
		{name: "second tap ignored by default", script: script(40*sec, tap(inmate1), 20*sec, onHook),
			reason: EndHangup, talked: 60 * sec, charged: 60 * sec, offAt: 61 * sec, state: StateReady},
		{name: "card removed does not end a call", script: script(10*sec, CardRemoved{Card: inmate1}, 50*sec, onHook),
			reason: EndHangup, talked: 60 * sec, charged: 60 * sec, offAt: 61 * sec, state: StateReady},
		{name: "reader down does not end a call", script: script(10*sec, Reader{Up: false, Err: errDisk}, 50*sec, onHook),
			reason: EndHangup, talked: 60 * sec, charged: 60 * sec, offAt: 61 * sec, state: StateOutOfService},
		{name: "other inmate's tap ignored", script: script(10*sec, tap(inmate2), 5*sec, onHook),
			reason: EndHangup, talked: 15 * sec, charged: 15 * sec, offAt: 16 * sec, state: StateReady},
		{name: "officer ends the call", script: script(10*sec+500*time.Millisecond, tap(officer1)),
			reason: EndOfficer, talked: 10*sec + 500*time.Millisecond, charged: 10 * sec, offAt: 11*sec + 500*time.Millisecond, state: StateReady},
		{name: "tamper", script: script(12*sec, Tamper{Open: true}),
			reason: EndTamper, talked: 12 * sec, charged: 12 * sec, offAt: 13 * sec, state: StateTamper},
		{name: "relay fault", script: script(12*sec, RelayFault{Err: fmt.Errorf("read-back low")}),
			reason: EndFault, talked: 12 * sec, charged: 12 * sec, offAt: 13 * sec, state: StateOutOfService},
		{name: "shutdown", script: script(12*sec, func(r *rig) { r.e.Shutdown() }),
			reason: EndShutdown, talked: 12 * sec, charged: 12 * sec, offAt: 13 * sec, state: StateReady},
		{name: "checkpoint fails: ended safely at the checkpoint", script: script(failOp("Checkpoint", errDisk), time.Minute),
			reason: EndStoreError, talked: 5 * sec, charged: 5 * sec, offAt: 6 * sec, state: StateReady},
		{name: "per-minute billing rounds up", mod: func(c *Config) { c.Rules.Billing.Unit = policy.PerStartedMinute }, script: script(61*sec, onHook),
			reason: EndHangup, talked: 61 * sec, charged: 2 * time.Minute, offAt: 62 * sec, state: StateReady},
		{name: "a minimum charge for a short call", mod: func(c *Config) { c.Rules.Billing.Minimum = time.Minute }, script: script(5*sec, onHook),
			reason: EndHangup, talked: 5 * sec, charged: time.Minute, offAt: 6 * sec, state: StateReady},
		// A call the booth itself cut short is billed the seconds talked:
		// never rounded up to the started minute, nor to the minimum.
		{name: "relay fault, per-minute billing: the seconds talked", mod: perMinuteWithMinimum, script: script(61*sec+500*time.Millisecond, RelayFault{Err: fmt.Errorf("read-back low")}),
			reason: EndFault, talked: 61*sec + 500*time.Millisecond, charged: 61 * sec, offAt: 62*sec + 500*time.Millisecond, state: StateOutOfService},
		{name: "shutdown, per-minute billing: the seconds talked", mod: perMinuteWithMinimum, script: script(61*sec, func(r *rig) { r.e.Shutdown() }),
			reason: EndShutdown, talked: 61 * sec, charged: 61 * sec, offAt: 62 * sec, state: StateReady},
		{name: "checkpoint fails, per-minute billing with a minimum: the seconds talked", mod: perMinuteWithMinimum, script: script(failOp("Checkpoint", errDisk), time.Minute),
			reason: EndStoreError, talked: 5 * sec, charged: 5 * sec, offAt: 6 * sec, state: StateReady},
		{name: "the officer ends it, per-minute billing: the policy's rule", mod: perMinuteWithMinimum, script: script(10*sec, tap(officer1)),
			reason: EndOfficer, talked: 10 * sec, charged: 2 * time.Minute, offAt: 11 * sec, state: StateReady},
		{name: "wall clock +1h mid-call changes nothing", script: append([]any{setUsage("i1", record.Usage{Used: 8 * time.Minute})}, script(30*sec, jumpWall(time.Hour), 10*time.Minute)...),
			reason: "quota", talked: 2 * time.Minute, charged: 2 * time.Minute, offAt: 1*sec + 2*time.Minute, state: StateReady},
		{name: "wall clock -1h mid-call changes nothing", script: append([]any{setUsage("i1", record.Usage{Used: 8 * time.Minute})}, script(30*sec, jumpWall(-time.Hour), 10*time.Minute)...),
			reason: "quota", talked: 2 * time.Minute, charged: 2 * time.Minute, offAt: 1*sec + 2*time.Minute, state: StateReady},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.mod).boot()
			r.play(tc.script...)
			c := r.onlyCall()
			if c.EndReason != tc.reason || c.TalkedMs != tc.talked.Milliseconds() || c.ChargedMs != tc.charged.Milliseconds() {
				t.Errorf("call ended %q talked %dms charged %dms, want %q %dms %dms", c.EndReason, c.TalkedMs, c.ChargedMs, tc.reason, tc.talked.Milliseconds(), tc.charged.Milliseconds())
			}
			if r.b.Relay() {
				t.Error("relay still on after the call ended")
			}
			if got := r.lastRelayOff(); got != tc.offAt {
				t.Errorf("relay opened at mono %v, want %v", got, tc.offAt)
			}
			// The relay closes with the talk time, when the handset is
			// lifted, never at the tap: a hook switch that reads on-hook
			// (held down, its wire cut) passes nothing.
			want := []time.Duration{1 * sec}
			if tc.onAt > 0 {
				want = []time.Duration{tc.onAt}
			}
			switch {
			case tc.reason == EndNoOffHook:
				want = nil
			case tc.script[0] == any(offHook):
				want = []time.Duration{0}
			}
			if on := r.relayOn(); !slices.Equal(on, want) {
				t.Errorf("relay closed at %v, want at %v (when the handset was lifted)", on, want)
			}
			if got := r.e.Status().State; got != tc.state {
				t.Errorf("state after the call = %s, want %s", got, tc.state)
			}
			if open := r.st.Open(); len(open) != 0 {
				t.Errorf("calls left open in the journal: %v", open)
			}
			r.checkChain()
		})
	}
}

// TestDenials covers each denial: recorded once, the right signal, the
// relay never closed.
func TestDenials(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*Config)
		setup  []any
		card   string
		reason policy.Reason
		signal Signal
	}{
		{name: "unknown card", card: unknown, reason: policy.ReasonUnknownCard, signal: "denied_card"},
		{name: "blocked inmate", card: blocked, reason: policy.ReasonBlockedCard, signal: "denied_card"},
		{name: "revoked officer card", card: revoked, reason: policy.ReasonBlockedCard, signal: "denied_card"},
		{name: "no minutes", card: inmate1, setup: []any{setUsage("i1", record.Usage{Used: 10 * time.Minute})}, reason: policy.ReasonNoMinutes, signal: "denied_quota"},
		{name: "outside hours", card: inmate1, setup: []any{func(r *rig) { r.fc.SetWall(start.Add(9 * time.Hour)) }}, reason: policy.ReasonOutsideHours, signal: "denied_time"},
		{name: "clock untrusted, refuse rule", mod: func(c *Config) { c.ClockTrustedAtStart = false }, card: inmate1, reason: policy.ReasonClockUntrusted, signal: "denied_time"},
		{name: "clock trust lost", card: inmate1, setup: []any{ClockTrust{Trusted: false}}, reason: policy.ReasonClockUntrusted, signal: "denied_time"},
		{name: "too soon", mod: func(c *Config) { c.Rules.MinGap = 10 * time.Minute }, card: inmate1,
			setup: []any{tap(inmate1), offHook, time.Minute, onHook, 5 * time.Minute}, reason: policy.ReasonTooSoon, signal: "denied_quota"},
		{name: "reader down", card: inmate1, setup: []any{Reader{Up: false, Err: errDisk}}, reason: policy.ReasonOutOfService, signal: "out_of_service"},
		{name: "tamper", card: inmate1, setup: []any{Tamper{Open: true}}, reason: policy.ReasonOutOfService, signal: "out_of_service"},
		{name: "OpenCall fails", card: inmate1, setup: []any{failOp("OpenCall", errDisk)}, reason: policy.ReasonOutOfService, signal: "out_of_service"},
		{name: "centre says busy", mod: func(c *Config) {}, card: inmate1, setup: []any{func(r *rig) {
			r.au = &fakeAuth{remote: Remote{Busy: true}}
			r.boot()
		}}, reason: ReasonBusy, signal: "denied_card"},
		{name: "centre says no minutes", card: inmate1, setup: []any{func(r *rig) {
			r.au = &fakeAuth{remote: Remote{Remaining: 500 * time.Millisecond}}
			r.boot()
		}}, reason: policy.ReasonNoMinutes, signal: "denied_quota"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.mod).boot()
			r.play(tc.setup...)
			before := len(r.st.Denials())
			onBefore := len(r.relayOn())
			r.play(tap(tc.card))
			ds := r.st.Denials()
			if len(ds) != before+1 {
				t.Fatalf("%d new denial records, want 1", len(ds)-before)
			}
			d := ds[len(ds)-1]
			if d.Reason != tc.reason || d.Card != tc.card {
				t.Errorf("denial %+v, want reason %s for %s", d, tc.reason, tc.card)
			}
			if d.ClockTrusted != r.e.Status().ClockTrusted {
				t.Errorf("denial ClockTrusted %v, engine %v", d.ClockTrusted, r.e.Status().ClockTrusted)
			}
			if got := r.b.LastSignal(); got != tc.signal {
				t.Errorf("signal %q, want %q", got, tc.signal)
			}
			if len(r.relayOn()) != onBefore || r.b.Relay() {
				t.Error("relay closed on a denied tap")
			}
			r.checkChain()
		})
	}
}

// TestWarnings checks the warning signals come at Max−60 s and Max−10 s of
// talk, on the monotonic clock, and a warning longer than Max is skipped.
func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		name      string
		used      time.Duration
		minuteAt  []time.Duration
		secondsAt []time.Duration
	}{
		{name: "2 minutes left", used: 8 * time.Minute, minuteAt: []time.Duration{2*sec + 60*sec}, secondsAt: []time.Duration{2*sec + 110*sec}},
		{name: "45 seconds left: no minute warning", used: 10*time.Minute - 45*sec, secondsAt: []time.Duration{2*sec + 35*sec}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil).boot()
			r.play(setUsage("i1", record.Usage{Used: tc.used}), tap(inmate1), 2*sec, offHook, jumpWall(-3*time.Hour), 10*time.Minute)
			if got := r.signalAt("warning_minute"); !slices.Equal(got, tc.minuteAt) {
				t.Errorf("warning_minute at %v, want %v", got, tc.minuteAt)
			}
			if got := r.signalAt("final_seconds"); !slices.Equal(got, tc.secondsAt) {
				t.Errorf("final_seconds at %v, want %v", got, tc.secondsAt)
			}
		})
	}
}

// TestCheckpoints checks the journal holds the talk time every 5 s.
func TestCheckpoints(t *testing.T) {
	r := newRig(t, nil).boot()
	r.play(tap(inmate1), offHook)
	for _, want := range []time.Duration{0, 0, 5 * sec, 5 * sec, 10 * sec} {
		id := r.e.Status().CallID
		oc, ok := r.st.Journal(id)
		if !ok {
			t.Fatalf("call %d not in the journal while talking", id)
		}
		if got := time.Duration(oc.Call.TalkedMs) * time.Millisecond; got != want {
			t.Errorf("at %v the checkpoint is %v, want %v", r.fc.Mono(), got, want)
		}
		r.play(2500 * time.Millisecond)
	}
}

// TestStoreFailures: a store error ends a call safely, refuses new calls, and
// the booth comes back by itself once the store writes again, with every
// record written once.
func TestStoreFailures(t *testing.T) {
	t.Run("close fails at hangup: kept and closed after the probe", func(t *testing.T) {
		r := newRig(t, nil).boot()
		r.play(tap(inmate1), offHook, 30*sec, broken(true), onHook)
		if r.b.Relay() {
			t.Fatal("relay on after hang-up with a broken store")
		}
		if s := r.e.Status(); s.State != StateOutOfService || s.PendingCloses != 1 {
			t.Fatalf("status %+v, want out of service with 1 pending close", s)
		}
		r.play(tap(inmate2), 30*sec) // denied, counted: the store cannot write
		if n := len(r.st.Calls()); n != 0 {
			t.Fatalf("%d call records while broken", n)
		}
		r.play(broken(false), 10*sec)
		c := r.onlyCall()
		if c.EndReason != EndHangup || c.TalkedMs != 30000 {
			t.Errorf("call %+v, want hangup talked 30s", c)
		}
		if s := r.e.Status(); s.State != StateReady {
			t.Errorf("state %s after recovery, want ready", s.State)
		}
		evs := r.st.Events()
		if len(evs) != 1 || evs[0].Event != "denials_unrecorded" || evs[0].Detail != "1" {
			t.Errorf("events %+v, want one denials_unrecorded 1", evs)
		}
		r.play(tap(inmate2), offHook, 10*sec, onHook)
		if n := len(r.st.Calls()); n != 2 {
			t.Errorf("after recovery %d calls, want 2", n)
		}
		r.checkChain()
	})
	t.Run("checkpoint and close fail: billed once after the probe", func(t *testing.T) {
		r := newRig(t, nil).boot()
		r.play(tap(inmate1), offHook, 7*sec, broken(true), 20*sec)
		if r.b.Relay() || r.lastRelayOff() != 10*sec {
			t.Fatalf("relay on=%v, opened at %v; want off at the failed checkpoint (10s)", r.b.Relay(), r.lastRelayOff())
		}
		r.play(broken(false), 30*sec)
		c := r.onlyCall()
		if c.EndReason != EndStoreError || c.TalkedMs != 10000 || c.ChargedMs != 10000 {
			t.Errorf("call %+v, want store_error talked 10s", c)
		}
		if u := r.st.UsageOf("i1", day); u.Used != 10*sec {
			t.Errorf("usage %v, want 10s billed once", u.Used)
		}
	})
	t.Run("probe keeps failing: stays out of service", func(t *testing.T) {
		r := newRig(t, nil).boot()
		r.play(broken(true), tap(inmate1), time.Minute, tap(inmate1), time.Minute)
		if s := r.e.Status(); s.State != StateOutOfService || s.Unrecorded != 2 {
			t.Errorf("status %+v, want out of service with 2 unrecorded denials", s)
		}
		if len(r.relayOn()) != 0 {
			t.Error("relay closed while the store was broken")
		}
	})
	t.Run("crash with a pending close: recovered at start", func(t *testing.T) {
		r := newRig(t, nil).boot()
		r.play(tap(inmate1), offHook, 12*sec, broken(true), onHook, func(r *rig) { r.b.PowerCut() }, broken(false))
		r.boot()
		c := r.onlyCall()
		if c.EndReason != EndPowerLoss || c.TalkedMs != 10000 {
			t.Errorf("call %+v, want power_loss billed to the 10 s checkpoint", c)
		}
	})
}

// TestRecoveryAtStart: a call left open by a power cut is closed, billed to
// its last checkpoint, after the relay was opened.
func TestRecoveryAtStart(t *testing.T) {
	// Per started minute with a minimum, the power cut's call is still
	// billed the seconds of its last checkpoint: the cut was not the
	// inmate's doing, and talk past the checkpoint is unknown.
	r := newRig(t, perMinuteWithMinimum)
	id, err := r.st.OpenCall(record.Call{Card: inmate1, Inmate: "i1", Period: day, MaxMs: 120000, ClockTrusted: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.st.Checkpoint(id, 12300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	r.boot()
	ev := r.b.Events()
	if len(ev) == 0 || ev[0].Relay == nil || *ev[0].Relay {
		t.Fatalf("first booth action %+v, want relay off", ev)
	}
	c := r.onlyCall()
	if c.CallID != id || c.EndReason != EndPowerLoss || c.TalkedMs != 12300 || c.ChargedMs != 12000 {
		t.Errorf("recovered %+v, want call %d power_loss talked 12300 charged 12000", c, id)
	}
	if evs := r.st.Events(); len(evs) != 1 || evs[0].Event != "power_loss_recovered" {
		t.Errorf("events %+v, want power_loss_recovered", evs)
	}
	if len(r.st.Open()) != 0 || r.b.Relay() {
		t.Error("call still open or relay on after recovery")
	}
	// Recovery when the store fails at start: out of service, then back.
	r2 := newRig(t, nil)
	r2.st.OpenCall(record.Call{Card: inmate1, Inmate: "i1", Period: day})
	r2.st.SetBroken(true)
	r2.boot()
	if s := r2.e.Status(); s.State != StateOutOfService {
		t.Fatalf("state %s with a broken store at start, want out_of_service", s.State)
	}
	r2.play(broken(false), 10*sec)
	if c := r2.onlyCall(); c.EndReason != EndPowerLoss {
		t.Errorf("recovered after probe: %+v", c)
	}
	if s := r2.e.Status(); s.State != StateReady {
		t.Errorf("state %s after the probe, want ready", s.State)
	}
}

// TestOfficer covers officer mode: reset, grant, timeout, rate limit,
// tamper clear.
func TestOfficer(t *testing.T) {
	t.Run("reset", func(t *testing.T) {
		r := newRig(t, nil).boot()
		r.play(setUsage("i1", record.Usage{Used: 8 * time.Minute}), tap(officer1))
		if s := r.e.Status(); s.State != StateOfficer || r.b.LastSignal() != "officer_mode" {
			t.Fatalf("state %s signal %s after an officer tap", s.State, r.b.LastSignal())
		}
		r.play(tap(inmate1))
		os := r.st.Officers()
		if len(os) != 2 || os[0].Action != "enter" {
			t.Fatalf("officer records %+v", os)
		}
		o := os[1]
		if o.Action != "reset" || o.Inmate != "i1" || o.Officer != "o1" || o.BeforeMs != 120000 || o.AfterMs != 600000 || o.CreditMs != 480000 || o.Period != day {
			t.Errorf("reset record %+v", o)
		}
		// The inmate now has the full allowance.
		r.play(tap(officer1), tap(inmate1), offHook, time.Hour)
		if c := r.onlyCall(); c.MaxMs != 600000 || c.EndReason != "quota" {
			t.Errorf("call after reset %+v, want 10 min", c)
		}
	})
	t.Run("grant", func(t *testing.T) {
		r := newRig(t, func(c *Config) { c.Rules.Officer, c.Rules.OfficerGrant = policy.OfficerGrant, 5*time.Minute }).boot()
		r.play(setUsage("i1", record.Usage{Used: 10 * time.Minute}), tap(officer1), tap(inmate1))
		o := r.st.Officers()[1]
		if o.Action != "grant" || o.BeforeMs != 0 || o.AfterMs != 300000 || o.CreditMs != 300000 {
			t.Errorf("grant record %+v", o)
		}
		if u := r.st.UsageOf("i1", day); u.Granted != 5*time.Minute {
			t.Errorf("granted %v, want 5m", u.Granted)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		r := newRig(t, nil).boot()
		r.play(tap(officer1), 29*sec)
		if r.e.Status().State != StateOfficer {
			t.Fatal("officer mode ended before 30 s")
		}
		r.play(1 * sec)
		if s := r.e.Status(); s.State != StateReady || r.b.LastSignal() != "ready" {
			t.Fatalf("state %s signal %s at 30 s, want ready", s.State, r.b.LastSignal())
		}
		if os := r.st.Officers(); len(os) != 2 || os[1].Action != "timeout" {
			t.Errorf("officer records %+v, want enter, timeout", os)
		}
		r.play(tap(inmate1))
		if r.e.Status().State != StateGranted {
			t.Error("inmate tap after officer timeout did not start a call")
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		r := newRig(t, func(c *Config) { c.OfficerRateLimit = 3 }).boot()
		r.play(tap(officer1), tap(inmate1), tap(inmate2), tap(inmate1))
		if os := r.st.Officers(); len(os) != 3 {
			t.Errorf("%d officer records, want 3 (enter, 2 resets)", len(os))
		}
		ds := r.st.Denials()
		if len(ds) != 1 || ds[0].Reason != ReasonOfficerRate || ds[0].Card != officer1 {
			t.Errorf("denials %+v, want one officer_rate_limit", ds)
		}
		r.play(time.Minute, tap(officer1))
		if r.e.Status().State != StateOfficer {
			t.Error("officer refused after the rate window passed")
		}
	})
	t.Run("tamper cleared by an officer", func(t *testing.T) {
		r := newRig(t, nil).boot()
		r.play(Tamper{Open: true}, Tamper{Open: false})
		if s := r.e.Status(); s.State != StateTamper || r.b.LastSignal() != "tamper" {
			t.Fatalf("state %s signal %s after tamper", s.State, r.b.LastSignal())
		}
		r.play(tap(officer1))
		if s := r.e.Status(); s.State != StateReady {
			t.Fatalf("state %s after officer clear, want ready", s.State)
		}
		os := r.st.Officers()
		if len(os) != 1 || os[0].Action != "clear_tamper" {
			t.Errorf("officer records %+v, want clear_tamper", os)
		}
		if n := r.b.Clears(); n != 1 {
			t.Errorf("driver latches cleared %d times, want 1", n)
		}
		if evs := r.st.Events(); len(evs) != 1 || evs[0].Event != "tamper" {
			t.Errorf("events %+v, want tamper", evs)
		}
	})
	t.Run("tamper stays when the driver refuses to clear", func(t *testing.T) {
		r := newRig(t, nil).boot()
		r.play(Tamper{Open: true}, Tamper{Open: false})
		r.b.FailClear(errors.New("panel still open"))
		r.play(tap(officer1))
		if s := r.e.Status(); s.State != StateTamper {
			t.Fatalf("state %s after the driver refused to clear, want tamper", s.State)
		}
		if os := r.st.Officers(); len(os) != 1 || os[0].Action != "clear_refused" {
			t.Errorf("officer records %+v, want one clear_refused", os)
		}
	})
	t.Run("tamper not cleared while the panel is open", func(t *testing.T) {
		r := newRig(t, nil).boot()
		r.play(Tamper{Open: true}, tap(officer1))
		if s := r.e.Status(); s.State != StateTamper {
			t.Fatalf("state %s after an officer tap with the panel open, want tamper", s.State)
		}
		os := r.st.Officers()
		if len(os) != 1 || os[0].Action != "clear_refused_panel_open" {
			t.Errorf("officer records %+v, want one clear_refused_panel_open", os)
		}
		r.play(Tamper{Open: false}, 2*time.Minute, tap(officer1))
		if s := r.e.Status(); s.State != StateReady {
			t.Fatalf("state %s after closing the panel and an officer tap, want ready", s.State)
		}
	})
	t.Run("end call is audited", func(t *testing.T) {
		r := newRig(t, nil).boot()
		r.play(tap(inmate1), offHook, 5*sec, tap(officer1))
		c := r.onlyCall()
		os := r.st.Officers()
		if len(os) != 1 || os[0].Action != "end_call" || os[0].CallID != c.CallID || os[0].Inmate != "i1" {
			t.Errorf("officer records %+v, want end_call of call %d", os, c.CallID)
		}
	})
}

// TestAuthoriser: the centre's balance replaces the local one; silence
// means offline under the offline cap.
func TestAuthoriser(t *testing.T) {
	for _, tc := range []struct {
		name    string
		auth    *fakeAuth
		max     time.Duration
		offline bool
		endsBy  record.EndReason
		lease   string
	}{
		{name: "centre answers", auth: &fakeAuth{remote: Remote{Remaining: 90 * sec, Lease: "L1"}}, max: 90 * sec, endsBy: "quota", lease: "L1"},
		{name: "centre silent: offline cap", auth: &fakeAuth{err: context.DeadlineExceeded}, max: 3 * time.Minute, offline: true, endsBy: "offline_cap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.au = tc.auth
			r.boot()
			r.play(tap(inmate1), offHook, time.Hour)
			c := r.onlyCall()
			if c.MaxMs != tc.max.Milliseconds() || c.Offline != tc.offline || c.EndReason != tc.endsBy || c.Lease != tc.lease {
				t.Errorf("call max %dms offline %v ends %s lease %q, want %v %v %s %q", c.MaxMs, c.Offline, c.EndReason, c.Lease, tc.max, tc.offline, tc.endsBy, tc.lease)
			}
			if tc.auth.asked != 1 {
				t.Errorf("authoriser asked %d times", tc.auth.asked)
			}
		})
	}
}

// TestOfflineCapPerPeriod: offline, the booth grants one inmate at most the
// offline cap (3 min) in the period in total since the centre's last
// balance, not per call: back-to-back offline calls share it, whatever
// crash-restarts (power cuts) come between or during them, because what was
// granted offline is read from the store. A new answer from the centre is a
// new balance the cap counts from; so is a new period.
func TestOfflineCapPerPeriod(t *testing.T) {
	restart := func(r *rig) { r.b.PowerCut(); r.boot() }
	for _, tc := range []struct {
		name   string
		script []any
		// max and end reason of each call, then the reason of the denial
		maxes []time.Duration
		ends  []record.EndReason
	}{
		{"three calls, a restart between",
			[]any{tap(inmate1), offHook, 2 * time.Minute, onHook, 10 * sec, restart,
				tap(inmate1), offHook, time.Hour, onHook, 10 * sec, restart, tap(inmate1)},
			[]time.Duration{3 * time.Minute, time.Minute}, []record.EndReason{EndHangup, "offline_cap"}},
		{"power cut mid-call: billed to the checkpoint, and that counts",
			[]any{tap(inmate1), offHook, 2 * time.Minute, onHook, 10 * sec,
				tap(inmate1), offHook, 32 * sec, restart, onHook, 10 * sec,
				tap(inmate1), offHook, time.Hour, onHook, 10 * sec, tap(inmate1)},
			[]time.Duration{3 * time.Minute, time.Minute, 30 * sec}, []record.EndReason{EndHangup, EndPowerLoss, "offline_cap"}},
		{"the cap spent at once",
			[]any{tap(inmate1), offHook, time.Hour, onHook, 10 * sec, restart, tap(inmate1), 10 * sec, tap(inmate1)},
			[]time.Duration{3 * time.Minute}, []record.EndReason{"offline_cap"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{err: context.DeadlineExceeded}
			r := newRig(t, nil)
			r.au = auth
			r.boot()
			r.play(tc.script...)
			var offline time.Duration
			cs := r.st.Calls()
			for _, c := range cs {
				if !c.Offline {
					t.Errorf("call %d not marked offline", c.CallID)
				}
				offline += ms(c.ChargedMs)
			}
			if offline > r.cfg.Rules.OfflineCap {
				t.Errorf("charged %v offline in the period, cap %v: %+v", offline, r.cfg.Rules.OfflineCap, cs)
			}
			if len(cs) != len(tc.maxes) {
				t.Fatalf("%d calls, want %d: %+v", len(cs), len(tc.maxes), cs)
			}
			for i, c := range cs {
				if ms(c.MaxMs) != tc.maxes[i] || c.EndReason != tc.ends[i] {
					t.Errorf("call %d: max %v ends %s, want %v %s", i+1, ms(c.MaxMs), c.EndReason, tc.maxes[i], tc.ends[i])
				}
			}
			ds := r.st.Denials()
			if len(ds) == 0 || ds[len(ds)-1].Reason != policy.ReasonOfflineCapReached {
				t.Fatalf("denials %+v, want the last tap refused offline_cap_reached", ds)
			}
			if sig := r.b.Signals(); sig[len(sig)-1] != "denied_quota" {
				t.Errorf("last signal %q, want denied_quota", sig[len(sig)-1])
			}

			// An answer from the centre is a new authoritative balance:
			// it decides that tap, uncapped, and offline again the cap
			// counts from it, against what it left less the talk since.
			// The link is back: the outbox drains first, so the centre's
			// answer counts the offline calls (the store holds them as
			// confirmed).
			auth.err, auth.remote = nil, Remote{Remaining: 5 * time.Minute}
			r.st.Ack()
			r.play(10*sec, tap(inmate1), offHook, time.Minute, onHook, 10*sec)
			if c := r.st.Calls(); c[len(c)-1].Offline || ms(c[len(c)-1].MaxMs) != 5*time.Minute {
				t.Errorf("online call %+v, want 5 min from the centre", c[len(c)-1])
			}
			auth.err = context.DeadlineExceeded
			r.play(restart, tap(inmate1), offHook, time.Hour, onHook, 10*sec, tap(unknown), tap(inmate1))
			n := len(r.st.Calls())
			if c := r.st.Calls()[n-1]; !c.Offline || ms(c.MaxMs) != 3*time.Minute || c.EndReason != "offline_cap" {
				t.Errorf("offline after the centre's answer: %+v, want a new 3 min of offline cap", c)
			}
			if ds := r.st.Denials(); ds[len(ds)-1].Reason != policy.ReasonOfflineCapReached {
				t.Errorf("then %+v, want offline_cap_reached (1 min of the centre's balance is left, not of the cap)", ds[len(ds)-1])
			}
			// The next day is a new period with a cap of its own.
			r.fc.SetWall(start.Add(24 * time.Hour))
			r.play(tap(inmate1), offHook, time.Hour, onHook)
			if c := r.st.Calls(); len(c) != n+1 || !c[n].Offline || ms(c[n].MaxMs) != 3*time.Minute {
				t.Errorf("next day: calls %+v, want a new offline call of 3 min", c[n:])
			}
		})
	}
}

// TestOfflineFromCentreBalance: offline, the booth goes by the centre's last
// balance less its own usage since, when that is less than its own view
// (other booths' calls the centre counted), and never more than its own
// view either.
func TestOfflineFromCentreBalance(t *testing.T) {
	for _, tc := range []struct {
		name     string
		centre   time.Duration // the centre's answer at the online tap
		talk     time.Duration // talked online after it
		wantMax  time.Duration // the next call, offline (0: denied)
		wantDeny policy.Reason
	}{
		{"other booths used most: the centre's balance bounds", 3 * time.Minute, time.Minute, 2 * time.Minute, ""},
		{"nothing left at the centre: no minutes offline", time.Minute, time.Minute, 0, policy.ReasonNoMinutes},
		{"the centre's balance above the own view: the own view bounds", time.Hour, 8 * time.Minute, 2 * time.Minute, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{remote: Remote{Remaining: tc.centre}}
			r := newRig(t, func(c *Config) { c.Rules.OfflineCap = 10 * time.Minute })
			r.au = auth
			r.boot()
			r.play(tap(inmate1), offHook, tc.talk, onHook, 10*sec)
			auth.err = context.DeadlineExceeded
			r.play(func(r *rig) { r.b.PowerCut(); r.boot() }, tap(inmate1), offHook, time.Hour, onHook)
			cs, ds := r.st.Calls(), r.st.Denials()
			if tc.wantMax == 0 {
				if len(cs) != 1 || len(ds) != 1 || ds[0].Reason != tc.wantDeny {
					t.Fatalf("calls %+v denials %+v, want the offline tap denied %s", cs, ds, tc.wantDeny)
				}
				return
			}
			if len(cs) != 2 || !cs[1].Offline || ms(cs[1].MaxMs) != tc.wantMax || cs[1].EndReason != "quota" {
				t.Fatalf("calls %+v, want an offline call of %v ending quota", cs, tc.wantMax)
			}
		})
	}
}

// TestOnlineCountsUnconfirmedCalls: the centre's balance cannot include
// this booth's own calls it has not confirmed storing (a call just ended,
// its upload still queued), so a second tap at this booth, answered from
// the centre's stale balance, must not talk those minutes again; once the
// centre confirms the records, its answer stands as it is. Also when the
// centre bills the calls to another period than the booth's own (a booth
// whose clock is off, cap-only): its unconfirmed calls are those of the
// centre's period (before, they were read under the booth's, found none,
// and the minutes just talked were granted again).
func TestOnlineCountsUnconfirmedCalls(t *testing.T) {
	for _, tc := range []struct {
		name   string
		period string // the centre's answer's
		mod    func(*Config)
	}{
		{name: "the booth's period"},
		{name: "the centre's other period", period: "2026-12-01", mod: func(c *Config) {
			c.ClockTrustedAtStart = false
			c.Rules.Untrusted = policy.UntrustedCapOnly
			c.Rules.PerCall = time.Hour
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{remote: Remote{Remaining: 5 * time.Minute, Period: tc.period}} // the centre has seen nothing of this booth
			r := newRig(t, tc.mod)
			r.au = auth
			r.boot()
			r.play(tap(inmate1), offHook, 2*time.Minute, onHook, 10*sec, tap(inmate1), offHook, time.Hour, onHook, 10*sec)
			cs := r.st.Calls()
			if len(cs) != 2 || cs[1].Offline || ms(cs[1].MaxMs) != 3*time.Minute || cs[1].EndReason != "quota" {
				t.Fatalf("calls %+v, want the second call online and bounded to 5 min less the 2 min not yet counted", cs)
			}
			var talked time.Duration
			for _, c := range cs {
				talked += ms(c.ChargedMs)
			}
			if talked > 5*time.Minute {
				t.Fatalf("charged %v against a balance of 5 min: the booth reused its own minutes", talked)
			}
			// Uploaded and confirmed: the centre's answer (now counting them) stands.
			r.st.Ack()
			auth.remote = Remote{Remaining: 4 * time.Minute, Period: tc.period}
			r.play(tap(inmate1), offHook, time.Hour, onHook)
			if c := r.st.Calls()[2]; ms(c.MaxMs) != 4*time.Minute {
				t.Fatalf("after the centre confirmed: %+v, want its 4 min as they are", c)
			}
		})
	}
}

// TestCentreBalanceCountsFromBeforeTheAsk: an upload confirmed while the
// centre's answer is on its way may have been stored after the balance was
// computed. The booth keeps the balance as counting its records only up to
// the head it read before asking, so offline the call confirmed meanwhile
// still counts against it. Marked with the head after the answer, the booth
// granted that call's minutes again offline (4 min, not 1). When the
// centre bills another period (the booth's clock is off), the booth reads
// that period's unconfirmed calls after the answer, and an ack meanwhile
// leaves it unable to tell what the answer counts: it decides offline.
func TestCentreBalanceCountsFromBeforeTheAsk(t *testing.T) {
	auth := &fakeAuth{remote: Remote{Remaining: 5 * time.Minute}}
	r := newRig(t, func(c *Config) { c.Rules.OfflineCap = 10 * time.Minute })
	r.au = auth
	r.boot()
	r.play(tap(inmate1), offHook, 3*time.Minute, onHook, 10*sec) // call A, not yet uploaded
	// The centre has not stored A when it computes 5 min; the uplink's
	// batch with A is confirmed before the answer reaches the booth.
	auth.during = r.st.Ack
	r.play(tap(inmate1), offHook, time.Minute, onHook, 10*sec) // call B
	auth.during, auth.err = nil, context.DeadlineExceeded
	r.play(tap(inmate1), offHook, time.Hour, onHook)
	cs := r.st.Calls()
	if len(cs) != 3 || cs[1].Offline || ms(cs[1].MaxMs) != 2*time.Minute {
		t.Fatalf("calls %+v, want B online, bounded to 5 min less A's 3", cs)
	}
	if !cs[2].Offline || ms(cs[2].MaxMs) != time.Minute || cs[2].EndReason != "quota" {
		t.Fatalf("offline call %+v, want 1 min: the centre's 5 less A and B", cs[2])
	}

	t.Run("the centre's other period", func(t *testing.T) {
		auth := &fakeAuth{remote: Remote{Remaining: 5 * time.Minute, Period: "2026-12-01"}}
		r := newRig(t, func(c *Config) {
			c.ClockTrustedAtStart = false
			c.Rules.Untrusted = policy.UntrustedCapOnly
			c.Rules.PerCall = time.Hour
		})
		r.au = auth
		r.boot()
		r.play(tap(inmate1), offHook, 3*time.Minute, onHook, 10*sec)
		auth.during = r.st.Ack
		r.play(tap(inmate1), offHook, time.Hour, onHook, 10*sec)
		cs := r.st.Calls()
		if len(cs) != 2 || !cs[1].Offline {
			t.Fatalf("calls %+v, want the second decided offline: what the answer counts is not known", cs)
		}
		for _, c := range cs {
			if c.Lease != "" && c.Offline {
				t.Errorf("offline call %+v carries the centre's lease", c)
			}
		}
	})
}

// TestDenialEndsLease: a tap the centre leased but the booth refuses (here,
// too soon after the last call) carries the lease in its denial record, so
// the gateway ends it; the inmate is not held to this booth.
func TestDenialEndsLease(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Rules.MinGap = 10 * time.Minute })
	r.au = &fakeAuth{remote: Remote{Remaining: 5 * time.Minute, Lease: "L7"}}
	r.boot()
	r.play(tap(inmate1), offHook, time.Minute, onHook, time.Minute, tap(inmate1))
	ds := r.st.Denials()
	if len(ds) != 1 || ds[0].Reason != policy.ReasonTooSoon || ds[0].Lease != "L7" {
		t.Fatalf("denials %+v, want one too soon carrying lease L7", ds)
	}
}

// TestRelayCloseFails: the relay refusing to close ends the call with no
// charge and puts the booth out of service until an officer clears it.
func TestRelayCloseFails(t *testing.T) {
	r := newRig(t, nil).boot()
	r.b.FailRelay(fmt.Errorf("gpio: line busy"))
	r.play(tap(inmate1), offHook)
	c := r.onlyCall()
	if c.EndReason != EndFault || c.ChargedMs != 0 {
		t.Errorf("call %+v, want fault, not charged", c)
	}
	if s := r.e.Status(); s.State != StateOutOfService || !slices.Contains(s.OutOfService, CauseRelay) {
		t.Errorf("status %+v, want out of service (relay)", s)
	}
	r.b.FailRelay(nil)
	r.play(tap(officer1))
	if os := r.st.Officers(); len(os) != 1 || os[0].Action != "clear_fault" {
		t.Errorf("officer records %+v, want clear_fault", os)
	}
	if r.e.Status().State != StateReady {
		t.Error("not ready after the officer cleared the fault")
	}
}

// TestStatus checks the snapshot while talking.
func TestStatus(t *testing.T) {
	r := newRig(t, nil).boot()
	r.play(setUsage("i1", record.Usage{Used: 8 * time.Minute}), tap(inmate1))
	if s := r.e.Status(); s.State != StateGranted || s.Left != 2*time.Minute || s.Inmate != "i1" {
		t.Errorf("granted status %+v", s)
	}
	r.play(offHook, 30*sec)
	if s := r.e.Status(); s.State != StateTalking || s.Left != 90*sec || s.Card != inmate1 {
		t.Errorf("talking status %+v", s)
	}
}

// TestRun drives the event loop on its goroutine: a call, a cut-off by the
// loop's own timer, and a shutdown that ends a call.
func TestRun(t *testing.T) {
	r := newRig(t, nil).boot()
	r.st.SetUsage("i1", day, record.Usage{Used: 9 * time.Minute})
	in := make(chan Input)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.e.Run(ctx, in) }()
	in <- tap(inmate1)
	in <- offHook
	in <- CardRemoved{Card: inmate1} // handled after offHook: the loop is past it
	r.fc.WaitTimers(1)
	r.fc.Advance(2 * time.Minute)
	waitFor(t, "the cut-off record", func() bool { return r.e.Status().Calls == 1 && len(r.st.Calls()) == 1 })
	if c := r.st.Calls()[0]; c.EndReason != "quota" || c.TalkedMs != 60000 {
		t.Errorf("call %+v, want quota at 60 s", c)
	}
	in <- tap(inmate2)
	in <- offHook // already off-hook is fine: a second edge
	in <- CardRemoved{Card: inmate2}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	cs := r.st.Calls()
	if len(cs) != 2 || cs[1].EndReason != EndShutdown {
		t.Errorf("calls %+v, want the second ended by shutdown", cs)
	}
	if r.b.Relay() {
		t.Error("relay on after Run returned")
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var _ Store = (*sessiontest.Store)(nil)
var _ Booth = (*sessiontest.Booth)(nil)

// TestConfig checks defaults and that each bad setting is refused with its
// name.
func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // substring of the error; "" = valid
	}{
		{name: "defaults", mod: func(*Config) {}},
		{name: "bad rules", mod: func(c *Config) { c.Rules.Allowance = 0 }, want: "allowance"},
		{name: "negative off-hook timeout", mod: func(c *Config) { c.OffHookTimeout = -sec }, want: "offhook_timeout"},
		{name: "negative checkpoint", mod: func(c *Config) { c.Checkpoint = -sec }, want: "checkpoint"},
		{name: "negative rate limit", mod: func(c *Config) { c.OfficerRateLimit = -1 }, want: "officer_rate_limit"},
		{name: "warning without signal", mod: func(c *Config) { c.Warnings = []Warning{{Before: sec}} }, want: "warnings[0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig()
			tc.mod(&cfg)
			got, err := cfg.withDefaults()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("valid config refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			case tc.want == "":
				if got.OffHookTimeout != 20*sec || got.Checkpoint != 5*sec || got.OfficerTimeout != 30*sec || got.OfficerRateLimit != 6 || got.StoreRetry != 10*sec || got.AuthoriseDeadline != 400*time.Millisecond || len(got.Warnings) != 2 {
					t.Errorf("defaults %+v", got)
				}
			}
		})
	}
	r := newRig(t, nil)
	if _, err := New(baseConfig(), Deps{Booth: r.b}); err == nil {
		t.Error("New without a clock or store did not fail")
	}
	if ev := r.b.Events(); len(ev) != 1 || ev[0].Relay == nil || *ev[0].Relay {
		t.Errorf("New with bad deps told the booth %+v, want the relay opened", ev)
	}
	if _, err := New(Config{}, Deps{Clock: r.fc, Store: r.st, Booth: r.b}); err == nil {
		t.Error("New with no rules did not fail")
	}
	if r.b.Relay() {
		t.Error("relay on after a refused New")
	}
}

// BenchmarkCall measures one tap → off-hook → hang-up call through the
// synchronous core with the in-memory store.
func BenchmarkCall(b *testing.B) {
	// Open around the clock: a long run's fake clock passes closing time.
	r := newRig(b, func(c *Config) {
		c.Rules.Allowance = 1e6 * time.Hour
		for d := range c.Rules.Hours.Weekly {
			c.Rules.Hours.Weekly[d] = []policy.Window{{From: 0, To: 24 * 60}}
		}
	}).boot()
	for b.Loop() {
		r.e.Handle(tap(inmate1))
		r.e.Handle(offHook)
		r.fc.Advance(sec)
		r.e.Handle(onHook)
	}
	if s := r.e.Status(); s.State != StateReady {
		b.Fatalf("state %s after the calls", s.State)
	}
}

// TestClosedHours: an idle booth shows closed outside its hours and ready
// again when it opens; with an untrusted clock it cannot tell, and does not
// show closed.
func TestClosedHours(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted bool
		states  []State // at 16:59:50, 17:00:50, next day 08:00:50
	}{
		{name: "trusted clock", trusted: true, states: []State{StateReady, StateClosed, StateReady}},
		{name: "untrusted clock", trusted: false, states: []State{StateReady, StateReady, StateReady}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(c *Config) { c.ClockTrustedAtStart = tc.trusted })
			r.fc.SetWall(time.Date(2026, 11, 30, 16, 59, 50, 0, wib))
			r.boot()
			var got []State
			got = append(got, r.e.Status().State)
			r.play(time.Minute)
			got = append(got, r.e.Status().State)
			if tc.trusted && r.b.LastSignal() != "closed" {
				t.Errorf("signal %q after closing, want closed", r.b.LastSignal())
			}
			r.play(jumpWall(15*time.Hour), time.Minute)
			got = append(got, r.e.Status().State)
			if !slices.Equal(got, tc.states) {
				t.Errorf("states %v, want %v", got, tc.states)
			}
			if r.b.LastSignal() != "ready" {
				t.Errorf("signal %q after opening, want ready", r.b.LastSignal())
			}
		})
	}
}

// TestLogsHideCards: info-level logs name cards by the booth's keyed tag,
// never by their id; errors say what to check.
func TestLogsHideCards(t *testing.T) {
	var buf bytes.Buffer
	r := newRig(t, nil)
	tags := cardtag.Random()
	e, err := New(r.cfg, Deps{Clock: r.fc, Store: r.st, Booth: r.b, CardTags: tags, Log: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	r.e = e
	r.play(tap(inmate1), offHook, 10*sec, onHook, tap(unknown), broken(true), tap(inmate1))
	out := buf.String()
	for _, card := range []string{inmate1, unknown} {
		if strings.Contains(out, card) {
			t.Errorf("card id %s in the info log:\n%s", card, out)
		}
		if !strings.Contains(out, tags.Tag(card)) {
			t.Errorf("card hash of %s missing from the info log", card)
		}
	}
	if !strings.Contains(out, "check free space") {
		t.Errorf("store failure log does not say what to check:\n%s", out)
	}
}

// TestPolicyFromCentre: the centre's rules decide the next tap, never a
// call in progress, and never change the booth's billing; rules that do not
// validate are refused.
func TestPolicyFromCentre(t *testing.T) {
	r := newRig(t, nil).boot()
	central := rules()
	central.Allowance = time.Minute
	central.Billing = policy.Billing{Unit: policy.PerStartedMinute, Minimum: 5 * time.Minute}

	// A call granted under the booth's 10 minutes goes on past the new
	// 1 minute, and is billed per second as the booth bills.
	r.play(tap(inmate1), sec, offHook, 30*sec, Policy{Rules: central}, 90*sec+300*time.Millisecond, onHook, sec)
	c := r.onlyCall()
	if c.EndReason != EndHangup || c.TalkedMs != (120*sec+300*time.Millisecond).Milliseconds() || c.ChargedMs != (120*sec).Milliseconds() {
		t.Fatalf("call under a policy change: %+v, want a hang-up after 2m0.3s billed 2m0s", c)
	}
	// The next tap is decided by the centre's minute: none left.
	r.play(tap(inmate1))
	if ds := r.st.Denials(); len(ds) != 1 || ds[0].Reason != policy.ReasonNoMinutes {
		t.Fatalf("denials %+v, want one for no minutes", ds)
	}
	if ev := r.st.Events(); !slices.ContainsFunc(ev, func(e record.Event) bool { return e.Event == "policy_applied" }) {
		t.Errorf("events %+v: the policy change is not recorded", ev)
	}

	// Closed hours from the centre close the booth at once.
	closed := central
	closed.Hours = policy.Hours{Weekly: map[time.Weekday][]policy.Window{}}
	r.play(Policy{Rules: closed})
	if s := r.e.Status().State; s != StateClosed {
		t.Errorf("state %s after the centre closed the booth, want closed", s)
	}
	// Unusable rules are refused; the booth keeps the last good ones.
	bad := central
	bad.Location = nil
	r.play(Policy{Rules: bad}, tap(inmate2))
	if ds := r.st.Denials(); len(ds) != 2 || ds[1].Reason != policy.ReasonOutsideHours {
		t.Fatalf("denials %+v, want the second for the centre's closed hours", ds)
	}
}

// perMinuteWithMinimum bills per started minute with a minimum of 2 minutes.
func perMinuteWithMinimum(c *Config) {
	c.Rules.Billing = policy.Billing{Unit: policy.PerStartedMinute, Minimum: 2 * time.Minute}
}

// TestOfficerCreditInTheCentresPeriod: a cap-only booth whose clock is
// wrong is billed online in the centre's period (its answer's). An
// officer's credit at that booth goes to the same period: computed on the
// booth's own, a reset found no usage and credited nothing (its record
// saying the balance was whole), and a grant landed in a period no
// balance reads. Once the clock is trusted, the booth's period is the
// centre's and stands.
func TestOfficerCreditInTheCentresPeriod(t *testing.T) {
	const centrePeriod = "2026-12-05" // the gateway's day; the booth's clock says 2026-11-30
	untrusted := func(c *Config) {
		c.ClockTrustedAtStart = false
		c.Rules.Untrusted = policy.UntrustedCapOnly
		c.Rules.PerCall = time.Hour
	}
	for _, tc := range []struct {
		name       string
		mod        func(*Config)
		wantCredit time.Duration
	}{
		{"reset", untrusted, 10 * time.Minute},
		{"grant", func(c *Config) {
			untrusted(c)
			c.Rules.Officer, c.Rules.OfficerGrant = policy.OfficerGrant, 5*time.Minute
		}, 5 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := &fakeAuth{remote: Remote{Remaining: 10 * time.Minute, Period: centrePeriod}}
			r := newRig(t, tc.mod)
			r.au = auth
			r.boot()
			r.play(tap(inmate1), offHook, time.Hour, onHook, 10*sec) // all 10 min, online
			if c := r.onlyCall(); c.Period != centrePeriod || ms(c.ChargedMs) != 10*time.Minute {
				t.Fatalf("call %+v, want 10 min billed in %s", c, centrePeriod)
			}
			r.play(tap(officer1), tap(inmate1))
			os := r.st.Officers()
			o := os[len(os)-1]
			if o.Period != centrePeriod || ms(o.CreditMs) != tc.wantCredit || o.BeforeMs != 0 {
				t.Fatalf("%s: credited %v in %q from a balance of %v; want %v in %q, where the calls were billed, from 0",
					o.Action, ms(o.CreditMs), o.Period, ms(o.BeforeMs), tc.wantCredit, centrePeriod)
			}
			// The centre's period was learnt for the booth's 2026-11-30;
			// trusted, the booth's own period stands.
			r.e.Handle(ClockTrust{Trusted: true})
			r.play(tap(officer1), tap(officer1), tap(inmate1))
			os = r.st.Officers()
			if o := os[len(os)-1]; o.Period != "2026-11-30" {
				t.Errorf("with a trusted clock: credit in %q, want the booth's own 2026-11-30", o.Period)
			}
		})
	}
}
