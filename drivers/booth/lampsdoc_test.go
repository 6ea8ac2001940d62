package booth

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestLampsDocListsEverySignal: docs/lamps.md, the page printed for the
// booth, has a row for every pattern of DefaultPatterns and none for a
// pattern that does not exist. firmware's TestSignalsHavePatterns keeps
// DefaultPatterns equal to the engine's kiosk/signal.All, so a signal
// added there fails one of the two until its pattern and its row exist.
func TestLampsDocListsEverySignal(t *testing.T) {
	doc, err := os.ReadFile("../../docs/lamps.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllSubmatch(doc, -1) {
		rows = append(rows, string(m[1]))
	}
	slices.Sort(rows)
	for _, s := range Signals() {
		if !slices.Contains(rows, s) {
			t.Errorf("docs/lamps.md: no row for signal %q: add it to the technician's table", s)
		}
	}
	for _, r := range rows {
		if _, ok := DefaultPatterns()[r]; !ok {
			t.Errorf("docs/lamps.md: a row for %q, which is no pattern of DefaultPatterns", r)
		}
	}
}
