package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wartelsuspas/firmware/i18n"
)

const chromium = "/usr/bin/chromium"

// TestBrowser drives the page in headless chromium against a real
// simbooth with short rules (40 s a day, 12 s a call), in Indonesian: a
// call from the tap to the cut-off, its record at the gateway, a denied
// unknown card and an officer's reset that gives the minutes back.
func TestBrowser(t *testing.T) {
	skipWithoutChromium(t)
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

	// A call: tap, relay on; lift, talking; the final seconds; the cut-off.
	click(`[data-booth="b01"] [data-card="budi"]`)
	wait("relay on and call granted after budi's tap", pin("relay")+` && `+state("granted"))
	click(`[data-booth="b01"] [data-role="handset"]`)
	wait("talking", state("talking")+` && `+stateText+` === `+strconv.Quote(cat.State("talking"))+
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

// skipWithoutChromium skips a browser test where chromium is missing,
// except in CI, which must have it.
func skipWithoutChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v: CI must install chromium (tools/release/ci/deps.sh)", chromium, err)
		}
		t.Skipf("%s not installed: the browser test needs Debian's chromium", chromium)
	}
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
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1100),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// The first Run starts the browser and it lives as long as that Run's
	// context: start it on ctx, then bound each step on a child of ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	return &browser{t: t, s: s, ctx: ctx}
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

// shot saves a full-page screenshot as a test artefact: in
// $WARTEL_ARTEFACTS, else in the module's bin/artefacts.
func shot(t *testing.T, ctx context.Context, name string) string {
	dir := os.Getenv("WARTEL_ARTEFACTS")
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Logf("no screenshot: %v", err)
			return ""
		}
		dir = filepath.Join(root, "bin", "artefacts")
	}
	sctx, cancel := context.WithTimeout(ctx, hang)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	path := filepath.Join(dir, name)
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		t.Logf("no screenshot: %v", fmt.Errorf("%s: %w", path, err))
		return ""
	}
	return path
}
