package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wartelsuspas/firmware/packaging"
)

// buildDir holds the cross-built binaries, shared by all tests of this run.
var buildDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "mkdeb-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// crossBuild builds pkg for linux/goarch (goarm for arm) once per test
// binary and returns the executable's path.
type crossBuild struct {
	once sync.Once
	path string
	err  error
}

var builds = map[string]*crossBuild{
	"firmware-armv6": {}, "standin-arm64": {}, "standin-armv7": {},
}

func cross(t *testing.T, name string) string {
	t.Helper()
	b := builds[name]
	b.once.Do(func() {
		pkg, target, _ := strings.Cut(name, "-")
		src := map[string]string{"firmware": "../../../firmware", "standin": "./testdata/standin"}[pkg]
		env := append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
		switch target {
		case "armv6":
			env = append(env, "GOARCH=arm", "GOARM=6")
		case "armv7":
			env = append(env, "GOARCH=arm", "GOARM=7")
		default:
			env = append(env, "GOARCH="+target)
		}
		b.path = filepath.Join(buildDir, name)
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath", "-ldflags", "-s -w", "-o", b.path, src)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s for %s: %v\n%s", src, target, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (tools/release/ci/deps.sh installs dpkg)", tool)
			}
			t.Skipf("%s is not installed; these tests inspect and install the package with it", tool)
		}
	}
}

// debs caches built packages by arch, binary and version: under -race,
// nfpm's gzip of the 13 MB firmware takes seconds, so the tests share one.
var debs sync.Map // key string → *debBuild

type debBuild struct {
	once sync.Once
	path string
	err  error
}

func build(t *testing.T, arch, binary, version string) string {
	t.Helper()
	v, _ := debs.LoadOrStore(arch+"\x00"+binary+"\x00"+version, &debBuild{})
	d := v.(*debBuild)
	d.once.Do(func() {
		out, err := os.MkdirTemp(buildDir, "deb-")
		if err != nil {
			d.err = err
			return
		}
		d.path, d.err = Build(Options{Arch: arch, Binary: binary, Version: version, Out: out, MTime: time.Unix(1_800_000_000, 0)})
	})
	if d.err != nil {
		t.Fatal(d.err)
	}
	return d.path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestBuildRefuses(t *testing.T) {
	arm64 := cross(t, "standin-arm64")
	armv7 := cross(t, "standin-armv7")
	notELF := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, arch, binary, version, want string
	}{
		{"amd64", "amd64", arm64, "1.0.0", `-arch "amd64": want armhf`},
		{"go arch name", "arm", arm64, "1.0.0", `-arch "arm": want armhf`},
		{"dev version", "arm64", arm64, "dev", `-version "dev": a Debian version starts with a digit`},
		{"space", "arm64", arm64, "1.0 beta", `-version "1.0 beta"`},
		{"empty version", "arm64", arm64, "", `-version ""`},
		{"no binary", "arm64", "", "1.0.0", "-binary: give the cross-built wartel-kiosk"},
		{"missing binary", "arm64", "/nonexistent/wartel-kiosk", "1.0.0", "-binary /nonexistent/wartel-kiosk: not a Linux executable"},
		{"script", "arm64", notELF, "1.0.0", "not a Linux executable"},
		{"arm64 in armhf", "armhf", arm64, "1.0.0", "is built for EM_AARCH64; a armhf package needs EM_ARM"},
		{"armv7 in armhf", "armhf", armv7, "1.0.0", "built with GOARM=7: it dies with SIGILL on a Pi Zero or Pi 1"},
		{"armv7 in arm64", "arm64", armv7, "1.0.0", "is built for EM_ARM; a arm64 package needs EM_AARCH64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			_, err := Build(Options{Arch: tc.arch, Binary: tc.binary, Version: tc.version, Out: out})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if left, _ := os.ReadDir(out); len(left) != 0 {
				t.Errorf("a refused build left %d files in -out", len(left))
			}
		})
	}
}

// entry is a line of dpkg-deb --contents.
type entry struct {
	mode, owner string
}

