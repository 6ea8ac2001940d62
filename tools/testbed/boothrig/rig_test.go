package boothrig

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/tools/centre/ledger"
)

// hang bounds every wait: only a hang reaches it.
const hang = 60 * time.Second

var kioskBin, gatewayBin string

// startRig starts a rig of the binaries built for this test run in a fresh
// folder of t's, filling in what o leaves out; the caller closes it.
func startRig(ctx context.Context, t *testing.T, o Options) *Rig {
	t.Helper()
	o.Dir, o.KioskBin, o.GatewayBin = t.TempDir(), kioskBin, gatewayBin
	r, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "boothrig-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kioskBin, gatewayBin, err = Build(context.Background(), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func card(p string) cardid.ID {
	for _, d := range DemoRoster {
		if d.Short == p {
			return cardid.ID(d.Info.Card)
		}
	}
	panic("no demo card " + p)
}

// centreReport is the gateway's month so far for the rig's facility.
func centreReport(t *testing.T, ctx context.Context, r *Rig) map[string]ledger.ReportRow {
	t.Helper()
	l, err := r.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := policy.LoadZone("Asia/Jakarta")
	rows, err := l.MonthlyReport(ctx, r.Facility(), time.Now().In(loc).Format("2006-01"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]ledger.ReportRow{}
	for _, row := range rows {
		m[row.Inmate] = row
	}
	return m
}

// waitCentre waits until the gateway's report satisfies ok.
func waitCentre(t *testing.T, ctx context.Context, r *Rig, ok func(map[string]ledger.ReportRow) bool) map[string]ledger.ReportRow {
	t.Helper()
	for {
		m := centreReport(t, ctx, r)
		if ok(m) {
			return m
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the gateway's report never as wanted: %+v", m)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// talk taps card at b, waits for the grant (the relay still open: it
// closes when the handset is lifted), lifts the handset and returns the
// status once the call is talking, its relay closed.
func talk(t *testing.T, ctx context.Context, b *Booth, card cardid.ID) Status {
	t.Helper()
	if err := b.Tap(card); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.State == "granted" }); err != nil {
		t.Fatal(err)
	}
	if on, err := b.Relay(); err != nil || on {
		t.Fatalf("relay on (%v) while granted with the handset down", err)
	}
	if err := b.Lift(); err != nil {
		t.Fatal(err)
	}
	s, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.State == "talking" })
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WaitRelay(ctx, true); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRigCall runs two real booths against the real gateway: a call from
// tap to record at the centre, denials of an unknown and a blocked card,
// and a power cut mid-call whose call still reaches the centre once.
func TestRigCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*hang)
	defer cancel()
	r := startRig(ctx, t, Options{Booths: 2})
	defer r.Close()
	b1, b2 := r.Booths[0], r.Booths[1]

	wctx, wcancel := context.WithTimeout(ctx, hang)
	defer wcancel()
	s := talk(t, wctx, b1, card("budi"))
	if s.Session.Inmate != "WBP-0001" || s.Session.LeftMs <= 0 || s.Session.LeftMs > DemoRules.PerCall.Milliseconds() {
		t.Errorf("talking status %s: want WBP-0001 with at most %v left", s.Raw, DemoRules.PerCall)
	}
	if err := b1.Hang(); err != nil {
		t.Fatal(err)
	}
	if err := b1.WaitRelay(wctx, false); err != nil {
		t.Fatal(err)
	}

	// Unknown and blocked cards at the other booth: denied, relay never on.
	for _, c := range []cardid.ID{UnknownCard, card("joko")} {
		before, err := b2.Status(wctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := b2.Tap(c); err != nil {
			t.Fatal(err)
		}
		if _, err := b2.WaitStatus(wctx, func(s Status) bool { return s.Session.Denials > before.Session.Denials }); err != nil {
			t.Fatal(err)
		}
		if on, err := b2.Relay(); err != nil || on {
			t.Errorf("relay on after denying %s (%v)", c, err)
		}
	}
	m := waitCentre(t, wctx, r, func(m map[string]ledger.ReportRow) bool {
		return m["WBP-0001"].Calls == 1 && m[""].Denials >= 1 && m["WBP-0004"].Denials == 1
	})
	if m["WBP-0001"].Talked <= 0 {
		t.Errorf("centre: %+v, want the call's talk time", m["WBP-0001"])
	}

	// Power cut mid-call: the relay holds until safe-off; after the
	// restart the call's record reaches the centre, once.
	talk(t, wctx, b1, card("siti"))
	if err := b1.Kill(wctx); err != nil {
		t.Fatal(err)
	}
	if on, err := b1.Relay(); err != nil || on {
		t.Fatalf("relay on after the power cut and safe-off (%v)", err)
	}
	if err := b1.Hang(); err != nil {
		t.Fatal(err)
	}
	if err := b1.Start(wctx); err != nil {
		t.Fatal(err)
	}
	waitCentre(t, wctx, r, func(m map[string]ledger.ReportRow) bool { return m["WBP-0002"].Calls == 1 })
	if on, err := b1.Relay(); err != nil || on {
		t.Errorf("relay on after the restart (%v)", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	log, _ := os.ReadFile(b1.Dir + "/kiosk.log")
	if !strings.Contains(string(log), "call ended") {
		t.Errorf("booth log lacks the call's end:\n%s", log)
	}
}

func TestSetKey(t *testing.T) {
	doc := "device = \"x\"\n[reader]\nprotocol = \"a\"   # which\npath = \"/dev/ttyUSB0\"\n[store]\npath = \"/var/x\"\n"
	tests := []struct {
		section, key, value string
		want                string
		ok                  bool
	}{
		{"", "device", `"y"`, "device = \"y\"\n", true},
		{"reader", "path", `"/p"`, "path = \"/p\"\n[store]", true},
		{"store", "path", `"/db"`, "[store]\npath = \"/db\"\n", true},
		{"reader", "protocol", `"b"`, "protocol = \"b\"  # which\n", true},
		{"", "path", `"/z"`, "", false},
		{"gateway", "url", `"u"`, "", false},
	}
	for _, tt := range tests {
		got, ok := SetKey(doc, tt.section, tt.key, tt.value)
		if ok != tt.ok || ok && !strings.Contains(got, tt.want) {
			t.Errorf("SetKey([%s] %s) = %q, %v; want %q, %v", tt.section, tt.key, got, ok, tt.want, tt.ok)
		}
		if !ok && got != doc {
			t.Errorf("SetKey([%s] %s) changed the document without the key", tt.section, tt.key)
		}
	}
}

// TestRigCentralPolicy: `wartel-gateway policy set` reaches a real booth
// at its next sync (here, its restart) and is kept across the next
// restart: hours closed at the centre close the booth.
func TestRigCentralPolicy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*hang)
	defer cancel()
	r := startRig(ctx, t, Options{})
	defer r.Close()
	b := r.Booths[0]
	if s, err := b.Status(ctx); err != nil || s.Session.State != "ready" {
		t.Fatalf("status %s, %v; want ready", s.Raw, err)
	}
	// Closed all day: one minute-long window at 00:00, in a zone where it
	// is not that minute now.
	doc := `{"allowance_ms": 180000, "period": "day", "zone": "Asia/Jakarta", "hours": ["00:00-00:01"]}`
	if now := time.Now().UTC().Add(7 * time.Hour); now.Hour() == 0 && now.Minute() == 0 {
		doc = `{"allowance_ms": 180000, "period": "day", "zone": "Asia/Jakarta", "hours": ["12:00-12:01"]}`
	}
	pol := t.TempDir() + "/policy.json"
	if err := os.WriteFile(pol, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.Gateway.Run(ctx, "policy", "set", "-facility", r.Facility(), pol); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the sync at start, then the kept document
		if err := b.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.State == "closed" }); err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
	}
	if err := b.Tap(card("budi")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitStatus(ctx, func(s Status) bool { return s.Session.Denials == 1 }); err != nil {
		t.Fatal(err)
	}
	if on, err := b.Relay(); err != nil || on {
		t.Errorf("relay on at a closed booth (%v)", err)
	}
}

