package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/mbr"
	"go.yaml.in/yaml/v3"

	"wartelsuspas/firmware/config"
	"wartelsuspas/firmware/packaging"
	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/tools/field/wartel-flash/bootfs"
	"wartelsuspas/tools/field/wartel-flash/firstboot"
)

// setup is one provisioning run's inputs in a temp dir.
type setup struct {
	dir, image, bundle, deb string
	fsckBefore              string
	opts                    provisionOpts
}

func newSetup(t *testing.T, spec imageSpec) *setup {
	t.Helper()
	dir := t.TempDir()
	s := &setup{dir: dir}
	s.image = makeImage(t, dir, spec)
	if !spec.noTable {
		// go-diskfs's own FAT16 leaves one lost cluster: provisioning must
		// add no problem to what was there.
		s.fsckBefore, _ = fsckProblems(t, s.image, spec.fatSize)
	}
	s.bundle = enrol(t, dir, "lapas-x", "b07", 30*24*time.Hour)
	s.deb = fakeDeb(t, dir, "wartel-kiosk_1.2.3_armhf.deb", 300<<10)
	s.opts = provisionOpts{
		Image: s.image, Bundle: s.bundle, Deb: s.deb, Gateway: "https://gw.kanwil.example:8443",
		Reader: "rdm6300", ReaderPath: defaultReaderPath, Method: "auto",
		Now: func() time.Time { return time.Now() },
	}
	return s
}

// readBoot returns every file named in the image's boot partition.
func readBoot(t *testing.T, image string, names ...string) map[string][]byte {
	t.Helper()
	p, err := bootfs.Open(image, false)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := map[string][]byte{}
	for _, n := range names {
		b, err := p.ReadFile(n)
		if err != nil {
			t.Fatalf("read back %s: %v", n, err)
		}
		out[n] = b
	}
	return out
}

func shCheck(t *testing.T, name string, script []byte) {
	t.Helper()
	cmd := exec.Command("sh", "-n")
	cmd.Stdin = bytes.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sh -n %s: %v\n%s", name, err, out)
	}
}

