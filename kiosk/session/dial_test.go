package session

import (
	"errors"
	"slices"
	"testing"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// Dial control under the fake clock: every instant of the relay, the
// modem and the record is asserted (docs/session.md "Dial control").

// dialCheck records, at each Dial and HangUp, what the invariants need:
// the relay, the journal and whether the number was callable then.
type dialCheck struct {
	r        *rig
	bad      []string
	dialAt   []time.Duration
	hangupAt []time.Duration
}

func watchDial(r *rig) *dialCheck {
	c := &dialCheck{r: r}
	r.d.OnDial = func(e164 string) {
		c.dialAt = append(c.dialAt, r.fc.Mono())
		open := r.st.Open()
		switch {
		case !r.b.Relay():
			c.bad = append(c.bad, "Dial with the relay open")
		case len(open) != 1:
			c.bad = append(c.bad, "Dial with no call journaled")
		default:
			oc, _ := r.st.Journal(open[0])
			if oc.Call.NumberID == 0 {
				c.bad = append(c.bad, "Dial of a call journaled without its number id")
			}
			if !r.nums.Callable(oc.Call.Inmate, e164, r.fc.Now()) {
				c.bad = append(c.bad, "Dial of "+e164+", not callable for "+oc.Call.Inmate)
			}
		}
	}
	r.d.OnHangUp = func() {
		c.hangupAt = append(c.hangupAt, r.fc.Mono())
		if r.b.Relay() {
			c.bad = append(c.bad, "HangUp with the relay still closed")
		}
	}
	return c
}

func (c *dialCheck) ok(t *testing.T) {
	t.Helper()
	for _, b := range c.bad {
		t.Error(b)
	}
}

// TestDialAnswered: slot 1 then #, handset lifted; the call is journaled
// with its number before the relay closes, and the relay closes before
// Dial; talk time runs from the answer, not from the dialling or ringing.
func TestDialAnswered(t *testing.T) {
	r := newDialRig(t, nil).boot()
	dc := watchDial(r)
	var states []State
	st := func(r *rig) { states = append(states, r.e.Status().State) }
	r.play(tap(inmate1), st, 2*sec, offHook, keys("1"), sec, keys("#"), st,
		3*sec, alerting, st, 12*sec, answered, st, 40*sec, onHook, st)
	dc.ok(t)
	if want := []State{StateChoosing, StateDialling, StateRinging, StateTalking, StateReady}; !slices.Equal(states, want) {
		t.Errorf("states %v, want %v", states, want)
	}
	if got := r.d.Dialled(); !slices.Equal(got, []string{mother}) {
		t.Fatalf("dialled %v, want %v", got, []string{mother})
	}
	if on := r.relayOn(); !slices.Equal(on, []time.Duration{3 * sec}) || !slices.Equal(dc.dialAt, []time.Duration{3 * sec}) {
		t.Errorf("relay on at %v, dial at %v: want both at 3s (the # with the handset up)", on, dc.dialAt)
	}
	if off := r.lastRelayOff(); off != 58*sec || !slices.Equal(dc.hangupAt, []time.Duration{58 * sec}) {
		t.Errorf("relay off at %v, hang-up at %v: want both at 58s (handset down)", off, dc.hangupAt)
	}
	c := r.onlyCall()
	if c.NumberID != 11 || c.Slot != 1 || c.Outcome != record.OutcomeAnswered || c.EndReason != EndHangup ||
		c.TalkedMs != 40000 || c.ChargedMs != 40000 || !c.AnsweredAt.Equal(start.Add(18*sec)) || !c.TalkStartAt.Equal(c.AnsweredAt) {
		t.Errorf("call %+v: want number 11 slot 1, answered at +18s, 40 s talked and charged from the answer, ended by hangup", c)
	}
	if got := r.signalAt(signal.ChooseNumber); len(got) == 0 || got[0] != 0 {
		t.Errorf("choose_number shown at %v, want at the tap", got)
	}
	if got := r.signalAt(signal.Dialling); !slices.Equal(got, []time.Duration{3 * sec}) {
		t.Errorf("dialling shown at %v, want 3s", got)
	}
	if got := r.signalAt(signal.Talking); !slices.Equal(got, []time.Duration{18 * sec}) {
		t.Errorf("talking shown at %v, want at the answer (18s)", got)
	}
	r.checkChain()
}

// TestDialNotAnswered: busy, no answer, failed, the modem refusing to
// dial, a ring timeout and the handset put down while ringing all charge
// nothing; the record says how the call ended. The relay opens before any
// HangUp.
func TestDialNotAnswered(t *testing.T) {
	tests := []struct {
		name    string
		script  []any
		dialErr error
		end     record.EndReason
		outcome record.Outcome
		endAt   time.Duration
		hangups int
	}{
		{name: "busy", script: []any{5 * sec, ended(record.OutcomeBusy)}, end: EndNotAnswered, outcome: record.OutcomeBusy, endAt: 5 * sec},
		{name: "no answer from the network", script: []any{alerting, 30 * sec, ended(record.OutcomeNoAnswer)}, end: EndNotAnswered, outcome: record.OutcomeNoAnswer, endAt: 30 * sec},
		{name: "failed", script: []any{sec, ended(record.OutcomeFailed)}, end: EndNotAnswered, outcome: record.OutcomeFailed, endAt: sec},
		{name: "ended without a word", script: []any{sec, ended("")}, end: EndNotAnswered, outcome: record.OutcomeFailed, endAt: sec},
		{name: "ring timeout", script: []any{alerting, 2 * time.Minute}, end: EndNotAnswered, outcome: record.OutcomeNoAnswer, endAt: 60 * sec, hangups: 1},
		{name: "modem refuses to dial", dialErr: errors.New("ERROR"), end: EndNotAnswered, outcome: record.OutcomeFailed, endAt: 0, hangups: 1},
		{name: "handset down while ringing", script: []any{alerting, 7 * sec, onHook}, end: EndHangup, outcome: record.OutcomeCancelled, endAt: 7 * sec, hangups: 1},
		{name: "officer ends it while ringing", script: []any{alerting, 4 * sec, tap(officer1)}, end: EndOfficer, outcome: record.OutcomeCancelled, endAt: 4 * sec, hangups: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDialRig(t, nil).boot()
			dc := watchDial(r)
			r.d.FailDial(tt.dialErr)
			r.play(offHook, tap(inmate1), keys("2#"))
			r.play(tt.script...)
			r.play(10 * time.Minute)
			dc.ok(t)
			c := r.onlyCall()
			if c.EndReason != tt.end || c.Outcome != tt.outcome || c.TalkedMs != 0 || c.ChargedMs != 0 || !c.AnsweredAt.IsZero() || c.NumberID != 12 {
				t.Errorf("call %+v: want end %s, outcome %s, nothing talked or charged", c, tt.end, tt.outcome)
			}
			if off := r.lastRelayOff(); off != tt.endAt {
				t.Errorf("relay off at %v, want %v", off, tt.endAt)
			}
			if len(dc.hangupAt) != tt.hangups {
				t.Errorf("hang-ups at %v, want %d (none when the modem said the call ended)", dc.hangupAt, tt.hangups)
			}
			if u := r.st.UsageOf("i1", day); u.Used != 0 {
				t.Errorf("usage %v, want 0", u.Used)
			}
			if s := r.e.Status(); s.State != StateReady || s.OutOfService != nil {
				t.Errorf("status %+v, want ready", s)
			}
			if tt.end == EndNotAnswered && len(r.signalAt(signal.NotConnected)) != 1 {
				t.Errorf("not_connected shown %v, want once", r.signalAt(signal.NotConnected))
			}
		})
	}
}

