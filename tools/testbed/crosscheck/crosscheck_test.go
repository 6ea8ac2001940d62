package crosscheck

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"wartelsuspas/drivers/rfid/rfidtest"
	"wartelsuspas/firmware/packaging"
	"wartelsuspas/tools/centre/ca"
)

// hang bounds a wait on a child process; it only catches a hang (qemu on a
// loaded 2-core machine is slow, never this slow).
const hang = 2 * time.Minute

// target is one Raspberry Pi build and the emulator that runs it.
type target struct {
	name   string   // as make cross names it
	env    []string // GOARCH, GOARM
	qemu   string
	cpu    string // qemu -cpu model; "" for the default
	device string // what it stands for
}

var targets = []target{
	{"armv6", []string{"GOARCH=arm", "GOARM=6"}, "qemu-arm-static", "arm1176", "Pi Zero/1 (ARM1176)"},
	{"armv7", []string{"GOARCH=arm", "GOARM=7"}, "qemu-arm-static", "cortex-a7", "Pi 2 (Cortex-A7)"},
	{"arm64", []string{"GOARCH=arm64"}, "qemu-aarch64-static", "", "Pi 3/4/5, Zero 2 W (64-bit OS)"},
}

var (
	buildDir  string
	buildOnce = map[string]*sync.Once{"armv6": {}, "armv7": {}, "arm64": {}}
	buildErr  = map[string]error{}
	buildMu   sync.Mutex
)

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "crosscheck-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// build cross-compiles the firmware for tg once per test binary.
func build(t *testing.T, tg target) string {
	t.Helper()
	out := filepath.Join(buildDir, "wartel-kiosk-linux-"+tg.name)
	buildOnce[tg.name].Do(func() {
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath",
			"-ldflags", "-s -w -X main.version=crosscheck-"+tg.name+" -X main.commit=test", "-o", out, "../../../firmware")
		cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux"), tg.env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			buildMu.Lock()
			buildErr[tg.name] = fmt.Errorf("go build ./firmware for %s: %v\n%s", tg.name, err, b)
			buildMu.Unlock()
		}
	})
	buildMu.Lock()
	err := buildErr[tg.name]
	buildMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// qemu returns the emulator's path, or skips (fails under CI) without it.
func qemu(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed and CI is set: the ARM builds must be run (apt-get install qemu-user-static; tools/release/ci/deps.sh does)", name)
		}
		t.Skipf("%s is not installed (apt-get install qemu-user-static): the ARM builds were not run", name)
	}
	return p
}

// result is a finished run under qemu.
type result struct {
	code           int
	stdout, stderr string
}

// emulate runs the ARM binary under qemu with args and waits for it.
func emulate(t *testing.T, tg target, bin string, args ...string) result {
	t.Helper()
	q := qemu(t, tg.qemu)
	var qargs []string
	if tg.cpu != "" {
		qargs = append(qargs, "-cpu", tg.cpu)
	}
	cmd := exec.Command(q, append(append(qargs, bin), args...)...)
	cmd.Env = append(os.Environ(), "LANG=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(hang):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %s under %s did not exit within %s; stderr:\n%s", filepath.Base(bin), args[0], tg.qemu, hang, stderr.String())
	}
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(interface{ Signaled() bool }); ok && ws.Signaled() {
			r.code = -1
		}
	case err != nil:
		t.Fatalf("run %s under %s: %v", bin, tg.qemu, err)
	}
	return r
}

func TestVersion(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			qemu(t, tg.qemu)
			r := emulate(t, tg, build(t, tg), "version")
			if want := "wartel-kiosk crosscheck-" + tg.name + " (commit test)\n"; r.code != 0 || r.stdout != want {
				t.Errorf("%s: exit %d, stdout %q, want 0 and %q; stderr:\n%s", tg.device, r.code, r.stdout, want, r.stderr)
			}
		})
	}
}

// TestConfigCheck parses the packaged example (TOML decoding, the
// validation tables, time zones) on each CPU: the step the service runs
// before every start.
func TestConfigCheck(t *testing.T) {
	example := filepath.Join(t.TempDir(), "kiosk.toml")
	if err := os.WriteFile(example, packaging.KioskTOML, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			qemu(t, tg.qemu)
			r := emulate(t, tg, build(t, tg), "config", "check", "-no-files", "-config", example)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "config OK: device lapas-cipinang/b03") {
				t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", tg.device, r.code, r.stdout, r.stderr)
			}
		})
	}
}

