package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"wartelsuspas/tools/centre/ledger"
)

// The series the alerting rules read (tools/centre/wartel-gateway/alerts.yml,
// docs/operations.md "Alerts"): what the console's Alerts page shows, with
// the same condition words, read from the ledger at scrape time so every
// replica reports the same.

// Condition is a state of a booth that an alert is raised on.
type Condition string

// The words are the ledger's alert kinds, so a rule's condition label is
// the word the console's Alerts page and its acknowledgements use.
const (
	CondOffline        = Condition(ledger.AlertOffline)        // no heartbeat for longer than a set time
	CondTamper         = Condition(ledger.AlertTamper)         // the panel is or was opened (until an officer clears it)
	CondRelayFault     = Condition(ledger.AlertRelayFault)     // the relay did not do what it was told
	CondReaderDown     = Condition(ledger.AlertReaderDown)     // the card reader does not answer
	CondHookSuspect    = Condition(ledger.AlertHookSuspect)    // calls in a row ended with the hook switch never changing
	CondStoreReplaced  = Condition(ledger.AlertStoreReplaced)  // the booth uploads from a new store (chain)
	CondCloneSuspected = Condition(ledger.AlertCloneSuspected) // two machines heartbeat with one identity
	CondChainFlags     = Condition(ledger.AlertChainFlags)     // open flags on the booth's chains
	CondOutboxGrowing  = Condition(ledger.AlertOutboxGrowing)  // records pile up in the booth's outbox
)

// AllConditions lists every condition; each has an alert in alerts.yml
// (TestAlertRulesCoverConditions).
var AllConditions = []Condition{CondOffline, CondTamper, CondRelayFault, CondReaderDown, CondHookSuspect, CondStoreReplaced, CondCloneSuspected, CondChainFlags, CondOutboxGrowing}

// heartbeatConditions are the conditions a booth's last heartbeat states,
// exported as wartel_booth_condition 0 or 1, each decided by the ledger's
// HeartbeatStates for its alert kind: the same decision as the console's
// Alerts page (ledger.Alerts). The other conditions have series of their
// own (age, stores replaced, chain flags, outbox depth) with thresholds in
// the rules.
var heartbeatConditions = []struct {
	cond Condition
	kind ledger.AlertKind
}{
	{CondTamper, ledger.AlertTamper},
	{CondRelayFault, ledger.AlertRelayFault},
	{CondReaderDown, ledger.AlertReaderDown},
	{CondHookSuspect, ledger.AlertHookSuspect},
	{CondCloneSuspected, ledger.AlertCloneSuspected},
}

// alertDescs are the descriptions of the alerting series.
type alertDescs struct {
	age, condition, replaced, lost, flags *prometheus.Desc
}

func newAlertDescs() alertDescs {
	dev := []string{"facility", "device"}
	return alertDescs{
		age: prometheus.NewDesc("wartel_booth_heartbeat_age_seconds",
			"Seconds since the booth's last heartbeat, on the gateway's clock (booths never heard from have no series).", dev, nil),
		condition: prometheus.NewDesc("wartel_booth_condition",
			"1 while the booth's last heartbeat states the condition (tamper, relay_fault, reader_down, hook_suspect) or the centre suspects a clone (clone_suspected), else 0.",
			append(dev, "condition"), nil),
		replaced: prometheus.NewDesc("wartel_booth_stores_replaced",
			"Stores (chains) of the booth replaced so far: wiped, re-flashed or swapped; it only grows.", dev, nil),
		lost: prometheus.NewDesc("wartel_booth_records_lost",
			"Records of replaced stores the booth is known to have written that the gateway never stored.", dev, nil),
		flags: prometheus.NewDesc("wartel_chain_flags_open",
			"Chain flags not cleared on the booth's chains, by kind (docs/ledger.md \"Chain flags\").", append(dev, "kind"), nil),
	}
}

func (a alertDescs) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{a.age, a.condition, a.replaced, a.lost, a.flags} {
		ch <- d
	}
}

// collect sends the alerting series of one device; its open chain flags
// are counted from flags.
func (a alertDescs) collect(ch chan<- prometheus.Metric, facility string, d ledger.DeviceStatus, age float64, flags []ledger.ChainError) {
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, append([]string{facility, d.Device}, labels...)...)
	}
	gauge(a.age, age)
	for _, hc := range heartbeatConditions {
		v := 0.0
		if ledger.HeartbeatStates(d, hc.kind) {
			v = 1
		}
		gauge(a.condition, v, string(hc.cond))
	}
	gauge(a.replaced, float64(d.StoreReplaced))
	gauge(a.lost, float64(d.LostRecords))
	open := make(map[string]int, len(ledger.AllFlags))
	for _, f := range flags {
		if !f.Cleared {
			open[f.Kind]++
		}
	}
	for _, k := range ledger.AllFlags {
		gauge(a.flags, float64(open[k]), k)
	}
}