// TestDialCutOffFromAnswer: the per-call cap and the warnings count from
// the answer; the cut-off opens the relay first, then hangs up, at the
// allowed instant; the warnings also play as tones in the earpiece.
func TestDialCutOffFromAnswer(t *testing.T) {
	r := newDialRig(t, func(c *Config) { c.Rules.PerCall = 2 * time.Minute }).boot()
	dc := watchDial(r)
	r.play(offHook, tap(inmate1), keys("1#"), alerting, 25*sec, answered, 10*time.Minute)
	dc.ok(t)
	answer := 25 * sec
	if off := r.lastRelayOff(); off != answer+2*time.Minute || !slices.Equal(dc.hangupAt, []time.Duration{answer + 2*time.Minute}) {
		t.Errorf("relay off at %v, hang-up at %v: want both at the answer + 2m (%v)", off, dc.hangupAt, answer+2*time.Minute)
	}
	ev := r.b.Events()
	if last := ev[len(ev)-1]; last.Relay != nil {
		t.Errorf("the relay changed after the hang-up: %+v", last)
	}
	if got := r.signalAt(signal.WarningMinute); !slices.Equal(got, []time.Duration{answer + time.Minute}) {
		t.Errorf("warning_minute at %v, want %v", got, answer+time.Minute)
	}
	if got := r.signalAt(signal.FinalSeconds); !slices.Equal(got, []time.Duration{answer + 110*sec}) {
		t.Errorf("final_seconds at %v, want %v", got, answer+110*sec)
	}
	if got := r.d.Tones(); !slices.Equal(got, []signal.Signal{signal.WarningMinute, signal.FinalSeconds}) {
		t.Errorf("tones %v, want both warnings", got)
	}
	c := r.onlyCall()
	if c.EndReason != record.EndPerCall || c.TalkedMs != 120000 || c.ChargedMs != 120000 || c.Outcome != record.OutcomeAnswered {
		t.Errorf("call %+v: want per_call_cap, 2 min talked and charged from the answer", c)
	}
}