func TestProvision(t *testing.T) {
	fat16 := imageSpec{fatSize: 48 << 20, fsType: filesystem.TypeFat16, ptype: mbr.Fat16bLBA, files: piFiles()}
	tests := []struct {
		name   string
		spec   imageSpec
		method string
	}{
		{"fat32 firstrun", fat32Spec(piFiles()), "firstrun"},
		{"fat16 firstrun", fat16, "firstrun"},
		{"fat32 cloud-init", fat32Spec(cloudFiles()), "cloud-init"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t, tt.spec)
			var out bytes.Buffer
			if err := provision(s.opts, &out); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "provisioned for lapas-x/b07") || !strings.Contains(out.String(), "first boot by "+tt.method) {
				t.Errorf("output: %s", out.String())
			}
			w := "/" + firstboot.Dir
			names := []string{w + "/wartel-kiosk_1.2.3_armhf.deb", w + "/kiosk.toml", w + "/firstboot.sh", w + "/" + firstboot.Manifest,
				w + "/bundle/booth.key", w + "/bundle/booth.crt", w + "/bundle/ca.crt", w + "/bundle/bundle.json", "/cmdline.txt", "/config.txt"}
			if tt.method == "cloud-init" {
				names = append(names, "/user-data", "/meta-data", "/network-config")
			} else {
				names = append(names, "/firstrun.sh")
			}
			got := readBoot(t, s.image, names...)

			// The package and the bundle, byte for byte.
			for img, src := range map[string]string{
				w + "/wartel-kiosk_1.2.3_armhf.deb": s.deb,
				w + "/bundle/booth.key":             filepath.Join(s.bundle, bundle.KeyFile),
				w + "/bundle/booth.crt":             filepath.Join(s.bundle, bundle.CertFile),
				w + "/bundle/ca.crt":                filepath.Join(s.bundle, bundle.CAFile),
				w + "/bundle/bundle.json":           filepath.Join(s.bundle, bundle.ManifestFile),
			} {
				want, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got[img], want) {
					t.Errorf("%s: %d bytes on the image differ from %s (%d bytes)", img, len(got[img]), src, len(want))
				}
			}
			// Every checksum in the manifest, and every written file listed.
			m, err := parseManifest(got[w+"/"+firstboot.Manifest])
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				if n == w+"/"+firstboot.Manifest || n == "/config.txt" || n == "/network-config" || (n == "/cmdline.txt" && tt.method == "cloud-init") || (n == "/meta-data" && tt.method == "cloud-init") {
					if _, ok := m[n]; ok {
						t.Errorf("manifest lists %s, which wartel-flash did not write", n)
					}
					continue
				}
				sum := sha256.Sum256(got[n])
				if m[n] != hex.EncodeToString(sum[:]) {
					t.Errorf("manifest: %s = %q, the file's sha256 is %x", n, m[n], sum)
				}
			}
			// The configuration: valid, this booth, comments kept.
			c, err := config.Parse(got[w+"/kiosk.toml"], "kiosk.toml")
			if err != nil {
				t.Fatal(err)
			}
			if c.Device != "lapas-x/b07" || c.Gateway.URL != s.opts.Gateway || c.Gateway.Bundle != "/etc/wartel/bundle" || c.Card.Path != packaging.ReaderLink {
				t.Errorf("config: %s", c.Summary())
			}
			for _, l := range []string{"# Pin map: BCM names", "relay = \"GPIO17\"                   # handset relay (required)"} {
				if !bytes.Contains(got[w+"/kiosk.toml"], []byte(l)) {
					t.Errorf("kiosk.toml lost the line %q", l)
				}
			}
			shCheck(t, "firstboot.sh", got[w+"/firstboot.sh"])
			if !bytes.Contains(got[w+"/firstboot.sh"], []byte(`dpkg --force-confold -i "./wartel-kiosk_1.2.3_armhf.deb"`)) {
				t.Error("firstboot.sh does not install the package")
			}
			if !bytes.Equal(got["/config.txt"], []byte(testConfig)) {
				t.Error("config.txt changed")
			}
			switch tt.method {
			case "firstrun":
				shCheck(t, "firstrun.sh", got["/firstrun.sh"])
				want := strings.TrimSuffix(testCmdline, "\n") + " systemd.run=/boot/firmware/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target\n"
				if string(got["/cmdline.txt"]) != want {
					t.Errorf("cmdline.txt:\n got %q\nwant %q", got["/cmdline.txt"], want)
				}
			case "cloud-init":
				if !bytes.Equal(got["/cmdline.txt"], []byte(testCmdline)) {
					t.Error("cmdline.txt changed on a cloud-init image")
				}
				if !bytes.HasPrefix(got["/user-data"], []byte(testUD[:strings.Index(testUD, "# trailing")])) {
					t.Errorf("user-data does not keep the original:\n%s", got["/user-data"])
				}
				var ud map[string]any
				if err := yaml.Unmarshal(got["/user-data"], &ud); err != nil {
					t.Fatal(err)
				}
				runcmd := ud["runcmd"].([]any)
				if len(runcmd) != 2 || !reflect.DeepEqual(runcmd[0], []any{"echo", "imager-step"}) || ud["enable_ssh"] != true || ud["hostname"] != "raspberrypi" {
					t.Errorf("user-data: %v", ud)
				}
				hook := runcmd[1].([]any)
				shCheck(t, "runcmd hook", []byte(hook[2].(string)))
				if string(got["/meta-data"]) != "instance-id: rpios-image\n" {
					t.Error("meta-data changed")
				}
			}
			if probs, ok := fsckProblems(t, s.image, tt.spec.fatSize); !ok {
				t.Log("fsck.fat not installed (apt-get install dosfstools): FAT consistency not checked")
			} else if !subset(probs, s.fsckBefore) {
				t.Errorf("fsck.fat -n finds problems provisioning made:\n%s\n(before provisioning: %q)", probs, s.fsckBefore)
			}
			r, err := verify(s.image)
			if err != nil || r.Method != tt.method || r.Device != "lapas-x/b07" {
				t.Errorf("verify = %+v, %v", r, err)
			}

			// Provisioning again gives the same files, not doubled hooks.
			if err := provision(s.opts, io.Discard); err != nil {
				t.Fatal(err)
			}
			again := readBoot(t, s.image, names...)
			for _, n := range names {
				if !bytes.Equal(again[n], got[n]) {
					t.Errorf("provisioning again changed %s", n)
				}
			}
		})
	}
}

