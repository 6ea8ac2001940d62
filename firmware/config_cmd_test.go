package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/tools/centre/ca"
)

// writeConfig writes a configuration file into dir and returns its path.
func writeConfig(t *testing.T, dir, doc string) string {
	t.Helper()
	p := filepath.Join(dir, "kiosk.toml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// enrol makes a CA and a bundle for device in dir/bundle.
func enrol(t *testing.T, dir, facility, booth string) string {
	t.Helper()
	authority, err := ca.Init(filepath.Join(dir, "ca"), "test CA")
	if err != nil {
		t.Fatal(err)
	}
	b, err := authority.Enroll(facility, booth, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir2 := filepath.Join(dir, "bundle")
	if err := ca.WriteBundle(dir2, b); err != nil {
		t.Fatal(err)
	}
	return dir2
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	bdir := enrol(t, dir, "lapas-x", "b01")
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	files := "[store]\npath = \"" + filepath.Join(state, "booth.db") + "\"\n[gateway]\nurl = \"https://gw:8443\"\nbundle = \"" + bdir + "\"\n"
	good := "device = \"lapas-x/b01\"\n" + files
	otherBooth := "device = \"lapas-x/b02\"\n" + files
	badPin := "device = \"lapas-x/b01\"\n[gpio]\nrelay = \"GPIO99\"\nhook = \"GPIO0\"\n" + files
	noBundle := "device = \"lapas-x/b01\"\n" + strings.Replace(files, bdir, filepath.Join(dir, "none"), 1)

	corrupt := filepath.Join(dir, "corrupt")
	if err := os.CopyFS(corrupt, os.DirFS(bdir)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corrupt, bundle.CAFile), []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badBundle := "device = \"lapas-x/b01\"\n" + strings.Replace(files, bdir, corrupt, 1)

	tests := []struct {
		name  string
		doc   string
		extra []string
		code  int
		out   []string // substrings of stdout+stderr, in order
	}{
		{"good", good, nil, 0, []string{"config OK: device lapas-x/b01, relay GPIO17, reader rdm6300 on /dev/ttyUSB0"}},
		{"bad pins", badPin, nil, 1, []string{":3: gpio.relay: unknown pin \"GPIO99\"", ":4: gpio.hook: pin GPIO0 is reserved", "2 problem(s) in "}},
		{"bundle of another booth", otherBooth, nil, 1, []string{":1: device: \"lapas-x/b02\", but the bundle in " + bdir + " is for \"lapas-x/b01\""}},
		{"no bundle", noBundle, nil, 1, []string{":6: gateway.bundle: stat ", "1 problem(s)"}},
		{"no bundle, file only", noBundle, []string{"-no-files"}, 0, []string{"config OK"}},
		{"corrupt bundle", badBundle, nil, 1, []string{":6: gateway.bundle: ", "ca.crt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, t.TempDir(), tt.doc)
			var out, errb bytes.Buffer
			code := dispatch(append([]string{"config", "check", "-config", path}, tt.extra...), &out, &errb)
			all := out.String() + errb.String()
			if code != tt.code {
				t.Errorf("exit %d, want %d:\n%s", code, tt.code, all)
			}
			rest := all
			for _, w := range tt.out {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("output lacks %q (in order):\n%s", w, all)
					break
				}
				rest = rest[i+len(w):]
			}
			if tt.code != 0 && !strings.HasPrefix(errb.String(), path+":") {
				t.Errorf("stderr does not start with the file's name:\n%s", errb.String())
			}
		})
	}
}

func TestConfigCheckUsage(t *testing.T) {
	for _, args := range [][]string{{"config"}, {"config", "lint"}, {"config", "check", "extra"}, {"config", "check", "-bogus"}} {
		var out, errb bytes.Buffer
		if code := dispatch(args, &out, &errb); code != 2 {
			t.Errorf("dispatch(%q) = %d, want 2 (usage)", args, code)
		}
	}
	var out, errb bytes.Buffer
	if code := dispatch([]string{"config", "check", "-config", filepath.Join(t.TempDir(), "none.toml")}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "none.toml: no such file") {
		t.Errorf("missing file: exit %d, %s", code, errb.String())
	}
	if !strings.Contains(usageText(), "config") {
		t.Error("usage does not list config")
	}
}

// TestConfigCheckBinary runs the built firmware on the shipped example and
// on a broken file: the exit status is what scripts and the .deb's
// postinst see.
func TestConfigCheckBinary(t *testing.T) {
	bin := buildFirmware(t)
	out, err := exec.Command(bin, "config", "check", "-no-files", "-config", filepath.Join("packaging", "kiosk.toml")).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "config OK: device lapas-cipinang/b03") {
		t.Errorf("example: %v\n%s", err, out)
	}
	bad := writeConfig(t, t.TempDir(), "device = \"x/y\"\n[policy]\nperiod = \"fortnight\"\nallowance = \"30\"\n[gateway]\nurl = \"https://g:1\"\n")
	out, err = exec.Command(bin, "config", "check", "-no-files", "-config", bad).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("broken file: %v, want exit 1", err)
	}
	want := bad + ":3: policy.period: \"fortnight\": use day, week or month\n" + bad + ":4: policy.allowance: \"30\" is not a duration"
	if !strings.HasPrefix(string(out), want) {
		t.Errorf("broken file output:\n%s\nwant it to start with:\n%s", out, want)
	}
}

