package server

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ledger"
)

// TestAlertSeries: the series the alerting rules read, from what booths
// said and what the centre noticed: the age of each booth's last
// heartbeat on the gateway's clock, the conditions its heartbeat states
// (from causes or faults), its replaced stores and lost records, and its
// open chain flags by kind.
func TestAlertSeries(t *testing.T) {
	eachBackend(t, func(t *testing.T, store ledger.Store) {
		e := newEnv(t, store, nil)
		a, b, c := e.booth(facility, "b01"), e.booth(facility, "b02"), e.booth(facility, "b03")
		a.call(protocol.PathHeartbeat, protocol.HeartbeatRequest{State: "tamper", OutOfService: []string{"tamper"}, Faults: []string{}}, nil)
		b.call(protocol.PathHeartbeat, protocol.HeartbeatRequest{State: "out_of_service", OutOfService: []string{"relay"}, Faults: []string{"reader_down"}}, nil)
		// b03: a gap (#2 before #1), then its store replaced.
		c.callRec("em:1", "W-1", "2026-11", time.Minute)
		second := c.callRec("em:1", "W-1", "2026-11", time.Minute)
		c.call(protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{second}}, nil)
		c.chain, c.recs = record.NewChainID(), nil
		c.call(protocol.PathUpload, protocol.UploadRequest{Records: []record.Record{c.callRec("em:1", "W-1", "2026-11", time.Minute)}}, nil)
		e.clk.Advance(20 * time.Minute)
		// b03 is in service with a hook switch that never moves.
		c.call(protocol.PathHeartbeat, protocol.HeartbeatRequest{State: "ready", Faults: []string{"hook_suspect"}, OutOfService: []string{}}, nil)

		var want strings.Builder
		want.WriteString(`
# HELP wartel_booth_heartbeat_age_seconds Seconds since the booth's last heartbeat, on the gateway's clock (booths never heard from have no series).
# TYPE wartel_booth_heartbeat_age_seconds gauge
wartel_booth_heartbeat_age_seconds{device="lapas-test/b01",facility="lapas-test"} 1200
wartel_booth_heartbeat_age_seconds{device="lapas-test/b02",facility="lapas-test"} 1200
wartel_booth_heartbeat_age_seconds{device="lapas-test/b03",facility="lapas-test"} 0
# HELP wartel_booth_condition 1 while the booth's last heartbeat states the condition (tamper, relay_fault, reader_down, hook_suspect) or the centre suspects a clone (clone_suspected), else 0.
# TYPE wartel_booth_condition gauge
`)
		on := map[string][]Condition{"b01": {CondTamper}, "b02": {CondRelayFault, CondReaderDown}, "b03": {CondHookSuspect}}
		for _, d := range []string{"b01", "b02", "b03"} {
			for _, cond := range []Condition{CondCloneSuspected, CondHookSuspect, CondReaderDown, CondRelayFault, CondTamper} { // label order
				v := 0
				if slices.Contains(on[d], cond) {
					v = 1
				}
				fmt.Fprintf(&want, "wartel_booth_condition{condition=%q,device=\"lapas-test/%s\",facility=\"lapas-test\"} %d\n", cond, d, v)
			}
		}
		want.WriteString(`# HELP wartel_booth_stores_replaced Stores (chains) of the booth replaced so far: wiped, re-flashed or swapped; it only grows.
# TYPE wartel_booth_stores_replaced gauge
wartel_booth_stores_replaced{device="lapas-test/b01",facility="lapas-test"} 0
wartel_booth_stores_replaced{device="lapas-test/b02",facility="lapas-test"} 0
wartel_booth_stores_replaced{device="lapas-test/b03",facility="lapas-test"} 1
# HELP wartel_chain_flags_open Chain flags not cleared on the booth's chains, by kind (docs/ledger.md "Chain flags").
# TYPE wartel_chain_flags_open gauge
`)
		kinds := slices.Sorted(slices.Values(ledger.AllFlags))
		for _, d := range []string{"b01", "b02", "b03"} {
			for _, k := range kinds {
				v := 0
				if d == "b03" && k == ledger.FlagGap {
					v = 1
				}
				fmt.Fprintf(&want, "wartel_chain_flags_open{device=\"lapas-test/%s\",facility=\"lapas-test\",kind=%q} %d\n", d, k, v)
			}
		}
		if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want.String()),
			"wartel_booth_heartbeat_age_seconds", "wartel_booth_condition", "wartel_booth_stores_replaced", "wartel_chain_flags_open"); err != nil {
			t.Error(err)
		}
	})
}