// wantFiles are the package's regular files and their modes.
var wantFiles = map[string]string{
	"/usr/bin/wartel-kiosk":                           "-rwxr-xr-x",
	"/lib/systemd/system/wartel-kiosk.service":        "-rw-r--r--",
	"/etc/wartel/kiosk.toml":                          "-rw-r--r--",
	"/usr/share/wartel/kiosk.toml":                    "-rw-r--r--",
	"/etc/systemd/system.conf.d/wartel-watchdog.conf": "-rw-r--r--",
	"/etc/udev/rules.d/99-wartel-reader.rules":        "-rw-r--r--",
	"/usr/share/doc/wartel-kiosk/config.md":           "-rw-r--r--",
	"/usr/share/doc/wartel-kiosk/copyright":           "-rw-r--r--",
}

// TestPackage builds both architectures and inspects them with dpkg-deb:
// control fields, conffiles, maintainer scripts, every path and mode, and
// the bytes of every file against their sources. armhf packs the real
// GOARM=6 firmware.
func TestPackage(t *testing.T) {
	needTools(t, "dpkg-deb")
	configDoc, err := os.ReadFile("../../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	debTOML, err := packaging.DebTOML()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		arch, binary, version, wantVersion string
	}{
		{"armhf", "firmware-armv6", "v0.3.0-4-gabc1234", "0.3.0~4-gabc1234"},
		{"arm64", "standin-arm64", "1.2.3", "1.2.3"},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			bin := cross(t, tc.binary)
			deb := build(t, tc.arch, bin, tc.version)
			if want := "wartel-kiosk_" + tc.wantVersion + "_" + tc.arch + ".deb"; filepath.Base(deb) != want {
				t.Errorf("file name %s, want %s", filepath.Base(deb), want)
			}

			fields := map[string]string{}
			for _, l := range strings.Split(run(t, "dpkg-deb", "-f", deb), "\n") {
				if k, v, ok := strings.Cut(l, ": "); ok && !strings.HasPrefix(l, " ") {
					fields[k] = v
				}
			}
			for k, v := range map[string]string{"Package": "wartel-kiosk", "Version": tc.wantVersion, "Architecture": tc.arch} {
				if fields[k] != v {
					t.Errorf("control %s = %q, want %q", k, fields[k], v)
				}
			}
			deps := strings.Split(fields["Depends"], ", ")
			for _, d := range []string{"adduser", "systemd"} {
				if !slices.Contains(deps, d) {
					t.Errorf("Depends %q lacks %s", fields["Depends"], d)
				}
			}
			if fields["Maintainer"] == "" || !strings.HasPrefix(fields["Description"], "Wartelsuspas booth firmware") {
				t.Errorf("Maintainer %q, Description %q", fields["Maintainer"], fields["Description"])
			}
			if _, ok := fields["Homepage"]; ok {
				t.Errorf("Homepage = %q: the package has none", fields["Homepage"])
			}

			// Control files: conffiles and the scripts, byte for byte, executable.
			ctrl := t.TempDir()
			run(t, "dpkg-deb", "-e", deb, ctrl)
			conffiles, err := os.ReadFile(filepath.Join(ctrl, "conffiles"))
			if err != nil {
				t.Fatal(err)
			}
			gotConf := strings.Fields(string(conffiles))
			slices.Sort(gotConf)
			wantConf := []string{"/etc/systemd/system.conf.d/wartel-watchdog.conf", "/etc/udev/rules.d/99-wartel-reader.rules", "/etc/wartel/kiosk.toml"}
			if !slices.Equal(gotConf, wantConf) {
				t.Errorf("conffiles %q, want %q", gotConf, wantConf)
			}
			for name, want := range map[string][]byte{"postinst": packaging.Postinst, "prerm": packaging.Prerm, "postrm": packaging.Postrm} {
				p := filepath.Join(ctrl, name)
				got, err := os.ReadFile(p)
				if err != nil {
					t.Errorf("control archive: %v", err)
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from firmware/packaging/%s", name, name)
				}
				if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o755 {
					t.Errorf("%s mode %v, want 0755", name, fi.Mode())
				}
			}
			if _, err := os.Stat(filepath.Join(ctrl, "preinst")); err == nil {
				t.Error("unexpected preinst")
			}

			// Paths and modes.
			got := map[string]entry{}
			for _, l := range strings.Split(strings.TrimSpace(run(t, "dpkg-deb", "--contents", deb)), "\n") {
				f := strings.Fields(l)
				if len(f) != 6 {
					t.Fatalf("dpkg-deb --contents line %q", l)
				}
				if f[0][0] == '-' {
					got[strings.TrimPrefix(f[5], ".")] = entry{f[0], f[1]}
				}
			}
			for p, mode := range wantFiles {
				if e, ok := got[p]; !ok || e.mode != mode || e.owner != "root/root" {
					t.Errorf("%s: %+v (present %v), want %s root/root", p, e, ok, mode)
				}
			}
			for p := range got {
				if _, ok := wantFiles[p]; !ok {
					t.Errorf("unexpected file %s in the package", p)
				}
			}

			// Bytes.
			x := t.TempDir()
			run(t, "dpkg-deb", "-x", deb, x)
			binBytes, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			for p, want := range map[string][]byte{
				"/usr/bin/wartel-kiosk":                           binBytes,
				"/lib/systemd/system/wartel-kiosk.service":        packaging.Service,
				"/etc/wartel/kiosk.toml":                          debTOML,
				"/usr/share/wartel/kiosk.toml":                    packaging.KioskTOML,
				"/etc/systemd/system.conf.d/wartel-watchdog.conf": packaging.Watchdog,
				"/etc/udev/rules.d/99-wartel-reader.rules":        packaging.UdevRule,
				"/usr/share/doc/wartel-kiosk/config.md":           configDoc,
				"/usr/share/doc/wartel-kiosk/copyright":           packaging.Copyright,
			} {
				b, err := os.ReadFile(filepath.Join(x, p))
				if err != nil {
					t.Error(err)
					continue
				}
				if !bytes.Equal(b, want) {
					t.Errorf("%s: %d bytes differ from its source (%d bytes)", p, len(b), len(want))
				}
			}
		})
	}
}

