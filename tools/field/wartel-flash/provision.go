package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"wartelsuspas/firmware/config"
	"wartelsuspas/firmware/packaging"
	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/tools/field/wartel-flash/bootfs"
	"wartelsuspas/tools/field/wartel-flash/firstboot"
)

// defaultReaderPath is the stable name the package's udev rule gives the
// usual USB-serial readers.
const defaultReaderPath = packaging.ReaderLink

// boothBundleDir is where the first boot installs the bundle; the
// configuration must name it.
const boothBundleDir = "/etc/wartel/bundle"

var (
	wartelDir    = "/" + firstboot.Dir
	manifestPath = wartelDir + "/" + firstboot.Manifest
)

// provisionOpts are the choices of `wartel-flash provision`.
type provisionOpts struct {
	Image, Bundle, Deb, Gateway string
	Config                      string // base kiosk.toml, "" for packaging.KioskTOML
	Reader, ReaderPath          string
	Pins                        string // TOML file of [gpio] keys
	Expect                      string // FACILITY/BOOTH, "" for any
	Method                      string // auto, cloud-init, firstrun
	Now                         func() time.Time
}

// file is one file to write on the boot partition.
type file struct {
	path string // absolute in the partition
	data []byte
}

// debRE is a Debian package file name: NAME_VERSION_ARCH.deb.
var debRE = regexp.MustCompile(`^([a-z0-9][a-z0-9+.-]+)_([A-Za-z0-9.+~:-]+)_([a-z0-9]+)\.deb$`)

// checkDeb checks that path is a Debian package for a Raspberry Pi and
// returns its contents and architecture.
func checkDeb(p string) ([]byte, string, error) {
	name := filepath.Base(p)
	m := debRE.FindStringSubmatch(name)
	if m == nil || !bootfs.CleanName(name) {
		return nil, "", fmt.Errorf("package %s: the name is not NAME_VERSION_ARCH.deb as built by make deb (e.g. wartel-kiosk_1.2.3_armhf.deb)", p)
	}
	arch := m[3]
	switch arch {
	case "armhf", "arm64", "all":
	default:
		return nil, "", fmt.Errorf("package %s is for %s: a Raspberry Pi needs armhf (32-bit Raspberry Pi OS) or arm64 (64-bit)", p, arch)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, "", fmt.Errorf("package: %w", err)
	}
	if !bytes.HasPrefix(data, []byte("!<arch>\ndebian-binary")) {
		return nil, "", fmt.Errorf("package %s is not a Debian package (no ar archive starting with debian-binary): build it again with make deb", p)
	}
	return data, arch, nil
}

