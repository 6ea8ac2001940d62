package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/drivers/rfid/rfidtest"
)

// TestSniffRecognisesEachPassiveProtocol runs sniff on an emulated reader
// of each protocol while a card is tapped again and again.
func TestSniffRecognisesEachPassiveProtocol(t *testing.T) {
	for _, tc := range []struct {
		proto string
		card  cardid.ID
		want  string
	}{
		{"rdm6300", "em:0F00275624", "RDM6300 on %s: card em:0F00275624"},
		{"id12", "em:0C000621A5", "ID-12LA/ID-20LA on %s: card em:0C000621A5"},
		{"ascii", "em:0400D8B2A5", "ASCII-line reader (hex) on %s: card raw:0400D8B2A5"},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			emu, err := rfidtest.NewEmulator(rfidtest.EmulatorOptions{Protocol: tc.proto, ASCII: rfid.ASCIIOptions{Tech: "em"}})
			if err != nil {
				t.Fatal(err)
			}
			defer emu.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				// A technician tapping the card: the emulator plays the module.
				for ctx.Err() == nil {
					emu.Tap(tc.card, 1)
					time.Sleep(50 * time.Millisecond)
				}
			}()
			var out strings.Builder
			if err := sniff(ctx, emu.Path(), 10*time.Second, &out); err != nil {
				t.Fatal(err)
			}
			want := strings.Replace(tc.want, "%s", emu.Path(), 1)
			if !strings.Contains(out.String(), want) {
				t.Errorf("sniff said:\n%s\nwant %q", out.String(), want)
			}
		})
	}
}

func TestSniffNothing(t *testing.T) {
	emu, err := rfidtest.NewEmulator(rfidtest.EmulatorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	emu.Noise(nil)
	var out strings.Builder
	if err := sniff(context.Background(), emu.Path(), 600*time.Millisecond, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "nothing recognised on "+emu.Path()) || !strings.Contains(out.String(), "Check:") {
		t.Errorf("sniff said:\n%s\nwant a clear 'nothing recognised' with what to check", out.String())
	}
}

func TestSniffNoSuchPort(t *testing.T) {
	path := t.TempDir() + "/ttyUSB7"
	err := sniff(context.Background(), path, time.Second, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "no such port "+path) {
		t.Errorf("error %v, want one naming the missing port", err)
	}
}