// TestDialFarEndAndModemDown: the far end hanging up ends the call billed
// to the answer; the network lost mid-call ends it billed to its talk so
// far and puts the booth out of service until the modem is up again.
func TestDialFarEndAndModemDown(t *testing.T) {
	t.Run("far end", func(t *testing.T) {
		r := newDialRig(t, nil).boot()
		dc := watchDial(r)
		r.play(offHook, tap(inmate1), keys("1#"), 8*sec, answered, 33*sec, ended(record.OutcomeAnswered), sec)
		dc.ok(t)
		c := r.onlyCall()
		if c.EndReason != EndFarEnd || c.Outcome != record.OutcomeAnswered || c.TalkedMs != 33000 || c.ChargedMs != 33000 || len(dc.hangupAt) != 0 {
			t.Errorf("call %+v, hang-ups %v: want far_end, 33 s from the answer, no hang-up", c, dc.hangupAt)
		}
	})
	for _, tt := range []struct {
		cause   string
		oos     Cause
		outcome record.Outcome
		denial  policy.Reason
	}{
		{"network_lost", CauseNetwork, record.OutcomeNetworkLost, ReasonNoNetwork},
		{"not_answering", CauseModem, record.OutcomeModemFault, ReasonModemFault},
	} {
		t.Run(tt.cause, func(t *testing.T) {
			r := newDialRig(t, nil).boot()
			dc := watchDial(r)
			r.play(offHook, tap(inmate1), keys("1#"), 8*sec, answered, 21*sec, ModemHealth{Up: false, Cause: tt.cause, Err: errors.New("+CME ERROR")})
			dc.ok(t)
			c := r.onlyCall()
			if c.EndReason != EndModemDown || c.Outcome != tt.outcome || c.TalkedMs != 21000 || c.ChargedMs != 21000 {
				t.Errorf("call %+v: want modem_down, outcome %s, 21 s billed", c, tt.outcome)
			}
			if s := r.e.Status(); s.State != StateOutOfService || !slices.Equal(s.OutOfService, []Cause{tt.oos}) {
				t.Errorf("status %+v, want out of service for %s", s, tt.oos)
			}
			r.play(onHook, sec, tap(inmate1))
			if ds := r.st.Denials(); len(ds) != 1 || ds[0].Reason != tt.denial {
				t.Errorf("denials %+v, want one %s", ds, tt.denial)
			}
			r.play(ModemHealth{Up: true}, sec, offHook, tap(inmate1), keys("1#"))
			if s := r.e.Status(); s.State != StateDialling || len(r.d.Dialled()) != 2 {
				t.Errorf("after the modem is back: status %+v, dialled %v", s, r.d.Dialled())
			}
		})
	}
}