// checkBundle reads and checks the bundle directory: its files match its
// manifest, it is for the expected booth, and its certificate is valid now.
func checkBundle(dir, expect string, now time.Time) (bundle.Bundle, error) {
	b, err := bundle.Read(dir)
	if err != nil {
		return bundle.Bundle{}, fmt.Errorf("bundle %s: %w", dir, err)
	}
	if expect != "" && expect != b.Device {
		return bundle.Bundle{}, fmt.Errorf("bundle %s is for booth %s, not %s: take the bundle of %s (wartel-gateway enroll -facility %s -booth %s -out DIR)", dir, b.Device, expect, expect, path.Dir(expect), path.Base(expect))
	}
	blk, _ := pem.Decode(b.CertPEM)
	if blk == nil {
		return bundle.Bundle{}, fmt.Errorf("bundle %s: %s holds no PEM certificate", dir, bundle.CertFile)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return bundle.Bundle{}, fmt.Errorf("bundle %s: %s: %w", dir, bundle.CertFile, err)
	}
	f, bo, _ := strings.Cut(b.Device, "/")
	switch {
	case now.Before(cert.NotBefore):
		return bundle.Bundle{}, fmt.Errorf("bundle %s: the certificate of %s is not valid until %s (now %s): check this laptop's clock and the CA's, or enrol again", dir, b.Device, cert.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case now.After(cert.NotAfter):
		return bundle.Bundle{}, fmt.Errorf("bundle %s: the certificate of %s expired on %s: enrol the booth again (wartel-gateway enroll -facility %s -booth %s -out DIR)", dir, b.Device, cert.NotAfter.UTC().Format(time.RFC3339), f, bo)
	}
	return b, nil
}

// boothConfig returns the booth's kiosk.toml: the base document with the
// device, gateway, reader and pins set, validated by config.Parse.
func boothConfig(o provisionOpts, device string) ([]byte, error) {
	doc, name := packaging.KioskTOML, "the example kiosk.toml"
	if o.Config != "" {
		b, err := os.ReadFile(o.Config)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		doc, name = b, o.Config
	}
	type set struct{ table, key, value string }
	sets := []set{
		{"", "device", tomlString(device)},
		{"gateway", "url", tomlString(o.Gateway)},
		{"gateway", "bundle", tomlString(boothBundleDir)},
		{"reader", "protocol", tomlString(o.Reader)},
		{"reader", "path", tomlString(o.ReaderPath)},
	}
	if o.Pins != "" {
		b, err := os.ReadFile(o.Pins)
		if err != nil {
			return nil, fmt.Errorf("pins: %w", err)
		}
		var pins map[string]any
		if err := toml.Unmarshal(b, &pins); err != nil {
			return nil, fmt.Errorf("pins %s: %w", o.Pins, err)
		}
		if g, ok := pins["gpio"].(map[string]any); ok && len(pins) == 1 {
			pins = g
		}
		keys := make([]string, 0, len(pins))
		for k := range pins {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch v := pins[k].(type) {
			case string:
				sets = append(sets, set{"gpio", k, tomlString(v)})
			case bool:
				sets = append(sets, set{"gpio", k, fmt.Sprint(v)})
			default:
				return nil, fmt.Errorf("pins %s: %s: want a pin name in quotes (\"GPIO17\") or true/false, as in [gpio] of kiosk.toml", o.Pins, k)
			}
		}
	}
	for _, s := range sets {
		var err error
		if doc, err = setKey(doc, s.table, s.key, s.value); err != nil {
			k := s.key
			if s.table != "" {
				k = s.table + "." + k
			}
			return nil, fmt.Errorf("config %s: cannot set %s: %w", name, k, err)
		}
	}
	label := "kiosk.toml for " + device + " (from " + name + ")"
	c, err := config.Parse(doc, label)
	if err != nil {
		return nil, fmt.Errorf("the booth's configuration does not validate; fix the flags or the base file and run again:\n%w", err)
	}
	if c.Device != device || c.Gateway.URL != o.Gateway || c.Gateway.Bundle != boothBundleDir || c.Card.Protocol != o.Reader || c.Card.Path != o.ReaderPath {
		return nil, fmt.Errorf("config %s: after editing, the file says device %q, gateway.url %q, gateway.bundle %q, reader %q on %q: it sets these keys in a way wartel-flash cannot edit (dotted keys or inline tables?); write them as in the example kiosk.toml", name, c.Device, c.Gateway.URL, c.Gateway.Bundle, c.Card.Protocol, c.Card.Path)
	}
	return doc, nil
}

// plan is what provision will write, decided before anything is written.
type plan struct {
	files  []file
	method string
	device string
	arch   string
}

// makePlan checks every input against the image opened read-only and
// returns the files to write.
func makePlan(o provisionOpts, p *bootfs.Partition) (plan, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	b, err := checkBundle(o.Bundle, o.Expect, now())
	if err != nil {
		return plan{}, err
	}
	deb, arch, err := checkDeb(o.Deb)
	if err != nil {
		return plan{}, err
	}
	conf, err := boothConfig(o, b.Device)
	if err != nil {
		return plan{}, err
	}
	manifestJSON, err := os.ReadFile(filepath.Join(o.Bundle, bundle.ManifestFile))
	if err != nil {
		return plan{}, fmt.Errorf("bundle: %w", err)
	}
	debName := filepath.Base(o.Deb)
	files := []file{
		{wartelDir + "/" + debName, deb},
		{wartelDir + "/kiosk.toml", conf},
		{wartelDir + "/bundle/" + bundle.KeyFile, b.KeyPEM},
		{wartelDir + "/bundle/" + bundle.CertFile, b.CertPEM},
		{wartelDir + "/bundle/" + bundle.CAFile, b.CAPEM},
		{wartelDir + "/bundle/" + bundle.ManifestFile, manifestJSON},
		{wartelDir + "/" + firstboot.Script, []byte(firstboot.InstallScript(debName))},
	}

	cloud := p.Exists("/user-data") || p.Exists("/meta-data") || p.Exists("/network-config")
	method := o.Method
	switch method {
	case "auto", "":
		method = "firstrun"
		if cloud {
			method = "cloud-init"
		}
	case "cloud-init", "firstrun":
	default:
		return plan{}, fmt.Errorf("-method %q: want auto, cloud-init or firstrun", o.Method)
	}
	switch method {
	case "cloud-init":
		old, err := p.ReadFile("/user-data")
		if err != nil && p.Exists("/user-data") {
			return plan{}, err
		}
		ud, err := firstboot.MergeUserData(old)
		if err != nil {
			return plan{}, fmt.Errorf("image %s: %w", o.Image, err)
		}
		files = append(files, file{"/user-data", ud})
		if !p.Exists("/meta-data") {
			// NoCloud needs meta-data to find its seed, even empty.
			files = append(files, file{"/meta-data", []byte("instance-id: wartel-" + strings.ReplaceAll(b.Device, "/", "-") + "\n")})
		}
	case "firstrun":
		cmdline, err := p.ReadFile("/cmdline.txt")
		if err != nil {
			return plan{}, err
		}
		bootDir := bootDirOf(p)
		newCmd, err := firstboot.AddFirstrun(cmdline, bootDir)
		if err != nil {
			return plan{}, fmt.Errorf("image %s: %w: write the plain Raspberry Pi OS image without other first-boot customisation", o.Image, err)
		}
		before := ""
		if old, err := p.ReadFile("/" + firstboot.FirstrunName); err == nil && !bytes.Contains(old, []byte("Written by wartel-flash")) {
			before = "firstrun-before.sh"
			files = append(files, file{wartelDir + "/" + before, old})
		} else if prev, err := p.ReadFile(wartelDir + "/firstrun-before.sh"); err == nil {
			before = "firstrun-before.sh" // provisioned again: keep the image's own script
			files = append(files, file{wartelDir + "/" + before, prev})
		}
		files = append(files, file{"/" + firstboot.FirstrunName, []byte(firstboot.FirstrunScript(before))}, file{"/cmdline.txt", newCmd})
	}
	files = append(files, file{manifestPath, manifest(files)})
	return plan{files: files, method: method, device: b.Device, arch: arch}, nil
}

// bootDirOf guesses where the booth mounts the boot partition: Bookworm
// and later mount it on /boot/firmware (their config.txt says so), older
// releases on /boot. firstrun.sh itself looks in both.
func bootDirOf(p *bootfs.Partition) string {
	for _, name := range []string{"/config.txt", "/cmdline.txt", "/issue.txt"} {
		if b, err := p.ReadFile(name); err == nil && (bytes.Contains(b, []byte("/boot/firmware")) || bytes.Contains(b, []byte("bookworm")) || bytes.Contains(b, []byte("trixie"))) {
			return "/boot/firmware"
		}
	}
	return "/boot"
}

// manifest returns MANIFEST.sha256 for files: sha256sum lines, paths
// relative to the partition's root.
func manifest(files []file) []byte {
	var b bytes.Buffer
	b.WriteString("# Written by wartel-flash: SHA-256 of every file it wrote on this boot partition.\n")
	b.WriteString("# Check on a booth: cd /boot/firmware && sha256sum -c wartel/" + firstboot.Manifest + "\n")
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(x, y file) int { return strings.Compare(x.path, y.path) })
	for _, f := range sorted {
		s := sha256.Sum256(f.data)
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(s[:]), strings.TrimPrefix(f.path, "/"))
	}
	return b.Bytes()
}

