package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromium = "/usr/bin/chromium"

// hang bounds one browser step: only a hang, never a timing assertion.
const hang = 60 * time.Second

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
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v: CI must install chromium (tools/release/ci/deps.sh)", chromium, err)
		}
		t.Skipf("%s not installed: the browser tests need Debian's chromium", chromium)
	}
	srv := httptest.NewTLSServer(e.c)
	t.Cleanup(srv.Close)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.Flag("ignore-certificate-errors", true), // the test server's own certificate
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1100),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
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

// shot saves a full-page screenshot as a test artefact: in
// $WARTEL_ARTEFACTS, else in the module's bin/artefacts.
func (b *browser) shot(name string) string {
	dir, err := ArtefactsDir()
	if err != nil {
		b.t.Logf("no screenshot: %v", err)
		return ""
	}
	sctx, cancel := context.WithTimeout(b.ctx, hang)
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
		b.t.Logf("no screenshot: %v", fmt.Errorf("%s: %w", path, err))
		return ""
	}
	return path
}

// ArtefactsDir is where the browser tests' screenshots go:
// $WARTEL_ARTEFACTS, else the module's bin/artefacts. (Exported for the
// tests of the real binary, package console_test.)
func ArtefactsDir() (string, error) {
	if dir := os.Getenv("WARTEL_ARTEFACTS"); dir != "" {
		return dir, nil
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "bin", "artefacts"), nil
}