// TestDialChoosing: what the keys choose, and what is refused with which
// reason; a refused number is never dialled and nothing is journaled.
func TestDialChoosing(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		script  []any
		dialled []string
		denial  policy.Reason
	}{
		{name: "slot 2", script: []any{keys("2#")}, dialled: []string{brother}},
		{name: "star clears", script: []any{keys("5*1#")}, dialled: []string{mother}},
		{name: "a digit after # starts again", script: []any{onHook, keys("5#2"), keys("#"), offHook}, dialled: []string{brother}},
		{name: "empty # waits", script: []any{keys("#"), keys("1#")}, dialled: []string{mother}},
		{name: "slot not registered", script: []any{keys("7#")}, denial: ReasonNumberNotRegistered},
		{name: "slot 0 is no slot", script: []any{keys("0#")}, denial: ReasonNumberNotRegistered},
		{name: "another inmate's slot", script: []any{keys("9#")}, denial: ReasonNumberNotRegistered},
		{name: "blocked for the facility", script: []any{keys("3#")}, denial: ReasonNumberBlocked},
		{name: "expired", script: []any{keys("4#")}, denial: ReasonNumberNotRegistered},
		{name: "full number not allowed", script: []any{keys("081111111111#")}, denial: ReasonNumberNotRegistered},
		{name: "full number, national", mod: fullNumber, script: []any{keys("085555555555#")}, dialled: []string{lawyer}},
		{name: "full number, 62", mod: fullNumber, script: []any{keys("6281111111111#")}, dialled: []string{mother}},
		{name: "full number of another inmate", mod: fullNumber, script: []any{keys("089999999999#")}, denial: ReasonNumberNotRegistered},
		{name: "full number blocked", mod: fullNumber, script: []any{keys("083333333333#")}, denial: ReasonNumberBlocked},
		{name: "full number unregistered", mod: fullNumber, script: []any{keys("081234567890#")}, denial: ReasonNumberNotRegistered},
		{name: "revoked while choosing", script: []any{keys("1"), func(r *rig) { r.nums.Remove(11) }, keys("#")}, denial: ReasonNumberNotRegistered},
		{name: "blocked while waiting for the handset", script: []any{onHook, keys("1#"), func(r *rig) { r.nums.Block(mother, true) }, offHook}, denial: ReasonNumberBlocked},
		{name: "store cannot say", script: []any{keys("1"), func(r *rig) { r.nums.FailWith(errDisk) }, keys("#")}, denial: policy.ReasonOutOfService},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDialRig(t, tt.mod).boot()
			dc := watchDial(r)
			r.play(offHook, tap(inmate1))
			r.play(tt.script...)
			dc.ok(t)
			if got := r.d.Dialled(); !slices.Equal(got, tt.dialled) {
				t.Errorf("dialled %v, want %v", got, tt.dialled)
			}
			ds := r.st.Denials()
			switch {
			case tt.denial == "" && len(ds) != 0:
				t.Errorf("denials %+v, want none", ds)
			case tt.denial != "" && (len(ds) != 1 || ds[0].Reason != tt.denial || ds[0].Inmate != "i1"):
				t.Errorf("denials %+v, want one %s", ds, tt.denial)
			case tt.denial != "":
				if n := len(r.st.Opened()); n != 0 || r.b.Relay() {
					t.Errorf("%d calls journaled, relay %v: a refused number journals nothing", n, r.b.Relay())
				}
				sig, _ := denialSignal(tt.denial)
				if r.b.LastSignal() != sig {
					t.Errorf("last signal %s, want %s", r.b.LastSignal(), sig)
				}
			}
		})
	}
}

func fullNumber(c *Config) { c.Rules.DialFullNumber = true }

