package session

import (
	"slices"
	"testing"
	"time"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/record"
)

// TestActivities: the engine hands Deps.Observe a typed Activity for each
// thing a program follows, in order, at the exact instants of the fake
// clock, with the typed reasons and actions. A program reads these, not
// the log text (which people may reword).
func TestActivities(t *testing.T) {
	r := newRig(t, nil)
	var got []Activity
	e, err := New(r.cfg, Deps{Clock: r.fc, Store: r.st, Booth: r.b, Observe: func(a Activity) { got = append(got, a) }})
	if err != nil {
		t.Fatal(err)
	}
	r.e = e
	t0 := r.fc.Mono()
	r.play(tap(unknown), 2*time.Second, tap(inmate1), time.Second, offHook, 30*time.Second, onHook,
		5*time.Second, tap(officer1), tap(inmate1), tap(officer1),
		Tamper{Open: true}, Tamper{Open: false}, tap(officer1))
	type want struct {
		kind   ActivityKind
		at     time.Duration
		denial policy.Reason
		end    record.EndReason
		action record.OfficerAction
	}
	wants := []want{
		{kind: ActivityDenied, at: 0, denial: policy.ReasonUnknownCard},
		{kind: ActivityGranted, at: 2 * time.Second},
		{kind: ActivityTalking, at: 3 * time.Second},
		{kind: ActivityEnded, at: 33 * time.Second, end: EndHangup},
		{kind: ActivityOfficerMode, at: 38 * time.Second},
		{kind: ActivityOfficer, at: 38 * time.Second, action: record.ActionReset},
		{kind: ActivityOfficerLeft, at: 38 * time.Second},
		{kind: ActivityPanelOpen, at: 38 * time.Second},
		{kind: ActivityPanelClosed, at: 38 * time.Second},
		{kind: ActivityFaultCleared, at: 38 * time.Second, action: record.ActionClearTamper},
	}
	if len(got) != len(wants) {
		t.Fatalf("%d activities, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		a := got[i]
		if a.Kind != w.kind || a.Mono-t0 != w.at || a.Denial != w.denial || a.End != w.end || a.Action != w.action {
			t.Errorf("activity %d = %+v; want %+v", i, a, w)
		}
		if !slices.Contains(AllActivities, a.Kind) {
			t.Errorf("activity %d kind %q is not in AllActivities", i, a.Kind)
		}
	}
	g, tk, end := got[1], got[2], got[3]
	if g.CallID == 0 || g.Inmate != "i1" || g.Max != 10*time.Minute || g.Card == "" || g.Card == inmate1 {
		t.Errorf("granted = %+v; want the call, the inmate, 10m and the card's tag (never its id)", g)
	}
	if tk.CallID != g.CallID || end.CallID != g.CallID || end.Talked != 30*time.Second || end.Charged != 30*time.Second {
		t.Errorf("talking %+v, ended %+v: want call %d talked and charged 30s", tk, end, g.CallID)
	}
	if o := got[5]; o.Officer != "o1" || o.Inmate != "i1" || o.Before != 9*time.Minute+30*time.Second || o.After != 10*time.Minute {
		t.Errorf("officer action = %+v", o)
	}
}

// TestDialActivities: on a booth with a modem, the activities of a dialled
// call in order and at their instants: choosing at the tap, dialling with
// the slot, ringing, talking at the answer, ended with the outcome; the
// modem going down and up.
func TestDialActivities(t *testing.T) {
	r := newDialRig(t, nil)
	var got []Activity
	e, err := New(r.cfg, Deps{Clock: r.fc, Store: r.st, Booth: r.b, Dialer: r.d, Numbers: r.nums, Observe: func(a Activity) { got = append(got, a) }})
	if err != nil {
		t.Fatal(err)
	}
	r.e = e
	r.play(offHook, tap(inmate1), 2*sec, keys("2#"), 3*sec, alerting, 4*sec, answered, 20*sec, onHook,
		ModemHealth{Up: false, Cause: "no_network"}, sec, ModemHealth{Up: true})
	type want struct {
		kind ActivityKind
		at   time.Duration
	}
	wants := []want{{ActivityChoosing, 0}, {ActivityDialling, 2 * sec}, {ActivityRinging, 5 * sec},
		{ActivityTalking, 9 * sec}, {ActivityEnded, 29 * sec}, {ActivityModemDown, 29 * sec}, {ActivityModemUp, 30 * sec}}
	if len(got) != len(wants) {
		t.Fatalf("%d activities, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		if got[i].Kind != w.kind || got[i].Mono != w.at {
			t.Errorf("activity %d = %+v; want %s at %v", i, got[i], w.kind, w.at)
		}
	}
	if d, end := got[1], got[4]; d.Slot != 2 || d.CallID == 0 || end.CallID != d.CallID || end.Outcome != record.OutcomeAnswered ||
		end.Talked != 20*sec || end.Slot != 2 || got[5].Detail != "no_network" {
		t.Errorf("dialling %+v, ended %+v, modem down %+v", d, end, got[5])
	}
}
