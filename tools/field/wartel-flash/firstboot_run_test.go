package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wartelsuspas/tools/field/wartel-flash/firstboot"
)

// TestFirstBootScriptRuns runs the first-boot script that provision
// writes, on a copy of the boot partition it wrote, with the system's
// commands (dpkg, install, systemctl, wartel-kiosk, id) stubbed to
// succeed: it passes its manifest check on an untouched card, for both
// methods and after Raspberry Pi Imager's own first-run script has changed
// cmdline.txt and removed firstrun.sh, and removes its folder (the booth's
// private key with it); a file of its folder changed on the card, it
// stops, says so, and installs nothing. Before, it checked the manifest
// from its folder, whose paths are from the partition's root: every booth
// failed its first boot and kept booth.key on the FAT partition.
func TestFirstBootScriptRuns(t *testing.T) {
	// Imager's script as it acts on the card (on a booth, /boot/firmware;
	// here only the copy, never this machine's own /boot).
	imager := "#!/bin/sh\nset +e\nrm -f \"$BOOT/firstrun.sh\"\nsed -i 's| systemd.run.*||g' \"$BOOT/cmdline.txt\"\nexit 0\n"
	for _, tt := range []struct {
		name    string
		files   func() map[string]string
		imager  bool   // the image carries Imager's firstrun.sh, run first
		corrupt string // a file of the card changed before the first boot
		fail    string // "" for success, else a word of the log
	}{
		{name: "firstrun", files: piFiles},
		{name: "cloud-init", files: cloudFiles},
		{name: "after Raspberry Pi Imager's settings", files: piFiles, imager: true},
		{name: "the configuration changed on the card", files: piFiles, corrupt: "/" + firstboot.Dir + "/kiosk.toml", fail: "do not match " + firstboot.Manifest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			files := tt.files()
			if tt.imager {
				files["firstrun.sh"] = imager
				files["cmdline.txt"] = strings.TrimSuffix(testCmdline, "\n") + " systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target\n"
			}
			s := newSetup(t, fat32Spec(files))
			if err := provision(s.opts, io.Discard); err != nil {
				t.Fatal(err)
			}
			m, err := parseManifest(readBoot(t, s.image, manifestPath)[manifestPath])
			if err != nil {
				t.Fatal(err)
			}
			names := []string{manifestPath}
			for n := range m {
				names = append(names, n)
			}
			boot := filepath.Join(t.TempDir(), "firmware")
			for n, b := range readBoot(t, s.image, names...) {
				p := filepath.Join(boot, n)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if n == tt.corrupt {
					b = append(b, "\n# edited\n"...)
				}
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			stubs := t.TempDir()
			for _, c := range []string{"dpkg", "apt-get", "id", "install", "systemctl", "wartel-kiosk"} {
				if err := os.WriteFile(filepath.Join(stubs, c), []byte("#!/bin/sh\necho \"$0 $*\" >>\"$STUBLOG\"\nexit 0\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			log, stubLog := filepath.Join(t.TempDir(), "firstboot.log"), filepath.Join(t.TempDir(), "stubs.log")
			env := append(os.Environ(), "PATH="+stubs+":"+os.Getenv("PATH"), "STUBLOG="+stubLog, "BOOT="+boot)
			if tt.imager {
				// As our firstrun.sh does first: the image's own script.
				c := exec.Command("sh", filepath.Join(boot, firstboot.Dir, "firstrun-before.sh"))
				c.Env = env
				if out, err := c.CombinedOutput(); err != nil {
					t.Fatalf("Imager's script: %v\n%s", err, out)
				}
				if _, err := os.Stat(filepath.Join(boot, "firstrun.sh")); !os.IsNotExist(err) {
					t.Fatalf("Imager's script left firstrun.sh (%v): the case tests nothing", err)
				}
			}
			script := strings.ReplaceAll(string(bootFile(t, boot, "/"+firstboot.Dir+"/"+firstboot.Script)), firstboot.Log, log)
			cmd := exec.Command("sh", "-c", script, firstboot.Script, boot)
			cmd.Env = env
			err = cmd.Run()
			out, _ := os.ReadFile(log)
			calls, _ := os.ReadFile(stubLog)
			_, statErr := os.Stat(filepath.Join(boot, firstboot.Dir, "bundle", "booth.key"))
			if tt.fail == "" {
				if err != nil {
					t.Fatalf("first boot failed on an untouched card: %v\n%s", err, out)
				}
				if !os.IsNotExist(statErr) {
					t.Errorf("booth.key still on the boot partition after the install (%v)", statErr)
				}
				if !strings.Contains(string(calls), "systemctl restart wartel-kiosk.service") {
					t.Errorf("the service was not started; commands run:\n%s", calls)
				}
				return
			}
			if err == nil || !strings.Contains(string(out), tt.fail) {
				t.Fatalf("first boot on a changed card: %v, log\n%s\nwant it to fail saying %q", err, out, tt.fail)
			}
			if len(calls) != 0 {
				t.Errorf("a changed card ran commands:\n%s", calls)
			}
		})
	}
}

// bootFile reads the file name (from the partition's root) of the boot copy.
func bootFile(t *testing.T, boot, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(boot, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
