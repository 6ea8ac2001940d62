// Package firstboot writes the first-boot step of a provisioned booth: the
// script that installs the package, configuration and identity from the boot
// partition, and the hook that runs it once — cloud-init user-data on
// current Raspberry Pi OS, or the older firstrun.sh started from cmdline.txt
// (as Raspberry Pi Imager does on images without cloud-init).
package firstboot

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Dir is the folder on the boot partition that holds what the booth
// installs on its first boot; the script removes it when done.
const Dir = "wartel"

// Script is the name of the first-boot script in Dir.
const Script = "firstboot.sh"

// Manifest is the name of the checksum file in Dir, in sha256sum format,
// so the booth checks the files with `sha256sum -c` before using them.
const Manifest = "MANIFEST.sha256"

// Log is where the script writes what it did on the booth.
const Log = "/var/log/wartel-firstboot.log"

// Hook tokens of the older firstrun.sh method, as Raspberry Pi Imager
// writes them.
const (
	FirstrunName = "firstrun.sh"
	runSuccess   = "systemd.run_success_action=reboot"
	runUnit      = "systemd.unit=kernel-command-line.target"
)

// InstallScript returns the first-boot script that installs deb (a file
// name in Dir), the configuration and the bundle, checks the configuration,
// enables and starts the service, and removes Dir from the boot partition
// (the booth's private key must not stay on a FAT partition anyone can
// read). Its first argument is the boot partition's mount point.
func InstallScript(deb string) string {
	return strings.ReplaceAll(installScript, "@DEB@", deb)
}

const installScript = `#!/bin/sh
# Written by wartel-flash: installs this booth on its first boot, then
# removes the wartel folder from the boot partition. Output: ` + Log + `.
# To run it again by hand: sudo sh BOOT/wartel/firstboot.sh BOOT
# (BOOT is /boot/firmware on current Raspberry Pi OS, /boot before).
set -u
boot="${1:-/boot/firmware}"
src="$boot/` + Dir + `"
exec >>` + Log + ` 2>&1
say() { echo "wartel-firstboot: $*"; }
fail() {
	say "FAILED: $*"
	say "the files stay in $src; after fixing, run: sudo sh $src/` + Script + ` $boot"
	exit 1
}
say "start $(date -u +%Y-%m-%dT%H:%M:%SZ) from $src"
cd "$src" || fail "no folder $src"
# The manifest names its files from the partition's root. Only this
# folder's are checked, from here: by now the boot itself has changed
# cmdline.txt and removed firstrun.sh (ours, and Raspberry Pi Imager's).
sed -n 's|^\([0-9a-f]\{64\}\)  ` + Dir + `/|\1  |p' ` + Manifest + ` | sha256sum -c --quiet - || fail "the files in $src do not match ` + Manifest + ` (a damaged SD card?): provision the image again with wartel-flash and rewrite the card"
export DEBIAN_FRONTEND=noninteractive
if ! dpkg --force-confold -i "./@DEB@"; then
	say "dpkg could not configure @DEB@; trying apt-get -f install for its dependencies"
	apt-get -f -y install || fail "the package @DEB@ did not install (see the dpkg lines above)"
fi
id wartel >/dev/null 2>&1 || fail "the package did not create the user wartel"
install -d -m 0755 /etc/wartel || fail "cannot create /etc/wartel"
install -m 0644 kiosk.toml /etc/wartel/kiosk.toml || fail "cannot install /etc/wartel/kiosk.toml"
install -d -m 0700 -o wartel -g wartel /etc/wartel/bundle || fail "cannot create /etc/wartel/bundle"
for f in booth.crt ca.crt bundle.json; do
	install -m 0644 -o wartel -g wartel "bundle/$f" "/etc/wartel/bundle/$f" || fail "cannot install /etc/wartel/bundle/$f"
done
install -m 0600 -o wartel -g wartel bundle/booth.key /etc/wartel/bundle/booth.key || fail "cannot install /etc/wartel/bundle/booth.key"
wartel-kiosk config check -config /etc/wartel/kiosk.toml || fail "wartel-kiosk config check refused /etc/wartel/kiosk.toml (its lines are above)"
systemctl enable wartel-kiosk.service || fail "systemctl enable wartel-kiosk failed"
systemctl restart wartel-kiosk.service || fail "systemctl restart wartel-kiosk failed: see journalctl -u wartel-kiosk"
cd / && rm -rf "$src" && sync
say "done: the booth is installed; check it with: wartel-kiosk selftest"
exit 0
`