// boothConfig turns the packaged example into one for this machine: the
// emulated reader, a store and a bundle in dir, a booth open at all hours.
func boothConfig(t *testing.T, dir, reader string) string {
	t.Helper()
	authority, err := ca.Init(filepath.Join(dir, "ca"), "crosscheck CA")
	if err != nil {
		t.Fatal(err)
	}
	b, err := authority.Enroll("lapas-cipinang", "b03", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle")
	if err := ca.WriteBundle(bundle, b); err != nil {
		t.Fatal(err)
	}
	doc := string(packaging.KioskTOML)
	for _, r := range []struct{ old, new string }{
		{`path = "/dev/ttyUSB0"`, `path = "` + reader + `"`},
		{`path = "/var/lib/wartel/booth.db"`, `path = "` + filepath.Join(dir, "booth.db") + `"`},
		{`bundle = "/etc/wartel/bundle"`, `bundle = "` + bundle + `"`},
		{`tamper = "GPIO6"`, `tamper = ""`},
	} {
		if !strings.Contains(doc, r.old) {
			t.Fatalf("firmware/packaging/kiosk.toml no longer has %s", r.old)
		}
		doc = strings.Replace(doc, r.old, r.new, 1)
	}
	doc = regexp.MustCompile(`(?m)^(monday|tuesday|wednesday|thursday|friday|saturday|sunday) = .*$`).ReplaceAllString(doc, `$1 = ["00:00-24:00"]`)
	p := filepath.Join(dir, "kiosk.toml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSelftest runs the technician's self-test on each CPU with the
// simulated GPIO backend, an emulated RDM6300 on a pty and a real SQLite
// store; the interactive steps (handset, card) and the gateway are skipped.
// Every other row must pass and the relay must end off.
func TestSelftest(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			qemu(t, tg.qemu)
			bin := build(t, tg)
			dir := t.TempDir()
			emu, err := rfidtest.NewEmulator(rfidtest.EmulatorOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer emu.Close()
			cfg := boothConfig(t, dir, emu.PtyPath())
			sim := filepath.Join(dir, "sim")
			r := emulate(t, tg, bin, "selftest", "-config", cfg, "-gpio-backend", "sim", "-sim-dir", sim, "-lang", "en",
				"-skip", "interactive,gateway", "-status-socket", filepath.Join(dir, "none.sock"))
			t.Logf("%s:\n%s", tg.device, r.stdout)
			if r.code != 0 {
				t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			rows := map[string]string{} // check name → PASS, FAIL or SKIPPED
			for _, l := range strings.Split(r.stdout, "\n") {
				if f := strings.Fields(l); len(f) >= 2 && (f[0] == "PASS" || f[0] == "FAIL" || f[0] == "SKIPPED") {
					rows[f[1]] = f[0]
				}
			}
			for _, name := range []string{"Config", "Lamps", "Buzzer", "Relay", "Reader", "Disk"} {
				if rows[name] != "PASS" {
					t.Errorf("%s row %q, want PASS", name, rows[name])
				}
			}
			for name, res := range rows {
				if res == "FAIL" {
					t.Errorf("%s row FAIL", name)
				}
			}
			if !strings.Contains(r.stdout, "rdm6300 protocol on "+emu.PtyPath()) {
				t.Errorf("the reader row does not name the emulator's pty %s", emu.PtyPath())
			}
			relay, err := os.ReadFile(filepath.Join(sim, "relay"))
			if err != nil || strings.TrimSpace(string(relay)) != "0" {
				t.Errorf("relay after the self-test: %q, %v; want 0 (off)", relay, err)
			}
		})
	}
}

// TestArmv7DiesOnArm1176 shows why armhf gets GOARM=6: the GOARM=7 build
// dies of SIGILL on the Pi Zero/1 CPU (qemu reports the signal and kills
// itself with it).
func TestArmv7DiesOnArm1176(t *testing.T) {
	tg := targets[1]
	tg.cpu = "arm1176"
	qemu(t, tg.qemu)
	r := emulate(t, tg, build(t, tg), "version")
	if r.code == 0 || !strings.Contains(r.stderr, "Illegal instruction") {
		t.Fatalf("exit %d, stderr %q: the GOARM=7 build did not die of SIGILL on arm1176: stdout %q; if it now runs, armhf need not be GOARM=6 (update mkdeb's check and docs/packaging.md)", r.code, r.stderr, r.stdout)
	}
	t.Logf("GOARM=7 on arm1176: exit %d, stderr %q", r.code, strings.TrimSpace(r.stderr))
}
