// Command mkdeb builds the wartel-kiosk Debian package for Raspberry Pi OS
// from a cross-built firmware binary, with nfpm as a library. It packs the
// files of firmware/packaging (unit, configuration, watchdog drop-in, udev
// rule, maintainer scripts) and docs/config.md; docs/packaging.md says what
// goes where.
//
// Usage:
//
//	mkdeb -arch armhf|arm64 -binary PATH -version V -out DIR [-root REPO]
//
// It prints the path of the package it wrote, e.g.
// DIR/wartel-kiosk_0.3.0_armhf.deb. The binary must be an ELF for the
// package's CPU: a GOARM=6 linux/arm build for armhf (every Pi, Zero and 1
// included), linux/arm64 for arm64. SOURCE_DATE_EPOCH, when set, fixes the
// files' times so two builds of one commit are identical.
package main

import (
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"

	"wartelsuspas/firmware/config"
	"wartelsuspas/firmware/packaging"
)

// Name is the package's name.
const Name = "wartel-kiosk"

// Options says what to package.
type Options struct {
	Arch    string // armhf or arm64 (Debian's names)
	Binary  string // the cross-built wartel-kiosk
	Version string // a Debian version; a leading "v" is dropped
	Out     string // directory the .deb is written to
	Root    string // the repository (for docs/config.md); "" finds go.mod upwards
	MTime   time.Time
}

// elfMachine is the ELF machine each package architecture needs.
var elfMachine = map[string]elf.Machine{
	"armhf": elf.EM_ARM,
	"arm64": elf.EM_AARCH64,
}

