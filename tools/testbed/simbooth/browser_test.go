package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wartelsuspas/firmware/i18n"
	"wartelsuspas/tools/testbed/headless"
)

// TestBrowser drives the page in headless chromium against a real
// simbooth with short rules (40 s a day, 12 s a call), in Indonesian: a
// call from the tap to the cut-off, its record at the gateway, a denied
// unknown card and an officer's reset that gives the minutes back.
func TestBrowser(t *testing.T) {
	headless.Require(t)
	s := startSim(t, "-lang", "id", "-allowance", "40s", "-per-call", "12s", "-booths", "1", "-modems", "0")
	cat := i18n.New("id")
	br := openBrowser(t, s)
	ctx, wait, click := br.ctx, br.wait, br.click
	step := br.step
	booth := `document.querySelector('[data-booth="b01"]')`
	pin := func(p string) string { return booth + `.querySelector('[data-pin="` + p + `"]').dataset.on === "1"` }
	state := func(st string) string { return booth + `.dataset.state === "` + st + `"` }
	stateText := booth + `.querySelector('[data-role="state"]').textContent`
	budiRow := `document.querySelector('[data-role="report"] tr[data-inmate="budi"]')`
	budiLeft := func() int64 {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, hang)
		defer scancel()
		v, err := chromedp.Run(sctx, chromedp.Poll[string](budiRow+` && `+budiRow+`.dataset.leftMs`))
		if err != nil {
			t.Fatalf("budi's minutes left at the gateway: %v", err)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("budi's data-left-ms %q: %v", v, err)
		}
		return n
	}

	step("open the page", chromedp.Navigate(s.url))
	wait("the first state shown", `document.body.dataset.ready === "1" && `+state("ready"))
	lang, err := chromedp.Run(ctx, chromedp.Poll[string](`document.documentElement.lang`))
	if err != nil || lang != "id" {
		t.Errorf(`<html lang> = %q (%v), want "id"`, lang, err)
	}

	// A call: tap, granted (the relay closes only when the handset is
	// lifted); lift, talking, relay on; the final seconds; the cut-off.
	click(`[data-booth="b01"] [data-card="budi"]`)
	wait("call granted after budi's tap, relay off", state("granted")+` && !(`+pin("relay")+`)`)
	click(`[data-booth="b01"] [data-role="handset"]`)
	wait("talking", state("talking")+` && `+pin("relay")+` && `+stateText+` === `+strconv.Quote(cat.State("talking"))+
		` && `+booth+`.querySelector('[data-role="inmate"]').textContent === "Budi Santoso"`)
	wait("the final seconds: amber lamp and warning", state("talking")+` && `+pin("lamp_amber")+
		` && !`+booth+`.querySelector('[data-role="warning"]').hidden`)
	wait("the cut-off: ready, relay off", state("ready")+` && !(`+pin("relay")+`)`)
	wait("the call ended for minutes used", booth+`.querySelector('[data-role="events"] li[data-kind="ended"]') !== null`)
	click(`[data-booth="b01"] [data-role="handset"]`) // hang up
	wait("handset on the hook", `!(`+pin("hook")+`)`)
	wait("the call at the gateway", budiRow+` && `+budiRow+`.querySelector('[data-col="calls"]').textContent === "1"`)
	before := budiLeft()
	if before <= 0 || before >= (40*time.Second).Milliseconds() {
		t.Errorf("budi's minutes left after a call: %d ms, want less than 40 s and more than 0", before)
	}

	// An unknown card is denied, and says why.
	click(`[data-booth="b01"] [data-card="unknown"]`)
	denied := cat.T("sim.ev.denied", cat.T("sim.unknown_card"), cat.Denial("unknown_card"))
	wait("the unknown card denied", booth+`.querySelector('[data-role="events"] li[data-kind="denied"]') !== null && `+
		booth+`.querySelector('[data-role="events"]').textContent.includes(`+strconv.Quote(denied)+`) && !(`+pin("relay")+`)`)

	// The officer resets budi's quota: his minutes at the gateway go up.
	click(`[data-booth="b01"] [data-card="agus"]`)
	wait("officer mode", state("officer"))
	click(`[data-booth="b01"] [data-card="budi"]`)
	wait("the officer action", booth+`.querySelector('[data-role="events"] li[data-kind="officer"]') !== null`)
	wait("budi's minutes back at the gateway", budiRow+` && Number(`+budiRow+`.dataset.leftMs) > `+strconv.FormatInt(before, 10))
	wait("the officer action at the gateway", budiRow+`.querySelector('[data-col="officer"]').textContent === "1"`)

	t.Logf("screenshot: %s", shot(t, ctx, "simbooth.png"))
}

// browser is headless chromium on a simbooth's page.
type browser struct {
	t   *testing.T
	s   *sim
	ctx context.Context
}

// openBrowser starts headless chromium for the test; it stops with it.
func openBrowser(t *testing.T, s *sim) *browser {
	t.Helper()
	return &browser{t: t, s: s, ctx: headless.Start(t, headless.Options{Width: 1400, Height: 1100})}
}

// step runs one action, bounded by hang; a failure saves a screenshot.
func (b *browser) step(what string, a chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, scancel := context.WithTimeout(b.ctx, hang)
	defer scancel()
	if _, err := chromedp.Run(sctx, a); err != nil {
		shot(b.t, b.ctx, "simbooth-failed.png")
		b.t.Fatalf("%s: %v\nAPI state: %+v", what, err, b.s.getState(b.t))
	}
}

// wait polls js in the page until it is true.
func (b *browser) wait(what, js string) {
	b.t.Helper()
	b.step(what, func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](js, chromedp.WithPollingTimeout(hang), chromedp.WithPollingInterval(20*time.Millisecond))(c, tg)
		return chromedp.Void{}, err
	})
}

// click clicks the element sel names, once it is visible.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.step("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// shot saves a full-page screenshot as a test artefact (headless.Shot).
func shot(t *testing.T, ctx context.Context, name string) string { return headless.Shot(t, ctx, name) }
