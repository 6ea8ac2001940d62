package main

import (
	"os"
	"os/exec"
	"testing"
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
