package policy

import (
	"fmt"
	"time"

	// The Pi image may ship without /usr/share/zoneinfo; embedding the
	// database keeps the three Indonesian zones loadable everywhere.
	_ "time/tzdata"
)

// Zones are the facility time zones LoadZone accepts: WIB (+7), WITA (+8)
// and WIT (+9), none with daylight saving time. UTC is accepted for tests.
var Zones = []string{"Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"}

// LoadZone loads a facility's time zone by its IANA name. It accepts only
// the Indonesian zones in Zones, and UTC.
func LoadZone(name string) (*time.Location, error) {
	known := name == "UTC"
	for _, z := range Zones {
		known = known || name == z
	}
	if !known {
		return nil, fmt.Errorf("policy: time zone %q is not a facility zone; use Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT)", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("policy: loading time zone %q: %w", name, err)
	}
	return loc, nil
}