// throwawayRoot is an empty dpkg root with the account files the
// postinst's useradd --prefix edits.
func throwawayRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{
		"var/lib/dpkg/status":    "",
		"var/lib/dpkg/available": "",
		"etc/passwd":             "root:x:0:0:root:/root:/bin/sh\n",
		"etc/group":              "root:x:0:\n",
		"etc/shadow":             "root:*:1::::::\n",
		"etc/gshadow":            "root:*::\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// dpkg runs dpkg on the throwaway root, chrootless: the maintainer scripts
// run here with DPKG_ROOT=root.
func dpkg(t *testing.T, root string, args ...string) (string, error) {
	t.Helper()
	base := []string{"--root=" + root, "--force-not-root", "--force-script-chrootless", "--force-architecture",
		"--force-depends", "--log=" + filepath.Join(root, "dpkg.log")}
	out, err := exec.Command("dpkg", append(base, args...)...).CombinedOutput()
	return string(out), err
}

// recorder replaces the installed firmware with a script that appends its
// arguments to log and exits with code: the removal then runs it, not the
// ARM binary this machine cannot run.
func recorder(t *testing.T, root, log string, code int) {
	t.Helper()
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" >> %q\necho 'relay pin GPIO17: no such GPIO chip' >&2\nexit %d\n", log, code)
	if code == 0 {
		script = fmt.Sprintf("#!/bin/sh\necho \"$@\" >> %q\nexit 0\n", log)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/bin/wartel-kiosk"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func userLine(t *testing.T, file, name string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Split(l, ":"); f[0] == name {
			return f
		}
	}
	return nil
}

