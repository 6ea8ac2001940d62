package main

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wartelsuspas/firmware/i18n"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/testbed/boothrig"
	"wartelsuspas/tools/testbed/headless"
)

// TestBrowserDial drives a booth with a modem in headless chromium, in
// English (TestBrowser covers Indonesian): the far end chosen on the page,
// a registered number answered and billed from the answer, an unregistered
// slot denied with its reason, and a busy number charged nothing, each
// checked in the call records the gateway stored.
func TestBrowserDial(t *testing.T) {
	headless.Require(t)
	s := startSim(t, "-lang", "en", "-booths", "1", "-modems", "1")
	cat := i18n.New("en")
	br := openBrowser(t, s)
	const ring = 2 // seconds the far end rings before it answers

	booth := `document.querySelector('[data-booth="b01"]')`
	pin := func(p string) string { return booth + `.querySelector('[data-pin="` + p + `"]').dataset.on === "1"` }
	state := func(st string) string { return booth + `.dataset.state === "` + st + `"` }
	progress := func(p string) string {
		return booth + `.querySelector('[data-role="progress"]').dataset.progress === "` + p + `"`
	}
	events := booth + `.querySelector('[data-role="events"]')`
	row := `[data-booth="b01"] [data-number="andi-1"]`
	key := func(k string) { br.click(`[data-booth="b01"] [data-key="` + k + `"]`) }
	handset := func() { br.click(`[data-booth="b01"] [data-role="handset"]`) }
	setFarEnd := func(outcome string, after int) {
		t.Helper()
		br.step("choose andi-1's far end", chromedp.SetValue(chromedp.CSS(row+` [data-role="outcome"]`), outcome))
		br.step("choose andi-1's delay", chromedp.SetValue(chromedp.CSS(row+` [data-role="after"]`), strconv.Itoa(after)))
		br.click(row + ` [data-role="set"]`)
		br.wait("andi-1's far end "+outcome, `document.querySelector('`+row+` [data-role="does"]').dataset.outcome === "`+outcome+`"`)
	}
	gwDir := filepath.Join(s.state, "rig", "gateway")
	calls := func(n int) []record.Call {
		t.Helper()
		deadline := time.Now().Add(hang)
		for {
			c, err := boothrig.GatewayCalls(context.Background(), gwDir, "lapas-demo/b01")
			if err == nil && len(c) >= n {
				return c
			}
			if time.Now().After(deadline) {
				t.Fatalf("the gateway has %d call(s) of b01 (%v), want %d", len(c), err, n)
			}
			time.Sleep(50 * time.Millisecond) // polls the gateway's database, not a wait for time to pass
		}
	}

	br.step("open the page", chromedp.Navigate(s.url))
	br.wait("the modem booth ready with its modem up", `document.body.dataset.ready === "1" && `+state("ready")+` && `+
		booth+`.dataset.modem === "1" && `+booth+`.querySelector('[data-role="modem"]').dataset.ok === "1"`)

	// A registered number answered after ringing: talk time from the answer.
	setFarEnd("answer", ring)
	br.click(`[data-booth="b01"] [data-card="andi"]`)
	br.wait("choosing a number, relay off", state("choosing")+` && `+progress("choosing")+` && !(`+pin("relay")+`)`)
	key("1")
	key("#")
	lifted := time.Now()
	handset()
	br.wait("answered: talking, relay on", state("talking")+` && `+progress("talking")+` && `+pin("relay"))
	handset() // hang up
	br.wait("the call ended by the booth", progress("ended")+` && !(`+pin("relay")+`) && `+
		events+`.querySelector('li[data-kind="ended"]') !== null`)
	hungUp := time.Now()
	c := calls(1)[0]
	if c.Outcome != record.OutcomeAnswered || c.Slot != 1 || c.NumberID == 0 || c.EndReason != record.EndHangup {
		t.Errorf("answered call at the gateway: %+v, want answered, slot 1, a number id, hangup", c)
	}
	if c.AnsweredAt.IsZero() || !c.TalkStartAt.Equal(c.AnsweredAt) || c.AnsweredAt.Sub(lifted) < ring*time.Second {
		t.Errorf("answered at %v, talk from %v, lifted at %v: want the talk from the answer, %d s of ringing after the lift",
			c.AnsweredAt, c.TalkStartAt, lifted, ring)
	}
	if talked := time.Duration(c.TalkedMs) * time.Millisecond; talked > hungUp.Sub(c.AnsweredAt) || c.ChargedMs > c.TalkedMs {
		t.Errorf("talked %v, charged %d ms; from the answer to the hang-up at most %v: the ringing was billed", talked, c.ChargedMs, hungUp.Sub(c.AnsweredAt))
	}

	// An unregistered slot: denied with its reason, nothing dialled.
	br.click(`[data-booth="b01"] [data-card="andi"]`)
	br.wait("choosing again", state("choosing"))
	key("5")
	key("#")
	handset()
	denied := cat.T("sim.ev.denied", "Andi Wijaya", cat.Denial("number_not_registered"))
	br.wait("the unregistered number denied", events+`.textContent.includes(`+strconv.Quote(denied)+`) && `+state("ready")+` && !(`+pin("relay")+`)`)
	// The call's progress says why too, not "no call yet" or the last call's end.
	refused := cat.T("sim.progress.denied", cat.Denial("number_not_registered"))
	br.wait("the progress shows the refusal", progress("denied")+` && `+booth+`.querySelector('[data-role="progress"]').textContent === `+strconv.Quote(refused))
	handset()
	br.wait("handset on the hook", `!(`+pin("hook")+`)`)

	// A busy number: not answered, charged nothing.
	setFarEnd("busy", 0)
	br.click(`[data-booth="b01"] [data-card="andi"]`)
	br.wait("choosing a third time", state("choosing"))
	key("1")
	key("#")
	handset()
	br.wait("busy, relay off", progress("busy")+` && `+state("ready")+` && !(`+pin("relay")+`)`)
	handset()
	c = calls(2)[1]
	if c.Outcome != record.OutcomeBusy || c.ChargedMs != 0 || c.TalkedMs != 0 || c.EndReason != record.EndNotAnswered || !c.AnsweredAt.IsZero() {
		t.Errorf("busy call at the gateway: %+v, want busy, not_answered, 0 talked, 0 charged, never answered", c)
	}
	t.Logf("screenshot: %s", shot(t, br.ctx, "simbooth-dial.png"))
}
