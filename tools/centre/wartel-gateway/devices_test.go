package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wartelsuspas/tools/centre/ledger"
)

// TestDevicesShowsBoothState: `devices` lists what each booth's heartbeat
// said — state, out-of-service causes, faults, clock — and a suspected
// clone (issue 13 items 1 and 6); text a booth sent is inert in it, so a
// newline cannot forge an "online" row and escape codes never reach the
// operator's terminal (item 7). The heartbeats go into the ledger as they
// are, as a gateway before the ingest bounds would have stored them; the
// real binary prints them.
func TestDevicesShowsBoothState(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	mustGW(t, "init", "-state", state)
	for _, b := range []string{"b01", "b02", "b03"} {
		mustGW(t, "enroll", "-state", state, "-facility", "lapas-uji", "-booth", b, "-out", filepath.Join(t.TempDir(), b))
	}
	s, err := ledger.OpenSQLite(filepath.Join(state, "gateway.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	beat := func(hb ledger.Heartbeat) {
		t.Helper()
		hb.Window = 2 * time.Minute
		if _, err := s.RecordHeartbeat(ctx, hb); err != nil {
			t.Fatal(err)
		}
	}
	beat(ledger.Heartbeat{Device: "lapas-uji/b01", At: now, Firmware: "1.4.0", State: "tamper", OutOfService: []string{"tamper"},
		Faults: []string{"panel_open"}, ClockTrusted: true, ClockOffset: 1500 * time.Millisecond, BootID: "a1", Source: "10.0.0.1"})
	forged := "1.0\nlapas-uji/b99  online  ready  -  -  trusted +0s"
	beat(ledger.Heartbeat{Device: "lapas-uji/b02", At: now, Firmware: forged, State: "ready\x1b[2J\x1b[H",
		// The ledger keeps a list one item a line: a newline in a fault
		// splits it, a carriage return stays.
		Faults: []string{"x\x1b]0;pwned\a", "y\r\nlapas-uji/b98  online"}, OutOfService: []string{"\u202eenilno"}, BootID: "b1", Source: "10.0.0.2"})
	// b03's identity runs on two machines at once.
	beat(ledger.Heartbeat{Device: "lapas-uji/b03", At: now.Add(-time.Minute), State: "ready", BootID: "c1", Source: "10.0.0.3"})
	beat(ledger.Heartbeat{Device: "lapas-uji/b03", At: now.Add(-50 * time.Second), State: "ready", BootID: "c2", Source: "192.168.9.9"})
	beat(ledger.Heartbeat{Device: "lapas-uji/b03", At: now, State: "ready", BootID: "c1", Source: "10.0.0.3"})
	s.Close()

	out := mustGW(t, "devices", "-state", state, "-facility", "lapas-uji")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("devices printed %d lines, want a header and 3 rows:\n%s", len(lines), out)
	}
	if strings.ContainsAny(out, "\x1b\a\r\u202e") {
		t.Errorf("devices let a control or bidi character through to the terminal: %q", out)
	}
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[0]] = f
	}
	if len(rows) != 3 || rows["lapas-uji/b99"] != nil || rows["lapas-uji/b98"] != nil {
		t.Errorf("rows %q, want b01, b02 and b03 only", rows)
	}
	for _, tt := range []struct {
		device string
		want   []string
	}{
		{"lapas-uji/b01", []string{"online", "tamper", "tamper", "panel_open", "trusted", "+1.5s"}},
		{"lapas-uji/b02", []string{"online", `ready\x1b[2J\x1b[H`, `\u202eenilno`, `x\x1b]0;pwned\a,y\r,lapas-uji/b98`}},
		{"lapas-uji/b03", []string{"online", "ready", "-", "-", "untrusted", "+0s"}},
	} {
		if got := rows[tt.device]; len(got) < 1+len(tt.want) || !equal(got[1:1+len(tt.want)], tt.want) {
			t.Errorf("%s: row %q, want it to start %q", tt.device, got, tt.want)
		}
	}
	if !strings.Contains(lines[2], `1.0\nlapas-uji/b99`) {
		t.Errorf("b02's firmware not shown escaped: %q", lines[2])
	}
	if !strings.Contains(lines[3], "clone_suspected") || strings.Contains(lines[1]+lines[2], "clone_suspected") {
		t.Errorf("want b03 alone flagged clone_suspected:\n%s", out)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
