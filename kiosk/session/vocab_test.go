package session

import (
	"os"
	"slices"
	"strings"
	"testing"

	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/signal"
)

// TestEveryDenialHasASignal: every reason a denial record can carry has a
// lamp pattern the engine shows, and it is one of signal.All. Before, an
// unknown reason fell through to denied_card: a new reason showed a
// plausible, wrong lamp and no test noticed.
func TestEveryDenialHasASignal(t *testing.T) {
	for _, r := range AllDenials {
		sig, ok := denialSignal(r)
		if !ok {
			t.Errorf("denial %q has no lamp signal: add it to denialSignal", r)
			continue
		}
		if !slices.Contains(signal.All, sig) {
			t.Errorf("denial %q shows %q, which is not in signal.All", r, sig)
		}
	}
	if sig, ok := denialSignal("made_up"); ok {
		t.Errorf("denialSignal(made_up) = %q, true: an unknown reason must not get a plausible lamp", sig)
	}
	if n := len(AllDenials); n != len(slices.Compact(slices.Sorted(slices.Values(AllDenials)))) {
		t.Errorf("AllDenials has a word twice: %v", AllDenials)
	}
}

// TestEveryBoundIsAnEndReason: a call that reaches the bound set at the
// tap ends under the bound's name, which must be an end reason the centre
// and the catalogue know.
func TestEveryBoundIsAnEndReason(t *testing.T) {
	for _, b := range policy.AllBounds {
		if !slices.Contains(record.AllEndReasons, endReason(b)) {
			t.Errorf("bound %q is no end reason of record.AllEndReasons", b)
		}
	}
	for _, e := range []record.EndReason{EndHangup, EndOfficer, EndSecondTap, EndNoOffHook, EndTamper, EndFault, EndStoreError, EndShutdown, EndPowerLoss} {
		if !slices.Contains(record.AllEndReasons, e) {
			t.Errorf("end reason %q is not in record.AllEndReasons", e)
		}
	}
}

// TestOfficerModesAreActions: the policy's officer rule names the action
// the engine records.
func TestOfficerModesAreActions(t *testing.T) {
	for _, m := range []policy.OfficerAction{policy.OfficerReset, policy.OfficerGrant} {
		a := record.OfficerAction(m)
		if !slices.Contains(record.AllOfficerActions, a) || !a.Credits() {
			t.Errorf("policy officer rule %q is not a crediting action of record.AllOfficerActions", m)
		}
	}
}

// TestDefaultWarningsAreSignals: the default warnings show known signals.
func TestDefaultWarningsAreSignals(t *testing.T) {
	for _, w := range DefaultWarnings {
		if !slices.Contains(signal.All, w.Signal) {
			t.Errorf("default warning %v shows %q, not in signal.All", w.Before, w.Signal)
		}
	}
}

// TestEveryCauseHasItsPlaces: every out-of-service cause has the lamp an
// idle booth shows for it, passes the gateway's bounds on the heartbeat's
// out_of_service list, and is named in docs/uplink.md, where the centre's
// people read what a cause means.
func TestEveryCauseHasItsPlaces(t *testing.T) {
	doc, err := os.ReadFile("../../docs/uplink.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range AllCauses {
		sig, ok := causeSignal(c)
		if !ok || !slices.Contains(signal.All, sig) {
			t.Errorf("cause %q shows %q (%v): give it a signal of signal.All in causeSignal", c, sig, ok)
		}
		if err := (protocol.HeartbeatRequest{State: string(StateOutOfService), OutOfService: []string{string(c)}}).Validate(); err != nil {
			t.Errorf("cause %q: the gateway would refuse it: %v", c, err)
		}
		if !strings.Contains(string(doc), "`"+string(c)+"`") {
			t.Errorf("cause %q: not in docs/uplink.md (out_of_service)", c)
		}
	}
	if sig, ok := causeSignal("made_up"); ok {
		t.Errorf("causeSignal(made_up) = %q, true: an unknown cause must not get a plausible lamp", sig)
	}
	if n := len(AllCauses); n != len(slices.Compact(slices.Sorted(slices.Values(AllCauses)))) {
		t.Errorf("AllCauses has a word twice: %v", AllCauses)
	}
}