func TestSafeOffWithConfig(t *testing.T) {
	tests := []struct {
		name, doc string
		flags     []string
		want      string // the relay file after safe-off: the off level
	}{
		{"active high", "device = \"a/b\"\n[gpio]\nrelay = \"GPIO27\"\n[gateway]\nurl = \"https://g:1\"\n", nil, "0"},
		{"active low", "device = \"a/b\"\n[gpio]\nrelay = \"GPIO27\"\nrelay_active_low = true\n[gateway]\nurl = \"https://g:1\"\n", nil, "1"},
		// A file with problems elsewhere still gives its relay pin.
		{"broken elsewhere", "[gpio]\nrelay = \"GPIO27\"\nrelay_active_low = true\n[sesion]\nx = 1\n", nil, "1"},
		// An explicit flag after -config wins.
		{"flag wins", "device = \"a/b\"\n[gpio]\nrelay = \"GPIO27\"\nrelay_active_low = true\n[gateway]\nurl = \"https://g:1\"\n", []string{"-relay-active-low=false"}, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeConfig(t, dir, tt.doc)
			sim := filepath.Join(dir, "sim")
			var out, errb bytes.Buffer
			args := append([]string{"safe-off", "-config=" + path, "-gpio-backend", "sim", "-sim-dir", sim}, tt.flags...)
			if code := dispatch(args, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			if got := relayFile(t, sim); got != tt.want {
				t.Errorf("relay file %q, want %q", got, tt.want)
			}
			if !strings.Contains(out.String(), "relay GPIO27 off") {
				t.Errorf("stdout %q, want the configured pin", out.String())
			}
		})
	}
	// An unreadable file still drives the default pin off.
	sim := t.TempDir()
	var out, errb bytes.Buffer
	code := dispatch([]string{"safe-off", "-config", filepath.Join(sim, "none.toml"), "-gpio-backend", "sim", "-sim-dir", sim}, &out, &errb)
	if code != 0 || relayFile(t, sim) != "0" || !strings.Contains(errb.String(), "driving the default relay pin off") {
		t.Errorf("missing file: exit %d, stderr %q", code, errb.String())
	}
}

func TestCutConfigFlag(t *testing.T) {
	tests := []struct {
		args  []string
		path  string
		rest  []string
		found bool
	}{
		{[]string{"-config", "a.toml", "-x"}, "a.toml", []string{"-x"}, true},
		{[]string{"-x", "--config=b.toml"}, "b.toml", []string{"-x"}, true},
		{[]string{"-x", "-config"}, "", []string{"-x"}, true},
		{[]string{"-relay-pin", "GPIO4"}, "", []string{"-relay-pin", "GPIO4"}, false},
		{[]string{"config"}, "", []string{"config"}, false},
	}
	for _, tt := range tests {
		path, rest, found := cutConfigFlag(tt.args)
		if path != tt.path || found != tt.found || strings.Join(rest, " ") != strings.Join(tt.rest, " ") {
			t.Errorf("cutConfigFlag(%q) = %q, %q, %v", tt.args, path, rest, found)
		}
	}
}