// TestDialAttemptEnds: an authorised tap that ends before a number is
// dialled charges nothing, journals nothing and records a not_dialled
// denial carrying the centre's lease.
func TestDialAttemptEnds(t *testing.T) {
	tests := []struct {
		name   string
		script []any
		at     time.Duration
	}{
		{name: "choose timeout", script: []any{time.Minute}, at: 30 * sec},
		{name: "each key restarts it", script: []any{20 * sec, keys("1"), time.Minute}, at: 50 * sec},
		// Keys every 25 s do not hold the tap's decision open past the
		// whole choice's bound (ChooseWithin): its lease would lapse and
		// the inmate's minutes be granted again at another booth.
		{name: "keys never end the choice", script: []any{25 * sec, keys("*"), 25 * sec, keys("*"), 25 * sec, keys("1"), 25 * sec, keys("#"), offHook}, at: 60 * sec},
		{name: "chosen, handset never lifted", script: []any{keys("1#"), time.Minute}, at: 30 * sec},
		{name: "tamper", script: []any{5 * sec, Tamper{Open: true}}, at: 5 * sec},
		{name: "officer", script: []any{5 * sec, tap(officer1)}, at: 5 * sec},
		{name: "shutdown", script: []any{5 * sec, func(r *rig) { r.e.Shutdown() }}, at: 5 * sec},
		{name: "modem down", script: []any{5 * sec, ModemHealth{Up: false, Cause: "no_sim"}}, at: 5 * sec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDialRig(t, nil)
			r.au = &fakeAuth{remote: Remote{Remaining: 5 * time.Minute, Lease: "L-1"}}
			r.boot()
			r.play(tap(inmate1))
			r.play(tt.script...)
			ds := r.st.Denials()
			if len(ds) != 1 || ds[0].Reason != ReasonNotDialled || ds[0].Lease != "L-1" || !ds[0].At.Equal(start.Add(tt.at)) {
				t.Fatalf("denials %+v, want one not_dialled at +%v with the lease", ds, tt.at)
			}
			if len(r.st.Opened()) != 0 || len(r.relayOn()) != 0 || len(r.d.Dialled()) != 0 || len(r.st.Calls()) != 0 {
				t.Errorf("journaled %v, relay on %v, dialled %v: want nothing", r.st.Opened(), r.relayOn(), r.d.Dialled())
			}
		})
	}
}

// TestDialRecovery: a crash while talking through the modem bills the
// call to its last checkpoint (counted from the answer) and its record
// says when it was answered; a crash while ringing bills nothing; a crash
// after the answer but before the first checkpoint is an answered call
// that charges nothing. The engine hangs the modem up at start.
func TestDialRecovery(t *testing.T) {
	r := newDialRig(t, nil).boot()
	r.play(offHook, tap(inmate1), keys("1#"), 10*sec, answered, 12*sec)
	r.b.PowerCut()
	r.boot()
	r.play(offHook, tap(inmate1), keys("2#"), alerting, 8*sec)
	r.b.PowerCut()
	r.boot()
	r.play(offHook, tap(inmate1), keys("1#"), 2*sec, answered, 3*sec)
	r.b.PowerCut()
	hangups := len(r.d.HangUps())
	r.boot()
	if got := len(r.d.HangUps()); got != hangups+1 {
		t.Errorf("hang-ups %d at the restart, want one", got-hangups)
	}
	cs := r.st.Calls()
	if len(cs) != 3 {
		t.Fatalf("calls %+v, want 3", cs)
	}
	if c := cs[0]; c.EndReason != EndPowerLoss || c.NumberID != 11 || c.TalkedMs != 10000 || c.ChargedMs != 10000 || c.Outcome != record.OutcomeAnswered ||
		!c.AnsweredAt.Equal(start.Add(10*sec)) || !c.TalkStartAt.Equal(c.AnsweredAt) {
		t.Errorf("talking call %+v: want power_loss, answered at +10s, billed to its checkpoint 10 s after the answer", c)
	}
	if c := cs[1]; c.EndReason != EndPowerLoss || c.NumberID != 12 || c.TalkedMs != 0 || c.ChargedMs != 0 || c.Outcome != record.OutcomeCancelled || !c.AnsweredAt.IsZero() {
		t.Errorf("ringing call %+v: want power_loss, never answered, nothing charged", c)
	}
	if c := cs[2]; c.EndReason != EndPowerLoss || c.TalkedMs != 0 || c.ChargedMs != 0 || c.Outcome != record.OutcomeAnswered || !c.AnsweredAt.Equal(start.Add(32*sec)) {
		t.Errorf("call cut before its first checkpoint %+v: want power_loss, answered at +32s, nothing checkpointed so nothing charged", c)
	}
}

// TestDialAnswerNotJournaled: an answer the journal cannot keep ends the
// call at once (store_error, relay off, hung up), charged nothing, and
// puts the booth out of service.
func TestDialAnswerNotJournaled(t *testing.T) {
	r := newDialRig(t, nil).boot()
	dc := watchDial(r)
	r.play(offHook, tap(inmate1), keys("1#"), alerting, 4*sec, failOp("Answered", errDisk), answered, failOp("", nil), sec)
	dc.ok(t)
	c := r.onlyCall()
	if c.EndReason != EndStoreError || c.ChargedMs != 0 || c.Outcome != record.OutcomeAnswered {
		t.Errorf("call %+v: want store_error, answered, nothing charged", c)
	}
	if off := r.lastRelayOff(); off != 4*sec || !slices.Equal(dc.hangupAt, []time.Duration{4 * sec}) {
		t.Errorf("relay off at %v, hang-ups %v: want both at the answer (4s)", off, dc.hangupAt)
	}
	if s := r.e.Status(); !slices.Contains(s.OutOfService, CauseStore) {
		t.Errorf("status %+v, want out of service for the store", s)
	}
}

