package main

import (
	"wartelsuspas/drivers/booth"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/kiosk/uplink"
)

// fault is a fault of the booth's parts as its heartbeat reports it to the
// centre (`wartel-gateway devices`, FAULTS). The out-of-service causes say
// why calls are refused; faults say what is wrong now: a tamper stays a
// cause until an officer clears it, while panel_open ends when the panel
// closes.
type fault string

const (
	faultPanelOpen         fault = "panel_open"         // the tamper switch reads open now
	faultRelay             fault = "relay_fault"        // the driver latched a relay-feedback fault
	faultReaderDown        fault = "reader_down"        // the card reader is not up
	faultDriver            fault = "booth_driver"       // the booth driver did not answer
	faultCallsUnclosed     fault = "calls_unclosed"     // ended calls the store could not close yet
	faultDenialsUnrecorded fault = "denials_unrecorded" // denials the store could not write yet
	faultHookSuspect       fault = "hook_suspect"       // calls in a row ended with the hook switch never changing (session.Config.HookStillCalls)

	// The modem's causes (drivers/modem.AllCauses), as modemFault names them.
	faultModemNoSIM      fault = "modem_no_sim"      // no usable SIM
	faultModemSIMPIN     fault = "modem_sim_pin"     // the SIM asks for its PIN
	faultModemNoNetwork  fault = "modem_no_network"  // not registered
	faultModemWeakSignal fault = "modem_weak_signal" // +CSQ below modem.min_signal
	faultModemFault      fault = "modem_fault"       // not answering, or its port is gone
)

// allFaults lists every fault, for the tests that give each its words.
var allFaults = []fault{faultPanelOpen, faultRelay, faultReaderDown, faultDriver, faultCallsUnclosed, faultDenialsUnrecorded, faultHookSuspect,
	faultModemNoSIM, faultModemSIMPIN, faultModemNoNetwork, faultModemWeakSignal, faultModemFault}

// Words of the self-test's heartbeat: a booth under test takes no calls.
const (
	stateSelftest = "selftest"
	causeSelftest = "selftest"
)

// partFaults are the faults the drivers show, in allFaults order.
func partFaults(bs booth.State, bsErr error, readerUp bool) []string {
	var out []string
	add := func(on bool, f fault) {
		if on {
			out = append(out, string(f))
		}
	}
	add(bsErr == nil && bs.PanelOpen, faultPanelOpen)
	add(bsErr == nil && bs.Fault != nil, faultRelay)
	add(!readerUp, faultReaderDown)
	add(bsErr != nil, faultDriver)
	return out
}

// boothReport is what the daemon's heartbeat says: the engine's state and
// causes, and the faults of the parts and the store.
func boothReport(s session.Status, bs booth.State, bsErr error, readerUp bool) uplink.BoothState {
	faults := partFaults(bs, bsErr, readerUp)
	if s.PendingCloses > 0 {
		faults = append(faults, string(faultCallsUnclosed))
	}
	if s.Unrecorded > 0 {
		faults = append(faults, string(faultDenialsUnrecorded))
	}
	if s.HookSuspect {
		faults = append(faults, string(faultHookSuspect))
	}
	return uplink.BoothState{
		State:        string(s.State),
		OutOfService: causeWords(s.OutOfService),
		Faults:       faults,
		ClockTrusted: s.ClockTrusted,
	}
}

// causeWords are the engine's out-of-service causes as the heartbeat
// carries them.
func causeWords(cs []session.Cause) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c))
	}
	return out
}
