package packaging

import _ "embed"

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
