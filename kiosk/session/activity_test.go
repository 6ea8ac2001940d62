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
