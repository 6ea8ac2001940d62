package ca

import (
	"strings"
	"testing"
	"wartelsuspas/kiosk/bundle"
)

// TestSerialLookup: a serial as bundle.json, openssl (colons, upper case,
// leading zero) or a hand writes it finds its device; an unknown serial or
// a non-hex one is an error; Revoke takes the same forms.
func TestSerialLookup(t *testing.T) {
	c := newCA(t)
	b := enroll(t, c, "lapas-cipinang", "b03")
	var colons []string
	for i := 0; i < len(b.Serial); i += 2 {
		colons = append(colons, strings.ToUpper(b.Serial[i:min(i+2, len(b.Serial))]))
	}
	for _, s := range []string{b.Serial, strings.ToUpper(b.Serial), "00" + b.Serial, strings.Join(colons, ":"), " " + b.Serial + " "} {
		if d, err := c.DeviceOfSerial(s); err != nil || d != "lapas-cipinang/b03" {
			t.Errorf("DeviceOfSerial(%q) = %q, %v; want lapas-cipinang/b03", s, d, err)
		}
	}
	for _, s := range []string{"deadbeef", "xyz", "", "0"} {
		if d, err := c.DeviceOfSerial(s); err == nil {
			t.Errorf("DeviceOfSerial(%q) = %q, want an error", s, d)
		}
	}
	if err := c.Revoke(strings.ToUpper(b.Serial)); err != nil {
		t.Fatalf("revoke by an upper-case serial: %v", err)
	}
	cert, err := bundle.ParseCert(b.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Revoked(cert) {
		t.Error("certificate not revoked after Revoke of its serial in upper case")
	}
}