// debVersion is what dpkg accepts as an upstream version without an epoch.
var debVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~-]*$`)

func main() {
	var o Options
	flag.StringVar(&o.Arch, "arch", "", "package architecture: armhf (GOARCH=arm GOARM=6) or arm64")
	flag.StringVar(&o.Binary, "binary", "", "the cross-built wartel-kiosk to package")
	flag.StringVar(&o.Version, "version", "", "package version, e.g. 0.3.0 or v0.3.0-4-gabc1234 (git describe)")
	flag.StringVar(&o.Out, "out", ".", "directory to write the .deb to")
	flag.StringVar(&o.Root, "root", "", "repository root holding docs/config.md (default: the directory with go.mod above the working directory)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: mkdeb -arch armhf|arm64 -binary PATH -version V -out DIR [-root REPO]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	o.MTime = time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkdeb: SOURCE_DATE_EPOCH=%q is not a number of seconds\n", s)
			os.Exit(2)
		}
		o.MTime = time.Unix(sec, 0)
	}
	path, err := Build(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkdeb: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

// Build writes the package and returns its path.
func Build(o Options) (string, error) {
	want, ok := elfMachine[o.Arch]
	if !ok {
		return "", fmt.Errorf("-arch %q: want armhf (Raspberry Pi OS 32-bit, every Pi) or arm64 (Raspberry Pi OS 64-bit, Pi 3 and later)", o.Arch)
	}
	version := strings.TrimPrefix(o.Version, "v")
	if !debVersion.MatchString(version) {
		return "", fmt.Errorf("-version %q: a Debian version starts with a digit and holds only letters, digits and . + ~ - (e.g. 0.3.0, or git describe --tags from a tag v0.3.0)", o.Version)
	}
	if err := checkBinary(o.Binary, o.Arch, want); err != nil {
		return "", err
	}
	root := o.Root
	if root == "" {
		var err error
		if root, err = findRoot(); err != nil {
			return "", err
		}
	}
	configDoc, err := os.ReadFile(filepath.Join(root, "docs", "config.md"))
	if err != nil {
		return "", fmt.Errorf("read the configuration guide for /usr/share/doc/%s: %w (give the repository with -root)", Name, err)
	}
	debTOML, err := packaging.DebTOML()
	if err != nil {
		return "", err
	}

	// nfpm reads files by path: stage the embedded ones.
	stage, err := os.MkdirTemp("", "mkdeb-")
	if err != nil {
		return "", fmt.Errorf("staging directory: %w", err)
	}
	defer os.RemoveAll(stage)
	staged := map[string][]byte{
		"kiosk.toml":     packaging.KioskTOML,
		"kiosk.etc.toml": debTOML,
		"service":        packaging.Service,
		"watchdog.conf":  packaging.Watchdog,
		"udev.rules":     packaging.UdevRule,
		"postinst":       packaging.Postinst,
		"prerm":          packaging.Prerm,
		"postrm":         packaging.Postrm,
		"copyright":      packaging.Copyright,
		"config.md":      configDoc,
	}
	for name, data := range staged {
		if err := os.WriteFile(filepath.Join(stage, name), data, 0o644); err != nil {
			return "", fmt.Errorf("staging %s: %w", name, err)
		}
	}
	s := func(name string) string { return filepath.Join(stage, name) }
	file := func(mode os.FileMode) *files.ContentFileInfo {
		return &files.ContentFileInfo{Mode: mode, Owner: "root", Group: "root", MTime: o.MTime}
	}

	info := &nfpm.Info{
		Name:        Name,
		Arch:        o.Arch,
		Platform:    "linux",
		Version:     version,
		Section:     "misc",
		Priority:    "optional",
		Maintainer:  "Wartelsuspas booth firmware <firmware@wartelsuspas.invalid>",
		Description: "Wartelsuspas booth firmware (card reader, handset relay, call records)\nRuns a supervised prison phone booth on a Raspberry Pi: reads inmate and\nofficer RFID cards, drives the handset relay and lamps over GPIO, enforces\ncall minutes and journals every call before the relay closes.",
		MTime:       o.MTime,
		Overridables: nfpm.Overridables{
			Depends: []string{"adduser", "systemd"},
			Contents: files.Contents{
				{Source: o.Binary, Destination: "/usr/bin/wartel-kiosk", FileInfo: file(0o755)},
				{Source: s("service"), Destination: "/lib/systemd/system/wartel-kiosk.service", FileInfo: file(0o644)},
				{Source: s("kiosk.etc.toml"), Destination: config.DefaultPath, Type: files.TypeConfigNoReplace, FileInfo: file(0o644)},
				{Source: s("kiosk.toml"), Destination: "/usr/share/wartel/kiosk.toml", FileInfo: file(0o644)},
				{Source: s("watchdog.conf"), Destination: "/etc/systemd/system.conf.d/wartel-watchdog.conf", Type: files.TypeConfig, FileInfo: file(0o644)},
				{Source: s("udev.rules"), Destination: "/etc/udev/rules.d/99-wartel-reader.rules", Type: files.TypeConfig, FileInfo: file(0o644)},
				{Source: s("config.md"), Destination: "/usr/share/doc/wartel-kiosk/config.md", FileInfo: file(0o644)},
				{Source: s("copyright"), Destination: "/usr/share/doc/wartel-kiosk/copyright", FileInfo: file(0o644)},
			},
			Scripts: nfpm.Scripts{
				PostInstall: s("postinst"),
				PreRemove:   s("prerm"),
				PostRemove:  s("postrm"),
			},
		},
	}
	info = nfpm.WithDefaults(info)
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return "", fmt.Errorf("output directory: %w", err)
	}
	path := filepath.Join(o.Out, deb.Default.ConventionalFileName(info))
	tmp, err := os.CreateTemp(o.Out, ".mkdeb-*.deb")
	if err != nil {
		return "", fmt.Errorf("output: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a failure; renamed away on success
	if err := deb.Default.Package(info, tmp); err != nil {
		tmp.Close()
		return "", fmt.Errorf("nfpm: building %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return "", fmt.Errorf("output: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("output: %w", err)
	}
	return path, nil
}

// checkBinary refuses a file that is not a Linux ELF for the package's CPU:
// an amd64 or GOARM=7 build in an armhf package would install fine and die
// at the booth (a GOARM=7 binary with SIGILL on a Pi Zero or 1).
func checkBinary(path, arch string, want elf.Machine) error {
	if path == "" {
		return errors.New("-binary: give the cross-built wartel-kiosk (make cross writes bin/cross/wartel-kiosk-linux-armv6 and -arm64)")
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("-binary %s: not a Linux executable: %w", path, err)
	}
	defer f.Close()
	if f.Machine != want {
		return fmt.Errorf("-binary %s is built for %s; a %s package needs %s (GOARCH=%s)", path, f.Machine, arch, want, map[string]string{"armhf": "arm GOARM=6", "arm64": "arm64"}[arch])
	}
	if arch == "armhf" {
		if v, ok := goarm(path); ok && v != "6" {
			return fmt.Errorf("-binary %s was built with GOARM=%s: it dies with SIGILL on a Pi Zero or Pi 1; build with GOARM=6 for armhf", path, v)
		}
	}
	return nil
}

// goarm returns the GOARM a Go binary was built with, from the build
// information the linker embeds.
func goarm(path string) (string, bool) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return "", false
	}
	for _, s := range bi.Settings {
		if s.Key == "GOARM" {
			v, _, _ := strings.Cut(s.Value, ",") // "6,softfloat"
			return v, true
		}
	}
	return "", false
}

// findRoot walks up from the working directory to the one holding go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod in %s or above: run mkdeb inside the repository or give -root", dir)
		}
	}
}
