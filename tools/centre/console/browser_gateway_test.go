package console_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"wartelsuspas/tools/testbed/headless"
)

// TestBrowser drives the console of a real `wartel-gateway serve -console`
// in headless chromium: log in with a TOTP code computed here, the booths
// (one whose heartbeats stopped an hour ago, one sending markup as its
// firmware), the alerts and an acknowledgement, the audit trail (with an
// inmate's name holding a script), the accounts, the language switch; a
// screenshot of each main page.
func TestBrowser(t *testing.T) {
	b := newChrome(t)
	c := newCentre(t)
	run, eval, wait, text, shot := b.run, b.eval, b.wait, b.text, b.shot

	// Log in, in Indonesian (the default).
	admin := c.people["kanwil"]
	run("open the login page", chromedp.Navigate(c.url+"/login"), chromedp.WaitVisible(chromedp.CSS(`form[data-role="login"]`)))
	if lang := eval(`document.documentElement.lang`); lang != "id" {
		t.Errorf(`<html lang> = %q, want "id"`, lang)
	}
	shot("console-login.png")
	run("log in", chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), admin.name), chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), admin.password),
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), c.code(admin)), chromedp.Click(chromedp.CSS(`form[data-role="login"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-role="facilities"]`)))
	if who := text(`[data-role="who"]`); who != "Masuk sebagai kanwil (admin)" {
		t.Errorf("signed in as %q", who)
	}
	shot("console-home.png")

	// Booths: the silent one offline, the hostile text shown as text.
	run("the booths", chromedp.Navigate(c.url+"/f/lapas-a/booths"), chromedp.WaitVisible(chromedp.CSS(`table[data-role="booths"]`)))
	if l := eval(`document.querySelector('[data-booth="b01"]').dataset.link`); l != "offline" {
		t.Errorf("b01, silent for an hour: %q, want offline", l)
	}
	if l := eval(`document.querySelector('[data-booth="b02"]').dataset.link`); l != "online" {
		t.Errorf("b02: %q, want online", l)
	}
	if fw := text(`[data-booth="b02"] [data-col="firmware"]`); fw != `<script>document.title="pwned"</script>` {
		t.Errorf("b02's firmware shown as %q, want the text as sent", fw)
	}
	if st := text(`[data-booth="b02"] [data-col="state"]`); st != `ready\x1b[31m` {
		t.Errorf("b02's state shown as %q, want the escape made inert", st)
	}
	if n := eval(`String(document.querySelectorAll("script").length) + document.title`); n[:1] != "0" || n[1:] == "pwned" {
		t.Errorf("a booth's markup ran: scripts and title %q", n)
	}
	shot("console-booths.png")
	run("a booth", chromedp.Navigate(c.url+"/f/lapas-a/booths/b02"), chromedp.WaitVisible(chromedp.CSS(`[data-role="booth"]`)))
	shot("console-booth.png")

	// Alerts: b01's silence raised one; acknowledge it with a note.
	run("the alerts", chromedp.Navigate(c.url+"/f/lapas-a/alerts"), chromedp.WaitVisible(chromedp.CSS(`table[data-role="alerts"]`)))
	off := `table[data-role="alerts"] tr[data-booth="b01"][data-kind="booth_offline"]`
	if eval(`String(document.querySelector('`+off+`') !== null)`) != "true" {
		t.Fatal("no offline alert for b01, whose heartbeats stopped an hour ago")
	}
	if eval(`String(document.querySelector('table[data-role="alerts"] tr[data-booth="b02"][data-kind="reader_down"]') !== null)`) != "true" {
		t.Error("no reader_down alert for b02")
	}
	shot("console-alerts.png")
	run("acknowledge b01", chromedp.SendKeys(chromedp.CSS(off+` input[name="note"]`), "listrik padam di blok C"), chromedp.Click(chromedp.CSS(off+` button`)),
		chromedp.WaitVisible(chromedp.CSS(`table[data-role="acked"] tr[data-booth="b01"][data-kind="booth_offline"]`)))
	if got := text(`table[data-role="acked"] tr[data-booth="b01"] td:last-child`); !contains(got, "kanwil", "listrik padam di blok C") {
		t.Errorf("the acknowledgement shows %q", got)
	}

	// The audit trail has the acknowledgement, by kanwil, and the name with
	// markup as text.
	run("the audit trail", chromedp.Navigate(c.url+"/audit"), chromedp.WaitVisible(chromedp.CSS(`table[data-role="audit"]`)))
	if eval(`String(document.querySelector('[data-role="audit-ok"]') !== null)`) != "true" {
		t.Error("the audit page does not say the chain verifies")
	}
	if got := text(`tr[data-action="alert.ack"] td:nth-child(3)`); got != "kanwil" {
		t.Errorf("the acknowledgement's entry is by %q, want kanwil", got)
	}
	if got := text(`tr[data-action="roster.block"] td:nth-child(8)`); !contains(got, `<script>document.title='pwned'</script>`) {
		t.Errorf("the name with markup shown as %q", got)
	}
	if n := eval(`String(document.querySelectorAll("script").length) + document.title`); n[:1] != "0" || n[1:] == "pwned" {
		t.Errorf("a name's markup ran: %q", n)
	}
	shot("console-audit.png")

	// Accounts, then the language switch to English.
	run("the accounts", chromedp.Navigate(c.url+"/accounts"), chromedp.WaitVisible(chromedp.CSS(`table[data-role="accounts"]`)))
	shot("console-accounts.png")
	run("switch to English", chromedp.Click(chromedp.CSS(`form[data-role="lang"] button[value="en"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] table[data-role="accounts"]`)))
	wait("the page in English", `document.querySelector("h1").textContent === "Accounts"`)
	run("the booths in English", chromedp.Navigate(c.url+"/f/lapas-a/booths"), chromedp.WaitVisible(chromedp.CSS(`table[data-role="booths"]`)))
	if l := text(`[data-booth="b01"] [data-col="link"]`); l != "offline" {
		t.Errorf("b01's link in English: %q", l)
	}
}

// chrome is headless chromium for the tests of the real binary, with
// the steps they take; a failed step leaves console-failed.png.
type chrome struct {
	t   *testing.T
	ctx context.Context
}

// newChrome starts chromium (headless.Start: skipped where Debian's
// chromium is not installed, a failure under CI).
func newChrome(t *testing.T) *chrome {
	t.Helper()
	// The console's certificate is from the test's own CA.
	return &chrome{t: t, ctx: headless.Start(t, headless.Options{Width: 1400, Height: 900, AnyCertificate: true})}
}

func (b *chrome) shot(name string) {
	b.t.Helper()
	if path := headless.Shot(b.t, b.ctx, name); path != "" {
		b.t.Logf("screenshot %s", path)
	}
}

func (b *chrome) run(what string, as ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, scancel := context.WithTimeout(b.ctx, hang)
	defer scancel()
	if err := chromedp.Do(sctx, as...); err != nil {
		b.shot("console-failed.png")
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *chrome) eval(js string) string {
	b.t.Helper()
	sctx, scancel := context.WithTimeout(b.ctx, hang)
	defer scancel()
	s, err := chromedp.Run(sctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return s
}

func (b *chrome) wait(what, js string) {
	b.t.Helper()
	sctx, scancel := context.WithTimeout(b.ctx, hang)
	defer scancel()
	if _, err := chromedp.Run(sctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(hang))); err != nil {
		b.shot("console-failed.png")
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *chrome) text(sel string) string {
	b.t.Helper()
	return b.eval(`(document.querySelector(` + strconv.Quote(sel) + `) || {textContent: "(none)"}).textContent.trim()`)
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
