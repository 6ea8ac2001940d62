package main

import (
	"slices"
	"testing"

	"wartelsuspas/drivers/modem"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
)

// TestModemWords: the modem driver's outcomes are record.Outcome's words,
// its stages session's, and every cause has its heartbeat fault.
func TestModemWords(t *testing.T) {
	var outs []record.Outcome
	for _, o := range modem.AllOutcomes {
		outs = append(outs, record.Outcome(o))
	}
	if !slices.Equal(outs, record.AllOutcomes) {
		t.Errorf("modem outcomes %v, record outcomes %v", outs, record.AllOutcomes)
	}
	for _, s := range []struct {
		m modem.Stage
		s session.DialStage
	}{{modem.StageDialling, session.StageDialling}, {modem.StageAlerting, session.StageAlerting},
		{modem.StageActive, session.StageActive}, {modem.StageEnded, session.StageEnded}} {
		in := modemInput(modem.Event{Kind: modem.Progress, Call: 42, Stage: s.m})
		if p := in.(session.CallProgress); p.Stage != s.s || p.Call != 42 {
			t.Errorf("stage %s of call 42 became %+v: the call id must reach the engine", s.m, in)
		}
	}
	for _, c := range modem.AllCauses {
		if !slices.Contains(allFaults, modemFault(c)) {
			t.Errorf("cause %s: fault %q not in allFaults", c, modemFault(c))
		}
	}
	if in := modemInput(modem.Event{Kind: modem.Key, Key: '#'}); in != (session.Key{Digit: '#'}) {
		t.Errorf("key became %v", in)
	}
	if in := modemInput(modem.Event{Kind: modem.Incoming, From: "+62811"}); in != (session.Incoming{From: "+62811"}) {
		t.Errorf("incoming became %v", in)
	}
	if in := modemInput(modem.Event{Kind: modem.Health, Cause: modem.CauseNoSIM}); in.(session.ModemHealth).Cause != "no_sim" {
		t.Errorf("health became %v", in)
	}
}