// TestInstallRemovePurge installs the real armhf package into a
// throwaway root with dpkg, checks the files, the user and the
// directories; removes it and checks prerm drove the relay off (safe-off
// with the booth's file); purges it and checks /etc/wartel went and
// /var/lib/wartel, with its call records, stayed.
func TestInstallRemovePurge(t *testing.T) {
	needTools(t, "dpkg", "dpkg-deb", "useradd", "groupadd", "usermod")
	if os.Geteuid() != 0 {
		t.Skip("dpkg --root with the postinst's useradd --prefix needs root here")
	}
	hostHadUser := userLine(t, "/etc/passwd", "wartel") != nil
	deb := build(t, "armhf", cross(t, "firmware-armv6"), "v0.3.0-4-gabc1234")
	root := throwawayRoot(t)

	out, err := dpkg(t, root, "-i", deb)
	if err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	if !strings.Contains(out, "systemd and udev left alone") {
		t.Errorf("postinst did not say it left systemd alone:\n%s", out)
	}
	for p, mode := range wantFiles {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Errorf("after install: %v", err)
			continue
		}
		if fi.Mode().String() != mode {
			t.Errorf("%s installed with mode %v, want %s", p, fi.Mode(), mode)
		}
	}
	pw := userLine(t, filepath.Join(root, "etc/passwd"), "wartel")
	if pw == nil || pw[5] != "/var/lib/wartel" {
		t.Fatalf("passwd entry of wartel: %q", pw)
	}
	for _, g := range []string{"gpio", "dialout"} {
		gr := userLine(t, filepath.Join(root, "etc/group"), g)
		if gr == nil || !slices.Contains(strings.Split(gr[3], ","), "wartel") {
			t.Errorf("group %s: %q, want wartel a member", g, gr)
		}
	}
	if !hostHadUser && userLine(t, "/etc/passwd", "wartel") != nil {
		t.Error("the install created user wartel on this machine, not in the throwaway root")
	}
	for _, d := range []string{"var/lib/wartel", "etc/wartel/bundle"} {
		fi, err := os.Stat(filepath.Join(root, d))
		if err != nil {
			t.Error(err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0o700 || fmt.Sprint(st.Uid) != pw[2] || fmt.Sprint(st.Gid) != pw[3] {
			t.Errorf("%s: mode %v owner %d:%d, want 0700 %s:%s (wartel)", d, fi.Mode().Perm(), st.Uid, st.Gid, pw[2], pw[3])
		}
	}
	// Stand for unsent call records.
	if err := os.WriteFile(filepath.Join(root, "var/lib/wartel/booth.db"), []byte("records"), 0o600); err != nil {
		t.Fatal(err)
	}

	log := filepath.Join(t.TempDir(), "calls")
	recorder(t, root, log, 0)
	out, err = dpkg(t, root, "-r", "wartel-kiosk")
	if err != nil {
		t.Fatalf("dpkg -r: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(log)
	if want := "safe-off -config " + filepath.Join(root, "etc/wartel/kiosk.toml") + "\n"; string(calls) != want {
		t.Errorf("prerm ran wartel-kiosk with %q, want %q; dpkg said:\n%s", calls, want, out)
	}
	if !strings.Contains(out, "handset relay off") {
		t.Errorf("prerm did not report the relay off:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/wartel-kiosk")); !os.IsNotExist(err) {
		t.Errorf("binary after remove: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/wartel/kiosk.toml")); err != nil {
		t.Errorf("remove (not purge) took the configuration: %v", err)
	}

	out, err = dpkg(t, root, "--purge", "wartel-kiosk")
	if err != nil {
		t.Fatalf("dpkg --purge: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/wartel")); !os.IsNotExist(err) {
		t.Errorf("/etc/wartel after purge: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "var/lib/wartel/booth.db")); err != nil || string(b) != "records" {
		t.Errorf("purge lost the call records: %q, %v", b, err)
	}
	if !strings.Contains(out, "kept "+filepath.Join(root, "var/lib/wartel")) {
		t.Errorf("postrm did not say it kept the records:\n%s", out)
	}
}

// TestRemoveNeverFails: a booth must stay removable when safe-off fails or
// the binary is gone, and the technician must read that the relay was not
// driven off.
func TestRemoveNeverFails(t *testing.T) {
	needTools(t, "dpkg", "dpkg-deb", "useradd", "groupadd", "usermod")
	if os.Geteuid() != 0 {
		t.Skip("dpkg --root with the postinst's useradd --prefix needs root here")
	}
	deb := build(t, "arm64", cross(t, "standin-arm64"), "1.0.0")
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, root, log string)
		want  []string
	}{
		{"safe-off fails", func(t *testing.T, root, log string) { recorder(t, root, log, 1) },
			[]string{"WARNING: '" + "ROOT/usr/bin/wartel-kiosk safe-off -config ROOT/etc/wartel/kiosk.toml' failed (removal goes on)",
				"    relay pin GPIO17: no such GPIO chip", "check that the handset is dead"}},
		{"binary gone", func(t *testing.T, root, log string) {
			if err := os.Remove(filepath.Join(root, "usr/bin/wartel-kiosk")); err != nil {
				t.Fatal(err)
			}
		}, []string{"WARNING: ROOT/usr/bin/wartel-kiosk is missing: could not drive the handset relay off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := throwawayRoot(t)
			if out, err := dpkg(t, root, "-i", deb); err != nil {
				t.Fatalf("dpkg -i: %v\n%s", err, out)
			}
			log := filepath.Join(t.TempDir(), "calls")
			tc.setup(t, root, log)
			out, err := dpkg(t, root, "-r", "wartel-kiosk")
			if err != nil {
				t.Fatalf("dpkg -r failed; prerm must never block a removal: %v\n%s", err, out)
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "ROOT", root); !strings.Contains(out, w) {
					t.Errorf("dpkg -r output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestPostinstOnBooth runs the postinst the way it runs on a booth
// ($DPKG_ROOT empty, systemd running) inside a private mount namespace:
// /etc is a copy (the real adduser edits the copy's passwd), /var/lib and
// /run are scratch directories, and systemctl, udevadm and wartel-kiosk
// are fakes that record their arguments. It checks the user, groups and
// directories, the udev reload, the enable, and that the service starts
// only when `config check` passes.
func TestPostinstOnBooth(t *testing.T) {
	needTools(t, "unshare", "mount", "adduser", "addgroup")
	if os.Geteuid() != 0 {
		t.Skip("needs root for a mount namespace")
	}
	for _, tc := range []struct {
		name      string
		checkExit int
		want      []string // in the postinst's output
		calls     []string // systemctl, udevadm, wartel-kiosk calls in order
	}{
		{"config ready", 0, []string{"wartel-kiosk: config OK: device lapas-x/b01"}, []string{
			"udevadm control --reload", "udevadm trigger --subsystem-match=tty --action=add",
			"systemctl enable wartel-kiosk.service", "systemctl daemon-reload",
			"wartel-kiosk config check -config /etc/wartel/kiosk.toml", "systemctl restart wartel-kiosk.service"}},
		{"fresh install", 1, []string{
			"not started: /etc/wartel/kiosk.toml is not ready yet:",
			"    /etc/wartel/kiosk.toml:3: device: the example's device",
			"put its bundle (wartel-gateway enroll) in /etc/wartel/bundle",
			"wartel-kiosk config check -config /etc/wartel/kiosk.toml && systemctl start wartel-kiosk"}, []string{
			"udevadm control --reload", "udevadm trigger --subsystem-match=tty --action=add",
			"systemctl enable wartel-kiosk.service", "systemctl daemon-reload",
			"wartel-kiosk config check -config /etc/wartel/kiosk.toml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			etc, varlib, runDir, fake := filepath.Join(dir, "etc"), filepath.Join(dir, "varlib"), filepath.Join(dir, "run"), filepath.Join(dir, "bin")
			if out, err := exec.Command("cp", "-a", "/etc", etc).CombinedOutput(); err != nil {
				t.Fatalf("copy /etc: %v\n%s", err, out)
			}
			for _, d := range []string{varlib, filepath.Join(runDir, "systemd/system"), filepath.Join(runDir, "udev"), fake} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			// udevd's control socket: the postinst reloads udev only when it is there.
			l, err := net.Listen("unix", filepath.Join(runDir, "udev/control"))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			log := filepath.Join(dir, "calls")
			for name, tail := range map[string]string{
				"systemctl": "exit 0",
				"udevadm":   "exit 0",
				"wartel-kiosk": fmt.Sprintf(`if [ %d = 0 ]; then echo "config OK: device lapas-x/b01"; else echo "/etc/wartel/kiosk.toml:3: device: the example's device"; fi; exit %d`,
					tc.checkExit, tc.checkExit),
			} {
				script := fmt.Sprintf("#!/bin/sh\necho %s \"$@\" >> %q\n%s\n", name, log, tail)
				if err := os.WriteFile(filepath.Join(fake, name), []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			postinst := filepath.Join(dir, "postinst")
			if err := os.WriteFile(postinst, packaging.Postinst, 0o755); err != nil {
				t.Fatal(err)
			}
			inner := fmt.Sprintf("mount --bind %q /etc && mount --bind %q /var/lib && mount --bind %q /run && exec sh %q configure",
				etc, varlib, runDir, postinst)
			cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", inner)
			cmd.Env = []string{"PATH=" + fake + ":/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
			hostPasswd, _ := os.ReadFile("/etc/passwd")
			out, err := cmd.CombinedOutput()
			if after, _ := os.ReadFile("/etc/passwd"); !bytes.Equal(hostPasswd, after) {
				t.Fatal("the postinst changed this machine's /etc/passwd: the mount namespace did not hold")
			}
			if strings.Contains(string(out), "unshare: ") || strings.Contains(string(out), "mount: ") {
				t.Skipf("no mount namespace here: %s", out)
			}
			if err != nil {
				t.Fatalf("postinst configure: %v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("postinst output lacks %q:\n%s", w, out)
				}
			}
			calls, _ := os.ReadFile(log)
			if got := strings.Split(strings.TrimSpace(string(calls)), "\n"); !slices.Equal(got, tc.calls) {
				t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.calls, "\n"))
			}
			pw := userLine(t, filepath.Join(etc, "passwd"), "wartel")
			if pw == nil || pw[5] != "/var/lib/wartel" {
				t.Fatalf("passwd entry of wartel in the copy: %q", pw)
			}
			for _, g := range []string{"gpio", "dialout", "wartel"} {
				gr := userLine(t, filepath.Join(etc, "group"), g)
				if gr == nil || (g != "wartel" && !slices.Contains(strings.Split(gr[3], ","), "wartel")) {
					t.Errorf("group %s: %q, want it with wartel a member", g, gr)
				}
			}
			for _, d := range []string{filepath.Join(varlib, "wartel"), filepath.Join(etc, "wartel/bundle")} {
				fi, err := os.Stat(d)
				if err != nil {
					t.Error(err)
					continue
				}
				st := fi.Sys().(*syscall.Stat_t)
				if fi.Mode().Perm() != 0o700 || fmt.Sprint(st.Uid) != pw[2] {
					t.Errorf("%s: mode %v uid %d, want 0700 uid %s", d, fi.Mode().Perm(), st.Uid, pw[2])
				}
			}
		})
	}
}

// TestPrermOnBooth runs the prerm the way it runs on a booth ($DPKG_ROOT
// empty, systemd running) in a private mount namespace: /usr/bin gets an
// overlay holding a recording wartel-kiosk, systemctl is a fake. Whatever
// dpkg asks (remove, upgrade) and whatever systemctl does, the relay is
// driven off with the booth's file and the script exits 0.
func TestPrermOnBooth(t *testing.T) {
	needTools(t, "unshare", "mount")
	if os.Geteuid() != 0 {
		t.Skip("needs root for a mount namespace")
	}
	for _, tc := range []struct {
		name, arg   string
		stopExit    int
		calls, want []string
	}{
		{"remove", "remove", 0, []string{"systemctl stop wartel-kiosk.service", "systemctl disable wartel-kiosk.service",
			"wartel-kiosk safe-off -config /etc/wartel/kiosk.toml"}, []string{"handset relay off"}},
		{"upgrade", "upgrade", 0, []string{"systemctl stop wartel-kiosk.service",
			"wartel-kiosk safe-off -config /etc/wartel/kiosk.toml"}, []string{"handset relay off"}},
		{"stop fails", "remove", 1, []string{"systemctl stop wartel-kiosk.service", "systemctl disable wartel-kiosk.service",
			"wartel-kiosk safe-off -config /etc/wartel/kiosk.toml"},
			[]string{"systemctl stop wartel-kiosk failed; driving the relay off anyway", "handset relay off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			upper, work, runDir, fake := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "run"), filepath.Join(dir, "bin")
			for _, d := range []string{upper, work, filepath.Join(runDir, "systemd/system"), fake} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			log := filepath.Join(dir, "calls")
			for path, tail := range map[string]string{
				filepath.Join(fake, "systemctl"):     fmt.Sprintf("[ \"$1\" = stop ] && exit %d; exit 0", tc.stopExit),
				filepath.Join(upper, "wartel-kiosk"): "exit 0",
			} {
				script := fmt.Sprintf("#!/bin/sh\necho %s \"$@\" >> %q\n%s\n", filepath.Base(path), log, tail)
				if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			prerm := filepath.Join(dir, "prerm")
			if err := os.WriteFile(prerm, packaging.Prerm, 0o755); err != nil {
				t.Fatal(err)
			}
			inner := fmt.Sprintf("mount -t overlay overlay -o lowerdir=/usr/bin,upperdir=%s,workdir=%s /usr/bin && mount --bind %q /run && exec sh %q %s",
				upper, work, runDir, prerm, tc.arg)
			cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", inner)
			cmd.Env = []string{"PATH=" + fake + ":/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
			out, err := cmd.CombinedOutput()
			if strings.Contains(string(out), "unshare: ") || strings.Contains(string(out), "mount: ") {
				t.Skipf("no mount namespace or overlayfs here: %s", out)
			}
			if err != nil {
				t.Fatalf("prerm %s exited with %v; it must never fail a removal:\n%s", tc.arg, err, out)
			}
			calls, _ := os.ReadFile(log)
			if got := strings.Split(strings.TrimSpace(string(calls)), "\n"); !slices.Equal(got, tc.calls) {
				t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.calls, "\n"))
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("prerm output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
