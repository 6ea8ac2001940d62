package console

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wartelsuspas/tools/testbed/headless"
)

// hang bounds one browser step: only a hang, never a timing assertion.
const hang = headless.Hang

// browser is headless chromium on a console served over TLS on loopback
// (in-process, on the env's fake clock).
type browser struct {
	t   *testing.T
	e   *env
	url string
	ctx context.Context
}

func newBrowser(t *testing.T, e *env) *browser {
	t.Helper()
	ctx := headless.Start(t, headless.Options{Width: 1400, Height: 1100, AnyCertificate: true}) // the test server's own certificate
	srv := httptest.NewTLSServer(e.c)
	t.Cleanup(srv.Close)
	return &browser{t: t, e: e, url: srv.URL, ctx: ctx}
}

// step runs one action, bounded against a hang; a failure leaves a
// screenshot.
func (b *browser) step(what string, a chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, hang)
	defer cancel()
	if _, err := chromedp.Run(sctx, a); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-") + ".png")
		b.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls js until it is true. A poll cut off by a page loading (a
// form's answer) starts again on the new page.
func (b *browser) wait(what, js string) {
	b.t.Helper()
	b.step(what, func(c context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		for {
			_, err := chromedp.Poll[bool](js, chromedp.WithPollingTimeout(hang), chromedp.WithPollingInterval(20*time.Millisecond))(c, tg)
			if err == nil || c.Err() != nil || !pageChanged(err) {
				return chromedp.Void{}, err
			}
		}
	})
}

// pageChanged tells an error of a page replaced under the poll (a form's
// answer loading) from a real failure.
func pageChanged(err error) bool {
	for _, s := range []string{"navigated or closed", "Cannot find context", "context was destroyed"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// eval returns what js evaluates to, decoded into out.
func (b *browser) eval(js string, out any) {
	b.t.Helper()
	sctx, cancel := context.WithTimeout(b.ctx, hang)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Evaluate[string]("JSON.stringify("+js+")"))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	if err := json.Unmarshal([]byte(s), out); err != nil {
		b.t.Fatalf("evaluate %s: %q: %v", js, s, err)
	}
}

// open loads a page of the console and waits for it.
func (b *browser) open(path string) {
	b.t.Helper()
	b.step("open "+path, chromedp.Navigate(b.url+path))
	b.wait("page "+path+" loaded", `document.readyState === "complete" && document.querySelector("main") !== null`)
}

// login signs w in through the login form, with the code of the console's
// clock, and moves the clock one step on.
func (b *browser) login(w who) {
	b.t.Helper()
	code, err := TOTPCode(w.secret, b.e.clock())
	if err != nil {
		b.t.Fatal(err)
	}
	b.open("/login")
	b.step("fill the login form", chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), w.name),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), w.password),
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), code),
		chromedp.Click(chromedp.CSS(`[data-role="login"] button[type="submit"]`)),
	))
	b.wait("signed in", `document.querySelector('[data-role="who"]') !== null`)
	b.e.advance(30 * time.Second)
}

// shot saves a full-page screenshot as a test artefact (headless.Shot).
func (b *browser) shot(name string) string { return headless.Shot(b.t, b.ctx, name) }