// TestDialRelayOnly: a booth without a modem ignores keys and the modem's
// inputs, and New refuses half a modem.
func TestDialRelayOnly(t *testing.T) {
	r := newRig(t, nil).boot()
	r.play(tap(inmate1), keys("1#"), CallProgress{Stage: StageActive}, ModemHealth{Up: false, Cause: "no_network"}, offHook, 30*sec, onHook)
	if c := r.onlyCall(); c.TalkedMs != 30000 || c.NumberID != 0 || c.Outcome != "" {
		t.Errorf("call %+v: want the relay-only call as ever", c)
	}
	if s := r.e.Status(); s.State != StateReady {
		t.Errorf("status %+v", s)
	}
	r2 := newDialRig(t, nil)
	if _, err := New(r2.cfg, Deps{Clock: r2.fc, Store: r2.st, Booth: r2.b, Dialer: r2.d}); err == nil {
		t.Error("New with a Dialer and no Numbers: no error")
	}
}

// TestDialIncoming: a call to the booth's SIM is an event, nothing more.
func TestDialIncoming(t *testing.T) {
	r := newDialRig(t, nil).boot()
	r.play(Incoming{From: "+6287777777777"})
	evs := r.st.Events()
	if len(evs) != 1 || evs[0].Event != record.EventIncomingRefused || evs[0].Detail != "+6287777777777" {
		t.Errorf("events %+v", evs)
	}
	if len(r.d.Dialled()) != 0 || len(r.d.HangUps()) != 1 || r.b.Relay() {
		t.Errorf("dialer %+v, relay %v: an incoming call changes nothing (one hang-up: at start)", r.d.Events(), r.b.Relay())
	}
}

// TestDialStaleProgress: the modem's late word of a call the booth already
// hung up (its "active" and "ended", read after the next call was dialled)
// neither answers, bills nor ends the next call; that call is billed from
// its own answer.
func TestDialStaleProgress(t *testing.T) {
	r := newDialRig(t, nil).boot()
	dc := watchDial(r)
	r.play(offHook, tap(inmate1), keys("1#"), alerting, 5*sec, onHook, sec)
	first := r.d.LastCall()
	r.play(offHook, tap(inmate1), keys("2#"), sec)
	second := r.d.LastCall()
	if first == 0 || second == first {
		t.Fatalf("call ids %d then %d: want two calls", first, second)
	}
	r.play(CallProgress{Call: first, Stage: StageActive}, 10*sec,
		CallProgress{Call: first, Stage: StageEnded, Outcome: record.OutcomeAnswered}, sec)
	if s := r.e.Status(); s.State != StateDialling || s.CallID != second {
		t.Fatalf("after the first call's late progress: %s call %d, want still dialling call %d", s.State, s.CallID, second)
	}
	if got := r.signalAt(signal.Talking); len(got) != 0 {
		t.Errorf("talking shown at %v: the first call's answer started the second's talk time", got)
	}
	r.play(alerting, 4*sec, answered, 30*sec, onHook)
	dc.ok(t)
	cs := r.st.Calls()
	if len(cs) != 2 {
		t.Fatalf("calls %+v, want 2", cs)
	}
	if c := cs[0]; c.CallID != first || c.Outcome != record.OutcomeCancelled || c.ChargedMs != 0 {
		t.Errorf("first call %+v: want cancelled, nothing charged", c)
	}
	answer := start.Add(6*sec + sec + 11*sec + 4*sec)
	if c := cs[1]; c.CallID != second || c.Outcome != record.OutcomeAnswered || c.EndReason != EndHangup ||
		c.TalkedMs != 30000 || c.ChargedMs != 30000 || !c.AnsweredAt.Equal(answer) {
		t.Errorf("second call %+v: want answered at %v, 30 s talked and charged from its own answer", c, answer)
	}
}
