// Package systest holds no code: its tests are whole-system tests of the booth's link to the
// centre, kiosk/uplink against the real gateway (tools/centre/server and its ledger, in process,
// and the wartel-gateway binary) through tools/testbed/faultproxy: exactly once through faults, partial
// acknowledgements, restarts mid-drain, paged roster sync under a cut link, the large-roster sync,
// identity refusals. They live here because kiosk may not import the gateway (tools/testbed/layers);
// kiosk/uplink's own tests use fake gateways. The daemon-level tests are in tools/testbed/boothrig.
package systest
