package boothrig

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/uplink"
)

// devicesRow runs the real `wartel-gateway devices` and returns the
// booth's row.
func devicesRow(t *testing.T, ctx context.Context, r *Rig, b *Booth) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, gatewayBin, "devices", "-state", r.Gateway.Dir, "-facility", r.Facility()).CombinedOutput()
	if err != nil {
		t.Fatalf("wartel-gateway devices: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, b.Device+" ") {
			return l
		}
	}
	t.Fatalf("wartel-gateway devices lists no %s:\n%s", b.Device, out)
	return ""
}

// waitDevices polls `wartel-gateway devices` until b's row matches want,
// for at most within; it returns how long that took.
func waitDevices(t *testing.T, ctx context.Context, r *Rig, b *Booth, want *regexp.Regexp, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		row := devicesRow(t, ctx, r, b)
		if want.MatchString(row) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("after %v the centre's row is still\n%s\nwant it to match %s", within, row, want)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestRigTamperReachesCentre: the real daemon's heartbeat says what the
// booth is. The panel opened, `wartel-gateway devices` shows the tamper
// state, cause and the open panel within one heartbeat interval; closed
// and cleared with the officer card, they are gone (issue 13 item 1).
func TestRigTamperReachesCentre(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*hang)
	defer cancel()
	r, err := Start(ctx, Options{Dir: t.TempDir(), KioskBin: kioskBin, GatewayBin: gatewayBin})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := r.Booths[0]
	const interval = uplink.DefaultHeartbeatInterval
	// A ready booth: state, no causes, no faults, its clock trusted.
	waitDevices(t, ctx, r, b, regexp.MustCompile(`^\S+\s+online\s+ready\s+-\s+-\s+trusted\s`), interval)

	if err := b.Panel(true); err != nil {
		t.Fatal(err)
	}
	took := waitDevices(t, ctx, r, b, regexp.MustCompile(`^\S+\s+online\s+tamper\s+tamper\s+panel_open\s`), interval)
	t.Logf("tamper at the centre %v after the panel opened", took)

	// Closed, the panel is no fault any more; the tamper stays until an
	// officer clears it.
	if err := b.Panel(false); err != nil {
		t.Fatal(err)
	}
	waitDevices(t, ctx, r, b, regexp.MustCompile(`^\S+\s+online\s+tamper\s+tamper\s+-\s`), interval)
	if err := b.Tap(card("agus")); err != nil {
		t.Fatal(err)
	}
	waitDevices(t, ctx, r, b, regexp.MustCompile(`^\S+\s+online\s+ready\s+-\s+-\s`), interval)
}
