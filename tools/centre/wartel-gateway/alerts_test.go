package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"wartelsuspas/tools/centre/ledger"
)

// TestAlertRules: the alerting rules shipped in the repo are valid
// (`promtool check rules`) and fire on the conditions they name and not
// otherwise (`promtool test rules alerts_test.yml`). Debian's prometheus
// package has promtool; tools/release/ci/deps.sh installs it, so under CI
// its absence fails the test instead of skipping it.
func TestAlertRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool: %v: CI must install it (tools/release/ci/deps.sh, Debian's prometheus package)", err)
		}
		t.Skip("promtool not installed: the alert rules test needs Debian's prometheus package")
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

// TestAlertRulesAreTheConsoles: the Prometheus rules and the console's
// Alerts page raise on the same conditions with the same thresholds, so an
// operator never sees one without the other: every alert kind of the
// ledger is a rule's condition, and the offline age and outbox depth are
// ledger.DefaultAlertRules'.
func TestAlertRulesAreTheConsoles(t *testing.T) {
	b, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	rules := string(b)
	for _, k := range ledger.AllAlertKinds {
		if !strings.Contains(rules, "condition: "+string(k)+"\n") {
			t.Errorf("alerts.yml: no rule with condition %s, which the console raises", k)
		}
	}
	threshold := func(series string) float64 {
		m := regexp.MustCompile(regexp.QuoteMeta(series) + ` > ([0-9.]+)`).FindStringSubmatch(rules)
		if m == nil {
			t.Fatalf("alerts.yml: no rule %q > N", series)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	if got, want := threshold("wartel_booth_heartbeat_age_seconds"), ledger.DefaultAlertRules.OfflineAfter.Seconds(); got != want {
		t.Errorf("offline after %v s in alerts.yml, %v s at the console", got, want)
	}
	if got, want := threshold("wartel_outbox_depth"), float64(ledger.DefaultAlertRules.OutboxLimit); got != want {
		t.Errorf("outbox limit %v in alerts.yml, %v at the console", got, want)
	}
}
