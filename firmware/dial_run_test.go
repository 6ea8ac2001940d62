package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"wartelsuspas/drivers/modem/modemtest"
	"wartelsuspas/drivers/rfid/rfidtest"
)

// TestRunDaemonModem: a booth with [modem] hangs the module up before
// anything else at start (a call a crash left up ends), and status shows
// the module; a module that goes away is a heartbeat fault with its cause.
func TestRunDaemonModem(t *testing.T) {
	bin := buildFirmware(t)
	dir := t.TempDir()
	reader, err := rfidtest.NewEmulator(rfidtest.EmulatorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	mod, err := modemtest.New(modemtest.Options{Family: "simcom"})
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close()
	cfgPath := daemonConfig(t, dir, reader.PtyPath(), enrol(t, dir, "lapas-cipinang", "b03"))
	doc, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(doc), "[modem]\nport = \"\"", "[modem]\nport = \""+mod.Path()+"\"", 1)
	s = strings.Replace(s, `family = "generic"`, `family = "simcom"`, 1)
	if err := os.WriteFile(cfgPath, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "kiosk.sock")
	cmd := exec.Command(bin, "run", "-gpio-backend", "sim", "-sim-dir", filepath.Join(dir, "sim"), "-config", cfgPath, "-status-socket", sock)
	stderr := newSyncBuffer()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(hang):
			cmd.Process.Kill()
			<-done
		}
	}()
	if err := mod.WaitCommand("AT+COPS?", 1, hang); err != nil {
		t.Fatalf("%v; log:\n%s", err, stderr.String())
	}
	if c := mod.Commands(); c[0] != "ATH" {
		t.Fatalf("first command to the modem %q, want ATH", c)
	}
	deadline := time.Now().Add(hang)
	for {
		out, err := exec.Command(bin, "status", "-json", "-status-socket", sock).Output()
		var d statusDoc
		if err == nil && json.Unmarshal(out, &d) == nil && d.Modem != nil && d.Modem.Up {
			if d.Modem.Operator != "TELKOMSEL" || d.Modem.SIM != "READY" {
				t.Fatalf("status modem %+v", d.Modem)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed the modem up (%v, %s); log:\n%s", err, out, stderr.String())
		}
		time.Sleep(50 * time.Millisecond) // waits for the daemon's I/O, not for time to pass
	}
}
