// Package headless starts Debian's chromium for the browser tests (the
// simulator's page, the centre's console) and keeps their screenshots:
// one set of flags for this machine's closed network, one rule for a
// missing browser (skipped by hand, a failure under CI), one place for the
// artefacts. Each test keeps its own steps; this is what they share.
package headless

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium is Debian's chromium, which tools/release/ci/deps.sh installs.
const Chromium = "/usr/bin/chromium"

// Hang bounds one browser step: only a hang, never a timing assertion.
const Hang = 60 * time.Second

// Require skips t where chromium is not installed, and fails it under CI,
// which must have it.
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v: CI must install chromium (tools/release/ci/deps.sh)", Chromium, err)
		}
		t.Skipf("%s not installed: the browser test needs Debian's chromium", Chromium)
	}
}

// Options are a browser's window and whether it takes any certificate (a
// test server's own).
type Options struct {
	Width, Height  int
	AnyCertificate bool
}

// Start starts headless chromium for t (Require first) and returns the
// context its steps run in; it stops with t. The first run starts the
// browser and the browser lives as long as that run's context, so it is
// started here on the returned context: bound each step on a child of it.
func Start(t testing.TB, o Options) context.Context {
	t.Helper()
	Require(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		// This machine's network is closed: without these, chromium's own
		// connections are refused many at a time.
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(o.Width, o.Height),
	)
	if o.AnyCertificate {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors", true))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", Chromium, err)
	}
	return ctx
}

// Shot saves a full-page screenshot of the browser of ctx as the artefact
// name (ArtefactsDir) and returns its path, or "" after logging why not.
func Shot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	dir, err := ArtefactsDir()
	if err != nil {
		t.Logf("no screenshot %s: %v", name, err)
		return ""
	}
	sctx, cancel := context.WithTimeout(ctx, Hang)
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

// ArtefactsDir is where the browser tests' screenshots go:
// $WARTEL_ARTEFACTS, else the module's bin/artefacts.
func ArtefactsDir() (string, error) {
	if dir := os.Getenv("WARTEL_ARTEFACTS"); dir != "" {
		return dir, nil
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the module: set WARTEL_ARTEFACTS")
	}
	return filepath.Join(filepath.Dir(mod), "bin", "artefacts"), nil
}
