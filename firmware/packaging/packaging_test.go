// Package packaging holds the files the .deb installs (the service unit,
// the example configuration, the watchdog drop-in); its tests check them.
package packaging

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"wartelsuspas/firmware/config"
)

// unit is a parsed systemd unit: section → key → values in order.
type unit map[string]map[string][]string

// readUnit reads the INI syntax systemd uses: [Section], Key=Value,
// comments starting with # or ;, and lines continued with a backslash.
func readUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	n := 0
	var cont string
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if cont != "" {
			line, cont = cont+" "+line, ""
		}
		if strings.HasSuffix(line, "\\") {
			cont = strings.TrimSuffix(line, "\\")
			continue
		}
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a Key=Value line in a section: %q", path, n, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestServiceUnit(t *testing.T) {
	u := readUnit(t, "wartel-kiosk.service")
	s := u["Service"]
	if s == nil {
		t.Fatal("no [Service] section")
	}
	want := map[string]string{
		"Type":                "notify",
		"NotifyAccess":        "main",
		"WatchdogSec":         "10s",
		"Restart":             "always",
		"RestartSec":          "2",
		"ExecStart":           "/usr/bin/wartel-kiosk run -config " + config.DefaultPath,
		"ExecStopPost":        "/usr/bin/wartel-kiosk safe-off -config " + config.DefaultPath,
		"User":                "wartel",
		"StateDirectory":      "wartel",
		"ProtectSystem":       "strict",
		"ProtectHome":         "yes",
		"PrivateTmp":          "yes",
		"NoNewPrivileges":     "yes",
		"ReadWritePaths":      "/var/lib/wartel",
		"SupplementaryGroups": "gpio dialout",
	}
	for k, v := range want {
		if got := s[k]; len(got) != 1 || got[0] != v {
			t.Errorf("[Service] %s = %q, want exactly %q", k, got, v)
		}
	}
	// The relay must be driven off after every stop: safe-off, with the
	// same file the daemon ran with.
	if post := s["ExecStopPost"]; len(post) == 0 || !strings.Contains(post[0], " safe-off ") {
		t.Errorf("ExecStopPost %q does not run safe-off", post)
	}
	if u["Unit"]["StartLimitIntervalSec"] == nil {
		t.Error("[Unit] StartLimitIntervalSec is not set: with Restart=always the default start limit would stop a booth for good")
	}
	// Devices: GPIO character devices and the serial lines of the readers.
	devs := strings.Join(s["DeviceAllow"], "\n")
	for _, d := range []string{"char-gpiochip rw", "char-ttyUSB rw", "char-ttyACM rw", "char-ttyAMA rw"} {
		if !strings.Contains(devs, d) {
			t.Errorf("DeviceAllow lacks %q: %q", d, s["DeviceAllow"])
		}
	}
	if got := u["Install"]["WantedBy"]; !slices.Equal(got, []string{"multi-user.target"}) {
		t.Errorf("[Install] WantedBy = %q", got)
	}
}

func TestWatchdogDropIn(t *testing.T) {
	u := readUnit(t, "watchdog.conf")
	m := u["Manager"]
	if len(m["RuntimeWatchdogSec"]) != 1 {
		t.Fatalf("[Manager] RuntimeWatchdogSec = %q", m["RuntimeWatchdogSec"])
	}
	d, err := time.ParseDuration(m["RuntimeWatchdogSec"][0] + "s")
	if err != nil || d <= 0 || d > 15*time.Second {
		t.Errorf("RuntimeWatchdogSec = %q: the Broadcom watchdog takes 1 to 15 s", m["RuntimeWatchdogSec"])
	}
}

// TestSystemdAnalyzeVerify runs systemd's own checker where it is
// installed. verify needs the unit's binary and the system's targets, so it
// runs against a scratch root holding a stand-in binary and a copy of the
// machine's unit directory. Any warning about our unit fails the test.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed; the directive checks above still ran")
	}
	var units string
	for _, d := range []string{"/usr/lib/systemd/system", "/lib/systemd/system"} {
		if _, err := os.Stat(filepath.Join(d, "sysinit.target")); err == nil {
			units = d
			break
		}
	}
	if units == "" {
		t.Skip("no systemd unit directory on this machine")
	}
	root := t.TempDir()
	for _, d := range []string{"usr/bin", "usr/lib/systemd", "etc/systemd/system"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "usr/bin/wartel-kiosk"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", units, filepath.Join(root, "usr/lib/systemd/system")).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", units, err, out)
	}
	data, err := os.ReadFile("wartel-kiosk.service")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/systemd/system/wartel-kiosk.service"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--root="+root, "/etc/systemd/system/wartel-kiosk.service").CombinedOutput()
	if err != nil || strings.Contains(string(out), "wartel-kiosk") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
