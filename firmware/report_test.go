package main

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"wartelsuspas/drivers/booth"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/session"
)

// TestBoothReport: what the daemon's heartbeat says for each condition of
// the engine, the booth driver and the reader.
func TestBoothReport(t *testing.T) {
	tamper := session.Status{State: session.StateTamper, OutOfService: []session.Cause{session.CauseTamper}, ClockTrusted: true}
	tests := []struct {
		name     string
		s        session.Status
		bs       booth.State
		bsErr    error
		readerUp bool
		want     []string // faults
	}{
		{"ready", session.Status{State: session.StateReady, ClockTrusted: true}, booth.State{}, nil, true, nil},
		{"panel open", tamper, booth.State{PanelOpen: true, Tampered: true}, nil, true, []string{"panel_open"}},
		{"panel closed, not cleared", tamper, booth.State{Tampered: true}, nil, true, nil},
		{"relay fault", session.Status{State: session.StateOutOfService, OutOfService: []session.Cause{session.CauseRelay}},
			booth.State{Fault: errors.New("feedback stuck")}, nil, true, []string{"relay_fault"}},
		{"reader down", session.Status{State: session.StateOutOfService, OutOfService: []session.Cause{session.CauseReader}}, booth.State{}, nil, false, []string{"reader_down"}},
		{"driver silent", session.Status{State: session.StateReady}, booth.State{}, errors.New("closed"), true, []string{"booth_driver"}},
		{"store behind", session.Status{State: session.StateOutOfService, OutOfService: []session.Cause{session.CauseStore}, PendingCloses: 1, Unrecorded: 2},
			booth.State{}, nil, true, []string{"calls_unclosed", "denials_unrecorded"}},
		{"hook switch suspect", session.Status{State: session.StateReady, HookSuspect: true}, booth.State{}, nil, true, []string{"hook_suspect"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := boothReport(tt.s, tt.bs, tt.bsErr, tt.readerUp)
			if got.State != string(tt.s.State) || !slices.Equal(got.OutOfService, causeWords(tt.s.OutOfService)) ||
				got.ClockTrusted != tt.s.ClockTrusted || !slices.Equal(got.Faults, tt.want) {
				t.Errorf("report %+v, want state %s, causes %v, faults %v", got, tt.s.State, tt.s.OutOfService, tt.want)
			}
		})
	}
}

// TestFaultWords: every fault the booth reports passes the gateway's bounds
// and is explained in docs/uplink.md.
func TestFaultWords(t *testing.T) {
	doc, err := os.ReadFile("../docs/uplink.md")
	if err != nil {
		t.Fatal(err)
	}
	words := []string{stateSelftest, causeSelftest}
	for _, f := range allFaults {
		words = append(words, string(f))
	}
	for _, c := range session.AllCauses {
		words = append(words, string(c))
	}
	for _, w := range words {
		if err := (protocol.HeartbeatRequest{State: w, Faults: []string{w}, OutOfService: []string{w}}).Validate(); err != nil {
			t.Errorf("%s: the gateway would refuse it: %v", w, err)
		}
		if !strings.Contains(string(doc), "`"+w+"`") {
			t.Errorf("%s: not in docs/uplink.md", w)
		}
	}
}