// TestRigNextBooth: an inmate who hung up at one booth may call at the
// next one at once; while talking at one, the other refuses the card.
func TestRigNextBooth(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*hang)
	defer cancel()
	r := startRig(ctx, t, Options{Booths: 2})
	defer r.Close()
	b1, b2 := r.Booths[0], r.Booths[1]
	budi := card("budi")
	talk(t, ctx, b1, budi)
	// Talking at b01: b02 refuses the same inmate.
	if err := b2.Tap(budi); err != nil {
		t.Fatal(err)
	}
	if _, err := b2.WaitStatus(ctx, func(s Status) bool { return s.Session.Denials == 1 }); err != nil {
		t.Fatal(err)
	}
	if err := b1.Hang(); err != nil {
		t.Fatal(err)
	}
	if err := b1.WaitRelay(ctx, false); err != nil {
		t.Fatal(err)
	}
	// Once b01's record is at the centre, b02 grants the inmate.
	waitCentre(t, ctx, r, func(m map[string]ledger.ReportRow) bool { return m["WBP-0001"].Calls == 1 })
	if _, err := b2.WaitStatus(ctx, func(s Status) bool { return s.Session.State == "ready" }); err != nil {
		t.Fatal(err)
	}
	if err := b2.Tap(budi); err != nil {
		t.Fatal(err)
	}
	s, err := b2.WaitStatus(ctx, func(s Status) bool { return s.Session.Denials > 1 || s.Session.State == "granted" })
	if err != nil {
		t.Fatal(err)
	}
	if s.Session.State != "granted" {
		t.Fatalf("b02 after the call at b01 ended: %s; want granted", s.Raw)
	}
}