// hookCommand runs the script from whichever boot mount point holds it,
// and does nothing once the script has removed itself.
const hookCommand = `for b in /boot/firmware /boot; do if [ -f "$b/` + Dir + `/` + Script + `" ]; then sh "$b/` + Dir + `/` + Script + `" "$b"; exit $?; fi; done`

// FirstrunScript returns firstrun.sh for the cmdline.txt method: it runs
// the install script, then, as Raspberry Pi Imager's does, removes the hook
// from cmdline.txt and deletes itself; systemd then reboots. before is the
// name in Dir of an earlier firstrun.sh to run first ("" if none).
func FirstrunScript(before string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Written by wartel-flash: the booth's first boot (cmdline.txt method).\nset +e\n")
	if before != "" {
		fmt.Fprintf(&b, "# The image's own first-boot script (e.g. Raspberry Pi Imager's settings) runs first.\nfor b in /boot/firmware /boot; do if [ -f \"$b/%s/%s\" ]; then sh \"$b/%s/%s\"; break; fi; done\n", Dir, before, Dir, before)
	}
	b.WriteString("(" + hookCommand + ")\n")
	b.WriteString(`for b in /boot/firmware /boot; do
	if [ -f "$b/cmdline.txt" ]; then
		sed -i 's| systemd\.run=[^ ]*||g; s| systemd\.run_[a-z_]*=[^ ]*||g; s| systemd\.unit=kernel-command-line\.target||g' "$b/cmdline.txt"
	fi
	rm -f "$b/` + FirstrunName + `"
done
sync
exit 0
`)
	return b.String()
}

// ErrForeignHook is returned by AddFirstrun when cmdline.txt already runs
// a first-boot program other than firstrun.sh.
var ErrForeignHook = errors.New("cmdline.txt already runs another first-boot program")

// AddFirstrun returns cmdline.txt with the kernel arguments that make
// systemd run bootDir/firstrun.sh once and reboot. The firmware reads only
// the first line; other lines are kept as they are. Arguments already there
// are kept in order; an existing firstrun.sh hook is replaced, not doubled.
func AddFirstrun(cmdline []byte, bootDir string) ([]byte, error) {
	first, rest, hadNL := bytes.Cut(cmdline, []byte("\n"))
	first = bytes.TrimSuffix(first, []byte("\r"))
	var kept []string
	for _, tok := range strings.Fields(string(first)) {
		switch {
		case strings.HasPrefix(tok, "systemd.run="):
			v := strings.TrimPrefix(tok, "systemd.run=")
			if v != "/boot/"+FirstrunName && v != "/boot/firmware/"+FirstrunName {
				return nil, fmt.Errorf("%w (%s)", ErrForeignHook, tok)
			}
		case strings.HasPrefix(tok, "systemd.run_"), tok == runUnit:
		default:
			kept = append(kept, tok)
		}
	}
	if len(kept) == 0 {
		return nil, errors.New("cmdline.txt has no kernel arguments (no root=): not a Raspberry Pi boot partition")
	}
	kept = append(kept, "systemd.run="+bootDir+"/"+FirstrunName, runSuccess, runUnit)
	out := []byte(strings.Join(kept, " ") + "\n")
	if hadNL {
		out = append(out, rest...)
	}
	return out, nil
}

// HasFirstrun says whether cmdline.txt's first line runs firstrun.sh.
func HasFirstrun(cmdline []byte) bool {
	first, _, _ := bytes.Cut(cmdline, []byte("\n"))
	for _, tok := range strings.Fields(string(first)) {
		if strings.HasPrefix(tok, "systemd.run=") && strings.HasSuffix(tok, "/"+FirstrunName) {
			return true
		}
	}
	return false
}

