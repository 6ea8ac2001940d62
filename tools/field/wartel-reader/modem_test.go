package main

import (
	"strings"
	"testing"
	"time"

	"wartelsuspas/drivers/modem"
	"wartelsuspas/drivers/modem/modemtest"
)

func TestModemReport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(*modemtest.Emulator)
		want    string
		fails   bool
	}{
		{"ready", func(*modemtest.Emulator) {}, "operator:     TELKOMSEL", false},
		{"no SIM", func(e *modemtest.Emulator) { e.SetSIM("NOT INSERTED") }, "OUT OF SERVICE: no_sim", true},
	} {
		emu, err := modemtest.New(modemtest.Options{Family: "quectel"})
		if err != nil {
			t.Fatal(err)
		}
		tc.prepare(emu)
		var b strings.Builder
		err = modemReport(emu.Path(), modem.FamilyQuectel, 115200, 10*time.Second, &b)
		emu.Close()
		if (err != nil) != tc.fails || !strings.Contains(b.String(), tc.want) {
			t.Errorf("%s: err %v, printed:\n%s\nwant %q", tc.name, err, b.String(), tc.want)
		}
	}
}
