// Package packaging holds the files the .deb installs (the service unit,
// the example configuration, the watchdog drop-in, the reader's udev rule,
// the maintainer scripts); tools/release/mkdeb packs them and its tests install
// them. See docs/packaging.md.
package packaging

import (
	"bytes"
	_ "embed"
	"fmt"
)

// KioskTOML is the commented example configuration, every key with its
// default; wartel-flash starts a booth's configuration from it.
//
//go:embed kiosk.toml
var KioskTOML []byte

// Service is the systemd unit of the daemon.
//
//go:embed wartel-kiosk.service
var Service []byte

// Watchdog is the systemd drop-in that pets the SoC's hardware watchdog.
//
//go:embed watchdog.conf
var Watchdog []byte

// UdevRule names the card reader /dev/wartel-reader (group dialout) by the
// USB ids of the common USB-serial bridges.
//
//go:embed 99-wartel-reader.rules
var UdevRule []byte

// ReaderLink is the stable device name UdevRule gives the reader, and
// reader.path in the configuration the .deb installs (DebTOML).
const ReaderLink = "/dev/wartel-reader"

// exampleReaderPath is reader.path's line in KioskTOML: the built-in
// default, which firmware/config's tests hold the example to.
const exampleReaderPath = `path = "/dev/ttyUSB0"              #`

// DebTOML returns the configuration the .deb installs as the conffile
// /etc/wartel/kiosk.toml: KioskTOML with reader.path set to ReaderLink, so
// a booth with one of the usual USB-serial readers needs no edit to find
// it. (KioskTOML itself stays the list of defaults, installed as
// /usr/share/wartel/kiosk.toml.)
func DebTOML() ([]byte, error) {
	if bytes.Count(KioskTOML, []byte(exampleReaderPath)) != 1 {
		return nil, fmt.Errorf("packaging: kiosk.toml has no single line %q to point reader.path at %s: update DebTOML", exampleReaderPath, ReaderLink)
	}
	line := fmt.Sprintf("path = %-30q #", ReaderLink)
	return bytes.Replace(KioskTOML, []byte(exampleReaderPath), []byte(line), 1), nil
}

// Postinst, Prerm and Postrm are the package's maintainer scripts (POSIX
// sh): the user and directories, the relay off before removal, the
// records kept on purge.
var (
	//go:embed postinst
	Postinst []byte
	//go:embed prerm
	Prerm []byte
	//go:embed postrm
	Postrm []byte
)

// Copyright is /usr/share/doc/wartel-kiosk/copyright.
//
//go:embed copyright
var Copyright []byte
