package boothrig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/session"
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
	r := startRig(ctx, t, Options{})
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

// deniedTags are the card tags of the "tap denied" lines in b's log.
func deniedTags(t *testing.T, b *Booth) []string {
	t.Helper()
	log, err := os.ReadFile(filepath.Join(b.Dir, "kiosk.log"))
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, m := range regexp.MustCompile(`msg="tap denied"[^\n]* card=(\S+)`).FindAllSubmatch(log, -1) {
		tags = append(tags, string(m[1]))
	}
	return tags
}

// TestRigCardTags: the real daemons name a card in their info logs by a tag
// keyed with each booth's secret: the same on one booth across a restart,
// another at the next booth, and not the unkeyed SHA-256 prefix anyone with
// the roster could compute (issue 13 item 8).
func TestRigCardTags(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*hang)
	defer cancel()
	r := startRig(ctx, t, Options{Booths: 2})
	defer r.Close()
	deny := func(b *Booth) {
		t.Helper()
		before, err := b.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Tap(UnknownCard); err != nil {
			t.Fatal(err)
		}
		if _, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.Denials > before.Session.Denials }); err != nil {
			t.Fatal(err)
		}
	}
	b1, b2 := r.Booths[0], r.Booths[1]
	deny(b1)
	deny(b2)
	if err := b1.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := b1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b1.WaitStatus(ctx, func(s Status) bool { return s.Session.State == "ready" }); err != nil {
		t.Fatal(err)
	}
	deny(b1)
	if err := r.Close(); err != nil { // the logs complete
		t.Fatal(err)
	}
	t1, t2 := deniedTags(t, b1), deniedTags(t, b2)
	unkeyed := sha256.Sum256([]byte(UnknownCard))
	switch {
	case len(t1) != 2 || len(t2) != 1:
		log, _ := os.ReadFile(filepath.Join(b1.Dir, "kiosk.log"))
		t.Fatalf("tags in the logs: b01 %q, b02 %q; want two and one; b01 log:\n%s", t1, t2, log)
	case t1[0] != t1[1]:
		t.Errorf("b01 tagged %s as %s, then %s after a restart", UnknownCard, t1[0], t1[1])
	case t1[0] == t2[0]:
		t.Errorf("b01 and b02 both tag %s as %s", UnknownCard, t1[0])
	case t1[0] == hex.EncodeToString(unkeyed[:4]) || t2[0] == hex.EncodeToString(unkeyed[:4]):
		t.Errorf("tags %s, %s: one is the unkeyed SHA-256 prefix", t1[0], t2[0])
	}
}

// TestRigHookSuspectReachesCentre: a hook switch that never moves, through
// the real daemon. Three granted calls that end with the handset never
// lifted put hook_suspect in the heartbeat's faults, so `wartel-gateway
// devices` shows it (the centre's hook_suspect alert reads the same word),
// while the booth stays ready for calls; the handset lifted clears it.
func TestRigHookSuspectReachesCentre(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*hang)
	defer cancel()
	r := startRig(ctx, t, Options{Configure: func(b *Booth, doc string) (string, error) {
		out, ok := SetKey(doc, "session", "off_hook_timeout", `"1s"`)
		if !ok {
			return "", fmt.Errorf("%s: no off_hook_timeout in [session]", b.Config)
		}
		return out, nil
	}})
	defer r.Close()
	b := r.Booths[0]
	const interval = uplink.DefaultHeartbeatInterval
	waitDevices(t, ctx, r, b, regexp.MustCompile(`^\S+\s+online\s+ready\s+-\s+-\s+trusted\s`), interval)
	for i := range 3 {
		s, err := b.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.Session.HookSuspect {
			t.Fatalf("hook switch suspect after %d call(s)", i)
		}
		if err := b.Tap(card("budi")); err != nil {
			t.Fatal(err)
		}
		a, err := b.WaitActivity(ctx, s.LastSeq(), func(a Activity) bool {
			return a.Kind == session.ActivityEnded || a.Kind == session.ActivityDenied
		})
		if err != nil {
			t.Fatal(err)
		}
		if a.Kind != session.ActivityEnded || a.End != string(session.EndNoOffHook) {
			t.Fatalf("tap %d: %+v, want a granted call ended no_offhook", i+1, a)
		}
	}
	if _, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.HookSuspect && s.Session.State == "ready" }); err != nil {
		t.Fatal(err)
	}
	took := waitDevices(t, ctx, r, b, regexp.MustCompile(`^\S+\s+online\s+ready\s+-\s+hook_suspect\s`), interval)
	t.Logf("hook_suspect at the centre %v after the third call", took)
	if err := b.Lift(); err != nil {
		t.Fatal(err)
	}
	waitDevices(t, ctx, r, b, regexp.MustCompile(`^\S+\s+online\s+ready\s+-\s+-\s`), interval)
}

