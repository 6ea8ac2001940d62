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
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v: CI must install chromium (tools/release/ci/deps.sh)", chromium, err)
		}
		t.Skipf("%s not installed: the browser test needs Debian's chromium", chromium)
	}
	s := startSim(t, "-lang", "id", "-allowance", "40s", "-per-call", "12s")
	cat := i18n.New("id")

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
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first Run starts the browser and it lives as long as that Run's
	// context: start it on ctx, then bound each step on a child of ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	step := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, hang)
		defer scancel()
		if _, err := chromedp.Run(sctx, a); err != nil {
			shot(t, ctx, "simbooth-failed.png")
			t.Fatalf("%s: %v\nAPI state: %+v", what, err, s.getState(t))
		}
	}
	wait := func(what, js string) {
		t.Helper()
		step(what, func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Poll[bool](js, chromedp.WithPollingTimeout(hang), chromedp.WithPollingInterval(20*time.Millisecond))(c, tg)
			return chromedp.Void{}, err
		})
	}
	click := func(sel string) {
		t.Helper()
		step("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	}
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