// hookItem is the runcmd entry added to user-data.
var hookItem = []any{"sh", "-c", hookCommand}

// hookLine is hookItem as a YAML flow sequence; the command holds no
// single quote, so single-quoting it needs no escape.
var hookLine = "[sh, -c, '" + hookCommand + "']"

// MergeUserData adds the first-boot hook to cloud-init user-data, keeping
// every byte of the existing file: the entry is inserted after the last
// item of a top-level block-style runcmd list, or a runcmd list is appended.
// An empty file gets a new #cloud-config. The result is parsed back and
// refused unless it says exactly what the original said plus the hook.
func MergeUserData(existing []byte) ([]byte, error) {
	if len(bytes.TrimSpace(existing)) == 0 {
		return []byte("#cloud-config\n# Written by wartel-flash: installs the booth on its first boot.\nruncmd:\n  - " + hookLine + "\n"), nil
	}
	if !bytes.HasPrefix(existing, []byte("#cloud-config")) {
		return nil, errors.New("user-data does not start with #cloud-config (a script or a MIME archive): wartel-flash merges only #cloud-config files; write the plain Raspberry Pi OS image without customisation, or add the entry by hand")
	}
	var orig map[string]any
	if err := yaml.Unmarshal(existing, &orig); err != nil {
		return nil, fmt.Errorf("user-data is not valid YAML: %w", err)
	}
	if bytes.Contains(existing, []byte(hookCommand)) {
		return existing, nil // provisioned before: the hook is there
	}
	if orig == nil {
		orig = map[string]any{} // only comments
	}
	cmds, isList := orig["runcmd"].([]any)
	if orig["runcmd"] != nil && !isList {
		return nil, errors.New("user-data: runcmd is not a list")
	}
	text := string(existing)
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	lines := strings.SplitAfter(text, "\n")
	lines = lines[:len(lines)-1] // the empty string after the last "\n"
	key := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "runcmd:") {
			if key >= 0 {
				return nil, errors.New("user-data has two runcmd keys")
			}
			key = i
		}
	}
	var out string
	if key < 0 {
		out = text + "runcmd:\n  - " + hookLine + "\n"
	} else {
		if v := strings.TrimSpace(stripComment(strings.TrimPrefix(lines[key], "runcmd:"))); v != "" {
			return nil, fmt.Errorf("user-data: runcmd is written inline (%q): wartel-flash adds only to a block list (one \"- item\" per line); rewrite it so", v)
		}
		// The block runs while lines are blank, comments, indented, or
		// "- " items at column 0 (YAML allows both).
		last, indent := key, "  "
		for i := key + 1; i < len(lines); i++ {
			l := strings.TrimRight(lines[i], "\r\n")
			t := strings.TrimSpace(l)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			if l[0] != ' ' && l[0] != '\t' && !strings.HasPrefix(l, "-") {
				break
			}
			if strings.HasPrefix(t, "-") && last == key {
				indent = l[:len(l)-len(strings.TrimLeft(l, " "))]
			}
			last = i
		}
		out = strings.Join(lines[:last+1], "") + indent + "- " + hookLine + "\n" + strings.Join(lines[last+1:], "")
	}
	var got map[string]any
	if err := yaml.Unmarshal([]byte(out), &got); err != nil {
		return nil, fmt.Errorf("user-data: the merge did not give valid YAML (%v): add the entry by hand", err)
	}
	orig["runcmd"] = append(cmds, hookItem)
	if !reflect.DeepEqual(got, orig) {
		return nil, errors.New("user-data: the merged file does not parse as the original plus the first-boot entry (an unusual layout): add the entry by hand")
	}
	return []byte(out), nil
}

// stripComment removes a trailing "# comment" from a YAML line fragment
// that holds no quoted '#'.
func stripComment(s string) string {
	if i := strings.Index(s, "#"); i >= 0 && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
		return s[:i]
	}
	return s
}

// HasHook says whether user-data carries the first-boot hook.
func HasHook(userData []byte) bool {
	return bytes.Contains(userData, []byte(hookCommand))
}