// TestRigHookStuckUpOutOfService: a hook switch that reads off-hook through
// 3 calls in a row would bill every further call to its limit, so the real
// daemon takes its booth out of service (cause hook) and the centre sees
// it; the next tap is refused, charged nothing; putting the handset down
// moves the switch and brings the booth back.
func TestRigHookStuckUpOutOfService(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*hang)
	defer cancel()
	r := startRig(ctx, t, Options{})
	defer r.Close()
	b := r.Booths[0]
	const interval = uplink.DefaultHeartbeatInterval
	waitDevices(t, ctx, r, b, regexp.MustCompile(`^\S+\s+online\s+ready\s+-\s+-\s+trusted\s`), interval)
	if err := b.Lift(); err != nil {
		t.Fatal(err)
	}
	// Each call talks from the tap (the handset reads lifted) and an
	// officer's card ends it, the switch never moving. (Another card than
	// the last one tapped reads at once; the same card again only once the
	// reader has seen it taken away.)
	for i := range 3 {
		s, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.State == "ready" && s.Session.OffHook })
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Tap(card("budi")); err != nil {
			t.Fatal(err)
		}
		if _, err := b.WaitActivity(ctx, s.LastSeq(), func(a Activity) bool { return a.Kind == session.ActivityTalking }); err != nil {
			t.Fatalf("tap %d: %v", i+1, err)
		}
		if err := b.Tap(card("agus")); err != nil {
			t.Fatal(err)
		}
		a, err := b.WaitActivity(ctx, s.LastSeq(), func(a Activity) bool { return a.Kind == session.ActivityEnded })
		if err != nil {
			t.Fatal(err)
		}
		if a.End != string(session.EndOfficer) {
			t.Fatalf("call %d: %+v, want ended by the officer", i+1, a)
		}
	}
	s, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.State == "out_of_service" })
	if err != nil {
		t.Fatal(err)
	}
	if !s.Session.HookSuspect || !slices.Equal(s.Session.OutOfService, []string{string(session.CauseHook)}) {
		t.Fatalf("after 3 calls never put down: %+v; want suspect, out of service for hook", s.Session)
	}
	took := waitDevices(t, ctx, r, b, regexp.MustCompile(`^\S+\s+online\s+out_of_service\s+hook\s+hook_suspect\s`), interval)
	t.Logf("out of service for the hook switch at the centre %v after the third call", took)
	if err := b.Tap(card("budi")); err != nil {
		t.Fatal(err)
	}
	a, err := b.WaitActivity(ctx, s.LastSeq(), func(a Activity) bool { return a.Kind == session.ActivityDenied || a.Kind == session.ActivityGranted })
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != session.ActivityDenied || a.Denial != "out_of_service" {
		t.Fatalf("a tap out of service: %+v, want denied out_of_service", a)
	}
	if err := b.Hang(); err != nil {
		t.Fatal(err)
	}
	waitDevices(t, ctx, r, b, regexp.MustCompile(`^\S+\s+online\s+ready\s+-\s+-\s`), interval)
}

// TestRigHandsetLiftedAtStart: the real daemon started with the handset
// off its cradle (left lifted through a power cut) knows it is lifted: its
// status says off-hook, and the next call talks from the tap, its relay
// closed, instead of waiting for a lift that came before it.
func TestRigHandsetLiftedAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*hang)
	defer cancel()
	r := startRig(ctx, t, Options{})
	defer r.Close()
	b := r.Booths[0]
	if _, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.State == "ready" }); err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := b.Lift(); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Ready again once the gateway has confirmed its clock (a booth just
	// started refuses taps on an untrusted clock), and off-hook.
	s, err := b.WaitStatus(ctx, func(s Status) bool {
		return s.Session.State == "ready" && s.Session.ClockTrusted && s.Session.OffHook
	})
	if err != nil {
		t.Fatalf("started with the handset lifted: %v", err)
	}
	if err := b.Tap(card("budi")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitActivity(ctx, s.LastSeq(), func(a Activity) bool { return a.Kind == session.ActivityTalking }); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitRelay(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := b.Hang(); err != nil {
		t.Fatal(err)
	}
	a, err := b.WaitActivity(ctx, s.LastSeq(), func(a Activity) bool { return a.Kind == session.ActivityEnded })
	if err != nil {
		t.Fatal(err)
	}
	if a.End != string(session.EndHangup) {
		t.Fatalf("call: %+v, want ended by the hang-up", a)
	}
}
