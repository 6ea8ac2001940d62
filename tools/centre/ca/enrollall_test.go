package ca

import (
	"fmt"
	"testing"

	"wartelsuspas/kiosk/bundle"
)

// EnrollAll issues what Enroll issues, for every booth, and records each in
// issued.json; a bad name anywhere records nothing.
func TestEnrollAll(t *testing.T) {
	c := newCA(t)
	var booths []Booth
	for i := range 40 {
		booths = append(booths, Booth{Facility: fmt.Sprintf("lapas-%d", i%3), Booth: fmt.Sprintf("b%02d", i)})
	}
	bs, err := c.EnrollAll(booths, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != len(booths) {
		t.Fatalf("%d bundles for %d booths", len(bs), len(booths))
	}
	serials := map[string]bool{}
	for i, b := range bs {
		want, _ := bundle.DeviceID(booths[i].Facility, booths[i].Booth)
		if b.Device != want {
			t.Errorf("bundle %d is of %s, want %s (in the order asked)", i, b.Device, want)
		}
		if _, err := bundle.Check(b); err != nil {
			t.Errorf("bundle of %s: %v", b.Device, err)
		}
		if serials[b.Serial] {
			t.Errorf("serial %s issued twice", b.Serial)
		}
		serials[b.Serial] = true
		got, err := c.Issued(b.Device)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != b.Serial {
			t.Errorf("issued.json of %s: %v, want [%s]", b.Device, got, b.Serial)
		}
	}

	if _, err := c.EnrollAll([]Booth{{"lapas-x", "b01"}, {"Lapas", "b02"}}, day); err == nil {
		t.Fatal("EnrollAll with a bad facility name succeeded")
	}
	if got, _ := c.Issued("lapas-x/b01"); len(got) != 0 {
		t.Errorf("a refused EnrollAll recorded %v", got)
	}
}
