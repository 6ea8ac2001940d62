// Package packaging holds the files the .deb installs (the service unit,
// the example configuration, the watchdog drop-in); its tests check them.
package packaging

import (
	"bufio"
	"fmt"
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

// TestDebTOMLUsesReaderLink keeps the installed configuration and the udev
// rule agreeing on the reader's name, so a fresh booth finds its reader
// without an edit, and checks nothing else differs from the example.
func TestDebTOMLUsesReaderLink(t *testing.T) {
	doc, err := DebTOML()
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(doc, "kiosk.toml")
	if err != nil {
		t.Fatal(err)
	}
	ex, err := config.Parse(KioskTOML, "example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if ex.Card.Path == ReaderLink {
		t.Log("the example itself now uses the link: DebTOML could return KioskTOML as it is")
	}
	ex.Card.Path = ReaderLink
	if fmt.Sprintf("%+v", ex.Card) != fmt.Sprintf("%+v", c.Card) || ex.Device != c.Device || ex.Store != c.Store || ex.Gateway != c.Gateway {
		t.Errorf("DebTOML changed more than reader.path:\n got %+v\nwant %+v", c.Card, ex.Card)
	}
	if got, want := strings.Count(string(doc), "\n"), strings.Count(string(KioskTOML), "\n"); got != want {
		t.Errorf("DebTOML has %d lines, the example %d: line numbers in errors would not match the docs", got, want)
	}
	if c.Card.Path != ReaderLink {
		t.Errorf("example reader.path = %q, want %q (the udev rule's name)", c.Card.Path, ReaderLink)
	}
	if link := "SYMLINK+=\"" + strings.TrimPrefix(ReaderLink, "/dev/") + "\""; !strings.Contains(string(UdevRule), link) {
		t.Errorf("udev rule does not contain %s", link)
	}
}

// udevMatch is one rule line of the reader's udev rule.
type udevMatch struct{ vid, pid string }

// parseUdevRule reads the rule lines: every key must be one we mean, every
// line must name the tty subsystem, the link and the group.
func parseUdevRule(t *testing.T, rule []byte) []udevMatch {
	t.Helper()
	var got []udevMatch
	for n, line := range strings.Split(string(rule), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Split(line, ", ") {
			i := strings.IndexAny(f, "=+")
			if i < 0 {
				t.Fatalf("line %d: %q is not KEY==value", n+1, f)
			}
			key, rest := f[:i], f[i:]
			op := rest[:2]
			val := rest[2:]
			if rest[0] == '=' && rest[1] != '=' {
				op, val = "=", rest[1:]
			}
			if len(val) < 2 || val[0] != '"' || val[len(val)-1] != '"' {
				t.Fatalf("line %d: value of %s is not quoted: %q", n+1, key, val)
			}
			kv[key+op] = val[1 : len(val)-1]
		}
		want := map[string]string{"SUBSYSTEM==": "tty", "SYMLINK+=": "wartel-reader", "GROUP=": "dialout", "MODE=": "0660"}
		for k, v := range want {
			if kv[k] != v {
				t.Errorf("line %d: %s%q, want %q", n+1, k, kv[k], v)
			}
		}
		if len(kv) != len(want)+2 {
			t.Errorf("line %d: keys %v, want only %v and the USB ids", n+1, kv, want)
		}
		got = append(got, udevMatch{kv["ATTRS{idVendor}=="], kv["ATTRS{idProduct}=="]})
	}
	return got
}

func TestUdevRule(t *testing.T) {
	got := parseUdevRule(t, UdevRule)
	for _, want := range []udevMatch{
		{"0403", "6001"}, // FTDI FT232R
		{"1a86", "7523"}, // CH340
		{"10c4", "ea60"}, // CP210x
		{"067b", "2303"}, // PL2303
	} {
		if !slices.Contains(got, want) {
			t.Errorf("udev rule does not match USB %s:%s; it matches %v", want.vid, want.pid, got)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d rule lines, want 4: %v", len(got), got)
	}
}

// TestMaintainerScriptsSyntax checks every script parses as POSIX sh (and
// with bash -n, which catches more where installed), and that each one
// honours $DPKG_ROOT. Their behaviour is tested by installing the package:
// tools/release/mkdeb's tests.
func TestMaintainerScriptsSyntax(t *testing.T) {
	scripts := map[string][]byte{"postinst": Postinst, "prerm": Prerm, "postrm": Postrm}
	for name, body := range scripts {
		if !strings.HasPrefix(string(body), "#!/bin/sh\n") {
			t.Errorf("%s does not start with #!/bin/sh", name)
		}
		if !strings.Contains(string(body), "${DPKG_ROOT:-}") {
			t.Errorf("%s ignores $DPKG_ROOT", name)
		}
		for _, shell := range []string{"sh", "dash", "bash"} {
			path, err := exec.LookPath(shell)
			if err != nil {
				continue
			}
			cmd := exec.Command(path, "-n", name)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s -n %s: %v\n%s", shell, name, err, out)
			}
		}
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable in the tree (mode %v)", name, fi.Mode())
		}
	}
}

// TestUdevadmVerify runs udev's own checker (systemd 253 and later) where
// it is installed.
func TestUdevadmVerify(t *testing.T) {
	udevadm, err := exec.LookPath("udevadm")
	if err != nil {
		t.Skip("udevadm is not installed; TestUdevRule still checked the rule")
	}
	if exec.Command(udevadm, "verify", "--help").Run() != nil {
		t.Skip("this udevadm has no verify (systemd older than 253)")
	}
	if out, err := exec.Command(udevadm, "verify", "99-wartel-reader.rules").CombinedOutput(); err != nil {
		t.Errorf("udevadm verify: %v\n%s", err, out)
	}
}