// parseManifest reads MANIFEST.sha256 back: path (absolute) → hex digest.
func parseManifest(data []byte) (map[string]string, error) {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		sum, name, ok := strings.Cut(l, "  ")
		if _, err := hex.DecodeString(sum); !ok || err != nil || len(sum) != 64 || name == "" || strings.Contains(name, "..") {
			return nil, fmt.Errorf("%s line %d: want \"SHA256  PATH\", got %q", manifestPath, n, l)
		}
		m["/"+name] = sum
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%s lists no files", manifestPath)
	}
	return m, nil
}

// provision checks everything, then writes the plan into the image and
// verifies it. Nothing is written unless every check passed.
func provision(o provisionOpts, stdout io.Writer) error {
	p, err := bootfs.Open(o.Image, false)
	if err != nil {
		return err
	}
	pl, err := makePlan(o, p)
	free, cluster := p.Free()
	p.Close()
	if err != nil {
		return err
	}
	// Space: every file in whole clusters, plus the folders; space freed by
	// replaced files counts only after they are gone, so it is not counted.
	var need int64 = 4 * cluster
	for _, f := range pl.files {
		need += bootfs.ClusterRound(int64(len(f.data)), cluster)
	}
	if need > free {
		return fmt.Errorf("image %s: the boot partition has %d KiB free, the booth's files need %d KiB: use a smaller package or an image with a larger boot partition", o.Image, free>>10, need>>10)
	}

	w, err := bootfs.Open(o.Image, true)
	if err != nil {
		return err
	}
	for _, f := range pl.files {
		if err := w.WriteFile(f.path, f.data); err != nil {
			w.Close()
			return fmt.Errorf("image %s: %w: the image is half provisioned; start again from a fresh copy of the Raspberry Pi OS image", o.Image, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("image %s: %w", o.Image, err)
	}
	r, err := verify(o.Image)
	if err != nil {
		return fmt.Errorf("after writing: %w", err)
	}
	fmt.Fprintf(stdout, "%s provisioned for %s: %s package %s, gateway %s, reader %s on %s; first boot by %s; %d files checked\n",
		o.Image, pl.device, pl.arch, filepath.Base(o.Deb), o.Gateway, o.Reader, o.ReaderPath, pl.method, r.Files)
	fmt.Fprintf(stdout, "next: wartel-flash write -image %s -device /dev/sdX\n", o.Image)
	return nil
}

// verifyResult is what verify found.
type verifyResult struct {
	Files  int
	Device string
	Method string
}

// verify reads back the files that provision wrote and checks them
// against the manifest, the configuration with config.Parse, the bundle
// with its own manifest, and the first-boot hook.
func verify(image string) (verifyResult, error) {
	p, err := bootfs.Open(image, false)
	if err != nil {
		return verifyResult{}, err
	}
	defer p.Close()
	mb, err := p.ReadFile(manifestPath)
	if err != nil {
		return verifyResult{}, fmt.Errorf("image %s is not provisioned (no %s): run wartel-flash provision", image, manifestPath)
	}
	m, err := parseManifest(mb)
	if err != nil {
		return verifyResult{}, fmt.Errorf("image %s: %w", image, err)
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	data := map[string][]byte{}
	var bad []string
	for _, n := range names {
		b, err := p.ReadFile(n)
		if err != nil {
			bad = append(bad, n+": missing")
			continue
		}
		s := sha256.Sum256(b)
		if hex.EncodeToString(s[:]) != m[n] {
			bad = append(bad, n+": changed since provisioning")
			continue
		}
		data[n] = b
	}
	if len(bad) > 0 {
		return verifyResult{}, fmt.Errorf("image %s: %d file(s) do not match %s:\n  %s\nprovision a fresh copy of the image again", image, len(bad), manifestPath, strings.Join(bad, "\n  "))
	}
	conf, ok := data[wartelDir+"/kiosk.toml"]
	if !ok {
		return verifyResult{}, fmt.Errorf("image %s: %s lists no %s/kiosk.toml", image, manifestPath, wartelDir)
	}
	c, err := config.Parse(conf, wartelDir+"/kiosk.toml on "+image)
	if err != nil {
		return verifyResult{}, err
	}
	tmp, err := os.MkdirTemp("", "wartel-flash-verify-")
	if err != nil {
		return verifyResult{}, fmt.Errorf("verify: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, n := range []string{bundle.KeyFile, bundle.CertFile, bundle.CAFile, bundle.ManifestFile} {
		b, ok := data[wartelDir+"/bundle/"+n]
		if !ok {
			return verifyResult{}, fmt.Errorf("image %s: %s lists no bundle file %s", image, manifestPath, n)
		}
		if err := os.WriteFile(filepath.Join(tmp, n), b, 0o600); err != nil {
			return verifyResult{}, fmt.Errorf("verify: %w", err)
		}
	}
	b, err := bundle.Read(tmp)
	if err != nil {
		return verifyResult{}, fmt.Errorf("image %s: the bundle on the image: %w", image, err)
	}
	if b.Device != c.Device {
		return verifyResult{}, fmt.Errorf("image %s: kiosk.toml says device %q, the bundle is for %q", image, c.Device, b.Device)
	}
	r := verifyResult{Files: len(names), Device: b.Device}
	switch {
	case data["/user-data"] != nil:
		if !firstboot.HasHook(data["/user-data"]) {
			return verifyResult{}, fmt.Errorf("image %s: user-data has no first-boot entry", image)
		}
		r.Method = "cloud-init"
	case data["/cmdline.txt"] != nil:
		if !firstboot.HasFirstrun(data["/cmdline.txt"]) || data["/"+firstboot.FirstrunName] == nil {
			return verifyResult{}, fmt.Errorf("image %s: cmdline.txt does not run firstrun.sh", image)
		}
		r.Method = "firstrun"
	default:
		return verifyResult{}, errors.New("image " + image + ": no first-boot step (neither user-data nor cmdline.txt was written)")
	}
	return r, nil
}