// TestProvisionKeepsImagerFirstrun: an image already customised by
// Raspberry Pi Imager's firstrun.sh keeps it, run before ours.
func TestProvisionKeepsImagerFirstrun(t *testing.T) {
	files := piFiles()
	imager := "#!/bin/bash\nset +e\necho imager settings\nrm -f /boot/firstrun.sh\nsed -i 's| systemd.run.*||g' /boot/cmdline.txt\nexit 0\n"
	files["firstrun.sh"] = imager
	files["cmdline.txt"] = strings.TrimSuffix(testCmdline, "\n") + " systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target\n"
	s := newSetup(t, fat32Spec(files))
	if err := provision(s.opts, io.Discard); err != nil {
		t.Fatal(err)
	}
	got := readBoot(t, s.image, "/firstrun.sh", "/wartel/firstrun-before.sh", "/cmdline.txt")
	if string(got["/wartel/firstrun-before.sh"]) != imager {
		t.Error("the image's firstrun.sh was not kept")
	}
	if !bytes.Contains(got["/firstrun.sh"], []byte("firstrun-before.sh")) {
		t.Error("our firstrun.sh does not run the image's")
	}
	if n := strings.Count(string(got["/cmdline.txt"]), "systemd.run="); n != 1 {
		t.Errorf("cmdline.txt has %d systemd.run=: %q", n, got["/cmdline.txt"])
	}
	shCheck(t, "firstrun.sh", got["/firstrun.sh"])
}

// fsckProblems returns what dosfstools' fsck.fat -n says is wrong with
// partition 1 of image, one line per problem ("" when it is clean), and
// false when fsck.fat is not installed.
func fsckProblems(t *testing.T, image string, size int64) (string, bool) {
	t.Helper()
	bin, err := exec.LookPath("fsck.fat")
	if err != nil {
		return "", false
	}
	f, err := os.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	part := filepath.Join(t.TempDir(), "part1")
	out, err := os.Create(part)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, io.NewSectionReader(f, 2048*512, size)); err != nil {
		t.Fatal(err)
	}
	out.Close()
	b, _ := exec.Command(bin, "-n", part).CombinedOutput()
	var problems []string
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "fsck.fat ") || strings.HasPrefix(l, "Leaving filesystem") || strings.HasPrefix(l, part+":") {
			continue
		}
		problems = append(problems, l)
	}
	return strings.Join(problems, "\n"), true
}

// subset says whether every line of a is a line of b.
func subset(a, b string) bool {
	for _, l := range strings.Split(a, "\n") {
		if l != "" && !slices.Contains(strings.Split(b, "\n"), l) {
			return false
		}
	}
	return true
}

