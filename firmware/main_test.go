package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hang bounds waits on the child process; it only catches a hang.
const hang = 10 * time.Second

// buildFirmware builds this command into a temporary directory once per test.
func buildFirmware(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wartel-kiosk")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startHold starts `hold-relay` and waits until it says the relay is on.
func startHold(t *testing.T, bin, dir string, extra ...string) (*exec.Cmd, *bytes.Buffer, chan error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"hold-relay", "-gpio-backend", "sim", "-sim-dir", dir}, extra...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if l != "holding" {
			t.Fatalf("first line %q, want holding; stderr:\n%s", l, stderr.String())
		}
	case <-time.After(hang):
		cmd.Process.Kill()
		t.Fatalf("hold-relay did not report holding; stderr:\n%s", stderr.String())
	}
	done := make(chan error, 1)
	go func() {
		for range lines {
		}
		done <- cmd.Wait()
	}()
	return cmd, &stderr, done
}

func waitExit(t *testing.T, cmd *exec.Cmd, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(hang):
		cmd.Process.Kill()
		t.Fatal("process did not exit")
	}
	return nil
}

func relayFile(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "relay"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestSIGTERMDrivesRelayOff runs the real firmware binary on the simulated
// backend, checks its mirrored relay file says 1, sends SIGTERM and checks
// the file says 0 after the exit.
func TestSIGTERMDrivesRelayOff(t *testing.T) {
	bin := buildFirmware(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			cmd, stderr, done := startHold(t, bin, dir)
			if got := relayFile(t, dir); got != "1" {
				t.Fatalf("relay file %q while holding, want 1", got)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := waitExit(t, cmd, done); err != nil {
				t.Fatalf("exit: %v; stderr:\n%s", err, stderr)
			}
			if got := relayFile(t, dir); got != "0" {
				t.Fatalf("relay file %q after %v, want 0", got, sig)
			}
		})
	}
}

// TestChildPanicDrivesRelayOff: a goroutine started with Booth.Go panics in
// the real process; the relay must be off and the process must die.
func TestChildPanicDrivesRelayOff(t *testing.T) {
	bin := buildFirmware(t)
	dir := t.TempDir()
	cmd, stderr, done := startHold(t, bin, dir, "-panic")
	err := waitExit(t, cmd, done)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("exit %v, want a non-zero exit from the panic", err)
	}
	if got := relayFile(t, dir); got != "0" {
		t.Fatalf("relay file %q after the panic, want 0", got)
	}
	for _, want := range []string{"deliberate panic in a child goroutine", "relay driven off"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestSafeOffCommand(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "relay"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := dispatch([]string{"safe-off", "-gpio-backend", "sim", "-sim-dir", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got := relayFile(t, dir); got != "0" {
		t.Fatalf("relay file %q after safe-off, want 0", got)
	}
	// Active low: off is a high line.
	code := dispatch([]string{"safe-off", "-gpio-backend", "sim", "-sim-dir", dir, "-relay-active-low"}, &out, &errb)
	if code != 0 || relayFile(t, dir) != "1" {
		t.Fatalf("active-low safe-off: exit %d, relay file %q, want 0 and 1", code, relayFile(t, dir))
	}
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"version"}, 0, "wartel-kiosk dev (commit none)"},
		{nil, 2, "usage"},
		{[]string{"selfdestruct"}, 2, `unknown command "selfdestruct"`},
		{[]string{"safe-off", "-gpio-backend", "gpiomem"}, 1, `-gpio-backend "gpiomem"`},
		{[]string{"safe-off", "-gpio-backend", "sim", "-relay-pin", "GPIO99"}, 1, "gpio.relay"},
		{[]string{"safe-off", "-no-such-flag"}, 2, "flag provided but not defined"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := dispatch(tt.args, &out, &errb)
		if code != tt.code || !strings.Contains(out.String()+errb.String(), tt.contains) {
			t.Errorf("dispatch(%q) = %d, %q%q; want %d containing %q", tt.args, code, out.String(), errb.String(), tt.code, tt.contains)
		}
	}
	if strings.Contains(usageText(), "hold-relay") {
		t.Error("usage lists the hidden test fixture")
	}
}

func usageText() string {
	var b bytes.Buffer
	usage(&b)
	return b.String()
}