// TestConditionsNamed: every condition has its word, and those read from
// a heartbeat have the causes or faults they are read from.
func TestConditionsNamed(t *testing.T) {
	seen := map[Condition]bool{}
	for _, c := range AllConditions {
		if c == "" || seen[c] {
			t.Errorf("condition %q empty or twice", c)
		}
		seen[c] = true
	}
	// The heartbeat conditions are exactly the ledger's, under the same
	// word, decided by its HeartbeatStates.
	var kinds []ledger.AlertKind
	for _, hc := range heartbeatConditions {
		if !seen[hc.cond] {
			t.Errorf("heartbeat condition %q not in AllConditions", hc.cond)
		}
		if string(hc.cond) != string(hc.kind) {
			t.Errorf("heartbeat condition %q exported for alert kind %q: one word for both", hc.cond, hc.kind)
		}
		kinds = append(kinds, hc.kind)
	}
	if !slices.Equal(kinds, ledger.HeartbeatAlertKinds) {
		t.Errorf("heartbeat conditions for %v, the ledger's are %v", kinds, ledger.HeartbeatAlertKinds)
	}
}

// rulesFile is the alerting rules shipped with the gateway.
const rulesFile = "../wartel-gateway/alerts.yml"

// TestAlertRulesMatchSeries: the rules read only series this server
// exports (so a rename here fails until the rules follow), and every
// condition has an alert labelled with its word, and no alert a word
// that is not a condition.
func TestAlertRulesMatchSeries(t *testing.T) {
	doc, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, backends()[0].open(t), nil)
	b := e.booth(facility, "b01")
	b.call(protocol.PathHeartbeat, protocol.HeartbeatRequest{Faults: []string{}}, nil)
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, f := range families {
		exported[f.GetName()] = true
	}
	var exprs []string
	for _, line := range strings.Split(string(doc), "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "expr:") {
			exprs = append(exprs, l)
		}
	}
	if len(exprs) == 0 {
		t.Fatalf("%s has no expr", rulesFile)
	}
	for _, name := range regexp.MustCompile(`\bwartel_[a-z_]+`).FindAllString(strings.Join(exprs, "\n"), -1) {
		if !exported[name] {
			t.Errorf("%s reads %s, which the gateway does not export", rulesFile, name)
		}
	}
	used := map[Condition]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+condition: (\S+)$`).FindAllStringSubmatch(string(doc), -1) {
		c := Condition(m[1])
		if !slices.Contains(AllConditions, c) {
			t.Errorf("%s labels an alert condition %q, not one of AllConditions", rulesFile, c)
		}
		used[c] = true
	}
	for _, c := range AllConditions {
		if !used[c] {
			t.Errorf("condition %q has no alert in %s", c, rulesFile)
		}
	}
}

// TestConditionSeriesAreAlerts: for heartbeats stating each condition in
// each way a booth can (a cause, a fault, the engine's state), the
// series the rules read are 1 exactly where the console's Alerts page
// (ledger.Alerts) raises the alert: one decision, not two.
func TestConditionSeriesAreAlerts(t *testing.T) {
	e := newEnv(t, backends()[0].open(t), nil)
	beats := map[string]protocol.HeartbeatRequest{
		"b01": {State: "ready", Faults: []string{}, OutOfService: []string{}},
		"b02": {State: "out_of_service", OutOfService: []string{"tamper"}, Faults: []string{}},
		"b03": {State: "ready", Faults: []string{"panel_open"}, OutOfService: []string{}},
		"b04": {State: "tamper", Faults: []string{}, OutOfService: []string{}},
		"b05": {State: "out_of_service", OutOfService: []string{"relay"}, Faults: []string{}},
		"b06": {State: "ready", Faults: []string{"relay_fault", "reader_down"}, OutOfService: []string{}},
		"b07": {State: "out_of_service", OutOfService: []string{"reader", "store"}, Faults: []string{"store_full"}},
	}
	for _, name := range slices.Sorted(maps.Keys(beats)) {
		e.booth(facility, name).call(protocol.PathHeartbeat, beats[name], nil)
	}
	alerts, err := ledger.Alerts(t.Context(), e.store, facility, e.clk.Now(), ledger.AlertRules{})
	if err != nil {
		t.Fatal(err)
	}
	raised := map[string]bool{}
	for _, a := range alerts {
		raised[a.Device+" "+string(a.Kind)] = true
	}
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		if f.GetName() != "wartel_booth_condition" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			n++
			series := m.GetGauge().GetValue() == 1
			if alert := raised[labels["device"]+" "+labels["condition"]]; series != alert {
				t.Errorf("%s %s: series %v, the Alerts page raises it: %v", labels["device"], labels["condition"], series, alert)
			}
		}
	}
	if n != len(beats)*len(heartbeatConditions) {
		t.Errorf("%d condition series, want %d", n, len(beats)*len(heartbeatConditions))
	}
	for _, want := range []string{"b02 tamper", "b03 tamper", "b04 tamper", "b05 relay_fault", "b06 relay_fault", "b06 reader_down", "b07 reader_down"} {
		if !raised[facility+"/"+want] {
			t.Errorf("no alert %s", want)
		}
	}
}
