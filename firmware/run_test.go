package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/rfid/rfidtest"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/kiosk/store"
)

const testDevice = "lapas-cipinang/b03"

// daemonConfig turns the packaged example into a file for the test: the
// emulator's reader, a store in dir, a gateway that never answers, a booth
// open at all hours with a trusted clock and no panel switch.
func daemonConfig(t *testing.T, dir, readerPath, bundle string) string {
	t.Helper()
	base, err := os.ReadFile(filepath.Join("packaging", "kiosk.toml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(base)
	for _, r := range []struct{ old, new string }{
		{`path = "/dev/ttyUSB0"`, `path = "` + readerPath + `"`},
		{`path = "/var/lib/wartel/booth.db"`, `path = "` + filepath.Join(dir, "booth.db") + `"`},
		{`url = "https://gateway.kanwil.example:8443"`, `url = "https://127.0.0.1:1"`},
		{`bundle = "/etc/wartel/bundle"`, `bundle = "` + bundle + `"`},
		{`clock_trusted_at_start = false`, `clock_trusted_at_start = true`},
		{`tamper = "GPIO6"`, `tamper = ""`},
	} {
		if !strings.Contains(doc, r.old) {
			t.Fatalf("packaging/kiosk.toml no longer has %s", r.old)
		}
		doc = strings.Replace(doc, r.old, r.new, 1)
	}
	days := regexp.MustCompile(`(?m)^(monday|tuesday|wednesday|thursday|friday|saturday|sunday) = .*$`)
	doc = days.ReplaceAllString(doc, `$1 = ["00:00-24:00"]`)
	return writeConfig(t, dir, doc)
}

// waitFile waits until the file at path holds want (trimmed).
func waitFile(t *testing.T, path, want string, stderr *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(hang)
	for {
		b, _ := os.ReadFile(path)
		if strings.TrimSpace(string(b)) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s reads %q, want %q; daemon log:\n%s", path, b, want, stderr.String())
		}
		time.Sleep(10 * time.Millisecond) // polling a file another process writes
	}
}

// syncBuffer is a bytes.Buffer the child's stderr copier and the test share.
type syncBuffer struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

// listenNotify is the service manager's end of $NOTIFY_SOCKET.
func listenNotify(t *testing.T, path string) <-chan string {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	msgs := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			select {
			case msgs <- string(buf[:n]):
			default: // the test stopped listening; drop
			}
		}
	}()
	return msgs
}

func waitNotify(t *testing.T, msgs <-chan string, want string, stderr *syncBuffer) {
	t.Helper()
	timeout := time.After(hang)
	for {
		select {
		case m := <-msgs:
			if m == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %s from the daemon; log:\n%s", want, stderr.String())
		}
	}
}