func hashFile(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestProvisionRefusals(t *testing.T) {
	tests := []struct {
		name string
		spec imageSpec
		edit func(t *testing.T, s *setup)
		want string
	}{
		{"no partition table", imageSpec{noTable: true, fatSize: 1 << 20}, nil, "no partition table"},
		{"partition 1 not FAT", imageSpec{fatSize: 40 << 20, fsType: filesystem.TypeFat32, ptype: mbr.Linux, files: piFiles()}, nil, "not FAT"},
		{"no cmdline.txt", fat32Spec(map[string]string{"config.txt": testConfig}), nil, "no cmdline.txt"},
		{"no config.txt", fat32Spec(map[string]string{"cmdline.txt": testCmdline}), nil, "no config.txt"},
		{"bundle altered", fat32Spec(piFiles()), func(t *testing.T, s *setup) {
			if err := os.WriteFile(filepath.Join(s.bundle, bundle.CAFile), []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "does not match bundle.json"},
		{"bundle of another booth", fat32Spec(piFiles()), func(t *testing.T, s *setup) { s.opts.Expect = "lapas-x/b08" }, "is for booth lapas-x/b07, not lapas-x/b08"},
		{"certificate expired", fat32Spec(piFiles()), func(t *testing.T, s *setup) {
			s.opts.Now = func() time.Time { return time.Now().Add(31 * 24 * time.Hour) }
		}, "expired on"},
		{"certificate not yet valid", fat32Spec(piFiles()), func(t *testing.T, s *setup) {
			s.opts.Now = func() time.Time { return time.Now().Add(-24 * time.Hour) }
		}, "not valid until"},
		{"config does not validate", fat32Spec(piFiles()), func(t *testing.T, s *setup) { s.opts.Reader = "wiegand" }, "reader.protocol"},
		{"bad gateway url", fat32Spec(piFiles()), func(t *testing.T, s *setup) { s.opts.Gateway = "gw:8443" }, "gateway.url"},
		{"base config with a bad pin", fat32Spec(piFiles()), func(t *testing.T, s *setup) {
			s.opts.Config = filepath.Join(s.dir, "base.toml")
			doc := strings.Replace(string(packaging.KioskTOML), `relay = "GPIO17"`, `relay = "GPIO99"`, 1)
			if err := os.WriteFile(s.opts.Config, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
		}, `gpio.relay: unknown pin "GPIO99"`},
		{"pins file with a bad pin", fat32Spec(piFiles()), func(t *testing.T, s *setup) {
			s.opts.Pins = filepath.Join(s.dir, "pins.toml")
			if err := os.WriteFile(s.opts.Pins, []byte("[gpio]\nhook = \"GPIO0\"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "gpio.hook"},
		{"not a debian package", fat32Spec(piFiles()), func(t *testing.T, s *setup) {
			if err := os.WriteFile(s.deb, []byte("PK\x03\x04 a zip"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not a Debian package"},
		{"package for a PC", fat32Spec(piFiles()), func(t *testing.T, s *setup) {
			s.opts.Deb = fakeDeb(t, s.dir, "wartel-kiosk_1.2.3_amd64.deb", 1000)
		}, "is for amd64"},
		{"not enough space", fat32Spec(piFiles()), func(t *testing.T, s *setup) {
			s.opts.Deb = fakeDeb(t, s.dir, "wartel-kiosk_9.9.9_arm64.deb", 41<<20)
		}, "KiB free"},
		{"user-data not cloud-config", fat32Spec(map[string]string{"cmdline.txt": testCmdline, "config.txt": testConfig, "user-data": "#!/bin/sh\necho hi\n"}), nil, "does not start with #cloud-config"},
		{"cmdline runs another program", fat32Spec(map[string]string{"cmdline.txt": "root=/dev/mmcblk0p2 systemd.run=/boot/other.sh\n", "config.txt": testConfig}), nil, "another first-boot program"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSetup(t, tt.spec)
			if tt.edit != nil {
				tt.edit(t, s)
			}
			before := hashFile(t, s.image)
			err := provision(s.opts, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("provision error = %v, want one containing %q", err, tt.want)
			}
			if hashFile(t, s.image) != before {
				t.Error("the image changed although provisioning was refused")
			}
		})
	}
}

func TestVerifyFindsChange(t *testing.T) {
	s := newSetup(t, fat32Spec(piFiles()))
	if _, err := verify(s.image); err == nil || !strings.Contains(err.Error(), "not provisioned") {
		t.Fatalf("verify of a plain image = %v", err)
	}
	if err := provision(s.opts, io.Discard); err != nil {
		t.Fatal(err)
	}
	p, err := bootfs.Open(s.image, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteFile("/wartel/kiosk.toml", []byte("device = \"lapas-x/b07\"\n")); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := verify(s.image); err == nil || !strings.Contains(err.Error(), "/wartel/kiosk.toml: changed since provisioning") {
		t.Fatalf("verify after an edit = %v", err)
	}
}

// TestCommandLine runs the commands through run, as a technician would.
func TestCommandLine(t *testing.T) {
	s := newSetup(t, fat32Spec(cloudFiles()))
	var out, errb bytes.Buffer
	code := run([]string{"provision", "-image", s.image, "-bundle", s.bundle, "-deb", s.deb, "-gateway", "https://gw:8443", "-expect", "lapas-x/b07", "-reader", "id12", "-reader-path", "/dev/ttyAMA0"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("provision: exit %d: %s", code, errb.String())
	}
	out.Reset()
	if code := run([]string{"verify", "-image", s.image}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "OK") {
		t.Fatalf("verify: exit %d: %s %s", code, out.String(), errb.String())
	}
	errb.Reset()
	code = run([]string{"provision", "-image", s.image, "-bundle", s.bundle, "-deb", s.deb, "-gateway", "https://gw:8443", "-expect", "lapas-y/b01"}, nil, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "wartel-flash provision: bundle ") {
		t.Fatalf("refusal: exit %d: %s", code, errb.String())
	}
	if code := run([]string{"provision", "-image", s.image}, nil, &out, &errb); code != 2 {
		t.Errorf("missing flags: exit %d", code)
	}
}

// TestProvisionPinsAndOlderImage: a pin file's keys reach the
// configuration, and an image from before Bookworm (boot partition on
// /boot) gets the /boot hook.
func TestProvisionPinsAndOlderImage(t *testing.T) {
	files := piFiles()
	files["config.txt"] = "# For more options and information see\n# http://rpf.io/configtxt\ndtparam=audio=on\n"
	s := newSetup(t, fat32Spec(files))
	s.opts.Pins = filepath.Join(s.dir, "pins.toml")
	if err := os.WriteFile(s.opts.Pins, []byte("[gpio]\nrelay = \"GPIO26\"\nrelay_active_low = true\ntamper = \"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.opts.Reader, s.opts.ReaderPath = "pn532", "/dev/ttyAMA0"
	if err := provision(s.opts, io.Discard); err != nil {
		t.Fatal(err)
	}
	got := readBoot(t, s.image, "/wartel/kiosk.toml", "/cmdline.txt")
	c, err := config.Parse(got["/wartel/kiosk.toml"], "kiosk.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Pins.Relay != "GPIO26" || !c.Pins.RelayActiveLow || c.Pins.Tamper != "" || c.Pins.Hook != "GPIO5" || c.Card.Protocol != "pn532" || c.Card.Path != "/dev/ttyAMA0" {
		t.Errorf("config: %+v %s", c.Pins, c.Summary())
	}
	if !strings.Contains(string(got["/cmdline.txt"]), " systemd.run=/boot/firstrun.sh ") {
		t.Errorf("cmdline.txt: %q", got["/cmdline.txt"])
	}
}

// BenchmarkProvision provisions one image again and again with an 8 MiB
// package (the size of a real armhf wartel-kiosk .deb): bytes/s is the
// rate at which the boot partition is written, checked and read back.
func BenchmarkProvision(b *testing.B) {
	dir := b.TempDir()
	img := makeImage(b, dir, fat32Spec(piFiles()))
	opts := provisionOpts{
		Image: img, Bundle: enrol(b, dir, "lapas-x", "b07", 24*time.Hour),
		Deb:     fakeDeb(b, dir, "wartel-kiosk_1.2.3_armhf.deb", 8<<20),
		Gateway: "https://gw:8443", Reader: "rdm6300", ReaderPath: defaultReaderPath, Method: "auto",
	}
	b.SetBytes(8 << 20)
	for b.Loop() {
		if err := provision(opts, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