// TestRunDaemon runs the real binary on the simulated GPIO backend with an
// emulated reader, makes a call, asks `status`, and stops it with SIGTERM
// mid-call: the call must be billed and recorded as "shutdown", relay off.
func TestRunDaemon(t *testing.T) {
	bin := buildFirmware(t)
	dir := t.TempDir()
	sim := filepath.Join(dir, "sim")
	emu, err := rfidtest.NewEmulator(rfidtest.EmulatorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	// The file wants a device path; the pty's own is one (no replug here).
	cfgPath := daemonConfig(t, dir, emu.PtyPath(), enrol(t, dir, "lapas-cipinang", "b03"))

	card := cardid.EMCard([5]byte{0x04, 0x00, 0xD8, 0xB2, 0xA5})
	st, err := store.Open(filepath.Join(dir, "booth.db"), store.Options{Device: testDevice})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ApplyRoster(1, []record.CardInfo{{Card: string(card), Role: record.RoleInmate, Person: "A-0042", Name: "Budi", Block: "A"}}, nil); err != nil {
		t.Fatal(err)
	}
	st.Close()

	notify := listenNotify(t, filepath.Join(dir, "notify.sock"))
	sock := filepath.Join(dir, "kiosk.sock")
	cmd := exec.Command(bin, "run", "-gpio-backend", "sim", "-sim-dir", sim, "-config", cfgPath, "-status-socket", sock)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+filepath.Join(dir, "notify.sock"), "WATCHDOG_USEC=2000000")
	stderr := newSyncBuffer()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			<-done
		}
	}()

	waitNotify(t, notify, "READY=1", stderr)
	waitFile(t, filepath.Join(sim, "relay"), "0", stderr)
	waitNotify(t, notify, "WATCHDOG=1", stderr)

	if err := emu.Tap(card, 3); err != nil {
		t.Fatal(err)
	}
	// Granted, the handset still down: the relay stays open until it is lifted.
	for deadline := time.Now().Add(hang); ; time.Sleep(20 * time.Millisecond) { // polling the daemon
		var g statusDoc
		out, err := exec.Command(bin, "status", "-json", "-status-socket", sock).Output()
		if err == nil && json.Unmarshal(out, &g) == nil && g.Session.State == session.StateGranted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %q (%v), want granted; log:\n%s", g.Session.State, err, stderr.String())
		}
	}
	if b, err := os.ReadFile(filepath.Join(sim, "relay")); err != nil || strings.TrimSpace(string(b)) != "0" {
		t.Fatalf("relay %q (%v) while granted with the handset down, want 0", b, err)
	}
	hook := filepath.Join(sim, "hook")
	if err := os.WriteFile(hook+".tmp", []byte("0\n"), 0o644); err != nil { // lifted (active low)
		t.Fatal(err)
	}
	if err := os.Rename(hook+".tmp", hook); err != nil {
		t.Fatal(err)
	}
	waitFile(t, filepath.Join(sim, "relay"), "1", stderr) // lifted: relay on, talking

	// The daemon reports the call as talking, with time left.
	deadline := time.Now().Add(hang)
	var d statusDoc
	for {
		out, err := exec.Command(bin, "status", "-json", "-status-socket", sock).Output()
		if err != nil {
			t.Fatalf("status -json: %v; log:\n%s", err, stderr.String())
		}
		if err := json.Unmarshal(out, &d); err != nil {
			t.Fatalf("status -json printed %q: %v", out, err)
		}
		if d.Session.State == session.StateTalking {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %q, want talking; log:\n%s", d.Session.State, stderr.String())
		}
		time.Sleep(20 * time.Millisecond) // polling the daemon
	}
	if d.Session.LeftMs <= 0 || d.Session.LeftMs > (10*time.Minute).Milliseconds() {
		t.Errorf("time left %d ms, want within the 10 min per-call cap", d.Session.LeftMs)
	}
	if d.Session.Inmate != "A-0042" || d.Session.Card == string(card) || d.Device != testDevice || !d.Gateway.Configured {
		t.Errorf("status %+v: want inmate A-0042, the card hashed, device %s, the gateway configured", d, testDevice)
	}
	out, err := exec.Command(bin, "status", "-lang", "en", "-status-socket", sock).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "State: Call in progress") || !strings.Contains(string(out), "Time left: ") {
		t.Errorf("status: %v\n%s", err, out)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		exited = true
		if err != nil {
			t.Fatalf("daemon exit: %v; log:\n%s", err, stderr.String())
		}
	case <-time.After(hang):
		cmd.Process.Kill()
		t.Fatalf("daemon did not exit on SIGTERM; log:\n%s", stderr.String())
	}
	if got := relayFile(t, sim); got != "0" {
		t.Errorf("relay file %q after exit, want 0", got)
	}

	st, err = store.Open(filepath.Join(dir, "booth.db"), store.Options{Device: testDevice})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Pending(100)
	if err != nil {
		t.Fatal(err)
	}
	var calls []record.Call
	for _, r := range recs {
		if r.Kind != record.KindCall {
			continue
		}
		var c record.Call
		if err := json.Unmarshal(r.Payload, &c); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
	}
	if len(calls) != 1 || calls[0].EndReason != session.EndShutdown || calls[0].Inmate != "A-0042" {
		t.Fatalf("call records %+v, want one ended by shutdown; log:\n%s", calls, stderr.String())
	}
	if open, err := st.OpenCalls(); err != nil || len(open) != 0 {
		t.Errorf("open calls after shutdown: %v, %v", open, err)
	}
	// One structured line per event, the card id never in clear at info.
	if log := stderr.String(); strings.Contains(log, string(card)) || !strings.Contains(log, "call ended") {
		t.Errorf("daemon log shows the card id or lacks the call's end:\n%s", log)
	}
}

// TestStatusNoDaemon checks the message a technician gets when the daemon
// is not running.
func TestStatusNoDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "kiosk.sock")
	var out, errb bytes.Buffer
	if code := dispatch([]string{"status", "-status-socket", sock}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if want := "no daemon on " + sock + ": is wartel-kiosk running? systemctl status wartel-kiosk"; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
}

// TestRunBadConfig checks that every problem of the file is printed and the
// daemon exits 1 without touching anything.
func TestRunBadConfig(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, dir, "device = \"a/b\"\n[gpio]\nrelay = \"GPIO99\"\n[sesion]\nx = 1\n")
	var out, errb bytes.Buffer
	code := dispatch([]string{"run", "-config", path, "-gpio-backend", "sim", "-sim-dir", filepath.Join(dir, "sim")}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errb.String())
	}
	for _, want := range []string{"gpio.relay", "sesion", "problem(s) in " + path} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}
